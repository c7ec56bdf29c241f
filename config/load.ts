import { existsSync, statSync } from 'node:fs';
import { ZodError } from 'zod';
import { hashBuildContext } from './build-context';
import { describeIssues } from './issues';
import type { EdgeInputs } from './edge';
import { local } from './local';
import { OperatorInputError } from './operator-inputs';
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
  constructor(readonly environment: string, readonly issues: readonly string[]) {
    super(`invalid configuration for environment '${environment}':\n${issues.map((i) => `  - ${i}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Validates an environment as written and fills its defaults. */
export function parseEnvironment(input: unknown, label = describe(input)): Environment {
  try {
    return environmentSchema.parse(input);
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
  const environment = parseEnvironment(input, name);
  const { image } = environment;
  if (image.source !== 'build') return environment;
  if (!existsSync(image.context)) return environment;
  if (!statSync(image.context).isDirectory()) {
    throw new ConfigError(name, [`image.context: '${image.context}' is not a directory`]);
  }
  if (!existsSync(`${image.context}/${image.dockerfile}`)) {
    throw new ConfigError(name, [`image.dockerfile: '${image.dockerfile}' does not exist in the build context '${image.context}'`]);
  }
  const started = Date.now();
  const digest = hashBuildContext(image.context, image.dockerfile);
  const seconds = (Date.now() - started) / 1000;
  if (seconds > 1) {
    options.log?.(`${name}: hashed build context ${image.context}: ${digest.files} files, ${(digest.bytes / 1e6).toFixed(1)} MB in ${seconds.toFixed(1)}s`);
  }
  return { ...environment, image: { ...image, contextHash: digest.sha256 } };
}

function describe(input: unknown): string {
  const name = (input as { name?: unknown } | null)?.name;
  return typeof name === 'string' ? name : '(unnamed)';
}
