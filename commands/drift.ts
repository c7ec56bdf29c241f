import { isSecretName } from '../config/secret-names';
import type { JobDocument } from '../constructs/nomad/api';
import { CommandError } from './cli';
import { describeFailedDeployments } from './deploy-outcome';
import { type DiffType, type FieldDiff, type JobDiff, type NomadClient, NomadError, type ObjectDiff, type StoredJob } from './nomad-client';
import { MASK } from './secrets';
import type { Steps } from './terraform';
import type { Action } from './terraform-plan';
import { readRegisteredJob, type RegisteredJob, refreshRegisteredJob } from './terraform-state';

/**
 * Drift: the job in Nomad differs from the one this tool last registered (a group scaled, the
 * job registered again by hand). The nomad provider compares the jobspec it last submitted,
 * which Terraform's state keeps, not the live job, so Terraform sees none of it. Nomad's plan
 * API does: planning the last-submitted jobspec against the live job gives the drifted fields,
 * Old the live value and New the declared one.
 */
export interface Drift {
  readonly registered: RegisteredJob;
  /** The job as Nomad has it; undefined when it is gone (purged by hand). */
  readonly live: StoredJob | undefined;
  readonly fields: readonly DriftedField[];
}

export interface DriftedField {
  /** `job`, `group 'web'`, `group 'sidekiq-long', task 'sidekiq'`. */
  readonly where: string;
  /** The field, with the objects above it (`Resources.MemoryMB`); undefined for a whole group or task. */
  readonly field: string | undefined;
  /** Nomad's value; undefined where Nomad has no such field, group or task. */
  readonly live: string | undefined;
  /** What this tool registered; undefined where its jobspec has no such field, group or task. */
  readonly declared: string | undefined;
}

/**
 * Whether the live job still is the one this tool registered; undefined when it is (or when this
 * tool never registered one). Asks Nomad for the job (its version and modify index, for the
 * report) and for its plan of the last-submitted jobspec; changes nothing.
 */
export async function detectDrift(registered: RegisteredJob | undefined, nomad: NomadClient): Promise<Drift | undefined> {
  if (!registered) return undefined;
  const live = await nomad.job(registered.id);
  if (!live) return { registered, live, fields: [] };
  const plan = await nomad.plan(documentOf(registered));
  if (plan.Diff.Type === 'None') return undefined;
  return { registered, live, fields: driftedFields(plan.Diff) };
}

/** The fields Nomad's diff (Old = live, New = declared) says differ, flattened to one line each. */
export function driftedFields(diff: JobDiff): DriftedField[] {
  const out: DriftedField[] = [];
  fieldsOf('job', diff.Fields, diff.Objects, '', out);
  for (const group of changed(diff.TaskGroups)) {
    const where = `group '${group.Name}'`;
    if (whole(group.Type, where, out)) continue;
    fieldsOf(where, group.Fields, group.Objects, '', out);
    for (const task of changed(group.Tasks)) {
      const at = `${where}, task '${task.Name}'`;
      if (!whole(task.Type, at, out)) fieldsOf(at, task.Fields, task.Objects, '', out);
    }
  }
  return out;
}

/** A group or task only one side has: one line for all of it. */
function whole(type: DiffType, where: string, out: DriftedField[]): boolean {
  if (type === 'Edited') return false;
  out.push({ where, field: undefined, live: type === 'Deleted' ? 'present' : undefined, declared: type === 'Added' ? 'present' : undefined });
  return true;
}

function fieldsOf(where: string, fields: FieldDiff[] | null, objects: ObjectDiff[] | null, prefix: string, out: DriftedField[]): void {
  for (const f of changed(fields)) {
    const secret = isSecretName(f.Name);
    const value = (v: string) => (secret ? MASK : v);
    out.push({ where, field: `${prefix}${f.Name}`, live: f.Type === 'Added' ? undefined : value(f.Old), declared: f.Type === 'Deleted' ? undefined : value(f.New) });
  }
  for (const o of changed(objects)) fieldsOf(where, o.Fields, o.Objects, `${prefix}${o.Name}.`, out);
}

function changed<T extends { Type: DiffType }>(items: T[] | null | undefined): T[] {
  return (items ?? []).filter((i) => i.Type !== 'None');
}

