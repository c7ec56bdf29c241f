import { existsSync, readFileSync } from 'node:fs';
import type { Environment } from './schema';

/**
 * Which declared runtime config items are not in the operator's directory: synth warns, naming
 * each (synth also runs where nothing is deployed); a deploy stops on them. Whether a YAML file
 * parses is checked when Terraform plans (constructs/terraform/deploy-check.ts): a parser here
 * would double synth's start-up time.
 */
export function missingRuntimeConfig(config: NonNullable<Environment['runtimeConfig']>): string[] {
  return [
    ...config.files.filter((file) => !existsSync(`${config.source}/${file}`)),
    ...config.env.map((name) => `env/${name}`).filter((file) => !existsSync(`${config.source}/${file}`)),
  ];
}

/**
 * Which declared items are there but empty (no bytes, or only white space): shipped, they would
 * restart every task with an empty value. `npm run doctor` names them.
 */
export function emptyRuntimeConfig(config: NonNullable<Environment['runtimeConfig']>): string[] {
  return [...config.files, ...config.env.map((name) => `env/${name}`)].filter((file) => {
    const path = `${config.source}/${file}`;
    return existsSync(path) && readFileSync(path, 'utf8').trim() === '';
  });
}
