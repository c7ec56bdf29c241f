/**
 * Terraform reads every `${…}` and `%{…}` in a string as its own template. Nomad's runtime
 * interpolations (`${node.unique.name}`, `${NOMAD_ALLOC_DIR}`) must reach Nomad as written,
 * so they are escaped as `$${…}` / `%%{…}`. cdktf's own token markers (`${TfToken[…]}`),
 * which become Terraform references at synth, are left alone.
 */
export function escapeTerraformTemplates(text: string): string {
  return text.replace(/\$\{(?!TfToken\[)/g, '$$${').replace(/%\{/g, '%%{');
}
