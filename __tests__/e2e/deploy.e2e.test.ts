import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { JobDocument } from '../../constructs/nomad/api';
import { LocalEnvironment } from './support/local-environment';
import { expectSuccess, Project, oneLine } from './support/project';
import { requireProviders } from './support/providers';
import { missingFrom } from './support/subset';
import { tarPaths } from './support/registry-api';

/**
 * The user journeys through `cdktf deploy` / `cdktf diff` / `cdktf destroy`, with the real
 * providers from the offline mirror. Each test gets a fresh local environment (ports and
 * state) and a fresh checkout.
 *
 * Modules it proves: commands/deploy.ts and commands/deploy-path.ts (`npm run deploy`, the one
 * deploy path: asks, applies once, then finds nothing to do), commands/plan-ahead.ts (the plan
 * started before the config loads, planned again, waiting, when another run holds the lock).
 */
/** Resolves once `ready()` holds; fails after `ms`. */
async function until(ready: () => boolean, ms: number): Promise<void> {
  for (const deadline = Date.now() + ms; !ready(); ) {
    if (Date.now() > deadline) throw new Error(`not ready within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}


describe('cdktf against the local environment', () => {
  let local: LocalEnvironment;
  let project: Project;

  beforeAll(() => requireProviders());

  beforeEach(async () => {
    local = await LocalEnvironment.start();
    project = new Project(local.env);
  });

  afterEach(() => {
    local?.stop();
    project?.remove();
  });

  const deployed = async () => {
    expectSuccess(project.deploy(), 'cdktf deploy local');
    const job = await local.nomad.job('rails');
    if (!job) throw new Error('no job rails after deploy');
    return job;
  };
  const changedGroups = async () => {
    const { Diffs } = await local.nomad.versions('rails');
    return Diffs[0]!.TaskGroups!.filter((g) => g.Type !== 'None').map((g) => g.Name);
  };

  it('deploy registers the job Nomad stores key for key, with ${node.unique.name} intact', async () => {
    const stored = await deployed();
    const sent = JSON.parse(project.appliedJobspec()) as JobDocument;
    expect(missingFrom(sent.Job, stored)).toEqual([]);
    const constraints = stored.TaskGroups.find((g) => g.Name === 'sidekiq-constant')!.Constraints;
    expect(constraints).toContainEqual({ LTarget: '${node.unique.name}', RTarget: 'node-railsweb', Operand: '!=' });
  });

  it('deploy builds the context, pushes it, and the job pulls the pushed manifest by digest', async () => {
    const stored = await deployed();
    const tags = await local.registry.tags('wikiedu-web');
    expect(tags).toHaveLength(1);
    expect(tags[0]).toMatch(/^ctx-[a-f0-9]{16}$/);
    const digest = await local.registry.digest('wikiedu-web', tags[0]!);
    for (const g of stored.TaskGroups) {
      expect(g.Tasks[0].Config.image).toBe(`${local.env.LOCAL_REGISTRY_ADDRESS}/wikiedu-web@${digest}`);
    }
  });

  it('diff names a memory change; deploy makes one new version in which only that group differs', async () => {
    await deployed();
    project.setWorkerMemory('sidekiq-long', 640);
    const diff = expectSuccess(project.diff(), 'cdktf diff local');
    expect(diff.output).toMatch(/nomad_job\.rails (\(rails\/job\) )?will be updated in-place/);
    expect(diff.output).not.toMatch(/docker_image\.image (\(image\/build\) )?(must be replaced|will be created)/);
    // The jobspec holds no secret, so Terraform shows the changed line itself.
    expect(diff.output).not.toContain('(sensitive value)');
    expect(diff.output).toMatch(/~ +"?MemoryMB"? += 512 -> 640/);
    process.stdout.write(`\n--- cdktf diff local (memory change) ---\n${diff.output}\n`);
    const stored = await deployed();
    expect(stored.Version).toBe(1);
    expect(await changedGroups()).toEqual(['sidekiq-long']);
  });

  it('diff names an image change after a source edit; deploy pushes a new digest and makes one new version', async () => {
    const before = await deployed();
    project.editSource('app/application_controller.rb', 'class ApplicationController; def health; end; end\n');
    const diff = expectSuccess(project.diff(), 'cdktf diff local');
    expect(diff.output).toMatch(/docker_image\.image (\(image\/build\) )?must be replaced/);
    expect(diff.output).toMatch(/docker_registry_image\.image (\(image\/push\) )?must be replaced/);
    expect(diff.output).toMatch(/nomad_job\.rails (\(rails\/job\) )?will be updated in-place/);
    const after = await deployed();
    expect(after.Version).toBe(before.Version + 1);
    expect(after.TaskGroups[0].Tasks[0].Config.image).not.toBe(before.TaskGroups[0].Tasks[0].Config.image);
    expect(await local.registry.tags('wikiedu-web')).toHaveLength(2);
  });

  it('npm run deploy, the one deploy path, asks before it applies, applies a change once, then finds nothing to do', async () => {
    const first = await deployed();
    project.setWorkerMemory('sidekiq-short', 600);
    // No terminal to confirm at: nothing is applied, and it says how to approve.
    const unapproved = project.npmDeploy('local');
    expect(unapproved.status, unapproved.output).toBe(3);
    expect(unapproved.output).toContain('run again with --auto-approve');
    expect((await local.nomad.job('rails'))!.Version).toBe(first.Version);
    const applied = project.npmDeploy('local', '--auto-approve');
    expect(applied.status, applied.output).toBe(0);
    expect(applied.output).toMatch(/Apply complete! Resources: 0 added, 1 changed, 0 destroyed/);
    expect(applied.output).toMatch(new RegExp(`deploy: job 'rails' version ${first.Version + 1} \\(was ${first.Version}\\) runs 127\\.0\\.0\\.1:\\d+/wikiedu-web@sha256:[0-9a-f]{64}`));
    expect((await local.nomad.job('rails'))!.Version).toBe(first.Version + 1);
    expect(await changedGroups()).toEqual(['sidekiq-short']);
    const again = project.npmDeploy('local', '--auto-approve');
    expect(again.status, again.output).toBe(0);
    expect(again.output).toMatch(/deploy: no changes: nothing to apply/);
    expect((await local.nomad.job('rails'))!.Version).toBe(first.Version + 1);
    expect(local.builds()).toBe(1);
  });

  it("npm run deploy plans before its config is read, and plans again, waiting, when another run holds the state's lock", async () => {
    const first = await deployed();
    project.setWorkerMemory('sidekiq-short', 600);
    expectSuccess(project.synth(), 'cdktf synth');
    // Another operator's apply of that change, waiting at its prompt: it holds the lock of the local state.
    const holder = spawn(project.env.TERRAFORM_BINARY_NAME ?? 'terraform', ['apply', '-no-color'], { cwd: join(project.dir, 'cdktf.out/stacks/local'), env: project.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let prompt = '';
    holder.stdout.on('data', (c: Buffer) => (prompt += c.toString()));
    await until(() => prompt.includes('Enter a value:'), 60_000);
    const deploy = project.start('deploy', 'local', '--auto-approve');
    await until(() => deploy.output().includes('again: another run holds the state lock'), 60_000);
    holder.stdin.end('no\n');
    const run = await deploy.done;
    expect(run.status, run.output).toBe(0);
    expect(run.output).toMatch(/Apply complete! Resources: 0 added, 1 changed, 0 destroyed/);
    expect((await local.nomad.job('rails'))!.Version).toBe(first.Version + 1);
  }, 180_000);

  it('a second deploy with nothing changed builds nothing, pushes nothing and keeps the version', async () => {
    const first = await deployed();
    const builds = local.builds();
    const pushes = local.pushes();
    expect([builds, pushes]).toEqual([1, 1]);
    const run = expectSuccess(project.deploy(), 'second cdktf deploy local');
    expect(run.output).toMatch(/No changes/);
    expect([local.builds(), local.pushes()]).toEqual([builds, pushes]);
    expect((await local.nomad.job('rails'))!.Version).toBe(first.Version);
  });

  it('with Nomad unreachable, diff and deploy fail saying so, and the job stays as it was', async () => {
    const before = await deployed();
    project.with({ LOCAL_NOMAD_ADDR: 'http://127.0.0.1:1' });
    for (const run of [project.diff(), project.deploy()]) {
      expect(run.status).not.toBe(0);
      expect(run.output).toMatch(/connection refused|dial tcp 127\.0\.0\.1:1/);
    }
    expect((await local.nomad.job('rails'))!.Version).toBe(before.Version);
  });

  it('with a wrong registry password, deploy fails naming the registry, and the job stays as it was', async () => {
    const before = await deployed();
    project.editSource('Gemfile', "source 'https://rubygems.org'\ngem 'rails'\ngem 'puma'\n");
    const run = project.with({ DOCKER_REGISTRY_PASS: 'not-the-password' }).deploy();
    expect(run.status).not.toBe(0);
    expect(run.output).toMatch(/401|unauthorized|authentication required/i);
    expect(run.output).not.toContain('not-the-password');
    const after = await local.nomad.job('rails');
    expect(after!.Version).toBe(before.Version);
    expect(after!.TaskGroups[0].Tasks[0].Config.image).toBe(before.TaskGroups[0].Tasks[0].Config.image);
  });

  it('an invalid config fails deploy before anything is planned', async () => {
    const run = project.with({ DASHBOARD_IMAGE: 'wikiedu-web:latest' }).deploy();
    expect(run.status).not.toBe(0);
    expect(run.output).toContain('image.reference: must be pinned by digest');
    expect(await local.nomad.job('rails')).toBeUndefined();
  });

  it('the provider sends a Dockerfile kept outside the context, and no file .dockerignore keeps out', async () => {
    // The Dashboard's .dockerignore, and the secret files a build machine's checkout holds.
    writeFileSync(join(project.context, '.dockerignore'), '/config/application.yml\n/config/database.yml\n/config/secrets.yml\n/dockerAuth.json\ntmp\n');
    mkdirSync(join(project.context, 'config'));
    for (const f of ['application.yml', 'database.yml', 'secrets.yml']) writeFileSync(join(project.context, 'config', f), `context-canary-${f}\n`);
    writeFileSync(join(project.context, 'config/application.example.yml'), 'example: true\n');
    writeFileSync(join(project.context, 'dockerAuth.json'), '{"auths":{"context-canary":{}}}\n');
    // A Dockerfile outside the context that copies everything it is sent into the image.
    const outside = join(project.dir, 'outside.Dockerfile');
    writeFileSync(outside, 'FROM scratch\nCOPY . /ctx/\n');
    expectSuccess(project.with({ DASHBOARD_DOCKERFILE: outside }).deploy(), 'cdktf deploy local with an outside Dockerfile');
    const [tag] = await local.registry.tags('wikiedu-web');
    const layers = await local.registry.layers('wikiedu-web', tag!);
    const paths = layers.flatMap(tarPaths).map((p) => p.replace(/^\.?\//, ''));
    expect(paths).toContain('ctx/Gemfile');
    expect(paths).toContain('ctx/config/application.example.yml');
    for (const secret of ['ctx/config/application.yml', 'ctx/config/database.yml', 'ctx/config/secrets.yml', 'ctx/dockerAuth.json']) {
      expect(paths).not.toContain(secret);
    }
    for (const layer of layers) expect(layer.includes('context-canary')).toBe(false);
  });

  it('without the build context, deploy stops before planning, naming DASHBOARD_SOURCE', async () => {
    const run = project.with({ DASHBOARD_SOURCE: `${project.dir}/no-such-checkout` }).deploy();
    expect(run.status).not.toBe(0);
    expect(oneLine(run.output)).toContain(`There is no build context at ${project.dir}/no-such-checkout. Set DASHBOARD_SOURCE to the Rails checkout`);
    expect(run.output).not.toMatch(/Dockerfile: no such file/);
    expect(local.builds()).toBe(0);
    expect(await local.nomad.job('rails')).toBeUndefined();
    expect(await local.nomad.variableItems('nomad/jobs/rails')).toBeUndefined();
  });

  it('with the local environment stopped, deploy says so and names npm run local:up', () => {
    const socket = local.env.DOCKER_HOST.replace(/^unix:\/\//, '');
    local.stop();
    const run = project.deploy();
    expect(run.status).not.toBe(0);
    expect(oneLine(run.output)).toContain(`The local environment is not running (no Docker API at ${socket}): start it with npm run local:up.`);
    expect(run.output).not.toContain('Error pinging Docker server');
  });

  it('destroy deregisters the job', async () => {
    await deployed();
    expectSuccess(project.destroy(), 'cdktf destroy local');
    const job = await local.nomad.job('rails');
    expect(job === undefined || job.Stop).toBe(true);
  });
});
