import type { AllocationStub, Deployment, FieldDiff, JobDiff, JobSummary, JobVersions, ObjectDiff, StoredJob, TaskDiff } from './nomad-client';

/**
 * What the day-after commands (status, logs, history) make of Nomad's answers: plain functions
 * from the recorded JSON to the facts they print, so each is tested on answers recorded from a
 * real agent (__tests__/commands/recordings/).
 */

/** The exit statuses of `npm run status`, in plan's spirit (0 nothing to do, 2 in motion, 3 failed). */
export const STATUS_EXIT = {
  /** Every group runs as many healthy allocations as it wants. */
  healthy: 0,
  /** Nomad could not be asked, or the command line was wrong. */
  error: 1,
  /** Not all healthy: a deployment is running, or a group's allocations run unverified. */
  progressing: 2,
  /** A group failed (its deployment failed, or it runs short with no deployment under way), or the job is missing, stopped or dead. */
  failed: 3,
} as const;

/**
 * healthy: runs as many healthy allocations as it wants; progressing: a deployment is under way,
 * or the allocations it lacks are starting; failed: unhealthy allocations failed its deployment, or it runs short with no deployment under
 * way; unverified: it runs as many as it wants, but no deployment found them all healthy (its
 * deployment failed for another group's sake).
 */
export type GroupState = 'healthy' | 'progressing' | 'failed' | 'unverified';

export interface GroupView {
  readonly name: string;
  readonly desired: number;
  readonly running: number;
  readonly healthy: number;
  readonly unhealthy: number;
  /** Allocations Nomad could not place yet (job summary). */
  readonly queued: number;
  /** Restarts of the tasks of the group's current allocations. */
  readonly restarts: number;
  readonly state: GroupState;
}

export interface DeploymentView {
  readonly id: string;
  readonly jobVersion: number;
  readonly status: string;
  readonly description: string;
}

export interface StatusView {
  readonly job: string;
  readonly version: number;
  /** ISO 8601. */
  readonly submitted: string;
  readonly stable: boolean;
  /** Nomad's status of the job: pending, running, dead. */
  readonly jobStatus: string;
  readonly stopped: boolean;
  /** The images the tasks run, by image: the groups that run it (tasks without an image are left out). */
  readonly images: Readonly<Record<string, readonly string[]>>;
  readonly groups: readonly GroupView[];
  readonly deployment: DeploymentView | undefined;
  readonly exitCode: number;
}

/** Nanoseconds since the epoch (Nomad's times) as ISO 8601 to the second. */
export function isoTime(ns: number): string {
  return new Date(Math.floor(ns / 1e6)).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** The images the job's tasks run (their driver config's `image`), each with the groups that run it. */
export function imagesOf(job: StoredJob): Record<string, string[]> {
  const images: Record<string, string[]> = {};
  for (const group of job.TaskGroups) {
    for (const task of declaredTasks(group)) {
      const image = task.Config?.image;
      if (typeof image !== 'string') continue;
      const groups = (images[image] ??= []);
      if (!groups.includes(group.Name)) groups.push(group.Name);
    }
  }
  return images;
}

/** A group's tasks as the job declares them: not the ones Nomad adds (a Connect sidecar has a `Kind`). */
export function declaredTasks(group: StoredJob['TaskGroups'][number]): StoredJob['TaskGroups'][number]['Tasks'] {
  return group.Tasks.filter((t) => !(t as { Kind?: string }).Kind);
}

/**
 * The allocations whose logs a read shows: the group's current ones, and with `sinceNs`, those
 * that changed (ran, stopped) since then too. Oldest first.
 */
export function allocationsToRead(allocations: readonly AllocationStub[], options: { groups?: readonly string[]; sinceNs?: number } = {}): AllocationStub[] {
  const current = new Set(currentAllocations(allocations).map((a) => a.ID));
  return allocations.filter(
    (a) => (!options.groups || options.groups.includes(a.TaskGroup)) && (current.has(a.ID) || (options.sinceNs !== undefined && (a.ModifyTime ?? 0) >= options.sinceNs)),
  );
}

