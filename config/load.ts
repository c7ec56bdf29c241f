import { existsSync, statSync } from 'node:fs';
import { ZodError } from 'zod';
import { hashBuildContext } from './build-context';
import type { EdgeInputs } from './edge';
import { OPERATOR_INPUT_OF } from './operator-inputs';
import { inspectRuntimeConfig } from './runtime-config';
import { local } from './local';
import { production } from './production';
import { environmentSchema, type Environment, type EnvironmentInput } from './schema';
import { staging } from './staging';

/** Every environment this program deploys, by stack name. */
export const ENVIRONMENTS: Readonly<Record<string, (edge: EdgeInputs) => EnvironmentInput>> = {
  production,
  staging,
  local,
};

/** A configuration that breaks a rule: the message names the environment, the path and the rule. */
export class ConfigError extends Error {
  constructor(
    readonly environment: string,
    readonly issues: readonly string[],
    heading = `invalid configuration for environment '${environment}'`,
  ) {
    super(`${heading}:\n${issues.map((i) => `  - ${i}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/**
 * An operator input (DASHBOARD_IMAGE, …) that breaks a rule. Every stack reads the same inputs
 * (cdktf synthesizes every stack for every command), so the error names the variable and the
 * value it got, not the first environment that happened to read it.
 */
function operatorInputError(error: ConfigError, edge: EdgeInputs): ConfigError {
  const inputs = [...new Set(error.issues.map((i) => OPERATOR_INPUT_OF[i.split(':')[0]!]).filter((v): v is string => !!v && edge.env[v] !== undefined))];
  if (inputs.length === 0) return error;
  const named = inputs.map((v) => `${v}='${edge.env[v]}'`).join(', ');
  return new ConfigError(error.environment, error.issues, `invalid ${named} (read by every stack: ${Object.keys(ENVIRONMENTS).join(', ')})`);
}

/** Validates an environment as written and fills its defaults. */
export function parseEnvironment(input: unknown, label = describe(input)): Environment {
  try {
    return environmentSchema.parse(input);
  } catch (e) {
    if (e instanceof ZodError) {
      throw new ConfigError(label, e.issues.map((i) => `${formatPath(i.path)}: ${i.message}`));
    }
    throw e;
  }
}

export interface LoadOptions {
  /** Told of slow steps (hashing a large build context). @default - silent */
  readonly log?: (message: string) => void;
}

/** Reads, validates and completes one environment: the one place configuration meets the machine. */
export function loadEnvironment(name: string, edge: EdgeInputs, options: LoadOptions = {}): Environment {
  const make = ENVIRONMENTS[name];
  if (!make) {
    throw new ConfigError(name, [`no such environment; known: ${Object.keys(ENVIRONMENTS).join(', ')}`]);
  }
  let environment: Environment;
  try {
    environment = parseEnvironment(make(edge), name);
  } catch (e) {
    throw e instanceof ConfigError ? operatorInputError(e, edge) : e;
  }
  checkRuntimeConfig(name, environment, edge, options);
  const { image } = environment;
  if (image.source !== 'build') return environment;
  if (!existsSync(image.context)) return environment;
  if (!statSync(image.context).isDirectory()) {
    throw new ConfigError(name, [`image.context: '${image.context}' is not a directory`]);
  }
  if (!existsSync(`${image.context}/${image.dockerfile}`)) {
    throw operatorInputError(new ConfigError(name, [`image.dockerfile: '${image.dockerfile}' does not exist in the build context '${image.context}'`]), edge);
  }
  const started = Date.now();
  const digest = hashBuildContext(image.context, image.dockerfile);
  const seconds = (Date.now() - started) / 1000;
  if (seconds > 1) {
    options.log?.(`${name}: hashed build context ${image.context}: ${digest.files} files, ${(digest.bytes / 1e6).toFixed(1)} MB in ${seconds.toFixed(1)}s`);
  }
  return { ...environment, image: { ...image, contextHash: digest.sha256 } };
}

/**
 * A malformed runtime config file fails synth, naming the file and line; missing items only warn,
 * since synth also runs where nothing is deployed (review, CI): a deploy stops on them.
 */
function checkRuntimeConfig(name: string, environment: Environment, edge: EdgeInputs, options: LoadOptions): void {
  const config = environment.runtimeConfig;
  if (!config) return;
  const { missing, malformed } = inspectRuntimeConfig(config);
  if (malformed.length > 0) {
    throw operatorInputError(new ConfigError(name, malformed.map((m) => `runtimeConfig.source: ${m}`)), edge);
  }
  if (missing.length > 0) {
    options.log?.(`${name}: a deploy needs ${missing.join(', ')} in ${config.source} (DASHBOARD_CONFIG_DIR): synth goes on without them`);
  }
}

function formatPath(path: readonly (string | number)[]): string {
  if (path.length === 0) return '(environment)';
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}

function describe(input: unknown): string {
  const name = (input as { name?: unknown } | null)?.name;
  return typeof name === 'string' ? name : '(unnamed)';
}
