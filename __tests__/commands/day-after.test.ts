import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { historyCommand } from '../../commands/history';
import { allocationsToRead, describeDiff, formatStatus, historyView, STATUS_EXIT, statusView } from '../../commands/job-view';
import { durationMs, lastLines, logsCommand, prefixed } from '../../commands/logs';
import type { AllocationStub, Deployment, JobSummary, JobVersions, StoredJob } from '../../commands/nomad-client';
import { statusCommand } from '../../commands/status';
import { runCommand } from '../support/command';

/** Answers recorded from a Nomad 1.6.3 dev agent by recordings/record.ts (it says how to record them again). */
interface StatusRecording {
  job: StoredJob;
  summary: JobSummary;
  allocations: AllocationStub[];
  deployment: Deployment;
}
const recording = <T>(name: string): T => JSON.parse(readFileSync(join(__dirname, 'recordings', `${name}.json`), 'utf8')) as T;
const healthy = recording<StatusRecording>('status-healthy');
const failed = recording<StatusRecording>('status-failed');
const history = recording<{ versions: JobVersions; deployments: Deployment[] }>('history');
const view = (r: StatusRecording, deployment: Deployment | undefined = r.deployment, job: StoredJob = r.job) => statusView(job, r.summary, r.allocations, deployment);

describe('status, from recorded answers', () => {
  it('a successful deployment whose allocations run: every group healthy, exit 0', () => {
    const v = view(healthy);
    expect(v.groups.map((g) => [g.name, g.desired, g.running, g.healthy, g.unhealthy, g.restarts, g.state])).toEqual([
      ['web', 1, 1, 1, 0, 0, 'healthy'],
      ['sidekiq-long', 1, 1, 1, 0, 0, 'healthy'],
    ]);
    expect(v.exitCode).toBe(STATUS_EXIT.healthy);
    const text = formatStatus(v);
    expect(text).toMatch(/^job record-healthy version 0 \(stable\), submitted 2026-\d\d-\d\dT[\d:]+Z, running\n/);
    expect(text).toContain('deployment ');
    expect(text).toContain(': successful: Deployment completed successfully');
    expect(text.trimEnd().split('\n').pop()).toBe('all groups healthy');
  });

  it('a deployment failed by an unhealthy group: that group failed, the replaced allocations not counted, exit 3', () => {
    const v = view(failed);
    const long = v.groups.find((g) => g.name === 'sidekiq-long')!;
    expect([long.running, long.healthy, long.unhealthy, long.state]).toEqual([0, 0, 1, 'failed']);
    // web's old allocation still runs but is being replaced (desired stop): not web's.
    expect(v.groups.find((g) => g.name === 'web')!.running).toBe(0);
    expect(v.exitCode).toBe(STATUS_EXIT.failed);
    expect(formatStatus(v, 'staging')).toContain('failed: sidekiq-long (npm run logs -- staging --group sidekiq-long)');
    expect(formatStatus(v)).toContain(': failed: Failed due to unhealthy allocations');
  });

  it('while the deployment runs, an unhealthy allocation is not yet a failure: exit 2', () => {
    const v = view(failed, { ...failed.deployment, Status: 'running', StatusDescription: 'Deployment is running' });
    expect(v.groups.map((g) => g.state)).toEqual(['progressing', 'progressing']);
    expect(v.exitCode).toBe(STATUS_EXIT.progressing);
  });

  it('a stopped job is a failure whatever its allocations say: exit 3', () => {
    const v = view(healthy, healthy.deployment, { ...healthy.job, Stop: true, Status: 'dead' });
    expect(v.exitCode).toBe(STATUS_EXIT.failed);
    expect(formatStatus(v)).toContain('job record-healthy is stopped: nothing runs');
  });

  it("restarts are the sum of the restarts of the tasks of a group's current allocations, not of the ones replaced", () => {
    const restarted = failed.allocations.map((a) => ({ ...a, TaskStates: Object.fromEntries(Object.entries(a.TaskStates ?? {}).map(([k, t]) => [k, { ...t, Restarts: 2 }])) }));
    const v = statusView(failed.job, failed.summary, restarted, failed.deployment);
    // web's current allocation has no task started yet; its replaced one's restarts are not web's now.
    expect(v.groups.map((g) => [g.name, g.restarts])).toEqual([
      ['web', 0],
      ['sidekiq-long', 2],
    ]);
  });

  it('the image is one line when every task runs the same, one a group set otherwise', () => {
    const [newest, , oldest] = history.versions.Versions;
    const one = formatStatus(statusView(newest!, undefined, [], undefined));
    expect(one).toContain('\nimage 127.0.0.1:5000/wikiedu-web@sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\n');
    const mixed = { ...newest!, TaskGroups: [newest!.TaskGroups[0]!, oldest!.TaskGroups[1]!] };
    const two = formatStatus(statusView(mixed, undefined, [], undefined));
    expect(two).toContain('@sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb (web)\n');
    expect(two).toContain('@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa (sidekiq-long)\n');
  });
});

