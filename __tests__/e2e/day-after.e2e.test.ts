import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NomadClient, nomadConnection } from '../../commands/nomad-client';
import { nomadRequest } from '../../commands/nomad-http';
import type { JobDocument } from '../../constructs/nomad/api';
import { REPO_ROOT } from '../support/synth';
import { localJob, runnableJob, waitFor } from './support/day-after-jobs';
import { LocalEnvironment } from './support/local-environment';

/** The package.json script's command line, as `npm run <name>` runs it (without npm's own lines on stdout). */
function script(name: string): string[] {
  const line = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts[name]!;
  return line.split(' ');
}

/**
 * The day after a deploy, on the real local environment's Nomad 1.6.3 dev agent: `npm run
 * status`, `logs` and `history` against the local job as synth writes it, registered through
 * Nomad's API as the nomad provider registers it; where allocations must run, its tasks are
 * raw_exec shell loops (day-after-jobs.ts), so they really run and become healthy or not.
 * Modules it proves: commands/status.ts, logs.ts, history.ts and commands/job-view.ts (what they share).
 */
describe('the day after a deploy: status, logs, history', () => {
  let local: LocalEnvironment;
  let nomad: NomadClient;
  let env: NodeJS.ProcessEnv;

  const run = (name: string, ...args: string[]) => {
    const [command, ...rest] = script(name);
    const r = spawnSync(command!, [...rest, 'local', ...args], { cwd: REPO_ROOT, env, encoding: 'utf8', timeout: 60_000 });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  };
  const register = (document: JobDocument) => nomad.register(document);
  /** The job's latest deployment once it is the given version's, in one of the given statuses. */
  const deployment = (version: number, ...statuses: string[]) => {
    let last = 'no deployment';
    return waitFor(`rails version ${version}: deployment ${statuses.join(' or ')}`, async () => {
      const d = await nomad.latestDeployment('rails');
      if (d) last = `version ${d.JobVersion}'s deployment ${d.Status}: ${d.StatusDescription}`;
      return d?.JobVersion === version && statuses.includes(d.Status) ? d : undefined;
    }, 120, () => last);
  };

  beforeAll(async () => {
    local = await LocalEnvironment.start();
    nomad = new NomadClient(nomadConnection({ address: local.env.NOMAD_ADDR }, {}));
    env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', LOCAL_NOMAD_ADDR: local.env.NOMAD_ADDR };
  });

  afterAll(() => local?.stop());

  it('history after three deploys: three versions, newest first, each with its one-line change from the one before', async () => {
    // The Docker job as synth writes it (never placed here: no Docker engine): an image, a new image, more memory for one group.
    await register({ Job: localJob({ digest: '1'.repeat(64) }) });
    await register({ Job: localJob({ digest: '2'.repeat(64) }) });
    await register({ Job: localJob({ digest: '2'.repeat(64), memoryMB: { 'sidekiq-long': 640 } }) });
    try {
      const text = run('history');
      expect(text.code, text.stderr).toBe(0);
      const lines = text.stdout.trimEnd().split('\n');
      expect(lines[0]).toBe('job rails: 3 versions, newest first');
      expect(lines[2]).toMatch(/^2 +20\d\d-\S+Z +- +\S+ +wikiedu-web@sha256:222222222222 +sidekiq-long: MemoryMB 512 → 640$/);
      expect(lines[3]).toMatch(/^1 +20\d\d-\S+Z +- +\S+ +wikiedu-web@sha256:222222222222 +image wikiedu-web@sha256:111111111111 → wikiedu-web@sha256:222222222222$/);
      expect(lines[4]).toMatch(/^0 +20\d\d-\S+Z +- +\S+ +wikiedu-web@sha256:111111111111 +oldest version kept$/);
      const json = JSON.parse(run('history', '--json').stdout) as Array<{ version: number; images: string[]; deployment: string }>;
      expect(json.map((v) => v.version)).toEqual([2, 1, 0]);
      expect(json[0]!.images).toEqual([`127.0.0.1:5000/wikiedu-web@sha256:${'2'.repeat(64)}`]);
      // Each version's own deployment: the newest still waits for a Docker engine, the older ones were cancelled by the next.
      expect(json.map((v) => v.deployment)).toEqual(['running', 'cancelled', 'cancelled']);
    } finally {
      await nomad.deregister('rails', { purge: true });
    }
  });

  it('status of a healthy deployment: every group healthy, exit 0; the same facts with --json', async () => {
    await register(runnableJob(localJob({ digest: 'a'.repeat(64) }), { mark: 'v0' }));
    await deployment(0, 'successful');
    const text = run('status');
    expect(text.code, text.stdout + text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^job rails version 0 \(stable\), submitted 20\d\d-\S+Z, running\n/);
    expect(text.stdout).toMatch(/\ndeployment [0-9a-f]{8} \(version 0\): successful: Deployment completed successfully\n/);
    for (const group of ['web', 'sidekiq-constant', 'sidekiq-daily', 'sidekiq-default', 'sidekiq-long', 'sidekiq-medium', 'sidekiq-short']) {
      expect(text.stdout).toMatch(new RegExp(`\\n${group} +1 +1 +1 +0 +0 +healthy\\n`));
    }
    expect(text.stdout.trimEnd().split('\n').pop()).toBe('all groups healthy');
    const json = JSON.parse(run('status', '--json').stdout);
    expect(json).toMatchObject({ job: 'rails', version: 0, stable: true, exitCode: 0, deployment: { status: 'successful' } });
    expect(json.groups.map((g: { state: string }) => g.state)).toEqual(Array(7).fill('healthy'));
  });

  it('logs of two groups: each line prefixed with its group and allocation, stdout and stderr apart', async () => {
    const allocations = await nomad.allocations('rails');
    const idOf = (group: string) => allocations.find((a) => a.TaskGroup === group && a.ClientStatus === 'running')!.ID.slice(0, 8);
    const all = run('logs', '--tail', '3');
    expect(all.code, all.stderr).toBe(0);
    for (const group of ['web', 'sidekiq-long']) {
      expect(all.stdout).toMatch(new RegExp(`^${group} ${idOf(group)} \\| ${group} v0 out \\d+$`, 'm'));
      expect(all.stderr).toMatch(new RegExp(`^${group} ${idOf(group)} \\| ${group} v0 err \\d+$`, 'm'));
    }
    expect(all.stdout).not.toMatch(/ err \d+$/m);
    expect(all.stderr).not.toMatch(/ out \d+$/m);
    // --tail bounds each allocation's stream: 3 lines of stdout from each of the 7 groups.
    expect(all.stdout.trimEnd().split('\n')).toHaveLength(21);
    const web = run('logs', '--group', 'web', '--tail', '2', '--stderr');
    expect([web.code, web.stdout]).toEqual([0, '']);
    expect(web.stderr.trimEnd().split('\n')).toEqual([expect.stringMatching(/^web [0-9a-f]{8} \| web v0 err \d+$/), expect.stringMatching(/^web [0-9a-f]{8} \| web v0 err \d+$/)]);
    const unknown = run('logs', '--group', 'sidekiq-nope');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr.trimEnd().split('\n').pop()).toBe("logs: job 'rails' has no group 'sidekiq-nope' (groups: web, sidekiq-constant, sidekiq-daily, sidekiq-default, sidekiq-long, sidekiq-medium, sidekiq-short)");
  });

  it('logs -f follows across a replacement: the new version\'s allocation is read once it starts, and Ctrl-C ends it with 130', async () => {
    const [command, ...rest] = script('logs');
    const child: ChildProcess = spawn(command!, [...rest, 'local', '--group', 'sidekiq-long', '-f', '--tail', '1'], { cwd: REPO_ROOT, env });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (c) => (stdout += c));
    child.stderr!.on('data', (c) => (stderr += c));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      await waitFor('a v0 line followed', async () => (/^sidekiq-long [0-9a-f]{8} \| sidekiq-long v0 out \d+$/m.test(stdout) ? true : undefined), 30);
      // A new version: every group's allocation is replaced by one that writes v1.
      await register(runnableJob(localJob({ digest: 'a'.repeat(64) }), { mark: 'v1' }));
      await waitFor('a v1 line followed', async () => (/^sidekiq-long [0-9a-f]{8} \| sidekiq-long v1 out \d+$/m.test(stdout) ? true : undefined), 90);
      child.kill('SIGINT');
      expect(await exited).toBe(130);
    } finally {
      child.kill('SIGKILL');
    }
    const idOf = (mark: string) => new RegExp(`^sidekiq-long ([0-9a-f]{8}) \\| sidekiq-long ${mark} out`, 'm').exec(stdout)![1];
    expect(idOf('v1')).not.toBe(idOf('v0'));
    expect(stdout.trimEnd()).not.toMatch(/^(?!sidekiq-long )/m);
    expect(stderr).toContain(`logs: new allocation ${idOf('v1')} of sidekiq-long (job version 1)`);
    expect(stderr.trimEnd().split('\n').pop()).toMatch(/^logs: stopped following \d+ allocations$/);
    await deployment(1, 'successful');
  });

  it('status of a failing deployment: non-zero while it runs, 3 once it failed, naming the group', async () => {
    await register(runnableJob(localJob({ digest: 'a'.repeat(64) }), { mark: 'v2', failing: ['sidekiq-long'] }));
    // Its failing group's allocation exits at once: Nomad may fail the deployment between two
    // polls, so a deployment already failed is taken too (status then exits 3, non-zero as well).
    const v2 = await deployment(2, 'running', 'failed');
    await waitFor('sidekiq-long unhealthy', async () => ((await nomad.latestDeployment('rails'))!.TaskGroups['sidekiq-long']!.UnhealthyAllocs > 0 ? true : undefined), 60);
    const during = run('status');
    expect(during.code, during.stdout).not.toBe(0);
    expect(during.stdout).toMatch(/\nsidekiq-long +1 +0 +0 +1 +0 +(progressing|failed)\n/);
    // Nomad fails it for the unhealthy allocation it may not replace; where it has not yet, it is
    // failed through the API, as a dev node's deployment may otherwise wait for its deadline.
    if ((await nomad.latestDeployment('rails'))!.Status === 'running') {
      const failed = await nomadRequest(nomad.connection, 'PUT', `/v1/deployment/fail/${v2.ID}`, { body: '{}' });
      expect([200, 500], failed.text).toContain(failed.status); // 500: it failed meanwhile ("can't fail terminal deployment")
    }
    await deployment(2, 'failed');
    const after = run('status');
    expect(after.code, after.stdout).toBe(3);
    expect(after.stdout).toMatch(/\ndeployment [0-9a-f]{8} \(version 2\): failed: (Failed due to unhealthy allocations|Deployment marked as failed)\n/);
    expect(after.stdout).toMatch(/\nsidekiq-long +1 +0 +0 +1 +0 +failed\n/);
    expect(after.stdout.trimEnd().split('\n').pop()).toBe('failed: sidekiq-long (npm run logs -- local --group sidekiq-long)');
  });
});