/** The allocations that stand for a group now: the scheduler wants them running, and nothing replaced them. */
export function currentAllocations(allocations: readonly AllocationStub[]): AllocationStub[] {
  return allocations.filter((a) => (a.DesiredStatus ?? 'run') === 'run' && !a.NextAllocation);
}

/** The job now, from its stored form, summary, allocations and latest deployment. */
export function statusView(job: StoredJob, summary: JobSummary | undefined, allocations: readonly AllocationStub[], deployment: Deployment | undefined): StatusView {
  const current = currentAllocations(allocations);
  const ofThisVersion = deployment && deployment.JobVersion === job.Version ? deployment : undefined;
  const deploying = deployment?.Status === 'running' || deployment?.Status === 'pending' || deployment?.Status === 'paused' || deployment?.Status === 'blocked';
  const groups = job.TaskGroups.map((g): GroupView => {
    const mine = current.filter((a) => a.TaskGroup === g.Name);
    const running = mine.filter((a) => a.ClientStatus === 'running');
    const fromDeployment = ofThisVersion?.TaskGroups[g.Name];
    const healthy = fromDeployment ? fromDeployment.HealthyAllocs : running.filter((a) => a.DeploymentStatus?.Healthy === true).length;
    const unhealthy = fromDeployment ? fromDeployment.UnhealthyAllocs : mine.filter((a) => a.DeploymentStatus?.Healthy === false).length;
    const restarts = mine.reduce((n, a) => n + Object.values(a.TaskStates ?? {}).reduce((m, t) => m + (t.Restarts ?? 0), 0), 0);
    const desired = job.Stop ? 0 : g.Count;
    // Healthy: as many running as wanted, each of them healthy by its deployment's word.
    const allHealthy = running.length === desired && (fromDeployment ? healthy >= desired : running.every((a) => a.DeploymentStatus?.Healthy === true));
    const failedInDeployment = deployment?.Status === 'failed' && (deployment.TaskGroups[g.Name]?.UnhealthyAllocs ?? 0) > 0;
    const state: GroupState = failedInDeployment
      ? 'failed'
      : allHealthy
        ? 'healthy'
        : deploying || running.length + mine.filter((a) => a.ClientStatus === 'pending').length >= desired && running.length < desired
          ? 'progressing'
          : running.length < desired
            ? 'failed'
            : 'unverified';
    return { name: g.Name, desired, running: running.length, healthy, unhealthy, queued: summary?.Summary[g.Name]?.Queued ?? 0, restarts, state };
  });
  const dead = job.Stop || job.Status === 'dead';
  const exitCode = dead || groups.some((g) => g.state === 'failed') ? STATUS_EXIT.failed : groups.every((g) => g.state === 'healthy') ? STATUS_EXIT.healthy : STATUS_EXIT.progressing;
  return {
    job: job.ID,
    version: job.Version,
    submitted: isoTime(job.SubmitTime),
    stable: job.Stable,
    jobStatus: job.Status,
    stopped: job.Stop,
    images: imagesOf(job),
    groups,
    deployment: deployment && { id: deployment.ID, jobVersion: deployment.JobVersion, status: deployment.Status, description: deployment.StatusDescription },
    exitCode,
  };
}

