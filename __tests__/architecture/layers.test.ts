import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/synth';
import { importGraph } from '../support/imports';

/**
 * Synth and run time stay apart. Nothing synth loads (main.ts, config/, constructs/, stacks/)
 * imports commands/; commands/ take from constructs/ only plain modules (the Nomad JSON types,
 * value types such as Duration), never one that is, or loads, the construct library: what a
 * command needs of the stack's rules comes through config/.
 */
const graph = importGraph(REPO_ROOT, ['constructs', 'config', 'stacks', 'commands']);
const CONSTRUCT_LIBRARIES = /^(cdktf|constructs|@cdktf\/.*)$/;

/** The packages a module imports by name (not by path). */
function packagesOf(file: string): string[] {
  return ts.preProcessFile(readFileSync(join(REPO_ROOT, file), 'utf8'), true, true).importedFiles.map((i) => i.fileName).filter((n) => !n.startsWith('.'));
}

/** A module that imports the construct library, or a module that does. */
function loadsConstructLibrary(file: string, seen = new Set<string>()): boolean {
  if (seen.has(file)) return false;
  seen.add(file);
  return packagesOf(file).some((p) => CONSTRUCT_LIBRARIES.test(p)) || (graph.get(file) ?? []).some((f) => loadsConstructLibrary(f, seen));
}

/** `from → to` for each import from a module under one of `from` into `to`. */
function importsInto(from: readonly string[], to: (file: string) => boolean): string[] {
  return [...graph].filter(([file]) => from.some((f) => file.startsWith(f))).flatMap(([file, targets]) => targets.filter(to).map((t) => `${file} → ${t}`));
}

describe('synth and run time', () => {
  it('nothing synth loads imports commands/', () => {
    expect(importsInto(['config/', 'constructs/', 'stacks/'], (t) => t.startsWith('commands/'))).toEqual([]);
    expect(ts.preProcessFile(readFileSync(join(REPO_ROOT, 'main.ts'), 'utf8'), true, true).importedFiles.map((i) => i.fileName).filter((n) => n.includes('commands/'))).toEqual([]);
  });

  it('commands/ import no construct module that loads cdktf or constructs (config/ is the way in)', () => {
    expect(importsInto(['commands/'], (t) => t.startsWith('constructs/') && loadsConstructLibrary(t))).toEqual([]);
  });

  it('the check sees a construct module behind a plain-looking import', () => {
    expect(loadsConstructLibrary('constructs/rails/puma.ts')).toBe(true);
    expect(loadsConstructLibrary('constructs/nomad/api.ts')).toBe(false);
    expect(packagesOf('commands/cli.ts').some((p) => CONSTRUCT_LIBRARIES.test(p))).toBe(false);
  });
});
