import { type JobDocument, referenceAlone, REFERENCE_MARKS } from '../constructs/nomad/api';
import type { Redactor } from './secrets';

/** The parts of `terraform show -json <planfile>` read here (Terraform's JSON output format). */
export interface TerraformPlan {
  format_version: string;
  variables?: Record<string, { value?: unknown }>;
  resource_changes?: ResourceChange[];
  configuration?: { root_module?: { variables?: Record<string, { sensitive?: boolean }> } };
}

export interface ResourceChange {
  address: string;
  mode: 'managed' | 'data';
  type: string;
  name: string;
  change: {
    actions: string[];
    before: unknown;
    after: unknown;
    after_unknown?: unknown;
    before_sensitive?: unknown;
    after_sensitive?: unknown;
  };
}

export type Action = 'create' | 'update' | 'replace' | 'delete' | 'unchanged';

/** What Terraform would do, in the terms of the one-line summary. */
export interface TerraformSummary {
  /** Whether the image is built and pushed: `prebuilt` when the stack names one by digest. */
  readonly image: 'build' | 'rebuild' | 'unchanged' | 'prebuilt';
  readonly job: { readonly address: string; readonly name: string; readonly action: Action };
  /** Every other managed resource that changes (a nomad_variable, …). */
  readonly others: readonly { readonly address: string; readonly action: Action }[];
  /** Whether anything at all changes. */
  readonly changed: boolean;
}

const IMAGE_TYPES = ['docker_image', 'docker_registry_image'];

export function actionOf(change: ResourceChange): Action {
  const actions = change.change.actions;
  if (actions.includes('create') && actions.includes('delete')) return 'replace';
  if (actions.includes('create')) return 'create';
  if (actions.includes('delete')) return 'delete';
  if (actions.includes('update')) return 'update';
  return 'unchanged';
}

/** The stack's one nomad_job, which `npm run plan` hands to Nomad. */
export function jobChange(plan: TerraformPlan): ResourceChange {
  const jobs = managed(plan).filter((r) => r.type === 'nomad_job');
  if (jobs.length !== 1) {
    throw new Error(`the stack's plan holds ${jobs.length} nomad_job resources (${jobs.map((j) => j.address).join(', ') || 'none'}); npm run plan plans exactly one`);
  }
  return jobs[0]!;
}

export function summarize(plan: TerraformPlan): TerraformSummary {
  const resources = managed(plan);
  const job = jobChange(plan);
  const images = resources.filter((r) => IMAGE_TYPES.includes(r.type)).map(actionOf);
  const image =
    images.length === 0 ? 'prebuilt' : images.includes('replace') ? 'rebuild' : images.includes('create') ? 'build' : 'unchanged';
  const others = resources
    .filter((r) => r !== job && !IMAGE_TYPES.includes(r.type))
    .map((r) => ({ address: r.address, action: actionOf(r) }))
    .filter((o) => o.action !== 'unchanged');
  return {
    image,
    job: { address: job.address, name: jobIdOf(job), action: actionOf(job) },
    others,
    changed: resources.some((r) => actionOf(r) !== 'unchanged'),
  };
}

function managed(plan: TerraformPlan): ResourceChange[] {
  return (plan.resource_changes ?? []).filter((r) => r.mode === 'managed');
}

/** The job ID, from the jobspec when Terraform knows it, else the resource name (which NomadJob sets from the ID). */
function jobIdOf(job: ResourceChange): string {
  const after = job.change.after as { jobspec?: unknown } | null;
  const before = job.change.before as { jobspec?: unknown } | null;
  for (const spec of [after?.jobspec, before?.jobspec]) {
    if (typeof spec !== 'string') continue;
    try {
      return (JSON.parse(spec) as JobDocument).Job.ID;
    } catch {
      // A jobspec that is not JSON: the name below will do.
    }
  }
  return job.name;
}

/**
 * Every value Terraform marks sensitive in the plan: sensitive variables, and attributes in
 * `before_sensitive` / `after_sensitive` (a nomad_variable's items). None of them is ever printed.
 */
export function collectSensitive(plan: TerraformPlan, redactor: Redactor): Redactor {
  const declared = plan.configuration?.root_module?.variables ?? {};
  for (const [name, variable] of Object.entries(plan.variables ?? {})) {
    if (declared[name]?.sensitive) redactor.add(variable.value);
  }
  for (const r of plan.resource_changes ?? []) {
    addMarked(r.change.before, r.change.before_sensitive, redactor);
    addMarked(r.change.after, r.change.after_sensitive, redactor);
  }
  return redactor;
}

/** Walks a value beside its sensitivity mask (`true`, or an object/array of masks) and collects what the mask marks. */
function addMarked(value: unknown, mask: unknown, redactor: Redactor): void {
  if (mask === true) {
    redactor.add(value);
    return;
  }
  if (!mask || typeof mask !== 'object' || !value || typeof value !== 'object') return;
  for (const [key, m] of Object.entries(mask)) addMarked((value as Record<string, unknown>)[key], m, redactor);
}

