import { existsSync, statSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { ZodError } from 'zod';
import { type ContextDigest, hashBuildContext } from './build-context';
import { ConfigError, ENVIRONMENTS } from './environments';
import { describeIssues, issueWords } from './issues';
import type { EdgeInputs } from './edge';
import { emptyRuntimeConfig, missingRuntimeConfig } from './runtime-config';
import { rubyVersionMismatches } from './ruby-version';
import { OPERATOR_INPUT_OF, OperatorInputError } from './operator-inputs';
import { environmentSchema, type Environment, type EnvironmentInput } from './schema';

export { ConfigError, ENVIRONMENTS } from './environments';

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
    return environmentSchema.parse(input, { error: issueWords });
  } catch (e) {
    if (e instanceof ZodError) {
      throw new ConfigError(label, describeIssues(environmentSchema, input, e.issues));
    }
    throw e;
  }
}

export interface LoadOptions {
  /** Told of slow steps (hashing a large build context). @default - silent */
  readonly log?: (message: string) => void;
  /** Told of what a deploy would lack (missing runtime configuration). @default - `log` */
  readonly warn?: (message: string) => void;
  /**
   * Build-context digests this synth has computed, by context and Dockerfile: environments
   * that build from one checkout hash it once. Pass one map to every loadEnvironment of a synth.
   * @default - the context is hashed on every call
   */
  readonly digests?: Map<string, ContextDigest>;
  /**
   * Whether the image is to be built here: the build context is checked and hashed. A command
   * that only reads the cluster (status, logs) says false and starts without touching the checkout.
   * @default true
   */
  readonly build?: boolean;
}

/** Reads, validates and completes one environment: the one place configuration meets the machine. */
export function loadEnvironment(name: string, edge: EdgeInputs, options: LoadOptions = {}): Environment {
  const make = ENVIRONMENTS[name];
  if (!make) {
    throw new ConfigError(name, [`no such environment; known: ${Object.keys(ENVIRONMENTS).join(', ')}`]);
  }
  let input: EnvironmentInput;
  try {
    input = make(edge);
  } catch (e) {
    if (e instanceof OperatorInputError) throw new ConfigError(name, [e.message]);
    throw e;
  }
  let environment: Environment;
  try {
    environment = parseEnvironment(input, name);
  } catch (e) {
    throw e instanceof ConfigError ? operatorInputError(e, edge) : e;
  }
  if (options.build === false) return environment;
  checkRuntimeConfig(name, environment, options);
  const { image } = environment;
  if (image.source !== 'build') return environment;
  if (!existsSync(image.context)) return environment;
  if (!statSync(image.context).isDirectory()) {
    throw new ConfigError(name, [`image.context: '${image.context}' is not a directory`]);
  }
  const dockerfile = isAbsolute(image.dockerfile) ? image.dockerfile : join(image.context, image.dockerfile);
  if (!existsSync(dockerfile)) {
    const where = isAbsolute(image.dockerfile) ? '' : ` in the build context '${image.context}'`;
    throw operatorInputError(new ConfigError(name, [`image.dockerfile: '${image.dockerfile}' does not exist${where}`]), edge);
  }
  const mismatches = rubyVersionMismatches(image.context, dockerfile);
  if (mismatches.length > 0) {
    throw operatorInputError(new ConfigError(name, mismatches.map((m) => `image.dockerfile: ${m}`)), edge);
  }
  const key = `${image.context}\0${image.dockerfile}`;
  let digest = options.digests?.get(key);
  if (!digest) {
    digest = hashWithProgress(name, image.context, image.dockerfile, options.log);
    options.digests?.set(key, digest);
  }
  return { ...environment, image: { ...image, contextHash: digest.sha256 } };
}

/** Missing or empty runtime config items only warn: synth also runs where nothing is deployed (review, CI). */
function checkRuntimeConfig(name: string, environment: Environment, options: LoadOptions): void {
  const config = environment.runtimeConfig;
  if (!config) return;
  const missing = missingRuntimeConfig(config);
  if (missing.length > 0) {
    (options.warn ?? options.log)?.(`${name}: a deploy needs ${missing.join(', ')} in ${config.source} (DASHBOARD_CONFIG_DIR): synth goes on without them`);
  }
  const empty = emptyRuntimeConfig(config);
  if (empty.length > 0) {
    options.log?.(`${name}: ${empty.join(', ')} in ${config.source} (DASHBOARD_CONFIG_DIR) ${empty.length === 1 ? 'is' : 'are'} empty, and a deploy refuses an empty value: synth goes on`);
  }
}

/** Hashes a build context; past a second, says so on the log every second, and when done. */
function hashWithProgress(name: string, context: string, dockerfile: string, log: ((message: string) => void) | undefined): ContextDigest {
  const megabytes = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;
  const started = Date.now();
  const digest = hashBuildContext(context, dockerfile, {
    ...(log ? { onProgress: ({ files, bytes }) => log(`${name}: hashing build context ${context}: ${files} files, ${megabytes(bytes)} so far`) } : {}),
  });
  const seconds = (Date.now() - started) / 1000;
  if (seconds > 1) log?.(`${name}: hashed build context ${context}: ${digest.files} files, ${megabytes(digest.bytes)} in ${seconds.toFixed(1)}s`);
  return digest;
}

function describe(input: unknown): string {
  const name = (input as { name?: unknown } | null)?.name;
  return typeof name === 'string' ? name : '(unnamed)';
}
