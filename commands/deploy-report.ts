import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Environment } from '../config/schema';
import { isConnectSidecar } from '../constructs/nomad/api';
import type { NomadClient, StoredJob } from './nomad-client';
import { runningRelease } from './release';
import { pgAppName, pgLockHolders } from './state-lock';

/** What a deploy knows of itself, for what it says at its end or when interrupted. */
export interface DeployFacts {
  readonly environment: Environment;
  /** When the deploy started (ms since the epoch). */
  readonly started: number;
  /** The job Nomad ran before (undefined: none). */
  before: StoredJob | undefined;
  /** What the apply reported done to each resource. */
  applied: readonly { readonly address: string; readonly action: string }[];
}

/**
 * The last lines of a deploy: the job's version, the image it runs (and the checkout's commit),
 * whether a release ran, and the deployment's state per group, or that this environment does
 * not wait for it and where to look.
 */
export async function deploySummary(nomad: NomadClient, facts: DeployFacts & { after: StoredJob | undefined }, { changed }: { changed: boolean }): Promise<string> {
  const { environment, before, after } = facts;
  const lines: string[] = [];
  if (!after) return `deploy: job '${environment.job.id}' is not running at ${nomad.connection.address}\n`;
  const version = !before ? `version ${after.Version} (new)` : before.Version !== after.Version ? `version ${after.Version} (was ${before.Version})` : `version ${after.Version}${changed ? ' (unchanged)' : ''}`;
  lines.push(`job '${after.ID}' ${version} runs ${imageOf(after)}${commitOf(environment)}`);
  const release = facts.applied.find((r) => r.address === 'terraform_data.release');
  if (environment.release && environment.release.command !== false) {
    const why = environment.image.rollback ? 'a rollback runs none: migrations stay as they are' : 'the image is unchanged';
    lines.push(release ? 'release: ran before the job was updated' : `release: not run (${why})`);
  }
  const deployment = (await nomad.deployments(after.ID).catch(() => [])).find((d) => d.JobVersion === after.Version);
  if (!environment.job.deployTimeout) {
    lines.push(`deployment: not waited for (config sets no job.deployTimeout for '${environment.name}'): npm run status -- ${environment.name}`);
  } else if (deployment) {
    const groups = Object.entries(deployment.TaskGroups)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([group, g]) => `${group} ${g.HealthyAllocs}/${g.DesiredTotal} healthy${g.UnhealthyAllocs > 0 ? `, ${g.UnhealthyAllocs} unhealthy` : ''}`);
    lines.push(`deployment ${deployment.ID.slice(0, 8)} ${deployment.Status}: ${groups.join('; ')}`);
  } else if (changed) {
    lines.push(`deployment: none for version ${after.Version} (nothing to roll out)`);
  }
  return lines.map((l) => `deploy: ${l}\n`).join('');
}

/**
 * What an interrupted deploy left, in the order a person asks: what was applied, whether the
 * job changed, whether a release still runs, whether the state lock is free.
 */
export async function interruptedReport(
  nomad: NomadClient,
  facts: DeployFacts,
  where: { releaseJob: string; statePath: string; env: Readonly<Record<string, string | undefined>> },
): Promise<string> {
  const lines: string[] = [];
  lines.push(facts.applied.length > 0 ? `applied: ${facts.applied.map((r) => `${r.address} (${r.action})`).join(', ')}` : 'applied: nothing');
  const after = await nomad.job(facts.environment.job.id).catch(() => undefined);
  if (!after) lines.push(`job: '${facts.environment.job.id}' is not registered`);
  else if (!facts.before) lines.push(`job: registered as version ${after.Version}`);
  else lines.push(after.Version === facts.before.Version ? `job: unchanged (version ${after.Version})` : `job: changed, version ${facts.before.Version} → ${after.Version}`);
  const release = await runningRelease(nomad, where.releaseJob).catch(() => undefined);
  lines.push(
    release
      ? `release: job '${where.releaseJob}' is still running (allocation ${release.alloc.ID.slice(0, 8)}), left on purpose: follow it with nomad alloc logs -f ${release.alloc.ID.slice(0, 8)}; stop it with nomad job stop ${where.releaseJob}; the next deploy waits for it`
      : 'release: none running',
  );
  lines.push(`state lock: ${await interruptedStateLock(facts, where)}`);
  return lines.map((l) => `  ${l}\n`).join('');
}

