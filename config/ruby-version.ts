import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * A Dockerfile that builds on `ARG RUBY_VERSION=<x.y.z>` must build the Ruby the app asks for:
 * the checkout's `.ruby-version` and the `ruby '…'` line of its Gemfile, where they name an exact
 * version. Returns what disagrees, one line each, or nothing.
 */
export function rubyVersionMismatches(context: string, dockerfile: string): string[] {
  const declared = /^\s*ARG\s+RUBY_VERSION=(\S+)\s*$/m.exec(readFileSync(dockerfile, 'utf8'))?.[1];
  if (!declared) return [];
  const wanted: Array<[string, string | undefined]> = [
    ['.ruby-version', readIf(join(context, '.ruby-version'))?.trim().replace(/^ruby-/, '')],
    ['Gemfile', /^\s*ruby\s+['"]=?\s*(\d+\.\d+\.\d+)['"]/m.exec(readIf(join(context, 'Gemfile')) ?? '')?.[1]],
  ];
  return wanted
    .filter(([, version]) => version !== undefined && version !== '' && version !== declared)
    .map(([file, version]) => `the Dockerfile builds Ruby ${declared} (ARG RUBY_VERSION), the checkout's ${file} asks for ${version}`);
}

function readIf(path: string): string | undefined {
  return existsSync(path) ? readFileSync(path, 'utf8') : undefined;
}
