import type { AllocationMetric, DesiredUpdates, DiffType, FieldDiff, JobDiff, JobPlanResponse, ObjectDiff, TaskDiff, TaskGroupDiff } from './nomad-client';
import { isSecretName } from '../config/secret-names';
import { MASK } from './secrets';
import type { TerraformSummary } from './terraform-plan';

/** What a script reads from `npm run plan`'s exit status. */
export const EXIT = {
  /** Nothing would change. */
  noChanges: 0,
  /** The plan could not be made: config, synth, Terraform or Nomad failed. */
  error: 1,
  /** Something would change, and Nomad can place every allocation. */
  changes: 2,
  /** Something would change, and Nomad could not place some allocation. */
  unplaceable: 3,
} as const;

export function exitCode(terraform: TerraformSummary, plan: JobPlanResponse): number {
  const changes = terraform.changed || plan.Diff.Type !== 'None';
  if (!changes) return EXIT.noChanges;
  return Object.keys(plan.FailedTGAllocs ?? {}).length > 0 ? EXIT.unplaceable : EXIT.changes;
}

/** The one line above Nomad's part: what Terraform would do. */
export function formatTerraformSummary(s: TerraformSummary): string {
  const image = {
    build: 'image built and pushed',
    rebuild: 'image rebuilt and pushed',
    unchanged: 'image unchanged',
    prebuilt: 'prebuilt image',
  }[s.image];
  const job = `job '${s.job.name}' ${ACTION_WORDS[s.job.action]}`;
  const others = s.others.length === 0 ? 'no other changes' : `other changes: ${s.others.map((o) => `${o.address} ${ACTION_WORDS[o.action]}`).join(', ')}`;
  return `Terraform: ${image}, ${job}, ${others}`;
}

const ACTION_WORDS: Record<TerraformSummary['job']['action'], string> = {
  create: 'created',
  update: 'updated',
  replace: 'replaced',
  delete: 'deleted',
  unchanged: 'unchanged',
};

/**
 * Nomad's diff as `nomad job plan` prints it (command/job_plan.go: markers, indentation and
 * alignment), without colour and with only what changes: fields, objects, tasks and groups of
 * type "None" (the context Nomad sends along) are left out. A field whose name says it holds
 * a secret is masked.
 */
export function formatJobDiff(diff: JobDiff): string {
  if (diff.Type === 'None') return `Job: "${diff.ID}": no changes`;
  const fields = changed(diff.Fields);
  const objects = changed(diff.Objects);
  const groups = changed(diff.TaskGroups);
  const longestField = longestName(fields);
  const longestMarker = longestMarkerOf([...fields, ...objects, ...groups]);
  const lines = [`${marker(diff.Type)}Job: "${diff.ID}"`];
  if (diff.Type === 'Edited') {
    const fo = alignedFieldsAndObjects(fields, objects, 0, longestField, longestMarker);
    if (fo) lines.push(fo);
  }
  for (const group of groups) {
    lines.push(formatGroupDiff(group, longestMarker - markerLength(group.Type)));
  }
  return lines.join('\n');
}

function formatGroupDiff(group: TaskGroupDiff, prefix: number): string {
  let head = `${marker(group.Type)}${spaces(prefix)}Task Group: "${group.Name}"`;
  const updates = Object.keys(group.Updates ?? {}).sort();
  if (updates.length > 0) head += ` (${updates.map((u) => `${group.Updates![u]} ${u}`).join(', ')})`;
  const lines = [head];
  const fields = changed(group.Fields);
  const objects = changed(group.Objects);
  const tasks = changed(group.Tasks);
  const longestField = longestName(fields);
  const longestMarker = longestMarkerOf([...fields, ...objects, ...tasks]);
  const start = prefix + 2;
  if (group.Type === 'Edited') {
    const fo = alignedFieldsAndObjects(fields, objects, start, longestField, longestMarker);
    if (fo) lines.push(fo);
  }
  for (const task of tasks) lines.push(formatTaskDiff(task, start, longestMarker - markerLength(task.Type)));
  return lines.join('\n');
}

