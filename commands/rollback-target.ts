import type { Task } from '../constructs/nomad/api';
import { BUILDPACKS_LAUNCHER } from '../constructs/image/runtime';
import type { JobVersion } from './nomad-client';
import { isConnectSidecar } from '../constructs/nomad/api';

/**
 * Which earlier version of a job a rollback goes back to, and why: pure, so the choice is tested
 * without a cluster (commands/rollback.ts runs it).
 */
export interface RollbackTarget {
  readonly version: number;
  /** The image the version's tasks run, by digest. */
  readonly image: string;
  /** One sentence: why this version. */
  readonly reason: string;
}

/** A version refused as a target: the message names the version and what there is. */
export class RollbackChoiceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RollbackChoiceError';
  }
}

/**
 * The image a version's tasks run: the docker driver's `image`, or, for a task the local
 * environment's tests run with raw_exec in its place, the `standin_for_image` it keeps in Meta
 * (as one-off-job.ts names it). Every task of the job runs one image; more than one is refused.
 */
export function imageOfVersion(job: Pick<JobVersion, 'Version' | 'TaskGroups'>): string {
  const images = new Set<string>();
  for (const group of job.TaskGroups) {
    for (const task of group.Tasks as Array<Task & { Kind?: string }>) {
      if (isConnectSidecar(task)) continue;
      const image = typeof task.Config?.image === 'string' ? task.Config.image : task.Meta?.standin_for_image;
      if (image) images.add(image);
    }
  }
  if (images.size !== 1) {
    throw new RollbackChoiceError(`version ${job.Version} runs ${images.size === 0 ? 'no image' : `${images.size} images (${[...images].join(', ')})`}: a rollback goes back to one image`);
  }
  return [...images][0]!;
}

const short = (image: string) => image.replace(/^(.*@sha256:)([a-f0-9]{12})[a-f0-9]+$/, '$1$2…');

/**
 * `to` given: that version, which must be one of the job's and not the running one. Otherwise the
 * newest stable version older than the running one whose image differs from the running one's
 * (a rollback changes the image only; a stable version with the running image would change nothing).
 */
export function chooseRollbackTarget(versions: readonly JobVersion[], running: number, to?: number): RollbackTarget {
  const current = versions.find((v) => v.Version === running);
  if (!current) throw new RollbackChoiceError(`the running version ${running} is not among the job's versions (${list(versions)})`);
  const runningImage = imageOfVersion(current);
  if (to !== undefined) {
    const chosen = versions.find((v) => v.Version === to);
    if (!chosen) throw new RollbackChoiceError(`version ${to} is not one of the job's versions: Nomad keeps ${list(versions)} (npm run history, or nomad job history)`);
    if (to === running) throw new RollbackChoiceError(`version ${to} is the one running now: name an earlier one (the job's versions: ${list(versions)})`);
    const image = imageOfVersion(chosen);
    const same = image === runningImage ? `; it runs the image version ${running} runs, so only Terraform's state and the job's version change` : '';
    return { version: to, image, reason: `asked for with --to (${chosen.Stable ? 'stable' : 'never stable'})${same}` };
  }
  const skipped: number[] = [];
  for (const v of versions) {
    if (v.Version >= running || !v.Stable) continue;
    const image = imageOfVersion(v);
    if (image === runningImage) {
      skipped.push(v.Version);
      continue;
    }
    const passed = skipped.length > 0 ? ` (stable ${plural(skipped)} ${skipped.join(', ')} ${skipped.length > 1 ? 'run' : 'runs'} the running image)` : '';
    return { version: v.Version, image, reason: `the newest stable version older than the running version ${running} with another image${passed}` };
  }
  const stable = versions.filter((v) => v.Stable && v.Version < running).map((v) => v.Version);
  throw new RollbackChoiceError(
    stable.length === 0
      ? `no version older than the running version ${running} is stable (the job's versions: ${list(versions)}): name one with --to`
      : `every stable version older than ${running} (${stable.join(', ')}) runs the image version ${running} runs (${short(runningImage)}): nothing to roll back to; name one with --to`,
  );
}

function list(versions: readonly JobVersion[]): string {
  return versions.map((v) => `${v.Version}${v.Stable ? ' (stable)' : ''}`).join(', ');
}

function plural(items: readonly unknown[]): string {
  return items.length > 1 ? 'versions' : 'version';
}

/** How a version's tasks start their command: through the buildpacks launcher (its entrypoint), or directly. */
export function runtimeOfVersion(job: Pick<JobVersion, 'TaskGroups'>): 'buildpacks' | 'direct' {
  const tasks = job.TaskGroups.flatMap((g) => g.Tasks as Array<Task & { Kind?: string }>).filter((t) => !isConnectSidecar(t));
  return tasks.some((t) => (t.Config?.entrypoint as string[] | undefined)?.[0] === BUILDPACKS_LAUNCHER.entrypoint) ? 'buildpacks' : 'direct';
}

/**
 * Whether the state holds an image this tool built and pushed (`docker_registry_image`); undefined
 * when there is no state or it cannot be read (the deploy then says what is wrong with it).
 */
export function stateHoldsBuiltImage(stateText: string | undefined): boolean | undefined {
  if (stateText === undefined || stateText.trim() === '') return undefined;
  try {
    const state = JSON.parse(stateText) as { resources?: Array<{ type?: string }> };
    return (state.resources ?? []).some((r) => r.type === 'docker_registry_image');
  } catch {
    return undefined;
  }
}

/**
 * A rollback keeps what the last deploy's image source made: run with another source, the deploy
 * would build and push the checkout (state has no build) or drop the build and run a release
 * (state has one). The refusal says which input to set as the last deploy had it.
 */
export function sourceDisagreement(source: 'build' | 'prebuilt', holdsBuilt: boolean | undefined, statePath: string): string | undefined {
  if (holdsBuilt === undefined) return undefined;
  if (source === 'build' && !holdsBuilt) {
    return `the state ${statePath} holds no image this tool built (the last deploy named one with DASHBOARD_IMAGE?): this rollback would build and push the checkout; set DASHBOARD_IMAGE as the last deploy had it`;
  }
  if (source === 'prebuilt' && holdsBuilt) {
    return `the state ${statePath} holds the image the last deploy built, and DASHBOARD_IMAGE is set: this rollback would drop that build and run the release for DASHBOARD_IMAGE; unset it`;
  }
  return undefined;
}
