import { z } from 'zod';

type Issue = z.core.$ZodIssue;
type Path = readonly PropertyKey[];

/**
 * Zod's issues as lines a person reads: list items named by their `name` where it is unique
 * (`workers[sidekiq-long].resources`), an unknown key with the key it likely means ("did you
 * mean 'memoryMB'?"), and no "Required" for the key that typo was meant to be. Parse with
 * `{ error: issueWords }`, so that zod's own messages are in the words below.
 */
export function describeIssues(schema: z.ZodType, input: unknown, issues: readonly Issue[]): string[] {
  const meant = new Set<string>();
  const hints = new Map<Issue, string>();
  for (const issue of issues) {
    if (issue.code !== 'unrecognized_keys') continue;
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
    .filter((i) => !(i.code === 'invalid_type' && valueAt(input, i.path) === undefined && meant.has(pathKey(i.path))))
    .map((i) => `${formatPath(i.path, input)}: ${i.message}${hints.get(i) ?? ''}`);
}

/**
 * Zod's own messages in the words config errors had before zod 4 (zod 3's): "Required",
 * "Expected number, received string", "Unrecognized key(s) in object: 'memroy'". A message
 * the schema states is kept.
 */
export const issueWords: z.core.$ZodErrorMap = (issue) => {
  switch (issue.code) {
    case 'invalid_type':
      return issue.input === undefined ? 'Required' : `Expected ${issue.expected}, received ${typeOf(issue.input)}`;
    case 'unrecognized_keys':
      return `Unrecognized key(s) in object: ${issue.keys.map(quote).join(', ')}`;
    case 'invalid_value':
      return issue.values.length === 1
        ? `Invalid literal value, expected ${JSON.stringify(issue.values[0])}`
        : `Invalid enum value. Expected ${issue.values.map(quote).join(' | ')}, received ${quote(issue.input)}`;
    case 'invalid_union':
      return issue.discriminator !== undefined && 'options' in issue && Array.isArray(issue.options)
        ? `Invalid discriminator value. Expected ${issue.options.map(quote).join(' | ')}`
        : 'Invalid input';
    case 'too_small':
      return bound(issue.origin, issue.exact ? 'exactly' : issue.inclusive ? 'at least' : 'more than', issue.minimum);
    case 'too_big':
      return bound(issue.origin, issue.exact ? 'exactly' : issue.inclusive ? 'at most' : 'less than', issue.maximum);
    case 'invalid_key':
      // A record key that breaks its rule (an env var's name): the rule's own words, at the key.
      return issue.issues.map((i) => i.message).join('; ');
    case 'invalid_format':
      return issue.format === 'regex' ? 'Invalid' : `Invalid ${issue.format}`;
    default:
      return undefined;
  }
};

function bound(origin: string, relation: string, limit: number | bigint): string | undefined {
  if (origin === 'string') return `String must contain ${relation} ${limit} character(s)`;
  if (origin === 'array') return `Array must contain ${relation} ${limit} element(s)`;
  if (origin === 'number') {
    const words: Record<string, string> = { exactly: 'exactly equal to', 'at least': 'greater than or equal to', 'more than': 'greater than', 'at most': 'less than or equal to', 'less than': 'less than' };
    return `Number must be ${words[relation]} ${limit}`;
  }
  return undefined;
}

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number' && !Number.isFinite(value)) return Number.isNaN(value) ? 'nan' : String(value); // zod 4 refuses Infinity as a number
  return typeof value;
}

function quote(value: unknown): string {
  return typeof value === 'string' ? `'${value}'` : String(value);
}

/** `web.update.minHealthyTime`, `workers[sidekiq-long].resources`; an item without a unique name keeps its index. */
function formatPath(path: Path, input: unknown): string {
  if (path.length === 0) return '(environment)';
  let out = '';
  let value = input;
  for (const p of path) {
    if (typeof p === 'number') {
      const name = Array.isArray(value) ? uniqueName(value, p) : undefined;
      out += `[${name ?? p}]`;
    } else {
      out += out === '' ? String(p) : `.${String(p)}`;
    }
    value = child(value, p);
  }
  return out;
}

function uniqueName(items: readonly unknown[], index: number): string | undefined {
  const name = (items[index] as { name?: unknown } | undefined)?.name;
  if (typeof name !== 'string' || name === '') return undefined;
  return items.filter((item) => (item as { name?: unknown } | undefined)?.name === name).length === 1 ? name : undefined;
}

/** The keys the schema allows in the object at this path of the input. */
function knownKeys(schema: z.core.$ZodType, input: unknown, path: Path): string[] {
  let node: z.core.$ZodType | undefined = schema;
  let value = input;
  for (const p of path) {
    node = unwrap(node, value);
    if (node instanceof z.ZodObject) node = (node.shape as Record<PropertyKey, z.core.$ZodType | undefined>)[p];
    else if (node instanceof z.ZodArray) node = node.element;
    else if (node instanceof z.ZodRecord) node = node.valueType;
    else return [];
    value = child(value, p);
  }
  node = unwrap(node, value);
  return node instanceof z.ZodObject ? Object.keys(node.shape) : [];
}

/** Past transforms, optionals and defaults, and to the member of a discriminated union the value chose. */
function unwrap(node: z.core.$ZodType | undefined, value: unknown): z.core.$ZodType | undefined {
  for (;;) {
    if (node instanceof z.ZodPipe) node = node.in;
    else if (node instanceof z.ZodOptional || node instanceof z.ZodNullable || node instanceof z.ZodDefault || node instanceof z.ZodPrefault) node = node.unwrap();
    else if (node instanceof z.ZodDiscriminatedUnion) {
      const discriminator = node.def.discriminator;
      const tag = isRecord(value) ? value[discriminator] : undefined;
      node = node.options.find((o) => {
        const field = o instanceof z.ZodObject ? (o.shape as Record<string, unknown>)[discriminator] : undefined;
        return field instanceof z.ZodLiteral && field.values.has(tag as never);
      });
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

function valueAt(input: unknown, path: Path): unknown {
  let value = input;
  for (const p of path) value = child(value, p);
  return value;
}

function child(value: unknown, key: PropertyKey): unknown {
  return isRecord(value) || Array.isArray(value) ? (value as Record<PropertyKey, unknown>)[key] : undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function pathKey(path: Path): string {
  return JSON.stringify(path.map(String));
}
