import { Construct } from 'constructs';
import type { DockerMount, Template } from './api';
import { checkEnvName } from './env-name';
import { checkAbsolutePath, rule } from '../core/rule';
import { DeployCheck } from '../terraform/deploy-check';
import { Revision } from '../terraform/revision';
import type { Check } from '../core/rule';

/** A file the app reads, rendered from a Nomad Variable item into the task. */
export interface RuntimeFile {
  /** The operator's file, on the machine that deploys (absolute): Terraform reads it when it plans. */
  readonly source: string;
  /** Where the app reads it, inside the container (absolute). */
  readonly target: string;
}

/** An environment variable the app reads, its value from a file on the machine that deploys. */
export interface RuntimeEnv {
  readonly name: string;
  /** A file holding the value (one trailing line break is dropped). */
  readonly source: string;
}

/**
 * What a change of a value does to the running tasks.
 * - `restart`: Nomad restarts every task that renders it, all at once, in the same job version.
 * - `signal`: Nomad sends every such task the signal, all at once.
 * - `rollout`: nothing, to the running tasks (templates `change_mode = "noop"`); each task carries a
 *   revision in its meta (`runtime_config_revision`, a random id drawn anew when a value changes),
 *   so the change is a new job version that Nomad rolls out group by group like a new image: its
 *   update strategy, health checks and auto-revert. A revert brings back the job, not the values:
 *   the variable holds the new ones until the next deploy.
 */
export type ChangeAction = { readonly mode: 'restart' } | { readonly mode: 'signal'; readonly signal: string } | { readonly mode: 'rollout' };

export interface RuntimeConfigProps {
  /** The Nomad Variable the items are stored in; the tasks must be able to read it (`nomad/jobs/<job>`). */
  readonly variablePath: string;
  /** @default [] */
  readonly files?: readonly RuntimeFile[];
  /** @default [] */
  readonly env?: readonly RuntimeEnv[];
  /** @default { mode: 'rollout' } - a change is a new job version, rolled out group by group */
  readonly onChange?: ChangeAction;
  /** What to do about a missing source, one sentence: "Put it in DIR (see README)." */
  readonly missingSource: string;
}

/**
 * A signal cannot tell a task of new env vars: a task reads them when it starts, and Nomad refuses a
 * signal on a template that sets them ("cannot use signals with env var templates").
 */
export const checkChangeAction: Check<{ readonly onChange: ChangeAction; readonly envNames: readonly string[] }> = ({ onChange, envNames }) =>
  onChange.mode === 'signal' && envNames.length > 0
    ? `onChange signal ${onChange.signal} cannot reach env vars (${envNames.join(', ')}): a task reads them when it starts, and Nomad refuses a signal on their template; use 'rollout' or 'restart'`
    : undefined;

/** What Nomad sends a task whose values changed, when it is not restarted. */
export const checkSignal = rule((signal: string) => /^SIG[A-Z0-9]+$/.test(signal), "must be a signal name such as 'SIGHUP'");

/**
 * An app's runtime configuration (config files and environment variables, secrets among them),
 * kept out of the image, the jobspec and the synth output. Terraform reads each source when it
 * plans and stores it as an item of a Nomad Variable; every task renders the items with templates,
 * files into `secrets/` bind-mounted read-only where the app reads them, env vars into its
 * environment. A changed value changes the variable and, by default, the tasks' revision: a new
 * job version, rolled out (see ChangeAction). A missing or empty source (nothing but white space), or a
 * YAML file that does not parse, stops a deploy before anything is applied, naming it (and the line).
 */
export class RuntimeConfig extends Construct {
  /** The variable items, by key: Terraform expressions, read at plan time. */
  readonly items: Readonly<Record<string, string>>;
  readonly variablePath: string;
  private readonly files: ReadonlyArray<RuntimeFile & { key: string }>;
  private readonly env: ReadonlyArray<RuntimeEnv & { key: string }>;
  private readonly onChange: ChangeAction;
  /** With `rollout`: the revision of the items, a Terraform reference. */
  private readonly revision?: Revision;