/** Where the jobspec came from: Terraform's evaluation, or the stack's rendering because an input is only known after apply. */
export interface PlannedJob {
  readonly document: JobDocument;
  readonly source: 'terraform' | 'rendered';
}

/**
 * The jobspec Terraform would hand the nomad provider. Known in the plan unless an input is
 * computed at apply: the image's digest when it is rebuilt (or built for the first time), a
 * new runtime config revision. Then the job is the one the stack rendered at synth
 * (`RENDERED_JOB_KEY`, api.ts), its references given the plan's values: a digest to be built
 * becomes `<repository>:<tag> (to be built)` (Nomad's plan pulls nothing, so the placeholder is
 * only read by people).
 */
export function plannedJob(plan: TerraformPlan, renderedJob: () => string): PlannedJob {
  const job = jobChange(plan);
  const after = job.change.after as { jobspec?: unknown } | null;
  const unknown = job.change.after_unknown as { jobspec?: unknown } | null | undefined;
  if (typeof after?.jobspec === 'string' && unknown?.jobspec !== true) {
    return { document: parseJobspec(after.jobspec, job.address), source: 'terraform' };
  }
  if (!after) throw new Error(`${job.address} would be deleted: there is no job to plan`);
  const document = withReferences(parseJobspec(renderedJob(), job.address), plan) as JobDocument;
  return { document, source: 'rendered' };
}

function parseJobspec(text: string, address: string): JobDocument {
  let document: JobDocument;
  try {
    document = JSON.parse(text) as JobDocument;
  } catch (e) {
    throw new Error(`${address}: the jobspec is not JSON: ${(e as Error).message}`);
  }
  if (!document?.Job?.ID) throw new Error(`${address}: the jobspec has no Job.ID`);
  return document;
}

/** Stands for a digest known only after the build, until the string holding it is read whole. */
const UNBUILT = (id: string) => `\u0001unbuilt:${id}\u0001`;

/**
 * Every string in a rendered job (keys too) with its reference marks resolved. A string that is
 * one mark alone takes the value as it is (a count from a variable stays a number).
 */
function withReferences(value: unknown, plan: TerraformPlan): unknown {
  if (typeof value === 'string') {
    const alone = referenceAlone(value);
    const resolved = alone ? resolveReference(alone, plan) : value.replace(REFERENCE_MARKS, (_, r: string) => String(resolveReference(r, plan)));
    if (resolved === value) return value;
    return typeof resolved === 'string' ? withImagePlaceholders(resolved, plan) : resolved;
  }
  if (Array.isArray(value)) return value.map((v) => withReferences(v, plan));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [String(withReferences(k, plan)), withReferences(v, plan)]));
  }
  return value;
}

function resolveReference(reference: string, plan: TerraformPlan): string | number | boolean {
  const variable = /^var\.([A-Za-z0-9_-]+)$/.exec(reference);
  if (variable) {
    const value = plan.variables?.[variable[1]!]?.value;
    if (isScalar(value)) return value;
    throw new Error(`the jobspec uses var.${variable[1]}, which the plan gives no value`);
  }
  const attribute = /^([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)$/.exec(reference);
  if (attribute) {
    const [, type, name, key] = attribute as unknown as [string, string, string, string];
    const change = managed(plan).find((r) => r.type === type && r.name === name);
    const unknown = (change?.change.after_unknown as Record<string, unknown> | undefined)?.[key] === true;
    if (type === 'docker_registry_image' && key === 'sha256_digest' && (unknown || !change)) return UNBUILT(name);
    // A revision drawn anew (constructs/terraform/revision.ts): its value says nothing, only that it changes.
    if (type === 'terraform_data' && key === 'id' && change && unknown) return `(new ${name}, known after apply)`;
    const value = (change?.change.after as Record<string, unknown> | null | undefined)?.[key];
    if (change && !unknown && isScalar(value)) return value;
    if (change && unknown) throw new Error(`the jobspec uses \${${reference}}, which is known only after apply`);
  }
  throw new Error(`the jobspec uses \${${reference}}, which npm run plan cannot evaluate before apply`);
}

function isScalar(value: unknown): value is string | number | boolean {
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean';
}

/** `host/repo@<digest to be built>` becomes `host/repo:ctx-… (to be built)`, the tag the build pushes. */
function withImagePlaceholders(text: string, plan: TerraformPlan): string {
  return text
    .replace(/^[^\s]*@\u0001unbuilt:([A-Za-z0-9_-]+)\u0001$/, (_, id: string) => `${builtImageName(plan, id)} (to be built)`)
    .replace(/\u0001unbuilt:([A-Za-z0-9_-]+)\u0001/g, (_, id: string) => `(digest of ${builtImageName(plan, id)}, to be built)`);
}

function builtImageName(plan: TerraformPlan, id: string): string {
  for (const type of ['docker_registry_image', 'docker_image']) {
    const r = managed(plan).find((c) => c.type === type && c.name === id);
    const name = (r?.change.after as { name?: unknown } | null)?.name;
    if (typeof name === 'string') return name;
  }
  return `docker_registry_image.${id}`;
}
