import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * `config/tools.env`: the versions, checksums and ports that the shell scripts in `.ci/` read
 * too (through `.ci/tools/tools-env.sh`). Each of those facts is written there, once.
 */
export const TOOLS_ENV_FILE = join(__dirname, 'tools.env');

/** `KEY=VALUE` lines; `#` comments and blank lines ignored; no quoting, no expansion. */
export function parseToolsEnv(text: string, file = TOOLS_ENV_FILE): Readonly<Record<string, string>> {
  const values: Record<string, string> = {};
  text.split('\n').forEach((line, i) => {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return;
    const m = /^([A-Z][A-Z0-9_]*)=(\S*)$/.exec(trimmed);
    if (!m) throw new Error(`${file}:${i + 1}: expected KEY=VALUE (no spaces, no quotes), got '${trimmed}'`);
    values[m[1]!] = m[2]!;
  });
  return values;
}

const tools = parseToolsEnv(readFileSync(TOOLS_ENV_FILE, 'utf8'));

function required(key: string): string {
  const value = tools[key];
  if (!value) throw new Error(`${TOOLS_ENV_FILE}: ${key} is not set`);
  return value;
}

/** Exact provider versions: the ones the prebuilt bindings were generated from, and the ones the offline mirror holds. */
export const PROVIDER_VERSIONS = {
  nomad: required('NOMAD_PROVIDER_VERSION'),
  docker: required('DOCKER_PROVIDER_VERSION'),
} as const;

/** The local environment's state directory (relative to the repository) and the socket podman serves in it. */
export const LOCAL_STATE = {
  dirname: required('LOCAL_STATE_DIRNAME'),
  dockerSocket: required('LOCAL_DOCKER_SOCKET'),
} as const;

/** The local environment's default loopback ports (`npm run local:up`). */
export const LOCAL_PORTS = {
  nomadHttp: Number(required('LOCAL_NOMAD_PORT_HTTP')),
  registry: Number(required('LOCAL_REGISTRY_PORT')),
} as const;

/** The oldest Terraform the program runs with: an older one on PATH makes `npm run tools` build its own. */
export const TERRAFORM_MIN_VERSION = required('TERRAFORM_MIN_VERSION');
