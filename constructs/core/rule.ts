import { isUnresolved } from './tokens';

/**
 * A value rule: `undefined` when the value keeps it, else the rule it breaks, said as the
 * rest of a sentence about the value ("must be a whole number of at least 1"). The construct
 * that needs a rule exports it; its own errors and the config schema both say it with these
 * words, so the two cannot drift apart.
 */
export type Check<T> = (value: T) => string | undefined;

/** A rule from a test and the words that say it. A value still unresolved (a Terraform reference) keeps it. */
export function rule<T>(holds: (value: T) => boolean, text: string): Check<T> {
  return (value) => (isUnresolved(value) || holds(value) ? undefined : text);
}

export interface WholeNumberOptions {
  readonly min: number;
  readonly max?: number;
  /** Said after "a whole number": `of MHz`. */
  readonly unit?: string;
  /** Said after the bounds, in parentheses: `Nomad's minimum`. */
  readonly why?: string;
}

/** "must be a whole number [of <unit>] of at least <min>[ and at most <max>][ (<why>)]" */
export function wholeNumber({ min, max, unit, why }: WholeNumberOptions): Check<number> {
  const text =
    `must be a whole number${unit ? ` of ${unit}` : ''} of at least ${min}` +
    `${max !== undefined ? ` and at most ${max}` : ''}${why ? ` (${why})` : ''}`;
  return rule((n) => Number.isInteger(n) && n >= min && (max === undefined || n <= max), text);
}

/** A path from the root: where a container mounts a volume, a file the machine that deploys reads. */
export const checkAbsolutePath = rule((path: string) => path.startsWith('/'), 'must be an absolute path');

/** A TCP port: on the host, inside a network namespace, or bound by a Connect upstream. */
export const checkPort: Check<number> = wholeNumber({ min: 1, max: 65535 });
