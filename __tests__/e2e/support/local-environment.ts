import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../../support/synth';
import { NomadApi } from './nomad-api';
import { freePorts } from './ports';
import { RegistryApi } from './registry-api';

/** The variables `.ci/local/up.sh` writes to local.env. */
export interface LocalEnv {
  NOMAD_ADDR: string;
  DOCKER_HOST: string;
  DOCKER_REGISTRY_USER: string;
  DOCKER_REGISTRY_PASS: string;
  LOCAL_REGISTRY_ADDRESS: string;
}

let tools: Record<string, string> | undefined;

/**
 * Tools from `npm run tools`: what `.ci/tools/env.sh` exports (their bin/ first on PATH,
 * Terraform reading the offline mirror), asked of the script itself so the defaults live there only.
 */
export function toolsEnv(): Record<string, string> {
  if (!tools) {
    const names = ['DASHBOARD_TOOLS_DIR', 'PATH', 'TF_CLI_CONFIG_FILE', 'TF_PLUGIN_CACHE_DIR', 'TERRAFORM_BINARY_NAME'] as const;
    const r = spawnSync('bash', ['-c', `. .ci/tools/env.sh 2>/dev/null; printf "%s\\0" ${names.map((n) => `"$${n}"`).join(' ')}`], {
      cwd: REPO_ROOT,
      env: process.env,
      encoding: 'utf8',
    });
    const values = r.stdout.split('\0');
    if (r.status !== 0 || values.length < names.length || values.slice(0, names.length).some((v) => !v)) {
      throw new Error(`sourcing .ci/tools/env.sh failed: ${r.stderr}`);
    }
    tools = { ...Object.fromEntries(names.map((n, i) => [n, values[i]!])), CHECKPOINT_DISABLE: '1' };
  }
  return tools;
}

/**
 * A fresh local environment (Nomad dev agent, authenticated registry, podman's Docker API)
 * on free loopback ports, with its own state directory: started by the same script a
 * contributor runs (`npm run local:up`), stopped and purged by `local:down -- --purge`.
 */
export class LocalEnvironment {
  /** `pathFirst`: a directory put ahead of the tools on PATH (a test's stand-in for a service's binary). */
  static async start(options: { pathFirst?: string } = {}): Promise<LocalEnvironment> {
    const stateDir = mkdtempSync(join(tmpdir(), 'e2e-'));
    const nomadPort = await freePorts(3);
    const registryPort = await freePorts(1);
    const path = options.pathFirst ? `${options.pathFirst}:${toolsEnv().PATH}` : toolsEnv().PATH;
    const env = { ...process.env, ...toolsEnv(), PATH: path, LOCAL_STATE_DIR: stateDir, NOMAD_PORT_HTTP: String(nomadPort), REGISTRY_PORT: String(registryPort) };
    const up = runUp(env);
    const local = new LocalEnvironment(stateDir, env);
    local.startOutput = `${up.stdout}${up.stderr}`;
    if (up.status !== 0) {
      local.stop();
      throw new Error(`local:up failed (${up.status}):\n${up.stdout}\n${up.stderr}`);
    }
    return local;
  }

  readonly env: LocalEnv;
  /** What local:up printed. */
  startOutput = '';
  readonly nomad: NomadApi;
  readonly registry: RegistryApi;

  private constructor(
    readonly stateDir: string,
    private readonly processEnv: NodeJS.ProcessEnv,
  ) {
    this.env = {} as LocalEnv;
    try {
      for (const line of readFileSync(join(stateDir, 'local.env'), 'utf8').split('\n')) {
        const m = /^export ([A-Z_]+)=(.*)$/.exec(line);
        // up.sh quotes with printf %q; our values hold no characters that need it, but unquote '…' anyway.
        if (m) (this.env as unknown as Record<string, string>)[m[1]!] = m[2]!.replace(/^'(.*)'$/, '$1');
      }
    } catch {
      // No local.env: start() failed before writing it and stops this environment.
    }
    this.nomad = new NomadApi(this.env.NOMAD_ADDR);
    this.registry = new RegistryApi(this.env.LOCAL_REGISTRY_ADDRESS, this.env.DOCKER_REGISTRY_USER, this.env.DOCKER_REGISTRY_PASS);
  }

  /** The lines of a service's log (nomad, registry, podman). */
  log(name: 'nomad' | 'registry' | 'podman'): string {
    return readFileSync(join(this.stateDir, 'logs', `${name}.log`), 'utf8');
  }

  /** Runs local:up again on the same ports and state; returns what it printed. */
  async restart(): Promise<string> {
    const up = runUp(this.processEnv);
    if (up.status !== 0) throw new Error(`local:up again failed (${up.status}):\n${up.stdout}\n${up.stderr}`);
    return `${up.stdout}${up.stderr}`;
  }

  /**
   * Stops the registry as an outage would (SIGTERM to the pid local:up recorded), leaving Nomad
   * and podman running, and waits for it to exit. `restart()` starts it again, with a fresh log:
   * `pushes()` then counts from that start.
   */
  async stopRegistry(): Promise<void> {
    const pid = Number(readFileSync(join(this.stateDir, 'pids', 'registry.pid'), 'utf8').trim());
    if (!Number.isInteger(pid) || pid <= 0) throw new Error(`no registry pid in ${this.stateDir}/pids/registry.pid`);
    process.kill(pid, 'SIGTERM');
    // Exited, or a zombie nobody reaps yet (its parent, local:up, is gone): either way it no longer listens.
    const alive = () => {
      try {
        return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
      } catch {
        return false;
      }
    };
    for (let i = 0; i < 100 && alive(); i++) await new Promise((r) => setTimeout(r, 100));
    if (alive()) throw new Error(`the registry (pid ${pid}) did not exit within 10 s of SIGTERM`);
  }

  /** Image builds podman has been asked for (its access log). */
  builds(): number {
    return (this.log('podman').match(/"POST \/v[\d.]+\/build/g) ?? []).length;
  }

  /** Manifests pushed to the registry since it (re)started (its access log). */
  pushes(repository = 'wikiedu-web'): number {
    return (this.log('registry').match(new RegExp(`"PUT /v2/${repository}/manifests/`, 'g')) ?? []).length;
  }

  stop(): void {
    spawnSync('bash', [join(REPO_ROOT, '.ci/local/down.sh'), '--purge'], { env: this.processEnv, encoding: 'utf8', timeout: 120_000 });
  }
}

/** `npm run local:up`, as a contributor runs it, with the given environment. */
function runUp(env: NodeJS.ProcessEnv) {
  return spawnSync('bash', [join(REPO_ROOT, '.ci/local/up.sh')], { env, encoding: 'utf8', timeout: 180_000 });
}
