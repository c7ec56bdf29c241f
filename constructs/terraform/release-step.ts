import { Construct } from 'constructs';
import { type ITerraformDependable, Lazy, TerraformResource } from 'cdktf';
import { escapeTerraformTemplates, terraformText } from '../nomad/terraform-escape';

export interface ReleaseStepProps {
  /**
   * What makes the step run again: a new value replaces the resource and runs the command
   * (the image reference, so each new image is released once). Any other change runs nothing.
   */
  readonly trigger: string;
  /** The shell command Terraform runs (`local-exec`). It is written to the synth output: never a secret in it. */
  readonly command: string;
  /** @default - the directory Terraform runs in (the stack's, under cdktf.out) */
  readonly workingDir?: string;
  /**
   * Variables the command gets on top of the deploy's own environment (which it inherits:
   * NOMAD_ADDR, NOMAD_TOKEN, …). Written to the synth output: never a secret. A function is
   * rendered at synth (what is added to the app later is in it). Values may hold Terraform
   * references (tokens); anything else that looks like `${…}` reaches the command as written.
   * @default {}
   */
  readonly environment?: Readonly<Record<string, string | (() => string)>>;
  /** What exists before the command runs (the Nomad Variable its job reads). @default [] */
  readonly dependsOn?: readonly ITerraformDependable[];
}

/**
 * A command Terraform runs once per value of a trigger, before whatever depends on it: a
 * `terraform_data` resource (Terraform's built-in; no provider) whose `triggers_replace` is the
 * trigger and whose create-time `local-exec` provisioner runs the command. When the command
 * fails, the apply fails there, before any dependant is touched, and Terraform marks the
 * resource tainted: the next deploy runs it again, whether the trigger changed or not.
 * It is replaced create-before-destroy: an apply that fails before the new trigger is known
 * (a push that fails) leaves the step in state as it was, so the trigger it last ran for does
 * not run again.
 */
export class ReleaseStep extends Construct {
  readonly resource: TerraformResource;

  constructor(scope: Construct, id: string, props: ReleaseStepProps) {
    super(scope, id);
    const environment = Object.fromEntries(
      Object.entries(props.environment ?? {}).map(([k, v]) => [k, Lazy.stringValue({ produce: (context) => terraformText(typeof v === 'function' ? v() : v, context) })]),
    );
    // Terraform's built-in `terraform_data` (1.4+; we require 1.5), rendered directly: cdktf's
    // DataResource class checks the Terraform version at every synth by running `terraform version`,
    // which costs a process per stack and fails synth on a machine without Terraform.
    this.resource = new TerraformResource(this, 'step', {
      terraformResourceType: 'terraform_data',
      terraformGeneratorMetadata: { providerName: 'terraform' },
      provisioners: [
        {
          type: 'local-exec',
          command: escapeTerraformTemplates(props.command),
          ...(props.workingDir ? { workingDir: props.workingDir } : {}),
          ...(Object.keys(environment).length > 0 ? { environment } : {}),
        },
      ],
      ...(props.dependsOn?.length ? { dependsOn: [...props.dependsOn] } : {}),
      lifecycle: { createBeforeDestroy: true },
    });
    this.resource.addOverride('triggers_replace', { trigger: props.trigger });
    // The Terraform address is `terraform_data.<id>`, whatever the construct tree looks like.
    this.resource.overrideLogicalId(id);
  }
}
