/**
 * What `npm run plan` must never print. Two nets: the values themselves (sensitive Terraform
 * variables and attributes, credentials in the environment), wherever they turn up; and any
 * field whose name says it holds a secret (a registry password in a task's docker `auth`),
 * whatever its value.
 */

import { isSecretName } from '../config/secret-names';

export const MASK = '(sensitive value)';

export class Redactor {
  private readonly values = new Set<string>();

  /** The values of every variable whose name looks like a secret: NOMAD_TOKEN, DOCKER_REGISTRY_PASS, TF_VAR_registry_pull_password. */
  static fromEnvironment(env: Readonly<Record<string, string | undefined>>): Redactor {
    const redactor = new Redactor();
    for (const [name, value] of Object.entries(env)) {
      if (value && isSecretName(name)) redactor.add(value);
    }
    return redactor;
  }

  /** Adds a value to mask. Values of one or two characters would mask every word they occur in: they are not secrets worth the name. */
  add(value: unknown): this {
    if (typeof value === 'string' && value.length >= 3) this.values.add(value);
    if (typeof value === 'number' || typeof value === 'boolean') return this;
    if (value && typeof value === 'object') for (const v of Object.values(value)) this.add(v);
    return this;
  }

  /** Every known secret value in the text replaced by the mask, longest first (a secret may contain another). */
  redact(text: string): string {
    let out = text;
    for (const value of [...this.values].sort((a, b) => b.length - a.length)) out = out.split(value).join(MASK);
    return out;
  }

  get size(): number {
    return this.values.size;
  }
}
