import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { StepError, type Steps } from './terraform';

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

/** The parts of a Terraform state (format version 4, as a local backend's file and `terraform state pull` give it) read here. */
export interface TerraformState {
  version: number;
  resources?: { mode: string; type: string; name: string; module?: string; instances: { attributes: Record<string, unknown> }[] }[];
}

/**
 * The stack's one nomad_job as its state holds it; undefined before the first deploy. Every
 * reading of the state goes through here: a local backend's file is read as it is (no
 * Terraform, no lock); any other backend is asked with `terraform state pull` in the stack's
 * directory, which `terraform init` must have prepared.
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
 * image from state on any registry error) and nothing is changed in the cluster.
 */
export function refreshRegisteredJob(stackDir: string, address: string, steps: Steps): void {
  const started = Date.now();
  steps.progress(`terraform apply -refresh-only -target=${address}…`);
  const args = ['apply', '-refresh-only', '-auto-approve', '-input=false', '-no-color', `-target=${address}`];
  const r = spawnSync('terraform', args, { cwd: stackDir, env: { ...steps.env, TF_IN_AUTOMATION: '1', CHECKPOINT_DISABLE: '1' }, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (r.error) throw new StepError(`terraform apply -refresh-only: could not run terraform: ${r.error.message}`);
  if (r.status !== 0) {
    throw new StepError(`terraform apply -refresh-only failed (exit ${r.status}): ${steps.redactor.redact(`${r.stderr}${r.stdout}`.trim().split('\n').slice(-30).join('\n'))}`);
  }
  steps.progress(`terraform apply -refresh-only: done in ${((Date.now() - started) / 1000).toFixed(1)}s`);
}

function readState(stackDir: string, steps: Steps): TerraformState | undefined {
  const backend = backendOf(stackDir);
  if (backend.type === 'local') {
    const path = backend.path ?? 'terraform.tfstate';
    const file = isAbsolute(path) ? path : join(stackDir, path);
    if (!existsSync(file)) return undefined;
    return parseState(readFileSync(file, 'utf8'), file);
  }
  const r = spawnSync('terraform', ['state', 'pull'], { cwd: stackDir, env: { ...steps.env, TF_IN_AUTOMATION: '1' }, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (r.error) throw new StepError(`terraform state pull: could not run terraform: ${r.error.message}`);
  if (r.status !== 0) throw new StepError(`terraform state pull failed (exit ${r.status}): ${steps.redactor.redact(r.stderr.trim())}`);
  return r.stdout.trim() === '' ? undefined : parseState(r.stdout, `the ${backend.type} backend's state`);
}

/** The backend synth wrote into the stack (cdk.tf.json's terraform.backend); Terraform's default is local. */
function backendOf(stackDir: string): { type: string; path?: string } {
  const stack = JSON.parse(readFileSync(join(stackDir, 'cdk.tf.json'), 'utf8')) as { terraform?: { backend?: Record<string, { path?: string }> } };
  const [type, settings] = Object.entries(stack.terraform?.backend ?? {})[0] ?? ['local', {}];
  return { type, ...(typeof settings?.path === 'string' ? { path: settings.path } : {}) };
}

function parseState(text: string, where: string): TerraformState {
  try {
    return JSON.parse(text) as TerraformState;
  } catch (e) {
    throw new StepError(`${where} is not Terraform state: ${(e as Error).message}`);
  }
}