describe('history, from recorded answers', () => {
  it('three versions, newest first, each with its deployment and one line of what it changed', () => {
    const rows = historyView(history.versions, history.deployments);
    expect(rows.map((r) => [r.version, r.stable, r.deployment, r.change])).toEqual([
      [2, false, 'running', 'sidekiq-long: MemoryMB 512 → 640'],
      [1, false, 'cancelled', 'image wikiedu-web@sha256:aaaaaaaaaaaa → wikiedu-web@sha256:bbbbbbbbbbbb'],
      [0, false, 'cancelled', 'oldest version kept'],
    ]);
    expect(rows[2]!.images).toEqual(['127.0.0.1:5000/wikiedu-web@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa']);
  });

  it('an image changed in one group only is said with that group; a long change is cut with a count of the rest', () => {
    const diff = history.versions.Diffs![1]!;
    const one = { ...diff, TaskGroups: diff.TaskGroups!.filter((g) => g.Name === 'web') };
    expect(describeDiff(one)).toBe('web: image wikiedu-web@sha256:aaaaaaaaaaaa → wikiedu-web@sha256:bbbbbbbbbbbb');
    const field = (n: number) => ({ Type: 'Edited' as const, Name: `Field${n}`, Old: 'x'.repeat(30), New: 'y'.repeat(30), Annotations: null });
    const many = { ...diff, TaskGroups: [0, 1, 2, 3, 4].map((n) => ({ Type: 'Edited' as const, Name: `g${n}`, Fields: [field(n)], Objects: null, Tasks: null, Updates: null })) };
    expect(describeDiff(many)).toMatch(/^g0: Field0 x+ → y+; g1: .*; \(\+\d more\)$/);
  });
});

describe('logs: what is read and how a line is printed', () => {
  it('reads the current allocations, and with --since the ones replaced since then too', () => {
    const current = allocationsToRead(failed.allocations);
    expect(current.map((a) => [a.TaskGroup, a.JobVersion])).toEqual([
      ['web', 1],
      ['sidekiq-long', 1],
    ]);
    expect(allocationsToRead(failed.allocations, { groups: ['web'], sinceNs: 0 }).map((a) => a.JobVersion)).toEqual([0, 1]);
    expect(allocationsToRead(failed.allocations, { sinceNs: Date.now() * 1e6 })).toHaveLength(2);
  });

  it('keeps the last N lines; a followed log keeps its unfinished line for what comes next', () => {
    expect(lastLines('a\nb\nc\n', 2)).toBe('b\nc\n');
    expect(lastLines('a\nb\nc', 2)).toBe('b\nc\n');
    expect(lastLines('a\nb\nc', 1, true)).toBe('b\nc');
    expect(lastLines('a\nb\n', 0)).toBe('a\nb\n');
    expect(prefixed('one\ntwo', 'sidekiq-long 1a2b3c4d | ')).toBe('sidekiq-long 1a2b3c4d | one\nsidekiq-long 1a2b3c4d | two\n');
    expect(durationMs('10m')).toBe(600_000);
  });
});

