import { describe, expect, it } from 'vitest';
import ts from 'typescript';
import { importGraph } from '../support/imports';
import { REPO_ROOT } from '../support/synth';

/**
 * No module of the program imports itself back, type imports included: a cycle makes the
 * order modules load in decide what a value is (a class still undefined at import), and it
 * means two modules are one. Imports are read with TypeScript's own pre-processor.
 */
const FOLDERS = ['constructs', 'config', 'stacks', 'commands'];

/** Each cycle once, as the path that closes it: `a.ts → b.ts → a.ts`. */
export function cyclesOf(graph: ReadonlyMap<string, readonly string[]>): string[] {
  const cycles = new Set<string>();
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (node: string) => {
    state.set(node, 'open');
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === 'open') {
        const loop = stack.slice(stack.indexOf(next));
        // The same cycle found from another of its modules reads the same from its smallest one.
        const start = loop.indexOf([...loop].sort()[0]!);
        const turned = [...loop.slice(start), ...loop.slice(0, start)];
        cycles.add([...turned, turned[0]].join(' → '));
      } else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(node, 'done');
  };
  for (const node of [...graph.keys()].sort()) if (!state.has(node)) visit(node);
  return [...cycles];
}

describe('imports among constructs/, config/, stacks/ and commands/', () => {
  it('hold no cycle', () => {
    const graph = importGraph(REPO_ROOT, FOLDERS);
    expect(graph.size).toBeGreaterThan(40);
    expect(cyclesOf(graph)).toEqual([]);
  });

  it('the walk sees a cycle, a type import closing it, and one through a third module', () => {
    expect(cyclesOf(new Map([['a.ts', ['b.ts']], ['b.ts', ['a.ts']]]))).toEqual(['a.ts → b.ts → a.ts']);
    expect(cyclesOf(new Map([['b.ts', ['c.ts']], ['c.ts', ['a.ts']], ['a.ts', ['b.ts']], ['d.ts', ['a.ts']]]))).toEqual(['a.ts → b.ts → c.ts → a.ts']);
    const typeOnly = ts.preProcessFile("import type { X } from './x';\nexport { Y } from './y';", true, true).importedFiles.map((i) => i.fileName);
    expect(typeOnly).toEqual(['./x', './y']);
  });
});
