import { Construct } from 'constructs';
import { Fn, TerraformVariable } from 'cdktf';
import { checkAbsolutePath } from '../core/rule';

export interface PathExistsCheckProps {
  /** Absolute path that must exist on the machine that runs the plan: a file or a unix socket. */
  readonly path: string;
  /**
   * What a person reads when it does not: what is missing and what to do, one or more
   * sentences ending with a full stop (Terraform's rule for validation messages).
   */
  readonly message: string;
  /** The file must also parse as YAML, and hold a document. @default false */
  readonly yaml?: boolean;
  /**
   * What a person reads when the file holds nothing but white space (a YAML file: and comments),
   * one or more sentences ending with a full stop. Refused before the YAML is parsed, so the
   * operator reads this, not the parser's "missing start of document".
   * @default - an empty file passes; an empty YAML file is refused with "The YAML file <path> is empty."
   */
  readonly emptyMessage?: string;
}

/** A YAML comment line, as a Terraform regular expression (RE2; HCL strings know no `\s`). */
const YAML_COMMENT_LINE = '/(?m)^[[:blank:]]*#.*$/';

/**
 * A condition a deploy needs that synth cannot decide, because synth also runs where nothing
 * will be deployed (a review, a CI job, a laptop without the Rails checkout). It becomes a
 * Terraform variable with that value as its default and a validation rule, so `cdktf diff` and
 * `cdktf deploy` stop before anything is planned, with the message, and `synth` goes on.
 */
export class DeployCheck extends Construct {
  /** The path (a file, or a unix socket) must exist when Terraform plans. */
  static pathExists(scope: Construct, id: string, props: PathExistsCheckProps): DeployCheck {
    const file = `var.${id}`;
    // fileexists() is false for nothing, true for a regular file, and an error for anything
    // else (a socket, a directory): try() turns that error into "it is there".
    const rules = [{ condition: `try(fileexists(${file}), true)`, message: props.message }];
    const emptyMessage = props.emptyMessage ?? (props.yaml ? `The YAML file ${props.path} is empty.` : undefined);
    if (emptyMessage) {
      // The text without white space (a YAML file: without its comment lines) is "". try(): a
      // missing file, or one file() cannot read, is the first rule's to refuse.
      const text = `sensitive(file(${file}))`;
      const content = props.yaml ? `trimspace(replace(${text}, "${YAML_COMMENT_LINE}", ""))` : `trimspace(${text})`;
      rules.push({ condition: `!try(${content} == "", false)`, message: emptyMessage });
      if (props.yaml) {
        // Evaluated only for a file with content (a conditional keeps only its chosen branch's
        // errors). A parse error fails the plan with yamldecode's own "on line N, column M: …" and
        // the variable's value, the path; the text is marked sensitive, so no diagnostic prints it.
        // A document that is null (`---`, `~`) is empty too.
        rules.push({ condition: `try(${content} != "", false) ? yamldecode(${text}) != null : true`, message: emptyMessage });
      }
    }
    return new DeployCheck(scope, id, props.path, rules);
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

  private constructor(scope: Construct, id: string, path: string, rules: ReadonlyArray<{ condition: string; message: string }>) {
    super(scope, id);
    const badPath = checkAbsolutePath(path);
    if (badPath) throw new Error(`deploy check '${id}': path ${badPath}, got '${path}'`);
    for (const { message } of rules) {
      if (!/^[A-Z].*\.$/s.test(message)) {
        throw new Error(`deploy check '${id}': the message must start with a capital letter and end with a full stop, got '${message}'`);
      }
    }
    const variable = new TerraformVariable(this, 'value', {
      type: 'string',
      default: path,
      description: `Checked when Terraform plans: ${rules[0]!.message}`,
      validation: rules.map((r) => ({ condition: `\${${r.condition}}`, errorMessage: r.message })),
    });
    variable.overrideLogicalId(id);
    this.value = variable.stringValue;
  }
}
