import type { EdgeInputs } from './edge';
import { local } from './local';
import { production } from './production';
import type { EnvironmentInput } from './schema';
import { staging } from './staging';

/**
 * Every environment this program deploys, by stack name: each one as written, before the schema
 * validates it. Light to load (no schema, no cdktf), so a command that only reads the cluster
 * (status, logs, history) starts fast; everything else goes through config/load.ts.
 */
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
