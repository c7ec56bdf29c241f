import { existsSync, readFileSync } from 'node:fs';
import type { Environment } from './schema';

/**
 * What synth can tell of the operator's runtime configuration without ever writing it anywhere:
 * which declared items are missing (a deploy will stop on them), and whether a YAML file parses.
 * A parse error names the file, the line and the kind of error, never the text around it: the
 * file holds secrets.
 */
export interface RuntimeConfigReport {
  readonly missing: readonly string[];
  readonly malformed: readonly string[];
}

const YAML_FILE = /\.ya?ml$/;

export function inspectRuntimeConfig(config: NonNullable<Environment['runtimeConfig']>): RuntimeConfigReport {
  const missing: string[] = [];
  const malformed: string[] = [];
  for (const file of config.files) {
    const path = `${config.source}/${file}`;
    if (!existsSync(path)) {
      missing.push(file);
      continue;
    }
    if (!YAML_FILE.test(file)) continue;
    // Loaded only when there is a file to parse: synth's start-up time is most of its cost.
    // prettyErrors computes linePos; its message quotes the text around the error, which is never shown.
    const { parseDocument } = require('yaml') as typeof import('yaml');
    const doc = parseDocument(readFileSync(path, 'utf8'), { prettyErrors: true });
    const error = doc.errors[0];
    if (error) {
      const line = error.linePos?.[0]?.line;
      malformed.push(`${file}${line ? ` line ${line}` : ''}: not valid YAML (${error.code})`);
    }
  }
  for (const name of config.env) {
    if (!existsSync(`${config.source}/env/${name}`)) missing.push(`env/${name}`);
  }
  return { missing, malformed };
}
