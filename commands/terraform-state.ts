import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { StepError, type Steps } from './terraform';
import { automationEnv, streamed } from './terraform-stream';

/**
 * Terraform's state as the commands read it: a local backend's file read as it is (no Terraform,
 * no lock) and told whole, absent or broken; any other backend's through `terraform state pull`;
 * and the job it records as this tool's. The one reader of a state file: the deploy's refusal of a
 * broken file, drift, plan, diff and doctor all read through readStateFile.
 */

/** The parts of a Terraform state (format version 4, as a local backend's file and `terraform state pull` give it) read here. */
export interface TerraformState {
  version: number;
  resources?: { mode: string; type: string; name: string; module?: string; instances: { attributes: Record<string, unknown> }[] }[];
}

/** A local state file, as far as a command must know before Terraform reads it. */
export type StateFile =
  | { readonly kind: 'absent' }
  | { readonly kind: 'ok'; readonly state: TerraformState; readonly serial: number; readonly resources: readonly string[] }
  | { readonly kind: 'broken'; readonly why: string };

/**
 * Reads a local state file without Terraform. Terraform takes an empty file for "no state" (and a
 * deploy would then create everything again: a second job register, a variable rewrite, a
 * release), and a half-written one fails init naming neither the file nor its backup: both are
 * `broken` here, so the deploy refuses before it plans.
 */
export function readStateFile(path: string): StateFile {
  if (!existsSync(path)) return { kind: 'absent' };
  const text = readFileSync(path, 'utf8');
  if (text.trim() === '') return { kind: 'broken', why: `it is empty (${statSync(path).size} bytes)` };
  return parseState(text);
}

/**
 * Why the deploy stops on a broken state file, and how to restore it: the backup Terraform keeps
 * beside it (`<file>.backup`, the state before the last write) when that one is whole.
 */
export function brokenStateMessage(path: string, why: string): string {
  const fix = brokenStateFix(path);
  const lines = [`The state file ${path} is broken: ${why}. It is not taken for "no state": a deploy would create the job, its variable and the release again.`];
  if (fix.backup) {
    const written = statSync(fix.backup.path).mtime.toISOString();
    lines.push(
      `Its backup ${fix.backup.path} is whole (serial ${fix.backup.serial}, ${fix.backup.resources} resources, written ${written}). Restore it, keeping the broken file:`,
      `  ${fix.command}`,
      'then deploy again: the plan shows what changed since that backup.',
    );
  } else {
    lines.push(fix.why, `Move ${basename(path)} away and adopt the running job on purpose: ${fix.command} (README, "Troubleshooting").`);
  }
  return lines.join('\n');
}

/** What puts a broken state file right: restoring its backup when that one is whole, else adopting the running job. */
export function brokenStateFix(path: string, environment = '<environment>'):
  | { readonly backup: { readonly path: string; readonly serial: number; readonly resources: number }; readonly command: string }
  | { readonly backup?: undefined; readonly why: string; readonly command: string } {
  const backup = `${path}.backup`;
  const saved = readStateFile(backup);
  if (saved.kind === 'ok') return { backup: { path: backup, serial: saved.serial, resources: saved.resources.length }, command: `mv ${path} ${path}.broken && cp ${backup} ${path}` };
  const why = saved.kind === 'absent' ? `There is no backup (${basename(backup)}).` : `Its backup ${backup} is broken too: ${saved.why}.`;
  return { why, command: `npm run deploy -- ${environment} --adopt` };
}

/** A state document's text: whole (its serial and managed resources), or why it is not one. */
function parseState(text: string): Exclude<StateFile, { kind: 'absent' }> {
  let document: { serial?: unknown; resources?: unknown };
  try {
    document = JSON.parse(text) as typeof document;
  } catch (e) {
    return { kind: 'broken', why: `it is not JSON (${(e as Error).message}): it was cut short or edited` };
  }
  if (typeof document !== 'object' || document === null || typeof document.serial !== 'number' || !Array.isArray(document.resources)) {
    return { kind: 'broken', why: 'it is JSON but not a Terraform state (no serial or resources)' };
  }
  const state = document as unknown as TerraformState;
  const resources = (state.resources ?? []).filter((r) => r.mode !== 'data').map((r) => `${r.type}.${r.name}`);
  return { kind: 'ok', state, serial: document.serial, resources };
}

/**
 * What this tool last registered in Nomad, as Terraform's state keeps it: the nomad provider
 * stores the jobspec it submitted and the job's modify index after it last read or wrote it.
 */
export interface RegisteredJob {
  /** `nomad_job.rails`. */
  readonly address: string;
  readonly id: string;
  readonly namespace: string;
  /** The jobspec text exactly as the provider submitted it (JSON: a `{"Job": …}` document). */
  readonly jobspec: string;
  /** Nomad's JobModifyIndex when the provider last registered or refreshed the job. */
  readonly modifyIndex: number;
}

