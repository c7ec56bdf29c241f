import { existsSync, readFileSync, statSync } from 'node:fs';
import type { Environment } from './schema';

type RuntimeConfigInput = NonNullable<Environment['runtimeConfig']>;

/** Each declared item as a path relative to the operator's directory: `config/database.yml`, `env/SECRET_KEY_BASE`. */
function items(config: RuntimeConfigInput): string[] {
  return [...config.files, ...config.env.map((name) => `env/${name}`)];
}

/**
 * Which declared runtime config items are not in the operator's directory: synth warns, naming
 * each (synth also runs where nothing is deployed); a deploy stops on them. Whether a YAML file
 * parses is checked when Terraform plans (constructs/terraform/deploy-check.ts): a parser here
 * would double synth's start-up time.
 */
export function missingRuntimeConfig(config: RuntimeConfigInput): string[] {
  return items(config).filter((file) => !existsSync(`${config.source}/${file}`));
}

/**
 * Which declared items are there but hold nothing but white space: synth warns, a deploy stops on
 * them (the Terraform check is the one that holds; a YAML file of comments only is refused there
 * too). The text is read to be tested and goes nowhere.
 */
export function emptyRuntimeConfig(config: RuntimeConfigInput): string[] {
  return items(config).filter((file) => {
    const path = `${config.source}/${file}`;
    return existsSync(path) && statSync(path).isFile() && !/\S/.test(readFileSync(path, 'utf8'));
  });
}