/**
 * The state lock after an interrupted deploy's Terraform has exited, as each backend keeps it: a
 * local file's lock info, which Terraform can leave behind; pg's advisory lock, held by a
 * PostgreSQL session (Terraform's closed with it), asked of PostgreSQL; Consul's, which Terraform
 * releases as it stops, not asked here (no Consul client in these commands).
 */
export async function interruptedStateLock(
  facts: Pick<DeployFacts, 'environment' | 'started'>,
  where: { statePath: string; env: Readonly<Record<string, string | undefined>> },
  retryMs = 500,
): Promise<string> {
  const { state, name } = facts.environment;
  if (state.backend === 'local') return stateLock(where.statePath, facts.started);
  if (state.backend === 'consul') {
    return `released by this deploy's Terraform as it stopped (a Consul session lock; not checked here): a lock left behind is waited for by the next deploy, which names its holder`;
  }
  const env = where.env as NodeJS.ProcessEnv;
  // This deploy's own session, by the name it gave PostgreSQL (lockWaitEnv): it may take a moment to close after Terraform exits.
  const own = env.PGAPPNAME ?? pgAppName({ command: 'deploy', environment: name });
  for (let attempt = 1; ; attempt += 1) {
    const holders = env.PG_CONN_STR ? pgLockHolders(env.PG_CONN_STR, state.schemaName, 'psql', env) : { pg: undefined, unavailable: 'PG_CONN_STR is not set' };
    if (holders.pg === undefined) return `freed when this deploy's Terraform exited (pg's lock is held by a PostgreSQL session, closed with it); not checked: ${holders.unavailable}`;
    if (holders.pg.length === 0) return 'free (no PostgreSQL session holds it)';
    if (attempt < 5 && holders.pg.some((h) => h.applicationName === own)) {
      await new Promise((r) => setTimeout(r, retryMs));
      continue;
    }
    const who = holders.pg.map((h) => `${h.applicationName ? `'${h.applicationName}'` : 'a session that gave no name'} (PostgreSQL session ${h.pid}, connected since ${h.connectedSince} UTC)`);
    return `held by ${who.join(', ')}: the next deploy waits for it (state.lockTimeout) and names it again`;
  }
}

/**
 * A local backend's lock: Terraform writes `.<state>.lock.info` beside the state and removes it
 * when it unlocks; interrupted, it can leave the file behind. One written after this deploy
 * started is its own Terraform's (which has exited): removed. An older one is someone else's.
 */
export function stateLock(statePath: string, started: number): string {
  const info = join(dirname(statePath), `.${basename(statePath)}.lock.info`);
  if (!existsSync(info)) return 'free';
  let lock: { ID?: string; Who?: string; Operation?: string; Created?: string } = {};
  try {
    lock = JSON.parse(readFileSync(info, 'utf8')) as typeof lock;
  } catch {
    // An unreadable lock file is reported as it is.
  }
  const created = lock.Created ? Date.parse(lock.Created) : NaN;
  if (!Number.isNaN(created) && created >= started - 1000) {
    rmSync(info, { force: true });
    return `free (the lock file this deploy's Terraform left, ${info}, is removed)`;
  }
  return `held: ${info} (ID ${lock.ID ?? '?'}, ${lock.Operation ?? '?'} by ${lock.Who ?? '?'} since ${lock.Created ?? '?'}); if no deploy of that operator is running, free it with: terraform -chdir=cdktf.out/stacks/<env> force-unlock ${lock.ID ?? '<ID>'}`;
}

/** The image the job's tasks run: one reference when every group agrees. */
function imageOf(job: StoredJob): string {
  const images = new Set(job.TaskGroups.flatMap((g) => g.Tasks.filter((t) => !isConnectSidecar(t)).flatMap((t) => (typeof t.Config.image === 'string' ? [t.Config.image] : []))));
  if (images.size === 0) return 'no image (its tasks run without one)';
  return images.size === 1 ? [...images][0]! : `${images.size} images (${[...images].join(', ')})`;
}

/** ` (checkout 1a2b3c4)` for an image built from a git checkout; `+ changes` when it has uncommitted ones. */
function commitOf(environment: Environment): string {
  if (environment.image.source !== 'build') return '';
  const git = (...args: string[]) => spawnSync('git', ['-C', environment.image.source === 'build' ? environment.image.context : '.', ...args], { encoding: 'utf8' });
  const head = git('rev-parse', '--short', 'HEAD');
  if (head.status !== 0) return '';
  const dirty = git('status', '--porcelain').stdout.trim() !== '';
  return ` (checkout ${head.stdout.trim()}${dirty ? ' + uncommitted changes' : ''})`;
}
