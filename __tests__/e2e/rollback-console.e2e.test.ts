import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalEnvironment } from './support/local-environment';
import { type CliRun, expectSuccess, Project } from './support/project';

/**
 * `npm run rollback` and `npm run console` against the real local environment (Nomad 1.6.3 dev
 * agent, registry, podman): images are really built and pushed, Terraform really applies. The
 * seam, in this checkout only: each task of the registered job runs /bin/sleep with raw_exec on
 * the dev agent (no container runtime here), keeping the image it would run in
 * Meta.standin_for_image, which is where the rollback reads a version's image from for such a job.
 * Modules it proves: commands/rollback.ts, commands/rollback-target.ts (which version, and why),
 * commands/registry-manifest.ts (the digest still in the registry, or gone), commands/console.ts
 * and commands/run-program.ts (the nomad CLI under a terminal).
 */
const RUNNING_PAYLOAD = `
/** e2e only (rollback-console.e2e.test.ts): the same job, with tasks that run here; each keeps the image it stands in for. */
function runningPayload(job: Job): Job {
  const groups = job.TaskGroups.map((g) => {
    const group: any = { ...g, Networks: [{ Mode: 'host' }], Update: { ...g.Update, HealthCheck: 'task_states', MinHealthyTime: 1e9, HealthyDeadline: 30e9, ProgressDeadline: 60e9 } };
    delete group.Services;
    delete group.Volumes;
    group.Tasks = g.Tasks.map((t) => {
      const task: any = { ...t, Driver: 'raw_exec', Config: { command: '/bin/sleep', args: ['3600'] }, Meta: { ...(t.Meta ?? {}), standin_for_image: t.Config.image } };
      delete task.Templates;
      delete task.VolumeMounts;
      return task;
    });
    return group;
  });
  return { ...job, TaskGroups: groups };
}
`;

/** What Terraform prints when it replaces the release step (so runs it). */
const RELEASE_REPLACED = /terraform_data\.release\b[^\n]*(Creating|Destroying)/;

