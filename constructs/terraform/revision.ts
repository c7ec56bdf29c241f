import { Construct } from 'constructs';
import { TerraformResource } from 'cdktf';

export interface RevisionProps {
  /**
   * The values whose change makes a new revision: Terraform expressions, sensitive ones
   * (`file(…)`) included. Terraform keeps them in state to compare; nothing derived from them is
   * in the id.
   */
  readonly of: Readonly<Record<string, string>>;
}

/**
 * A random id (a UUID) Terraform draws anew each time one of the values changes, and only then:
 * what a jobspec can carry to say "these changed" and nothing more. A hash of the values would
 * say more: anyone who can read the job could test a guess of a secret against it. It is the id
 * of a `terraform_data` resource replaced when the values change (`triggers_replace`), so a plan
 * knows the new id only after apply.
 */
export class Revision extends Construct {
  /** The id, as a Terraform reference. */
  readonly id: string;

  constructor(scope: Construct, id: string, props: RevisionProps) {
    super(scope, id);
    // Rendered directly, as the release step is: cdktf's DataResource runs `terraform version` at synth.
    const resource = new TerraformResource(this, 'revision', {
      terraformResourceType: 'terraform_data',
      terraformGeneratorMetadata: { providerName: 'terraform' },
    });
    resource.addOverride('triggers_replace', { ...props.of });
    // The Terraform address is `terraform_data.<id>`, whatever the construct tree looks like.
    resource.overrideLogicalId(id);
    this.id = resource.getStringAttribute('id');
  }
}
