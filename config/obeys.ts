import { z } from 'zod';
import type { Check } from '../constructs/core/rule';

/**
 * A construct's value rule as a zod refinement: the schema refuses what the construct would,
 * in the construct's words, with the path zod knows and the value received.
 * `z.string().superRefine(obeys(checkServiceName))`
 */
export function obeys<T>(check: Check<T>): (value: T, ctx: z.RefinementCtx) => void {
  return (value, ctx) => {
    const broken = check(value);
    if (broken) ctx.addIssue({ code: 'custom', message: `${broken}${received(value)}` });
  };
}

/** A scalar is named after the rule; a list or object rule names the item itself. */
function received(value: unknown): string {
  if (typeof value === 'string') return `, got '${value}'`;
  if (typeof value === 'number') return `, got ${value}`;
  return '';
}
