/**
 * Records the Nomad answers the day-after commands' unit tests read (job-view.test.ts), from a
 * real agent: a Nomad dev agent with raw_exec, such as `npm run local:up` starts. Re-record with
 *
 *   NOMAD_ADDR=http://127.0.0.1:4646 npx tsx __tests__/commands/recordings/record.ts
 *
 * It registers jobs named `record-*` (two groups of the local job, web and sidekiq-long, to keep
 * the files small), waits for what each recording shows, writes the JSON beside this file, and
 * purges the jobs. Each answer keeps the fields the commands read (the types in
 * commands/nomad-client.ts), and Nomad's diffs their changed parts: the rest is long and read by
 * no command.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type AllocationStub, NomadClient, nomadConnection, type StoredJob } from '../../../commands/nomad-client';
import { nomadRequest } from '../../../commands/nomad-http';
import type { JobDocument } from '../../../constructs/nomad/api';
import { localJob, runnableJob, waitFor } from '../../e2e/support/day-after-jobs';

const GROUPS = ['web', 'sidekiq-long'];
const nomad = new NomadClient(nomadConnection({}, process.env));

async function register(document: JobDocument): Promise<void> {
  await nomad.register(document);
}

/** A stored job, as little of it as the commands read. */
function jobFields(job: StoredJob): unknown {
  const { ID, Version, SubmitTime, Stable, Status, Stop } = job;
  const groups = job.TaskGroups.map((g) => ({
    Name: g.Name,
    Count: g.Count,
    Tasks: g.Tasks.map((t) => ({ Name: t.Name, ...pick(t as never, ['Kind']), Config: pick(t.Config, ['image']), Resources: pick(t.Resources as never, ['MemoryMB']) })),
  }));
  return { ID, Version, SubmitTime, Stable, Status, Stop, TaskGroups: groups };
}

const ALLOCATION_FIELDS = ['ID', 'TaskGroup', 'ClientStatus', 'CreateIndex', 'DesiredStatus', 'JobVersion', 'CreateTime', 'ModifyTime', 'DeploymentStatus', 'NextAllocation'];

function allocationFields(a: AllocationStub): unknown {
  const states = Object.fromEntries(Object.entries(a.TaskStates ?? {}).map(([task, t]) => [task, pick(t as never, ['State', 'Failed', 'Restarts'])]));
  return { ...pick(a as never, ALLOCATION_FIELDS), TaskStates: states };
}

function pick(value: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(keys.filter((k) => value[k] !== undefined && value[k] !== '').map((k) => [k, value[k]]));
}

/** A diff's changed parts only: Nomad lists the unchanged ones too (Type None). */
function changed(diff: unknown): unknown {
  if (Array.isArray(diff)) return diff.filter((d) => (d as { Type?: string }).Type !== 'None').map(changed);
  if (diff && typeof diff === 'object') return Object.fromEntries(Object.entries(diff).map(([k, v]) => [k, Array.isArray(v) ? changed(v) : v]));
  return diff;
}

async function statusAnswers(jobId: string): Promise<Record<string, unknown>> {
  const [job, summary, allocations, deployment] = await Promise.all([nomad.job(jobId), nomad.jobSummary(jobId), nomad.allocations(jobId), nomad.latestDeployment(jobId)]);
  return { job: jobFields(job!), summary, allocations: allocations.map(allocationFields), deployment };
}

function save(name: string, value: Record<string, unknown>): void {
  writeFileSync(join(__dirname, `${name}.json`), `${JSON.stringify({ recordedFrom: 'Nomad 1.6.3 dev agent (record.ts)', ...value }, null, 1)}\n`);
}

async function main(): Promise<void> {
  const deployed = (id: string, version: number, status: string) =>
    waitFor(`${id} version ${version} deployment ${status}`, async () => {
      const d = await nomad.latestDeployment(id);
      return d?.JobVersion === version && d.Status === status ? d : undefined;
    });
  try {
    // A healthy deployment.
    await register(runnableJob(localJob({ digest: 'a'.repeat(64), jobId: 'record-healthy', groups: GROUPS })));
    await deployed('record-healthy', 0, 'successful');
    save('status-healthy', await statusAnswers('record-healthy'));

    // Then a version whose sidekiq-long cannot start: its deployment failed (as dev-node tests fail it).
    await register(runnableJob(localJob({ digest: 'a'.repeat(64), jobId: 'record-healthy', groups: GROUPS }), { mark: 'v1', failing: ['sidekiq-long'] }));
    const running = await deployed('record-healthy', 1, 'running');
    await waitFor('an unhealthy sidekiq-long', async () => ((await nomad.latestDeployment('record-healthy'))!.TaskGroups['sidekiq-long']!.UnhealthyAllocs > 0 ? true : undefined));
    await nomadRequest(nomad.connection, 'PUT', `/v1/deployment/fail/${running.ID}`, { body: '{}' });
    await deployed('record-healthy', 1, 'failed');
    save('status-failed', await statusAnswers('record-healthy'));

    // Three versions of the Docker job (never placed here: no Docker engine): a new image, then more memory.
    await register({ Job: localJob({ digest: 'a'.repeat(64), jobId: 'record-history', groups: GROUPS }) });
    await register({ Job: localJob({ digest: 'b'.repeat(64), jobId: 'record-history', groups: GROUPS }) });
    await register({ Job: localJob({ digest: 'b'.repeat(64), jobId: 'record-history', groups: GROUPS, memoryMB: { 'sidekiq-long': 640 } }) });
    const [versions, deployments] = await Promise.all([nomad.versionsWithDiffs('record-history'), nomad.deployments('record-history')]);
    save('history', { versions: { Versions: versions!.Versions.map(jobFields), Diffs: changed(versions!.Diffs) }, deployments });
  } finally {
    await nomad.deregister('record-healthy', { purge: true });
    await nomad.deregister('record-history', { purge: true });
  }
}

void main().catch((e: Error) => {
  process.stderr.write(`record: ${e.message}\n`);
  process.exitCode = 1;
});
