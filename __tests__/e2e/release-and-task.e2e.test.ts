import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalEnvironment } from './support/local-environment';
import { expectSuccess, Project } from './support/project';
import { requireProviders } from './support/providers';

/**
 * The release step (`terraform_data.release` → commands/release.ts) and `npm run task`, against
 * a real Nomad dev agent through `cdktf deploy` and npm as an operator runs them. Containers
 * cannot run here, so DASHBOARD_RUN_STANDIN=raw_exec swaps the task's payload for the command
 * line run by raw_exec (commands/stand-in.ts); the batch jobs, their templates reading the
 * copied Nomad Variable, the ordering before the job update, the waiting, the log streaming,
 * the failure handling and the file download are the real code path.
 *
 * The scripts use `$VAR`, never `${VAR}`: Nomad interpolates the driver config.
 */
const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');

/** What the release stand-in runs: it says which image it stands in for and that it got the runtime config. */
const RELEASE_OK = [
  'echo "release-canary: migrating for $NOMAD_META_standin_for_image"',
  'test -s "$NOMAD_SECRETS_DIR/runtime/file_database_yml" && echo "release-canary: database.yml rendered"',
  'test -n "$SECRET_KEY_BASE" && echo "release-canary: SECRET_KEY_BASE set"',
  'sleep 1',
  'echo "release-canary: done"',
].join('; ');
const RELEASE_FAILS = 'echo "release-canary: migrating"; echo "ActiveRecord::StatementInvalid: boom-4471" >&2; exit 1';

/** 300000 lines, about 3.1 MB: more than one read of any buffer on the way. */
const BIG_CSV = Array.from({ length: 300_000 }, (_, i) => `${i + 1},row\n`).join('');
const SMALL_CSV = 'course,students\nq3,42\n';
const WRITE_CSVS = [
  'mkdir -p "$NOMAD_ALLOC_DIR/data/reports"',
  `seq 1 300000 | sed 's/$/,row/' > "$NOMAD_ALLOC_DIR/data/reports/big.csv"`,
  `printf 'course,students\\nq3,42\\n' > "$NOMAD_ALLOC_DIR/data/small.csv"`,
  'echo "task-canary: wrote two files"',
].join('; ');

