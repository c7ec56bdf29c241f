import type { IConstruct } from 'constructs';

/**
 * An error thrown while a construct is built, prefixed with its construct path the way
 * cdktf prefixes the errors of validations at synth: `[production/rails/web] group 'web': …`.
 */
export function constructError(construct: IConstruct, message: string): Error {
  return new Error(`[${construct.node.path}] ${message}`);
}
