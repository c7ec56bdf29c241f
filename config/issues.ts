import { z } from 'zod';

/**
 * Zod's issues as lines a person reads: list items named by their `name` where it is unique
 * (`workers[sidekiq-long].resources`), an unknown key with the key it likely means ("did you
 * mean 'memoryMB'?"), and no "Required" for the key that typo was meant to be.
 */
export function describeIssues(schema: z.ZodTypeAny, input: unknown, issues: readonly z.ZodIssue[]): string[] {
  const meant = new Set<string>();
  const hints = new Map<z.ZodIssue, string>();
  for (const issue of issues) {
    if (issue.code !== z.ZodIssueCode.unrecognized_keys) continue;
    const here = valueAt(input, issue.path);
    const present = new Set(isRecord(here) ? Object.keys(here) : []);
    const absent = knownKeys(schema, input, issue.path).filter((k) => !present.has(k));
    const guesses: string[] = [];
    for (const key of issue.keys) {
      const guess = closest(key, absent);
      if (guess === undefined) continue;
      guesses.push(issue.keys.length > 1 ? `'${guess}' for '${key}'` : `'${guess}'`);
      meant.add(pathKey([...issue.path, guess]));
    }
    if (guesses.length > 0) hints.set(issue, ` (did you mean ${guesses.join(', ')}?)`);
  }
  return issues
    .filter((i) => !(i.code === z.ZodIssueCode.invalid_type && i.received === 'undefined' && meant.has(pathKey(i.path))))
    .map((i) => `${formatPath(i.path, input)}: ${i.message}${hints.get(i) ?? ''}`);
}

/** `web.update.minHealthyTime`, `workers[sidekiq-long].resources`; an item without a unique name keeps its index. */
function formatPath(path: readonly (string | number)[], input: unknown): string {
  if (path.length === 0) return '(environment)';
  let out = '';
  let value = input;
  for (const p of path) {
    if (typeof p === 'number') {
      const name = Array.isArray(value) ? uniqueName(value, p) : undefined;
      out += `[${name ?? p}]`;
    } else {
      out += out === '' ? p : `.${p}`;
    }
    value = isRecord(value) || Array.isArray(value) ? (value as Record<string | number, unknown>)[p] : undefined;
  }
  return out;
}

function uniqueName(items: readonly unknown[], index: number): string | undefined {
  const name = (items[index] as { name?: unknown } | undefined)?.name;
  if (typeof name !== 'string' || name === '') return undefined;
  return items.filter((item) => (item as { name?: unknown } | undefined)?.name === name).length === 1 ? name : undefined;
}

/** The keys the schema allows in the object at this path of the input. */
function knownKeys(schema: z.ZodTypeAny, input: unknown, path: readonly (string | number)[]): string[] {
  let node: z.ZodTypeAny | undefined = schema;
  let value = input;
  for (const p of path) {
    node = unwrap(node, value);
    if (node instanceof z.ZodObject) node = (node.shape as Record<string, z.ZodTypeAny>)[p];
    else if (node instanceof z.ZodArray) node = node.element as z.ZodTypeAny;
    else if (node instanceof z.ZodRecord) node = node.valueSchema as z.ZodTypeAny;
    else return [];
    value = isRecord(value) || Array.isArray(value) ? (value as Record<string | number, unknown>)[p] : undefined;
  }
  node = unwrap(node, value);
  return node instanceof z.ZodObject ? Object.keys(node.shape) : [];
}

/** Past refinements, optionals and defaults, and to the member of a discriminated union the value chose. */
function unwrap(node: z.ZodTypeAny | undefined, value: unknown): z.ZodTypeAny | undefined {
  for (;;) {
    if (node instanceof z.ZodEffects) node = node.innerType();
    else if (node instanceof z.ZodOptional || node instanceof z.ZodNullable) node = node.unwrap();
    else if (node instanceof z.ZodDefault) node = node.removeDefault();
    else if (node instanceof z.ZodDiscriminatedUnion) {
      const tag = isRecord(value) ? value[node.discriminator] : undefined;
      node = node.optionsMap.get(tag as z.Primitive);
    } else return node;
  }
}

/** The allowed key a typo most likely meant: the same but for case, or one or two letters off. */
function closest(key: string, candidates: readonly string[]): string | undefined {
  const sameCase = candidates.find((c) => c.toLowerCase() === key.toLowerCase());
  if (sameCase) return sameCase;
  let best: { key: string; distance: number } | undefined;
  for (const c of candidates) {
    const distance = editDistance(key.toLowerCase(), c.toLowerCase());
    if (distance <= 2 && distance < key.length / 2 && (!best || distance < best.distance)) best = { key: c, distance };
  }
  return best?.key;
}

function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    row = next;
  }
  return row[b.length]!;
}

function valueAt(input: unknown, path: readonly (string | number)[]): unknown {
  let value = input;
  for (const p of path) value = isRecord(value) || Array.isArray(value) ? (value as Record<string | number, unknown>)[p] : undefined;
  return value;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function pathKey(path: readonly (string | number)[]): string {
  return JSON.stringify(path);
}
