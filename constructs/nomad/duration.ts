import type { Nanoseconds } from './api';
import { rule } from '../core/rule';

const UNIT_NS = { ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 } as const;
type Unit = keyof typeof UNIT_NS;

/** Nomad's own notation: "250ms", "30s", "5m", "1h", "1m30s". */
export const checkDuration = rule((text: string) => parts(text) !== undefined, 'must be a duration such as "30s", "5m" or "1m30s"');

function parts(text: string): RegExpMatchArray[] | undefined {
  const found = [...text.matchAll(/(\d+)(ms|s|m|h)/g)];
  return found.length > 0 && found.map((p) => p[0]).join('') === text ? found : undefined;
}

/**
 * A length of time. Nomad's JSON wants nanoseconds; people write "30s".
 * `Duration.parse("30s").toNanoseconds() === 30_000_000_000`.
 */
export class Duration {
  static millis(n: number): Duration {
    return new Duration(n * UNIT_NS.ms);
  }
  static seconds(n: number): Duration {
    return new Duration(n * UNIT_NS.s);
  }
  static minutes(n: number): Duration {
    return new Duration(n * UNIT_NS.m);
  }

  /** Parses Nomad's own notation: "250ms", "30s", "5m", "1h", "1m30s". */
  static parse(text: string): Duration {
    const found = parts(text);
    if (!found) throw new Error(`'${text}' ${checkDuration(text)}`);
    return new Duration(found.reduce((ns, [, n, unit]) => ns + Number(n) * UNIT_NS[unit as Unit], 0));
  }

  private constructor(private readonly ns: number) {
    if (!Number.isSafeInteger(ns) || ns < 0) {
      throw new Error(`a duration must be a whole, non-negative number of nanoseconds, got ${ns}`);
    }
  }

  plus(other: Duration): Duration {
    return new Duration(this.ns + other.ns);
  }

  toNanoseconds(): Nanoseconds {
    return this.ns;
  }

  /** In seconds, fractions kept (sidekiq's -t, a release's timeout). */
  toSeconds(): number {
    return this.ns / UNIT_NS.s;
  }

  /** "30s", "5m", "1m30s": the shortest of Nomad's notations that says it exactly. */
  toString(): string {
    let rest = this.ns;
    let out = '';
    for (const unit of ['h', 'm', 's', 'ms'] as const) {
      const n = Math.floor(rest / UNIT_NS[unit]);
      if (n > 0) out += `${n}${unit}`;
      rest -= n * UNIT_NS[unit];
    }
    return out || '0s';
  }
}