/** The drift report: what Nomad runs against what this tool registered, one line per field. */
export function formatDrift(drift: Drift): string {
  const { registered, live } = drift;
  if (!live) {
    return `Drift: job '${registered.id}' is gone from Nomad (purged outside this tool); Terraform registers it again on the next deploy.`;
  }
  const index = live.JobModifyIndex !== registered.modifyIndex ? `, modify index ${registered.modifyIndex} → ${live.JobModifyIndex}` : '';
  const lines = [`Drift: job '${registered.id}' was changed in Nomad outside this tool (Nomad runs version ${live.Version}${index}):`];
  for (const f of drift.fields) lines.push(`  ${formatField(f)}`);
  lines.push('A deploy puts the declared job back as a rolling update (a new version of the job).');
  return lines.join('\n');
}

function formatField(f: DriftedField): string {
  if (f.field === undefined) {
    return f.live ? `${f.where}: only in Nomad (a deploy removes it)` : `${f.where}: not in Nomad (a deploy adds it back)`;
  }
  const show = (v: string | undefined) => (v === undefined ? '(not set)' : v === MASK ? MASK : JSON.stringify(v));
  return `${f.where}: ${f.field}: live ${show(f.live)}, declared ${show(f.declared)}`;
}

/** A few words for a headline: `changed in Nomad by hand: web Count, sidekiq-long/sidekiq Resources.MemoryMB`. */
export function driftHeadline(drift: Drift): string {
  if (!drift.live) return 'gone from Nomad (purged by hand)';
  const names = drift.fields.map((f) => `${f.where.replace(/group '([^']+)'(, task '([^']+)')?/, (_, g: string, _t, t?: string) => (t ? `${g}/${t}` : g))}${f.field ? ` ${f.field}` : ''}`);
  if (names.length === 0) return 'changed in Nomad by hand';
  const shown = names.slice(0, 3).join(', ');
  return `changed in Nomad by hand: ${shown}${names.length > 3 ? ` and ${names.length - 3} more` : ''}`;
}

/** What a heal did: the job's new version in Nomad. */
export interface Healed {
  readonly evalId: string;
  readonly version: number;
  readonly modifyIndex: number;
}

/**
 * Puts the declared job back: registers exactly the jobspec this tool last submitted (Terraform's
 * state holds it), with it as the job's submission, as the provider does. Nomad makes a new
 * version and rolls the changed groups as any update; the job is never deregistered. Refused by
 * Nomad when the job changed again since `drift` was read. The caller then refreshes the state's
 * record of the job (refreshRegisteredJob), so state and Nomad agree.
 */
export async function healDrift(drift: Drift, nomad: NomadClient): Promise<Healed> {
  const { registered, live } = drift;
  if (!live) throw new Error(`job '${registered.id}' is gone from Nomad: Terraform registers it again, there is nothing to heal`);
  let answer: { EvalID: string; JobModifyIndex: number };
  try {
    answer = await nomad.registerSubmitted(documentOf(registered), { source: registered.jobspec, format: 'json' }, live.JobModifyIndex);
  } catch (e) {
    if (e instanceof NomadError && /Enforcing job modify index/i.test(e.message)) {
      throw new CommandError(
        `job '${registered.id}' changed in Nomad again while this deploy was putting it back; nothing was registered. ` +
          'Run the deploy again: it shows what changed by hand and puts the declared job back.',
      );
    }
    throw e;
  }
  const after = await nomad.job(registered.id);
  return { evalId: answer.EvalID, version: after?.Version ?? live.Version + 1, modifyIndex: answer.JobModifyIndex };
}

/** What a deploy says after a heal: what it changed and where to look. */
export function formatHealed(drift: Drift, healed: Healed): string {
  return (
    `Drift healed: job '${drift.registered.id}' registered again as this tool declares it (${drift.fields.length} ${drift.fields.length === 1 ? 'field' : 'fields'} put back), ` +
    `now version ${healed.version} (evaluation ${healed.evalId}); Nomad rolls the changed groups as for any update: nomad job status ${drift.registered.id}`
  );
}

// --- the deploy's two calls: checkDrift after `terraform init`, before the plan; healDriftLeftByPlan after it ---

/** Drift of the stack's job: what the state says this tool registered, against Nomad. */
export function checkDrift(stackDir: string, steps: Steps, nomad: NomadClient): Promise<Drift | undefined> {
  return detectDrift(readRegisteredJob(stackDir, steps), nomad);
}

/**
 * Whether the deploy must put the job back itself: it drifted, it is still in Nomad, and the plan
 * leaves it alone (`jobAction` undefined: the plan has no changes at all). A plan that updates
 * the job puts it back through Terraform; one that creates it (purged by hand) registers it anew.
 */
export function healNeeded(drift: Drift | undefined, jobAction: Action | undefined): drift is Drift {
  return drift?.live !== undefined && (jobAction === undefined || jobAction === 'unchanged');
}