  constructor(scope: Construct, id: string, props: RuntimeConfigProps) {
    super(scope, id);
    const where = `runtime config '${this.node.path}'`;
    this.variablePath = props.variablePath;
    this.onChange = props.onChange ?? { mode: 'rollout' };
    if (this.onChange.mode === 'signal') {
      const badSignal = checkSignal(this.onChange.signal);
      if (badSignal) throw new Error(`${where}: onChange signal '${this.onChange.signal}' ${badSignal}`);
    }
    const badChange = checkChangeAction({ onChange: this.onChange, envNames: (props.env ?? []).map((e) => e.name) });
    if (badChange) throw new Error(`${where}: ${badChange}`);
    const items: Record<string, string> = {};
    const keyOwner = new Map<string, string>();
    const claim = (key: string, owner: string) => {
      const other = keyOwner.get(key);
      if (other) throw new Error(`${where}: ${owner} and ${other} would both be stored as item '${key}'`);
      keyOwner.set(key, owner);
    };
    this.files = (props.files ?? []).map((file) => {
      for (const [what, path] of [['source', file.source], ['target', file.target]] as const) {
        const badPath = checkAbsolutePath(path);
        if (badPath) throw new Error(`${where}: file ${what} ${badPath}, got '${path}'`);
      }
      const name = file.target.split('/').pop()!;
      const key = `file_${name.replace(/[^A-Za-z0-9]/g, '_')}`;
      claim(key, `file '${file.target}'`);
      const yaml = /\.ya?ml$/.test(name);
      const check = DeployCheck.pathExists(this, `config_${key}`, {
        path: file.source,
        message: `There is no ${name} at ${file.source} (the app reads it at ${file.target}). ${props.missingSource}`,
        yaml,
        emptyMessage: `The file ${name} at ${file.source} is empty (nothing but white space${yaml ? ' and comments' : ''}): the app would read nothing at ${file.target}. ${props.missingSource}`,
      });
      items[key] = check.fileText();
      return { ...file, key };
    });
    this.env = (props.env ?? []).map((variable) => {
      const badName = checkEnvName(variable.name);
      if (badName) throw new Error(`${where}: env name '${variable.name}' ${badName}`);
      const badSource = checkAbsolutePath(variable.source);
      if (badSource) throw new Error(`${where}: env ${variable.name} source ${badSource}, got '${variable.source}'`);
      const key = `env_${variable.name}`;
      claim(key, `env ${variable.name}`);
      const check = DeployCheck.pathExists(this, `config_${key}`, {
        path: variable.source,
        message: `There is no value for ${variable.name} at ${variable.source}. ${props.missingSource}`,
        emptyMessage: `The value for ${variable.name} at ${variable.source} is empty (nothing but white space): the app would start without it. ${props.missingSource}`,
      });
      items[key] = check.fileText({ chomp: true });
      return { ...variable, key };
    });
    this.items = items;
    if (this.onChange.mode === 'rollout' && Object.keys(items).length > 0) this.revision = new Revision(this, 'runtime_config_revision', { of: items });
  }

  /** What each task that renders the items carries in its meta: with `rollout`, their revision, which makes a change of them a new job version. */
  taskMeta(): Record<string, string> {
    return this.revision ? { runtime_config_revision: this.revision.id } : {};
  }

  /** Where each file is rendered, relative to the task directory (private to the task). */
  private destination(key: string): string {
    return `secrets/runtime/${key}`;
  }

  private change(): Pick<Template, 'ChangeMode' | 'ChangeSignal'> {
    if (this.onChange.mode === 'signal') return { ChangeMode: 'signal', ChangeSignal: this.onChange.signal };
    return { ChangeMode: this.onChange.mode === 'rollout' ? 'noop' : 'restart' };
  }

  /** One template per file, and one for the environment. */
  templates(): Template[] {
    const read = (body: string) => `{{ with nomadVar "${this.variablePath}" }}${body}{{ end }}`;
    const files: Template[] = this.files.map((f) => ({
      EmbeddedTmpl: read(`{{ .${f.key} }}`),
      DestPath: this.destination(f.key),
      ...this.change(),
      // The app's user in the container is not the Nomad client's: the file must be readable to it.
      Perms: '0444',
    }));
    if (this.env.length === 0) return files;
    const lines = this.env.map((e) => `${e.name}={{ .${e.key} | toJSON }}\n`).join('');
    return [...files, { EmbeddedTmpl: read(`\n${lines}`), DestPath: 'secrets/runtime/app.env', ...this.change(), Envvars: true, Perms: '0400' }];
  }

  /** The docker driver's bind mounts that put each rendered file where the app reads it. */
  dockerMounts(): DockerMount[] {
    return this.files.map((f) => ({ type: 'bind', source: this.destination(f.key), target: f.target, readonly: true }));
  }

  /** The container paths the app reads, for messages and tests. */
  get targets(): string[] {
    return this.files.map((f) => f.target);
  }
}
