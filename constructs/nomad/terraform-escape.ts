import type { IResolveContext } from 'cdktf';

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
  return escapeTerraformTemplates(text).replace(STRING_TOKEN_MARKER, (marker) => {
    const resolved: unknown = context.resolve(marker);
    if (typeof resolved !== 'string') throw new Error(`token ${marker} resolved to ${JSON.stringify(resolved)}, not to a string`);
    return resolved;
  });
}