/** `npm run status`'s text: a few lines of facts, then a table of groups, then what to look at. */
export function formatStatus(view: StatusView, environment = '<env>'): string {
  const lines: string[] = [];
  const state = view.stopped ? 'stopped' : view.jobStatus;
  lines.push(`job ${view.job} version ${view.version} (${view.stable ? 'stable' : 'not stable'}), submitted ${view.submitted}, ${state}`);
  const images = Object.entries(view.images);
  if (images.length === 1) lines.push(`image ${images[0]![0]}`);
  else if (images.length === 0) lines.push('image (none: no task names one)');
  else for (const [image, groups] of images) lines.push(`image ${image} (${groups.join(', ')})`);
  const d = view.deployment;
  lines.push(d ? `deployment ${d.id.slice(0, 8)} (version ${d.jobVersion}): ${d.status}: ${d.description}` : 'deployment none');
  lines.push('');
  const header = ['group', 'desired', 'running', 'healthy', 'unhealthy', 'restarts', 'state'];
  const rows = view.groups.map((g) => [g.name, String(g.desired), String(g.running), String(g.healthy), String(g.unhealthy), String(g.restarts), g.queued > 0 ? `${g.state} (${g.queued} queued)` : g.state]);
  lines.push(...table([header, ...rows]));
  const failed = view.groups.filter((g) => g.state === 'failed').map((g) => g.name);
  lines.push('');
  if (view.stopped || view.jobStatus === 'dead') lines.push(`job ${view.job} is ${state}: nothing runs`);
  else if (failed.length > 0) lines.push(`failed: ${failed.join(', ')} (npm run logs -- ${environment} --group ${failed[0]})`);
  else if (view.exitCode === STATUS_EXIT.progressing) lines.push('not all healthy yet');
  else lines.push('all groups healthy');
  return `${lines.join('\n')}\n`;
}

/** Rows as columns, left-aligned, two spaces apart. */
export function table(rows: readonly (readonly string[])[]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ').trimEnd());
}

// --- history ---------------------------------------------------------------------------------

export interface VersionView {
  readonly version: number;
  readonly submitted: string;
  readonly stable: boolean;
  /** Its latest deployment's status, or `none`. */
  readonly deployment: string;
  readonly images: readonly string[];
  /** One line of what changed from the version before; `first version kept` for the oldest. */
  readonly change: string;
}

/** Every version Nomad keeps, newest first, each with its deployment's outcome and what changed. */
export function historyView(versions: JobVersions, deployments: readonly Deployment[]): VersionView[] {
  const newestDeployment = (version: number) =>
    deployments.filter((d) => d.JobVersion === version).sort((a, b) => (b.CreateIndex ?? 0) - (a.CreateIndex ?? 0))[0];
  return versions.Versions.map((job, i) => {
    const diff = i < versions.Versions.length - 1 ? versions.Diffs?.[i] : undefined;
    return {
      version: job.Version,
      submitted: isoTime(job.SubmitTime),
      stable: job.Stable,
      deployment: newestDeployment(job.Version)?.Status ?? 'none',
      images: Object.keys(imagesOf(job)),
      change: i === versions.Versions.length - 1 ? 'oldest version kept' : diff ? describeDiff(diff) : 'no diff from Nomad',
    };
  });
}

export function formatHistory(job: string, rows: readonly VersionView[]): string {
  const header = ['version', 'submitted', 'stable', 'deployment', 'image', 'change'];
  const body = rows.map((r) => [String(r.version), r.submitted, r.stable ? 'stable' : '-', r.deployment, r.images.map(shortImage).join(', ') || '-', r.change]);
  return `job ${job}: ${rows.length} version${rows.length === 1 ? '' : 's'}, newest first\n${table([header, ...body]).join('\n')}\n`;
}

/** `127.0.0.1:5000/wikiedu-web@sha256:ab12…` → `wikiedu-web@sha256:ab12cd34ef56`: the repository and the digest's first 12 digits. */
export function shortImage(image: string): string {
  const m = /^(?:.*\/)?([^/@]+)@sha256:([0-9a-f]{12})[0-9a-f]*$/.exec(image);
  return m ? `${m[1]}@sha256:${m[2]}` : image;
}

interface Change {
  readonly group?: string;
  readonly text: string;
}

/** The most a one-line change says before it counts the rest. */
const CHANGE_WIDTH = 160;

/**
 * One line of what a version changed from the one before, from Nomad's diff: an image changed
 * in every group once (`image wikiedu-web@sha256:ab12… → …@sha256:cd34…`), then each group's
 * edited fields (`sidekiq-long: MemoryMB 512 → 640`), then the job's own.
 */