/** The deploy's question when drift is all there is to apply, or comes with a plan that leaves the job alone. */
export function healQuestion(drift: Drift, environment: string, withPlan: boolean): string {
  return `${withPlan ? `Apply this plan to '${environment}' and put` : 'Put'} job '${drift.registered.id}' back as declared (a rolling update)? Only 'yes' will be accepted: `;
}

/**
 * Heals (healDrift), then refreshes the state's record of the job, so a following plan shows
 * neither a change nor drift. Returns the line that says what it changed and where to look; when
 * `signal` aborts during the refresh, what it left (the caller then reports the interruption).
 */
export async function healAndRefresh(drift: Drift, stackDir: string, steps: Steps, nomad: NomadClient, signal: AbortSignal, wait?: DeploymentWait): Promise<string> {
  steps.progress(`job '${drift.registered.id}' drifted and Terraform sees no change: registering the jobspec in state again through Nomad's API…`);
  const healed = await healDrift(drift, nomad);
  await refreshRegisteredJob(stackDir, drift.registered.address, steps, signal);
  if (signal.aborted) return `${formatHealed(drift, healed)}; interrupted before the state's record of the job was refreshed (terraform apply -refresh-only)`;
  if (wait) await waitForDeployment(nomad, drift.registered.id, healed.version, wait, steps);
  return formatHealed(drift, healed);
}

/** As long as a deploy waits for Nomad's deployment (the environment's job.deployTimeout), as the provider does for Terraform's updates. */
export interface DeploymentWait {
  readonly seconds: number;
  readonly signal: AbortSignal;
  /** @default 2000 */
  readonly pollMs?: number;
}

/**
 * Waits for the deployment of a job version to succeed; a failed one, or none ended in time, is
 * a CommandError naming the groups that did not get healthy. A version with nothing to roll out
 * has no deployment: after a few polls without one, there is nothing to wait for.
 */
export async function waitForDeployment(nomad: NomadClient, jobId: string, version: number, wait: DeploymentWait, steps: Steps): Promise<void> {
  const pollMs = wait.pollMs ?? 2000;
  const deadline = Date.now() + wait.seconds * 1000;
  steps.progress(`waiting up to ${wait.seconds}s for the deployment of job '${jobId}' version ${version}…`);
  for (let polls = 1; !wait.signal.aborted; polls += 1) {
    const deployment = (await nomad.deployments(jobId)).find((d) => d.JobVersion === version);
    if (deployment?.Status === 'successful') return;
    if (deployment && (deployment.Status === 'failed' || deployment.Status === 'cancelled')) {
      throw new CommandError(describeFailedDeployments([], [deployment]) ?? `deployment ${deployment.ID} of job '${jobId}' version ${version} ${deployment.Status}: ${deployment.StatusDescription}`);
    }
    if (!deployment && polls >= 5) return;
    if (Date.now() + pollMs > deadline) {
      throw new CommandError(`the deployment of job '${jobId}' version ${version} did not end within ${wait.seconds}s (job.deployTimeout); it goes on in Nomad: nomad job status ${jobId}`);
    }
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

/** Terraform's error when the job's modify index moved between plan and apply (terraform-provider-nomad #398). */
const MODIFY_INDEX_CHANGED = /job modify index has changed since last refresh/;

/**
 * What to tell the operator when `terraform apply` failed because the job changed in Nomad after
 * the plan was made; undefined when the output says nothing of it.
 */
export function explainApplyFailure(output: string, jobId: string): string | undefined {
  if (!MODIFY_INDEX_CHANGED.test(output)) return undefined;
  return (
    `job '${jobId}' changed in Nomad between the plan and the apply (registered, scaled or stopped by someone or something else), ` +
    `so the nomad provider refused to apply the plan to it (terraform-provider-nomad#398) and the job was left as Nomad has it. ` +
    `Run the deploy again: it plans against the job as it is now and shows what was changed by hand (drift).`
  );
}

function documentOf(registered: RegisteredJob): JobDocument {
  let parsed: unknown;
  try {
    parsed = JSON.parse(registered.jobspec);
  } catch (e) {
    throw new Error(`${registered.address}: the jobspec in state is not JSON: ${(e as Error).message}`);
  }
  // The provider takes a jobspec with or without the "Job" root (`nomad job run -output` has one).
  const document = (parsed as { Job?: unknown }).Job ? (parsed as JobDocument) : ({ Job: parsed } as JobDocument);
  return { Job: { ...document.Job, Namespace: document.Job.Namespace ?? registered.namespace } as JobDocument['Job'] };
}
