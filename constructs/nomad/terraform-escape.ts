import type { IResolveContext } from 'cdktf';
import { referenceMark } from './api';
import { isUnresolved } from '../core/tokens';

/**
 * Terraform reads every `${…}` and `%{…}` in a string as its own template. Nomad's runtime
 * interpolations (`${node.unique.name}`, `${NOMAD_ALLOC_DIR}`) must reach Nomad as written,
 * so they are escaped as `$${…}` / `%%{…}`. cdktf's own token markers (`${TfToken[…]}`),
 * which become Terraform references at synth, are left alone.
 */
export function escapeTerraformTemplates(text: string): string {
  return text.replace(/\$\{(?!TfToken\[)/g, '$$${').replace(/%\{/g, '%%{');
}

/** cdktf's marker for a string token (`${TfToken[TOKEN.12]}`). */
const STRING_TOKEN_MARKER = /\$\{TfToken\[[A-Za-z0-9:._-]+\]\}/g;

/**
 * Text a `Lazy` produces for a Terraform string attribute: Nomad's interpolations escaped and
 * each token marker replaced by what it resolves to (`${docker_registry_image.image.sha256_digest}`),
 * the text cdktf would put there. Left to cdktf, one marker anywhere makes it split the whole
 * text at every `}` (each a possible end of an escape), rescanning it each time: for a jobspec
 * of some 15 KB, that was most of what synthesizing it cost.
 */
export function terraformText(text: string, context: IResolveContext): string {
  return escapeTerraformTemplates(text).replace(STRING_TOKEN_MARKER, (marker) => resolvedMarker(marker, context));
}

/**
 * The JSON of a document for a reader that is not Terraform (`RENDERED_JOB_KEY` in api.ts):
 * nothing escaped, each string token marker replaced by the `referenceMark` of the reference it
 * resolves to, and a number token (a count from a variable) by a string that is its mark alone.
 */
export function referenceMarkedJson(document: unknown, context: IResolveContext): string {
  const numbersMarked = JSON.stringify(document, (_, value: unknown) =>
    typeof value === 'number' && isUnresolved(value) ? referenceMark(referenceOf(context.resolve(value), value)) : value,
  );
  // Inside a JSON string: the NULs of the mark written as JSON escapes them.
  const inString = (reference: string) => JSON.stringify(referenceMark(reference)).slice(1, -1);
  return numbersMarked
    .replace(STRING_TOKEN_MARKER, (marker) => inString(referenceOf(resolvedMarker(marker, context), marker)))
    .replace(NUMBER_IN_TEXT, (text) => (isUnresolved(Number(text)) ? inString(referenceOf(context.resolve(Number(text)), text)) : text))
    // Nomad's `${…}` with its `$` as a JSON escape, which JSON.parse reads back: cdktf resolves what
    // a Lazy produces, and a `${` in it would have it split the text at every `}` (see terraformText).
    .replace(/\$\{/g, '\\u0024{');
}

/** A number written into a string (`${threads}:4`): cdktf's number tokens are doubles near ±1e289. */
const NUMBER_IN_TEXT = /-?\d+(?:\.\d+)?e[-+]?\d+/gi;

/** `${docker_registry_image.image.sha256_digest}` → `docker_registry_image.image.sha256_digest`. */
function referenceOf(resolved: unknown, token: unknown): string {
  const reference = typeof resolved === 'string' ? /^\$\{([^{}]+)\}$/.exec(resolved)?.[1] : undefined;
  if (!reference) throw new Error(`token ${String(token)} resolved to ${JSON.stringify(resolved)}, not to one Terraform reference`);
  return reference;
}

function resolvedMarker(marker: string, context: IResolveContext): string {
  const resolved: unknown = context.resolve(marker);
  if (typeof resolved !== 'string') throw new Error(`token ${marker} resolved to ${JSON.stringify(resolved)}, not to a string`);
  return resolved;
}