export function describeDiff(diff: JobDiff): string {
  const changes: Change[] = [];
  for (const field of diff.Fields ?? []) changes.push({ text: fieldText(field) });
  for (const object of diff.Objects ?? []) changes.push(...objectChanges(object, undefined));
  for (const group of diff.TaskGroups ?? []) {
    if (group.Type === 'None') continue;
    if (group.Type === 'Added' || group.Type === 'Deleted') {
      changes.push({ group: group.Name, text: group.Type === 'Added' ? 'added' : 'removed' });
      continue;
    }
    for (const field of group.Fields ?? []) if (field.Type !== 'None') changes.push({ group: group.Name, text: fieldText(field) });
    for (const object of group.Objects ?? []) changes.push(...objectChanges(object, group.Name));
    for (const task of group.Tasks ?? []) changes.push(...taskChanges(task, group.Name));
  }
  if (changes.length === 0) return 'no change to the jobspec';
  // An image change every group shares is said once, first.
  const groupsWith = new Map<string, Set<string>>();
  for (const c of changes) if (c.group && c.text.startsWith('image ')) (groupsWith.get(c.text) ?? groupsWith.set(c.text, new Set()).get(c.text)!).add(c.group);
  const shared = [...groupsWith].filter(([, groups]) => groups.size > 1).map(([text]) => text);
  const parts: string[] = [...shared];
  const byGroup = new Map<string, string[]>();
  for (const c of changes) {
    if (c.group && shared.includes(c.text)) continue;
    const key = c.group ?? '';
    (byGroup.get(key) ?? byGroup.set(key, []).get(key)!).push(c.text);
  }
  for (const [group, texts] of byGroup) parts.push(group ? `${group}: ${[...new Set(texts)].join(', ')}` : [...new Set(texts)].join(', '));
  return clip(parts);
}

function clip(parts: readonly string[]): string {
  let line = '';
  for (let i = 0; i < parts.length; i++) {
    const next = line ? `${line}; ${parts[i]}` : parts[i]!;
    if (next.length > CHANGE_WIDTH && line) return `${line}; (+${parts.length - i} more)`;
    line = next;
  }
  return line;
}

function taskChanges(task: TaskDiff, group: string): Change[] {
  if (task.Type === 'None') return [];
  if (task.Type === 'Added' || task.Type === 'Deleted') return [{ group, text: `task ${task.Name} ${task.Type === 'Added' ? 'added' : 'removed'}` }];
  return [
    ...(task.Fields ?? []).filter((f) => f.Type !== 'None').map((f) => ({ group, text: fieldText(f) })),
    ...(task.Objects ?? []).flatMap((o) => objectChanges(o, group)),
  ];
}

function objectChanges(object: ObjectDiff, group: string | undefined): Change[] {
  if (object.Type === 'None') return [];
  const fields = (object.Fields ?? []).filter((f) => f.Type !== 'None');
  const nested = (object.Objects ?? []).flatMap((o) => objectChanges(o, group));
  if (fields.length === 0 && nested.length === 0) return [{ ...(group ? { group } : {}), text: `${object.Name} ${object.Type.toLowerCase()}` }];
  return [...fields.map((f) => ({ ...(group ? { group } : {}), text: fieldText(f, object.Name) })), ...nested];
}

/** `MemoryMB 512 → 640`; a driver's `image` as `image <short> → <short>`; an added or removed field with its one value. */
function fieldText(field: FieldDiff, object?: string): string {
  const name = field.Name === 'image' && (object === undefined || object === 'Config') ? 'image' : field.Name;
  const value = (v: string) => (name === 'image' ? shortImage(v) : v.length > 40 ? `${v.slice(0, 37)}…` : v);
  if (field.Type === 'Added') return `${name} + ${value(field.New)}`;
  if (field.Type === 'Deleted') return `${name} - ${value(field.Old)}`;
  return `${name} ${value(field.Old)} → ${value(field.New)}`;
}