function formatTaskDiff(task: TaskDiff, start: number, prefix: number): string {
  let head = `${spaces(start)}${marker(task.Type)}${spaces(prefix)}Task: "${task.Name}"`;
  if (task.Annotations && task.Annotations.length > 0) head += ` (${task.Annotations.join(', ')})`;
  // An added or deleted task is named, not expanded (Nomad's CLI does the same without -verbose).
  if (task.Type !== 'Edited') return head;
  const fields = changed(task.Fields);
  const objects = changed(task.Objects);
  const body = alignedFieldsAndObjects(fields, objects, start + 2, longestName(fields), longestMarkerOf([...fields, ...objects]));
  return body ? `${head}\n${body}` : head;
}

function formatObjectDiff(object: ObjectDiff, start: number, prefix: number): string {
  const fields = changed(object.Fields);
  const objects = changed(object.Objects);
  const head = `${spaces(start)}${marker(object.Type)}${spaces(prefix)}${object.Name} {`;
  const body = alignedFieldsAndObjects(fields, objects, start + prefix + 2, longestName(fields), longestMarkerOf([...fields, ...objects]));
  const end = `${spaces(start + markerLength(object.Type) + prefix)}}`;
  return [head, ...(body ? [body] : []), end].join('\n');
}

function formatFieldDiff(field: FieldDiff, start: number, prefix: number, valuePrefix: number): string {
  const secret = isSecretName(field.Name);
  const show = (v: string) => (secret ? MASK : quote(v));
  const value = field.Type === 'Added' ? show(field.New) : field.Type === 'Deleted' ? show(field.Old) : `${show(field.Old)} => ${show(field.New)}`;
  const annotations = field.Annotations && field.Annotations.length > 0 ? ` (${field.Annotations.join(', ')})` : '';
  return `${spaces(start)}${marker(field.Type)}${spaces(prefix)}${field.Name}: ${spaces(valuePrefix)}${value}${annotations}`;
}

function alignedFieldsAndObjects(fields: FieldDiff[], objects: ObjectDiff[], start: number, longestField: number, longestMarker: number): string {
  return [
    ...fields.map((f) => formatFieldDiff(f, start, longestMarker - markerLength(f.Type), longestField - f.Name.length)),
    ...objects.map((o) => formatObjectDiff(o, start, longestMarker - markerLength(o.Type))),
  ].join('\n');
}

function changed<T extends { Type: DiffType }>(items: T[] | null | undefined): T[] {
  return (items ?? []).filter((i) => i.Type !== 'None');
}

function longestName(fields: FieldDiff[]): number {
  return Math.max(0, ...fields.map((f) => f.Name.length));
}

function longestMarkerOf(items: { Type: DiffType }[]): number {
  return Math.max(0, ...items.map((i) => markerLength(i.Type)));
}

function marker(type: DiffType): string {
  return { Added: '+ ', Deleted: '- ', Edited: '+/- ', None: '' }[type];
}

function markerLength(type: DiffType): number {
  return marker(type).length;
}

function spaces(n: number): string {
  return ' '.repeat(Math.max(0, n));
}

/** Go's %q for the strings Nomad sends: JSON string quoting is the same for what a jobspec holds. */
function quote(s: string): string {
  return JSON.stringify(s);
}

/** How Nomad's CLI names the scheduler's desired updates (scheduler.UpdateType*). */
const UPDATE_WORDS: [keyof DesiredUpdates, string][] = [
  ['Place', 'place'],
  ['Stop', 'stop'],
  ['Migrate', 'migrate'],
  ['InPlaceUpdate', 'in-place update'],
  ['DestructiveUpdate', 'create/destroy update'],
  ['Canary', 'canary'],
  ['Preemptions', 'preemption'],
];

/**
 * The scheduler's dry run: for each group, what it would do to its allocations, then the
 * groups it could not place, and why. Groups the job diff leaves unchanged are counted, not
 * named: their allocations are left alone, or (when the job changes elsewhere) take the new
 * job version in place, which restarts nothing.
 */
export function formatDryRun(plan: JobPlanResponse): string {
  const lines = ['Scheduler dry run:'];
  const desired = plan.Annotations?.DesiredTGUpdates ?? {};
  const edited = new Set(changed(plan.Diff.TaskGroups).map((g) => g.Name));
  let untouched = 0;
  for (const group of Object.keys(desired).sort()) {
    const d = desired[group]!;
    const updates = UPDATE_WORDS.filter(([key]) => (d[key] ?? 0) > 0);
    if (!edited.has(group) && updates.every(([key]) => key === 'InPlaceUpdate')) {
      untouched += 1;
      continue;
    }
    lines.push(`  group '${group}': ${updates.map(([key, word]) => `${d[key]} ${word}`).join(', ') || 'nothing to do'}`);
  }
  if (untouched > 0) lines.push(`  ${untouched} unchanged ${untouched === 1 ? 'group' : 'groups'}: nothing restarts`);
  const failed = plan.FailedTGAllocs ?? {};
  const names = Object.keys(failed).sort();
  if (names.length === 0) {
    lines.push('  every allocation can be placed');
  } else {
    for (const name of names) lines.push(...formatPlacementFailure(name, failed[name]!).map((l) => `  ${l}`));
  }
  if (plan.Warnings) lines.push('', 'Job warnings:', ...plan.Warnings.trim().split('\n').map((l) => `  ${l}`));
  return lines.join('\n');
}

