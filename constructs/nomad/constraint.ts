import type { Constraint as ConstraintJson } from './api';

/** Nomad's runtime interpolation of a client node's unique name: it must reach Nomad as written. */
export const NODE_UNIQUE_NAME = '${node.unique.name}';

const OPERANDS = ['=', '!=', '>', '>=', '<', '<=', 'regexp', 'set_contains', 'set_contains_any', 'version', 'semver', 'is_set', 'is_not_set', 'distinct_hosts', 'distinct_property'] as const;
export type ConstraintOperand = (typeof OPERANDS)[number];

/** A placement rule for a group or job. */
export class Constraint {
  /** Keeps the group off the node with this unique name. */
  static notOnNode(nodeName: string): Constraint {
    return Constraint.attribute(NODE_UNIQUE_NAME, '!=', nodeName);
  }

  /** Any attribute, e.g. `Constraint.attribute("${attr.kernel.name}", "=", "linux")`. */
  static attribute(attribute: string, operand: ConstraintOperand, value: string): Constraint {
    if (!OPERANDS.includes(operand)) {
      throw new Error(`constraint operand '${operand}' is not one of Nomad's: ${OPERANDS.join(', ')}`);
    }
    if (!attribute.startsWith('${') && operand !== 'distinct_hosts') {
      throw new Error(`constraint attribute '${attribute}' must be a Nomad interpolation such as '\${node.unique.name}'`);
    }
    return new Constraint({ LTarget: attribute, RTarget: value, Operand: operand });
  }

  private constructor(private readonly json: ConstraintJson) {}

  /** The node this constraint keeps the group off, when it is a `notOnNode`. */
  get excludedNode(): string | undefined {
    return this.json.LTarget === NODE_UNIQUE_NAME && this.json.Operand === '!=' ? this.json.RTarget : undefined;
  }

  render(): ConstraintJson {
    return { ...this.json };
  }
}
