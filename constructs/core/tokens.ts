import { Token } from 'cdktf';

/**
 * True when the value is, or holds, a token cdktf resolves at synth (a Terraform reference
 * such as `${var.count}`, a Lazy value): its real value is not known yet, so a rule about it
 * is not checked here. The one module of the constructs' rules that knows of cdktf.
 */
export function isUnresolved(value: unknown): boolean {
  return Token.isUnresolved(value);
}
