import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalEnvironment } from './support/local-environment';
import { expectSuccess, Project, oneLine } from './support/project';
import { requireProviders } from './support/providers';

/**
 * A registry outage, end to end: Debian's docker-registry of the local environment is stopped
 * (SIGTERM, as a crash or a maintenance window would) and started again, around real
 * `cdktf deploy`s with the release step on (its payload run by raw_exec, as in
 * release-and-task.e2e.test.ts). The docker provider is the one `npm run tools` built, with
 * .ci/tools/patches applied: without that patch its read drops the pushed image from state
 * whenever the registry cannot be read, and these tests fail.
 */
const RELEASE = 'echo "release-canary: migrating for $NOMAD_META_standin_for_image"; sleep 1; echo "release-canary: done"';
const CONTROLLER = 'app/application_controller.rb';

describe('a registry outage', () => {
  let local: LocalEnvironment;
  let project: Project;
  let registry: string;
  let controller: string;
  /** What the first deploy left: the job's image, and the release's allocation. */
  let deployedImage: string;
  let releaseAllocIds: string[];

  const image = async () => (await local.nomad.job('rails'))!.TaskGroups[0]!.Tasks[0].Config.image as string;
  const version = async () => (await local.nomad.job('rails'))!.Version;
  const releaseAllocs = async () => (await local.nomad.allocations('rails-release')).map((a) => a.ID);
  const pushedDigest = () => {
    const state = JSON.parse(readFileSync(join(project.dir, 'terraform.local.tfstate'), 'utf8'));
    const pushed = state.resources.find((r: { type: string }) => r.type === 'docker_registry_image');
    return pushed?.instances[0]?.attributes.sha256_digest as string | undefined;
  };

  beforeAll(async () => {
    requireProviders();
    local = await LocalEnvironment.start();
    registry = local.env.LOCAL_REGISTRY_ADDRESS;
    project = new Project(local.env).with({ DASHBOARD_RUN_STANDIN: 'raw_exec' });
    project.edit('config/local.ts', /command: false/, `command: ['/bin/sh', '-c', ${JSON.stringify(RELEASE)}]`);
    controller = readFileSync(join(project.context, CONTROLLER), 'utf8');
  });

  afterAll(() => {
    local?.stop();
    project?.remove();
  });

  it('first, a deploy pushes the image and releases it once', async () => {
    const run = expectSuccess(project.deploy(), 'cdktf deploy local');
    expect(run.output).toContain('release-canary: done');
    expect(local.pushes()).toBe(1);
    deployedImage = await image();
    expect(deployedImage).toBe(`${registry}/wikiedu-web@${pushedDigest()}`);
    releaseAllocIds = await releaseAllocs();
    expect(releaseAllocIds).toHaveLength(1);
  });

  it('with the registry down, a memory-only change deploys: one new job version, no push, no release, and a warning naming the registry', async () => {
    await local.stopRegistry();
    const before = await version();
    project.setWorkerMemory('sidekiq-long', 640);
    const run = expectSuccess(project.deploy(), 'cdktf deploy local (memory change, registry down)');
    expect(oneLine(run.output)).toContain(`registry ${registry} could not be read`);
    expect(run.output).not.toMatch(/docker_registry_image\.image(\s+\(image\/push\))?: Creating/);
    expect(run.output).not.toContain('release-canary');
    expect(await version()).toBe(before + 1);
    const { Diffs } = await local.nomad.versions('rails');
    expect(Diffs[0]!.TaskGroups!.filter((g) => g.Type !== 'None').map((g) => g.Name)).toEqual(['sidekiq-long']);
    expect(await image()).toBe(deployedImage);
    expect(`${registry}/wikiedu-web@${pushedDigest()}`).toBe(deployedImage);
    expect(await releaseAllocs()).toEqual(releaseAllocIds);
  });

  it('with the registry down, a source change fails naming the registry, and leaves the job, the pushed image and the release as they were', async () => {
    const before = await version();
    project.editSource(CONTROLLER, 'class ApplicationController; def outage; end; end\n');
    const run = project.deploy();
    expect(run.status).not.toBe(0);
    expect(oneLine(run.output)).toMatch(new RegExp(`Error pushing docker image ${registry}/wikiedu-web:ctx-[a-f0-9]{16} to registry ${registry}`));
    expect(run.output).not.toContain('release-canary');
    expect(await version()).toBe(before);
    expect(await image()).toBe(deployedImage);
    expect(await releaseAllocs()).toEqual(releaseAllocIds);
    // The image that was pushed is still the state's: the failed push replaced nothing.
    expect(`${registry}/wikiedu-web@${pushedDigest()}`).toBe(deployedImage);
  });

  it('once the registry is back, a deploy of the released source pushes nothing and runs no release', async () => {
    // The operator backs the change out (the commit that could not be pushed) and deploys again.
    project.editSource(CONTROLLER, controller);
    await local.restart();
    const before = await version();
    const run = expectSuccess(project.deploy(), 'cdktf deploy local (registry back)');
    expect(local.pushes()).toBe(0);
    expect(run.output).not.toContain('release-canary');
    expect(await releaseAllocs()).toEqual(releaseAllocIds);
    expect(await version()).toBe(before);
    expect(await image()).toBe(deployedImage);
  });

  it('and a new source is pushed and released once', async () => {
    project.editSource(CONTROLLER, 'class ApplicationController; def after_outage; end; end\n');
    const before = await version();
    const run = expectSuccess(project.deploy(), 'cdktf deploy local (new source)');
    expect(local.pushes()).toBe(1);
    // Its output lines (the release also prints its command line, which holds the same words).
    expect(run.output.match(/\(local-exec\): release-canary: done$/gm)).toHaveLength(1);
    expect(await version()).toBe(before + 1);
    expect(await image()).not.toBe(deployedImage);
    expect(await image()).toBe(`${registry}/wikiedu-web@${pushedDigest()}`);
    expect(await releaseAllocs()).not.toEqual(releaseAllocIds);
  });
});
