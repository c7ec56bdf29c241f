import { Construct } from 'constructs';
import { Fn, TerraformVariable } from 'cdktf';

export interface PathExistsCheckProps {
  /** Absolute path that must exist on the machine that runs the plan: a file or a unix socket. */
  readonly path: string;
  /**
   * What a person reads when it does not: what is missing and what to do, one or more
   * sentences ending with a full stop (Terraform's rule for validation messages).
   */
  readonly message: string;
}

/**
 * A condition a deploy needs that synth cannot decide, because synth also runs where nothing
 * will be deployed (a review, a CI job, a laptop without the Rails checkout). It becomes a
 * Terraform variable with that value as its default and a validation rule, so `cdktf diff` and
 * `cdktf deploy` stop before anything is planned, with the message, and `synth` goes on.
 */
export class DeployCheck extends Construct {
  /** The path (a file, or a unix socket) must exist when Terraform plans. */
  static pathExists(scope: Construct, id: string, props: PathExistsCheckProps): DeployCheck {
    // fileexists() is false for nothing, true for a regular file, and an error for anything
    // else (a socket, a directory): try() turns that error into "it is there".
    return new DeployCheck(scope, id, props.path, `try(fileexists(var.${id}), true)`, props.message);
  }

  /** The checked value, as a Terraform reference: what uses it waits for the check. */
  readonly value: string;

  /**
   * The checked file's text, read by Terraform when it plans (never by synth, never written to
   * synth output), marked sensitive so that no plan or error prints it.
   * @param chomp drop one trailing line break (a value typed into a file with an editor)
   */
  fileText(options: { chomp?: boolean } = {}): string {
    const text = Fn.sensitive(Fn.file(this.value));
    return options.chomp ? Fn.chomp(text) : text;
  }

  private constructor(scope: Construct, id: string, path: string, condition: string, message: string) {
    super(scope, id);
    if (!path.startsWith('/')) throw new Error(`deploy check '${id}': path must be absolute, got '${path}'`);
    if (!/^[A-Z].*\.$/s.test(message)) {
      throw new Error(`deploy check '${id}': the message must start with a capital letter and end with a full stop, got '${message}'`);
    }
    const variable = new TerraformVariable(this, 'value', {
      type: 'string',
      default: path,
      description: `Checked when Terraform plans: ${message}`,
      validation: [{ condition: `\${${condition}}`, errorMessage: message }],
    });
    variable.overrideLogicalId(id);
    this.value = variable.stringValue;
  }
}