/** A stand-in Nomad that answers from the recordings, and counts what it was asked. */
describe('the commands on recorded answers', () => {
  let server: Server;
  let env: Record<string, string>;
  let requests = 0;
  let answers: Record<string, unknown> = {};

  beforeAll(async () => {
    server = createServer((req, res) => {
      requests++;
      const path = new URL(req.url!, 'http://x').pathname.replace(/^\/v1\/job\/[^/]+/, '/v1/job/<id>');
      const body = answers[path];
      res.writeHead(body === undefined ? 404 : 200, { 'content-type': 'application/json' }).end(body === undefined ? 'job not found' : JSON.stringify(body));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    env = { LOCAL_NOMAD_ADDR: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
  });
  afterAll(() => server.close());

  const statusAnswers = (r: StatusRecording) => ({ '/v1/job/<id>': r.job, '/v1/job/<id>/summary': r.summary, '/v1/job/<id>/allocations': r.allocations, '/v1/job/<id>/deployment': r.deployment });

  it('status prints the table on stdout and exits by health; --json prints the same facts', async () => {
    answers = statusAnswers(failed);
    const text = await runCommand(statusCommand, ['local'], { env });
    expect([text.code, text.stderr]).toEqual([3, '']);
    expect(text.stdout).toMatch(/\nsidekiq-long {2}1 {8}0 {8}0 {8}1 {10}0 {9}failed\n/);
    expect(text.stdout.trimEnd().split('\n').pop()).toBe('failed: sidekiq-long (npm run logs -- local --group sidekiq-long)');
    const json = await runCommand(statusCommand, ['local', '--json'], { env });
    expect(json.code).toBe(3);
    expect(JSON.parse(json.stdout)).toMatchObject({ job: 'record-healthy', version: 1, stable: false, deployment: { status: 'failed' }, exitCode: 3 });
    answers = statusAnswers(healthy);
    expect((await runCommand(statusCommand, ['local'], { env })).code).toBe(0);
  });

  it('status of a job Nomad does not have: exit 3, saying so on the last line', async () => {
    answers = {};
    const run = await runCommand(statusCommand, ['local'], { env });
    expect(run.code).toBe(3);
    expect(run.stderr.trimEnd().split('\n').pop()).toMatch(/^status: job 'rails' is not registered at http:\/\/127\.0\.0\.1:\d+: nothing runs/);
  });

  it('history prints a row a version; --json the same rows', async () => {
    answers = { '/v1/job/<id>/versions': history.versions, '/v1/job/<id>/deployments': history.deployments };
    const text = await runCommand(historyCommand, ['local'], { env });
    expect(text.code).toBe(0);
    expect(text.stdout.split('\n')[0]).toBe('job rails: 3 versions, newest first');
    expect(text.stdout).toMatch(/\n2 +\S+ +- +running +wikiedu-web@sha256:bbbbbbbbbbbb +sidekiq-long: MemoryMB 512 → 640\n/);
    const json = JSON.parse((await runCommand(historyCommand, ['local', '--json'], { env })).stdout);
    expect(json.map((r: { version: number }) => r.version)).toEqual([2, 1, 0]);
  });

  it('logs of an allocation whose task has not started: nothing on stdout, and stderr says why', async () => {
    answers = statusAnswers(failed);
    const run = await runCommand(logsCommand, ['local', '--group', 'web'], { env });
    expect([run.code, run.stdout]).toEqual([0, '']);
    expect(run.stderr).toBe('logs: web 3d98a3b2 | no log yet (allocation pending: its task has not started)\n');
  });

  it('argument mistakes print the usage and exit 1 before Nomad is asked anything', async () => {
    const before = requests;
    for (const args of [['nowhere'], ['local', '--tail', 'ten'], ['local', '--stdout', '--stderr'], ['local', '--since', '10 minutes'], ['local', 'extra']]) {
      const run = await runCommand(logsCommand, args, { env });
      expect([args, run.code]).toEqual([args, 1]);
      expect(run.stderr).toContain('usage: npm run logs -- <environment>');
    }
    expect((await runCommand(statusCommand, ['local', '--jsn'], { env })).code).toBe(1);
    expect(requests).toBe(before);
  });
});