describe('rollback and console', () => {
  let local: LocalEnvironment;
  let project: Project;
  const images: string[] = [];

  const npm = (script: string, ...args: string[]): CliRun & { stdout: string; stderr: string } => {
    const started = Date.now();
    const r = spawnSync('npm', ['run', '--silent', script, '--', ...args], { cwd: project.dir, env: project.env, encoding: 'utf8', timeout: 600_000 });
    // eslint-disable-next-line no-control-regex
    const clean = (s: string) => s.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');
    return { status: r.status, stdout: clean(r.stdout), stderr: clean(r.stderr), output: clean(`${r.stdout}\n${r.stderr}`), seconds: (Date.now() - started) / 1000 };
  };
  const imageOf = (job: { TaskGroups: Array<Record<string, any>> }): string[] => [...new Set(job.TaskGroups.flatMap((g) => (g.Tasks as Array<{ Meta?: Record<string, string> }>).map((t) => t.Meta?.standin_for_image ?? '')))];
  const lastLine = (text: string) => text.trim().split('\n').at(-1);
  const releaseTrigger = () => {
    const state = JSON.parse(readFileSync(join(project.dir, 'terraform.local.tfstate'), 'utf8'));
    const step = state.resources.find((r: { type: string; name: string }) => r.type === 'terraform_data' && r.name === 'release');
    return { id: step.instances[0].attributes.id as string, trigger: step.instances[0].attributes.triggers_replace.value.trigger as string };
  };

  beforeAll(async () => {
    local = await LocalEnvironment.start();
    // The release step on (config/local.ts has it off), run by the raw_exec stand-in: it says which image it migrates for.
    project = new Project(local.env).with({ DASHBOARD_RUN_STANDIN: 'raw_exec' });
    project.edit('config/local.ts', /command: false/, `command: ['/bin/sh', '-c', 'echo "release-canary: migrating for $NOMAD_META_standin_for_image"']`);
    project.edit('constructs/nomad/job.ts', 'const document: JobDocument = { Job: this.render() };', 'const document: JobDocument = { Job: runningPayload(this.render()) };');
    project.append('constructs/nomad/job.ts', RUNNING_PAYLOAD);

    // A: the first deploy, marked stable through Nomad's API (as rollout.e2e does: setup, not the behaviour under test).
    const deployA = expectSuccess(project.npmDeploy('local', '--auto-approve'), 'deploy A');
    const a = (await local.nomad.job('rails'))!;
    expect(a.Version).toBe(0);
    images.push(...imageOf(a));
    expect(deployA.output).toContain(`release-canary: migrating for ${images[0]}`);
    const stable = await fetch(`${local.env.NOMAD_ADDR}/v1/job/rails/stable`, { method: 'PUT', body: JSON.stringify({ JobID: 'rails', JobVersion: 0, Stable: true }) });
    expect(stable.status, await stable.text()).toBe(200);

    // B: a commit's source change, built and pushed: the "bad image".
    project.editSource('app/application_controller.rb', 'class ApplicationController; def broken; raise; end; end\n');
    const deployB = expectSuccess(project.npmDeploy('local', '--auto-approve'), 'deploy B');
    const b = (await local.nomad.job('rails'))!;
    expect(b.Version).toBe(1);
    images.push(...imageOf(b));
    expect(deployB.output).toContain(`release-canary: migrating for ${images[1]}`);
    expect(deployB.output).toMatch(RELEASE_REPLACED);
    expect(images).toHaveLength(2);
    for (const image of images) expect(image).toMatch(new RegExp(`^${local.env.LOCAL_REGISTRY_ADDRESS}/wikiedu-web@sha256:[a-f0-9]{64}$`));
    expect(images[0]).not.toBe(images[1]);
  }, 900_000);

  afterAll(() => {
    project?.remove();
    local?.stop();
  });

  it('goes back to the newest stable version\'s digest through Terraform: no build, no push; plan afterwards shows only the roll-forward', async () => {
    const [a, b] = images as [string, string];
    const builds = local.builds();
    const pushes = local.pushes();
    const trigger = releaseTrigger();
    const run = npm('rollback', 'local', '--auto-approve');
    process.stdout.write(`\n--- npm run rollback -- local --auto-approve ---\n${run.output.slice(-4000)}\n`);
    expect(run.status, run.output).toBe(0);
    expect(run.stderr).toContain(`rollback: job 'rails' runs version 1, image ${b}`);
    expect(run.stderr).toMatch(/rollback: going back to version 0 \(submitted [^)]+\): the newest stable version older than the running version 1 with another image/);
    expect(run.stderr).toContain(`rollback: its image: ${a}`);
    expect(run.stdout).toContain(`job 'rails' version 2 runs ${a} (version 0's image; was version 1, ${b})`);

    const job = (await local.nomad.job('rails'))!;
    expect([job.Version, imageOf(job)]).toEqual([2, [a]]);
    expect([local.builds(), local.pushes()]).toEqual([builds, pushes]);
    // No release for the old image (its migrations ran when it was new; B's stay applied): the step is as it was.
    expect(run.output).not.toContain('release-canary');
    expect(run.output).not.toMatch(RELEASE_REPLACED);
    expect(releaseTrigger()).toEqual(trigger);
    expect(trigger.trigger).toBe(b);
    // Terraform's state holds what Nomad runs: the jobspec it last registered names A's digest.
    expect(project.appliedJobspec()).toContain(a);
    expect(project.appliedJobspec()).not.toContain(b);

    const plan = project.plan();
    process.stdout.write(`\n--- npm run plan -- local (after the rollback) ---\n${plan.stdout}\n`);
    expect(plan.status, plan.output).toBe(2);
    expect(plan.stdout).toContain("Terraform: image unchanged, job 'rails' updated, no other changes");
    expect(plan.stdout).toContain(`"${a}" => "${b}"`);
    expect([local.builds(), local.pushes()]).toEqual([builds, pushes]);
  });

  it('a prebuilt image by digest (DASHBOARD_IMAGE) plans while state holds the pushed image: the registry login is there', () => {
    const run = project.with({ DASHBOARD_IMAGE: images[0]! }).plan();
    project.with({ DASHBOARD_IMAGE: '' });
    expect(run.output).not.toContain('Unable to get authConfig');
    expect(run.status, run.output).toBe(2);
  });

  it('opens a console in a running allocation of the group under a pseudo-terminal: what is typed runs there, and its exit code is the command\'s', async () => {
    let web: string | undefined;
    for (let i = 0; i < 60 && !web; i++) {
      const allocs = await local.nomad.allocations('rails');
      web = allocs.find((x) => x.TaskGroup === 'web' && x.ClientStatus === 'running' && x.TaskStates?.rails_server?.State === 'running')?.ID;
      if (!web) await new Promise((r) => setTimeout(r, 1000));
    }
    expect(web, 'a running web allocation').toBeDefined();
    const typed = 'echo console-$((6*7)) in $NOMAD_TASK_NAME\nexit 3\n';
    const r = spawnSync('script', ['-qec', 'npm run --silent console -- local -- /bin/sh', '/dev/null'], { cwd: project.dir, env: project.env, input: typed, encoding: 'utf8', timeout: 120_000 });
    process.stdout.write(`\n--- npm run console -- local -- /bin/sh (under script) ---\n${r.stdout}${r.stderr}\n`);
    expect(r.stdout).toContain('console-42 in rails_server');
    expect(r.stdout).toMatch(/console: allocation [0-9a-f]{8} of group 'web', task 'rails_server' \(job version \d+/);
    expect(r.stdout).toContain(`-i -t -task rails_server `);
    expect(r.status, r.stdout).toBe(3);
  });

  it('without a terminal, a command after -- runs with stdin from a pipe (no TTY); a bare console is refused, saying why', () => {
    const piped = spawnSync('npm', ['run', '--silent', 'console', '--', 'local', '--group', 'sidekiq-default', '--', '/bin/sh'], { cwd: project.dir, env: project.env, input: 'echo piped-$((2+3)) in $NOMAD_GROUP_NAME\n', encoding: 'utf8', timeout: 120_000 });
    expect(piped.stdout).toContain('piped-5 in sidekiq-default');
    expect(piped.stderr).toContain('-i -t=false -task sidekiq ');
    expect(piped.status, piped.stderr).toBe(0);
    const bare = npm('console', 'local');
    expect(bare.status).toBe(1);
    expect(bare.stderr).toMatch(/^console: a console needs a terminal/);
  });

  it('refuses a version that is not one of the job\'s, and an image gone from the registry, changing nothing', async () => {
    const before = (await local.nomad.job('rails'))!;
    const unknown = npm('rollback', 'local', '--to', '99', '--auto-approve');
    expect(unknown.status).toBe(1);
    // Versions 1 and 2 may have become stable by now: their raw_exec allocations turn healthy.
    expect(lastLine(unknown.stderr)).toMatch(
      /^job 'rails': version 99 is not one of the job's versions: Nomad keeps 2( \(stable\))?, 1( \(stable\))?, 0 \(stable\) \(npm run history, or nomad job history\); nothing was changed$/,
    );

    // The last deploy built its image: a rollback with DASHBOARD_IMAGE set would drop that build.
    project.with({ DASHBOARD_IMAGE: images[0]! });
    const mixed = npm('rollback', 'local', '--to', '0', '--auto-approve');
    project.with({ DASHBOARD_IMAGE: '' });
    expect(mixed.status).toBe(1);
    expect(lastLine(mixed.stderr)).toMatch(/holds the image the last deploy built, and DASHBOARD_IMAGE is set: .*; unset it; nothing was changed$/);

    // B's manifest deleted through the registry's API (the local registry allows deletes).
    const b = images[1]!;
    const digest = b.split('@')[1]!;
    const auth = `Basic ${Buffer.from(`${local.env.DOCKER_REGISTRY_USER}:${local.env.DOCKER_REGISTRY_PASS}`).toString('base64')}`;
    const deleted = await fetch(`http://${local.env.LOCAL_REGISTRY_ADDRESS}/v2/wikiedu-web/manifests/${digest}`, { method: 'DELETE', headers: { authorization: auth } });
    expect(deleted.status, await deleted.text()).toBe(202);
    const gone = npm('rollback', 'local', '--to', '1', '--auto-approve');
    expect(gone.status).toBe(1);
    expect(lastLine(gone.stderr)).toBe(
      `version 1's image ${b} is gone from the registry ${local.env.LOCAL_REGISTRY_ADDRESS} (its manifest answers 404): it cannot be rolled back to; choose another version with --to; nothing was changed`,
    );
    const after = (await local.nomad.job('rails'))!;
    expect(after.Version).toBe(before.Version);
  });
});
