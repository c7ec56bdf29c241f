/**
 * Where `actual` (a job as Nomad stored it) lacks or changes something `expected` (the job we
 * sent) says. Nomad adds defaults and its own entries (a Connect sidecar task, its ports and
 * constraints), so extra keys and extra array entries are fine; a key we sent that Nomad
 * dropped, or a value it changed, is a difference, reported by path.
 * Arrays of objects match when every expected entry is contained in some actual entry;
 * arrays of scalars must be equal.
 */
export function missingFrom(expected: unknown, actual: unknown, path = '$'): string[] {
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual)) return [`${path}: expected an array, Nomad has ${JSON.stringify(actual)}`];
    if (expected.every((e) => e === null || typeof e !== 'object')) {
      return JSON.stringify(expected) === JSON.stringify(actual) ? [] : [`${path}: sent ${JSON.stringify(expected)}, Nomad has ${JSON.stringify(actual)}`];
    }
    return expected.flatMap((e, i) => {
      const label = (e as { Name?: string; Label?: string }).Name ?? (e as { Label?: string }).Label ?? i;
      const here = `${path}[${JSON.stringify(label)}]`;
      const candidates = actual.filter((a) => missingFrom(e, a, here).length === 0);
      if (candidates.length > 0) return [];
      // Report against the entry of the same name, when there is one, so the message is precise.
      const named = actual.find((a) => a && typeof a === 'object' && ((a as any).Name ?? (a as any).Label) === label && label !== i);
      return named ? missingFrom(e, named, here) : [`${here}: not found in Nomad's ${JSON.stringify(actual).slice(0, 300)}`];
    });
  }
  if (expected !== null && typeof expected === 'object') {
    if (actual === null || typeof actual !== 'object' || Array.isArray(actual)) {
      return [`${path}: expected an object, Nomad has ${JSON.stringify(actual)}`];
    }
    return Object.entries(expected).flatMap(([key, value]) =>
      key in (actual as object) ? missingFrom(value, (actual as Record<string, unknown>)[key], `${path}.${key}`) : [`${path}.${key}: dropped by Nomad`],
    );
  }
  return expected === actual ? [] : [`${path}: sent ${JSON.stringify(expected)}, Nomad has ${JSON.stringify(actual)}`];
}