/**
 * The stack's one nomad_job as its state holds it; undefined before the first deploy. A local
 * backend's file is read with readStateFile (a broken one refused with the deploy's words); any
 * other backend is asked with `terraform state pull` in the stack's directory, which `terraform
 * init` must have prepared.
 */
export function readRegisteredJob(stackDir: string, steps: Steps): RegisteredJob | undefined {
  const state = readState(stackDir, steps);
  return state ? registeredJobOf(state) : undefined;
}

export function registeredJobOf(state: TerraformState): RegisteredJob | undefined {
  const jobs = (state.resources ?? []).filter((r) => r.mode === 'managed' && r.type === 'nomad_job' && !r.module);
  if (jobs.length > 1) throw new StepError(`the state holds ${jobs.length} nomad_job resources (${jobs.map((j) => j.name).join(', ')}); drift is checked for exactly one`);
  const job = jobs[0];
  const attributes = job?.instances[0]?.attributes;
  if (!job || !attributes) return undefined;
  const { id, namespace, jobspec, modify_index: index } = attributes as { id?: unknown; namespace?: unknown; jobspec?: unknown; modify_index?: unknown };
  if (typeof id !== 'string' || typeof jobspec !== 'string') return undefined;
  return {
    address: `nomad_job.${job.name}`,
    id,
    namespace: typeof namespace === 'string' && namespace !== '' ? namespace : 'default',
    jobspec,
    modifyIndex: Number(index ?? 0),
  };
}

/**
 * Brings the state's record of the job up to Nomad's (its modify index, the jobspec Nomad keeps
 * as the job's submission) after the job was registered without Terraform: `terraform apply
 * -refresh-only` of that one resource, so no other resource is read (the docker provider drops an
 * image from state on any registry error) and nothing is changed in the cluster. Streamed as the
 * deploy's other Terraform steps: on the operator's Ctrl-C (`signal`) Terraform, which got its own
 * SIGINT, is let stop by itself and nothing is thrown; the caller says what was left.
 */
export async function refreshRegisteredJob(stackDir: string, address: string, steps: Steps, signal?: AbortSignal): Promise<void> {
  const started = Date.now();
  const label = 'terraform apply -refresh-only';
  steps.progress(`${label} -target=${address}…`);
  const args = ['apply', '-refresh-only', '-auto-approve', '-input=false', '-no-color', `-target=${address}`];
  const env = automationEnv(steps.env);
  const run = await streamed('terraform', args, { cwd: stackDir, env, redactor: steps.redactor, ...(signal ? { signal } : {}) });
  if (signal?.aborted) return;
  if (run.status !== 0) throw new StepError(`${label} failed${run.status === undefined ? '' : ` (exit ${run.status})`}: ${run.output.trim().split('\n').slice(-30).join('\n')}`);
  steps.progress(`${label}: done in ${((Date.now() - started) / 1000).toFixed(1)}s`);
}

function readState(stackDir: string, steps: Steps): TerraformState | undefined {
  const backend = stackBackend(readFileSync(join(stackDir, 'cdk.tf.json'), 'utf8'), stackDir);
  if (backend.stateFile !== undefined) {
    const file = backend.stateFile;
    const read = readStateFile(file);
    if (read.kind === 'broken') throw new StepError(brokenStateMessage(file, read.why));
    return read.kind === 'ok' ? read.state : undefined;
  }
  const r = spawnSync('terraform', ['state', 'pull'], { cwd: stackDir, env: automationEnv(steps.env), encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (r.error) throw new StepError(`terraform state pull: could not run terraform: ${r.error.message}`);
  if (r.status !== 0) throw new StepError(`terraform state pull failed (exit ${r.status}): ${steps.redactor.redact(r.stderr.trim())}`);
  if (r.stdout.trim() === '') return undefined;
  const pulled = parseState(r.stdout);
  if (pulled.kind === 'broken') throw new StepError(`the ${backend.type} backend's state is not Terraform state: ${pulled.why}`);
  return pulled.state;
}

/** The backend synth wrote into the stack (cdk.tf.json's terraform.backend); Terraform's default is local. */
/** The backend a synthesized stack (the text of its cdk.tf.json) names, `local` when none; a local one with its state file's path. */
export function stackBackend(stack: string, stackDir: string): { readonly type: string; readonly stateFile?: string } {
  const backend = (JSON.parse(stack) as { terraform?: { backend?: Record<string, { path?: unknown } | undefined> } }).terraform?.backend;
  const [type, settings] = Object.entries(backend ?? {})[0] ?? ['local', {}];
  if (type !== 'local') return { type };
  return { type, stateFile: resolve(stackDir, typeof settings?.path === 'string' ? settings.path : 'terraform.tfstate') };
}