describe('release step and one-off tasks on a real Nomad agent', () => {
  let local: LocalEnvironment;
  let project: Project;

  const nomadGet = async <T>(path: string): Promise<T> => (await (await fetch(`${local.env.NOMAD_ADDR}${path}`)).json()) as T;
  const releaseAllocs = () => local.nomad.allocations('rails-release');
  const image = async () => (await local.nomad.job('rails'))!.TaskGroups[0]!.Tasks[0].Config.image as string;
  const setReleaseCommand = (script: string, current: RegExp) =>
    project.edit('config/local.ts', current, `command: ['/bin/sh', '-c', ${JSON.stringify(script)}]`);

  beforeAll(async () => {
    requireProviders();
    local = await LocalEnvironment.start();
    project = new Project(local.env).with({ DASHBOARD_RUN_STANDIN: 'raw_exec' });
    // The operator turns the release on for the local environment (config/local.ts has it off).
    setReleaseCommand(RELEASE_OK, /command: false/);
  });

  afterAll(() => {
    local?.stop();
    project?.remove();
  });

  it('a deploy with a new image runs the release once, streams its output, and registers the job after it ended', async () => {
    const run = expectSuccess(project.deploy(), 'cdktf deploy local');
    for (const line of ['migrating for 127.0.0.1', 'database.yml rendered', 'SECRET_KEY_BASE set', 'release-canary: done']) expect(run.output).toContain(line);

    const allocs = await releaseAllocs();
    expect(allocs).toHaveLength(1);
    expect(allocs[0]!.ClientStatus).toBe('complete');
    const release = (await local.nomad.job('rails-release'))!;
    // The release ran the image the job was then registered with.
    expect(release.TaskGroups[0]!.Tasks[0].Meta.standin_for_image).toBe(await image());
    expect(release.TaskGroups[0]!.Name).toBe('sidekiq-default');
    const finished = Date.parse((allocs[0]!.TaskStates!.sidekiq as unknown as { FinishedAt: string }).FinishedAt) * 1e6;
    const { Versions } = await local.nomad.versions('rails');
    expect(Versions.map((v) => v.Version)).toEqual([0]);
    expect(finished).toBeLessThan(Versions[0]!.SubmitTime as number);
    // The copy of the variable the release read is gone.
    expect(await local.nomad.variableItems('nomad/jobs/rails-release')).toBeUndefined();
  });

  it('a deploy without a new image runs no release', async () => {
    const before = (await local.nomad.job('rails'))!;
    const [alloc] = await releaseAllocs();
    project.setWorkerMemory('sidekiq-long', 640);
    const run = expectSuccess(project.deploy(), 'cdktf deploy local (memory change)');
    expect(run.output).not.toContain('release-canary');
    expect((await local.nomad.job('rails'))!.Version).toBe(before.Version + 1);
    expect((await releaseAllocs()).map((a) => a.ID)).toEqual([alloc!.ID]);
  });

  it('npm run task runs in the job\'s image, streams its output, brings both CSV files back byte for byte, and leaves no job', async () => {
    const run = project.task('local', '--', '/bin/sh', '-c', WRITE_CSVS);
    expect(run.status, run.output).toBe(0);
    expect(run.stdout).toContain('task-canary: wrote two files');
    expect(run.stderr).toContain(`image ${await image()}`);
    const dir = /from \/alloc\/data in (\S+):/.exec(run.stderr)![1]!;
    expect(dir).toMatch(new RegExp(`^${project.dir}/task-output/local/\\d{8}-\\d{6}$`));
    expect(sha256(readFileSync(join(dir, 'reports/big.csv')))).toBe(sha256(BIG_CSV));
    expect(readFileSync(join(dir, 'small.csv'), 'utf8')).toBe(SMALL_CSV);
    expect(run.stderr).toMatch(new RegExp(`reports/big\\.csv +${Buffer.byteLength(BIG_CSV).toLocaleString('en-US')} bytes`));
    expect(run.stderr).toMatch(/nomad alloc exec -i -t -task sidekiq \S+ rails console/);
    expect(await nomadGet('/v1/jobs?prefix=rails-task')).toEqual([]);
    expect(await nomadGet('/v1/vars?prefix=nomad/jobs/rails-task')).toEqual([]);
  });

  it('a task whose command fails ends with its exit code and its stderr, and leaves no job', async () => {
    const run = project.task('local', '--group', 'sidekiq-short', '--', '/bin/sh', '-c', 'echo "no such report: q3-4471" >&2; exit 7');
    expect(run.status, run.output).toBe(7);
    // Once: a failed one-off run is not restarted.
    expect(run.stderr.split('\n').filter((line) => line === 'no such report: q3-4471')).toHaveLength(1);
    expect(run.stderr).toContain("group 'sidekiq-short'");
    expect(await nomadGet('/v1/jobs?prefix=rails-task')).toEqual([]);
    expect(await nomadGet('/v1/vars?prefix=nomad/jobs/rails-task')).toEqual([]);
  });

  it('a release that exits 1 stops the deploy with its last lines; the job keeps its version and image; the next deploy runs it again', async () => {
    const before = (await local.nomad.job('rails'))!;
    const beforeImage = await image();
    setReleaseCommand(RELEASE_FAILS, /command: \['\/bin\/sh', '-c', .*\]/);
    project.editSource('app/application_controller.rb', 'class ApplicationController; def migrated; end; end\n');
    const run = project.deploy();
    expect(run.status).not.toBe(0);
    expect(run.output).toContain('ActiveRecord::StatementInvalid: boom-4471');
    expect(run.output).toMatch(/the command failed \(exit 1\)/);
    const after = (await local.nomad.job('rails'))!;
    expect(after.Version).toBe(before.Version);
    expect(await image()).toBe(beforeImage);
    expect(await releaseAllocs()).toHaveLength(1);
    expect((await releaseAllocs())[0]!.ClientStatus).toBe('failed');

    // Fixed: the release step was left tainted, so it runs again, and then the job is updated.
    setReleaseCommand(RELEASE_OK, /command: \['\/bin\/sh', '-c', .*\]/);
    const retry = expectSuccess(project.deploy(), 'cdktf deploy local (release fixed)');
    expect(retry.output).toContain('release-canary: done');
    expect((await local.nomad.job('rails'))!.Version).toBe(before.Version + 1);
    expect(await image()).not.toBe(beforeImage);
  });

  it('a release that outlives release.timeout is stopped, and the deploy stops with it', async () => {
    const before = (await local.nomad.job('rails'))!;
    setReleaseCommand('echo "release-canary: slow"; sleep 120', /command: \['\/bin\/sh', '-c', .*\]/);
    project.edit('config/local.ts', "command: ['/bin/sh'", "timeout: '3s', command: ['/bin/sh'");
    project.editSource('app/application_controller.rb', 'class ApplicationController; def slow; end; end\n');
    const run = project.deploy();
    expect(run.status).not.toBe(0);
    expect(run.output).toContain('timed out: still running after 3s: stopped');
    expect(run.output).toContain('release-canary: slow');
    expect(run.seconds).toBeLessThan(100);
    expect((await local.nomad.job('rails-release'))!.Stop).toBe(true);
    expect((await local.nomad.job('rails'))!.Version).toBe(before.Version);
  });
});