/**
 * One group the scheduler could not place: a headline reason (`no node has enough memory`)
 * from the AllocationMetric, then the counts behind it, as `nomad job plan` lists them.
 */
export function formatPlacementFailure(group: string, m: AllocationMetric): string[] {
  const count = (m.CoalescedFailures ?? 0) + 1;
  const head = `group '${group}': cannot place ${count} ${count === 1 ? 'allocation' : 'allocations'}: ${placementReason(m)}`;
  const evaluated = `${m.NodesEvaluated} ${nodes(m.NodesEvaluated)} evaluated, ${m.NodesFiltered} filtered, ${m.NodesExhausted} exhausted`;
  return [head, `  ${evaluated}`, ...placementDetails(m).map((d) => `  * ${d}`)];
}

function placementReason(m: AllocationMetric): string {
  if (m.NodesEvaluated === 0) {
    const empty = Object.entries(m.NodesAvailable ?? {}).filter(([, n]) => n === 0).map(([dc]) => dc);
    if (empty.length > 0) return `no node is available in datacenter ${empty.map((d) => `"${d}"`).join(', ')}`;
    return 'no node was eligible for evaluation';
  }
  const dimensions = entries(m.DimensionExhausted);
  if (m.NodesExhausted > 0 && dimensions.length > 0) {
    const what = dimensions.length === 1 ? RESOURCE_WORDS[dimensions[0]![0]] ?? `${dimensions[0]![0]}` : 'resources';
    return `no node has enough ${what}: ${dimensions.map(([d, n]) => `Dimension "${d}" exhausted on ${n} ${nodes(n)}`).join(', ')}`;
  }
  if (m.NodesExhausted > 0) return `resources exhausted on ${m.NodesExhausted} ${nodes(m.NodesExhausted)}`;
  const constraints = entries(m.ConstraintFiltered);
  if (constraints.length > 0) {
    return `every node was filtered out: ${constraints.map(([c, n]) => `Constraint "${c}" on ${n} ${nodes(n)}`).join(', ')}`;
  }
  const classes = entries(m.ClassFiltered);
  if (classes.length > 0) return `every node was filtered out: ${classes.map(([c, n]) => `class "${c}" on ${n} ${nodes(n)}`).join(', ')}`;
  return 'the scheduler found no node for it';
}

const RESOURCE_WORDS: Record<string, string> = { memory: 'memory', cpu: 'CPU', disk: 'disk', cores: 'CPU cores', network: 'network bandwidth' };

function placementDetails(m: AllocationMetric): string[] {
  return [
    ...entries(m.ClassFiltered).map(([c, n]) => `Class "${c}": ${n} ${nodes(n)} excluded by filter`),
    ...entries(m.ConstraintFiltered).map(([c, n]) => `Constraint "${c}": ${n} ${nodes(n)} excluded by filter`),
    ...entries(m.ClassExhausted).map(([c, n]) => `Class "${c}" exhausted on ${n} ${nodes(n)}`),
    ...entries(m.DimensionExhausted).map(([d, n]) => `Dimension "${d}" exhausted on ${n} ${nodes(n)}`),
    ...(m.QuotaExhausted ?? []).map((q) => `Quota limit hit "${q}"`),
  ];
}

function entries(map: Record<string, number> | null | undefined): [string, number][] {
  return Object.entries(map ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

function nodes(n: number): string {
  return n === 1 ? 'node' : 'nodes';
}

/** The whole report: Terraform's line, Nomad's diff, the scheduler's dry run. */
export function formatPlan(terraform: TerraformSummary, plan: JobPlanResponse): string {
  return [formatTerraformSummary(terraform), '', formatJobDiff(plan.Diff), '', formatDryRun(plan), ''].join('\n');
}
