import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobDocument } from '../../constructs/nomad/api';
import { LocalEnvironment } from './support/local-environment';
import { expectSuccess, Project } from './support/project';
import { missingFrom } from './support/subset';
import { evaluateJobspec } from './support/terraform-eval';
import { toolsEnv } from './support/local-environment';
import { DockerApi } from './support/docker-api';

/**
 * What can be proven without the Terraform providers (see deploy.e2e.test.ts): the real
 * `cdktf synth` output, its image built and pushed under the name the stack gives it, the
 * jobspec evaluated by real Terraform as it would hand it to the nomad provider, registered
 * with a real Nomad agent the way the provider registers a JSON jobspec (PUT /v1/jobs),
 * read back key by key.
 */

describe('the local job against a real Nomad agent', () => {
  let local: LocalEnvironment;
  let project: Project;
  let sent: JobDocument;
  let imageDigest: string;

  /** cdktf synth in the checkout, then Terraform's evaluation of the jobspec. */
  const render = (): JobDocument => {
    expectSuccess(project.synth(), 'cdktf synth');
    const jobspec: string = project.stack().resource.nomad_job!.rails.jobspec;
    const evaluated = evaluateJobspec(jobspec, { imageDigest });
    return JSON.parse(evaluated) as JobDocument;
  };

  beforeAll(async () => {
    local = await LocalEnvironment.start();
    project = new Project(local.env);
    // The image as the stack names it (repository:ctx-<context hash>), built from the checkout's
    // context and pushed through the Docker API the docker provider uses; its digest is what
    // the provider would hand the job.
    expectSuccess(project.synth(), 'cdktf synth');
    const tagged: string = project.stack().resource.docker_image!.image.name;
    const [name, tag] = tagged.split(/:(?=ctx-)/) as [string, string];
    const docker = new DockerApi(local.env.DOCKER_HOST);
    await docker.build(project.context, tagged);
    const pushError = await docker.push(name, tag, {
      username: local.env.DOCKER_REGISTRY_USER,
      password: local.env.DOCKER_REGISTRY_PASS,
      serveraddress: local.env.LOCAL_REGISTRY_ADDRESS,
    });
    if (pushError) throw new Error(`push of ${tagged}: ${pushError}`);
    imageDigest = await local.registry.digest('wikiedu-web', tag);
    sent = render();
  });

  afterAll(() => {
    local?.stop();
    project?.remove();
  });

  it('local:up reports the three services on loopback', () => {
    expect(local.startOutput).toMatch(/nomad\s+http:\/\/127\.0\.0\.1:\d+/);
    expect(local.startOutput).toMatch(/registry\s+http:\/\/127\.0\.0\.1:\d+/);
    expect(local.startOutput).not.toContain(local.env.DOCKER_REGISTRY_PASS);
  });

  it('Terraform hands over Nomad\'s ${node.unique.name} and ${REGISTRY_PULL_*} intact and resolves its own references', () => {
    const constrained = sent.Job.TaskGroups.filter((g) => g.Constraints);
    expect(constrained.map((g) => g.Name)).toEqual(['sidekiq-constant', 'sidekiq-daily', 'sidekiq-long', 'sidekiq-medium', 'sidekiq-short']);
    for (const g of constrained) expect(g.Constraints).toEqual([{ LTarget: '${node.unique.name}', RTarget: 'node-railsweb', Operand: '!=' }]);
    const config = sent.Job.TaskGroups[0]!.Tasks[0]!.Config;
    expect(config.image).toBe(`${local.env.LOCAL_REGISTRY_ADDRESS}/wikiedu-web@${imageDigest}`);
    // Nomad interpolates these from the task environment; the jobspec carries no credential.
    expect(config.auth).toEqual({ username: '${REGISTRY_PULL_USERNAME}', password: '${REGISTRY_PULL_PASSWORD}' });
    expect(JSON.stringify(sent)).not.toContain(local.env.DOCKER_REGISTRY_PASS);
  });

  it('the job pulls the manifest pushed under the tag the stack names, by digest', async () => {
    const tags = await local.registry.tags('wikiedu-web');
    expect(tags).toHaveLength(1);
    expect(tags[0]).toMatch(/^ctx-[a-f0-9]{16}$/);
    for (const g of sent.Job.TaskGroups) {
      expect(g.Tasks[0]!.Config.image).toBe(`${local.env.LOCAL_REGISTRY_ADDRESS}/wikiedu-web@${await local.registry.digest('wikiedu-web', tags[0]!)}`);
    }
  });

  it('Nomad stores every key we send: nothing dropped, nothing changed', async () => {
    await local.nomad.register(sent);
    const stored = await local.nomad.job('rails');
    expect(stored?.Version).toBe(0);
    expect(missingFrom(sent.Job, stored)).toEqual([]);
    const constraint = stored!.TaskGroups.find((g) => g.Name === 'sidekiq-long')!.Constraints;
    expect(constraint).toContainEqual({ LTarget: '${node.unique.name}', RTarget: 'node-railsweb', Operand: '!=' });
  });

  it('a render of the unchanged checkout is the same job: no new version', async () => {
    const again = render();
    expect(JSON.stringify(again)).toBe(JSON.stringify(sent));
    expect((await local.nomad.plan(again)).Diff.Type).toBe('None');
    await local.nomad.register(again);
    expect((await local.nomad.job('rails'))?.Version).toBe(0);
  });

  it('a worker\'s memory change in config is a change of that group only, and one new version', async () => {
    project.setWorkerMemory('sidekiq-long', 640);
    const changed = render();
    const plan = await local.nomad.plan(changed);
    expect(plan.Diff.Type).toBe('Edited');
    expect(plan.Diff.TaskGroups.filter((g) => g.Type !== 'None').map((g) => [g.Name, g.Type])).toEqual([['sidekiq-long', 'Edited']]);

    await local.nomad.register(changed);
    const { Versions, Diffs } = await local.nomad.versions('rails');
    expect(Versions[0]!.Version).toBe(1);
    expect(Diffs[0]!.TaskGroups!.filter((g) => g.Type !== 'None').map((g) => g.Name)).toEqual(['sidekiq-long']);
    const stored = await local.nomad.job('rails');
    expect(stored!.TaskGroups.find((g) => g.Name === 'sidekiq-long')!.Tasks[0].Resources.MemoryMB).toBe(640);
    expect(missingFrom(changed.Job, stored)).toEqual([]);
  });

  it('an invalid config fails cdktf synth with the path and the rule', () => {
    const run = project.with({ DASHBOARD_IMAGE: 'docker.wikiedu.org/wikiedu-web:latest' }).synth();
    project.reset();
    expect(run.status).not.toBe(0);
    expect(run.output).toContain("invalid DASHBOARD_IMAGE='docker.wikiedu.org/wikiedu-web:latest' (read by every stack: production, staging, local)");
    expect(run.output).toContain('image.reference: must be pinned by digest');
  });

  it('on a machine whose mirror lacks the providers, cdktf diff stops at init naming them and the mirror, without reaching for the registry', () => {
    const empty = join(project.dir, 'empty-mirror');
    mkdirSync(empty);
    const rc = readFileSync(toolsEnv().TF_CLI_CONFIG_FILE!, 'utf8').replace(/path\s*=\s*"[^"]+"/, `path = "${empty}"`);
    writeFileSync(join(project.dir, 'terraform.rc'), rc);
    const run = project.with({ TF_CLI_CONFIG_FILE: join(project.dir, 'terraform.rc') }).diff();
    project.reset();
    expect(run.status).not.toBe(0);
    expect(run.output).toMatch(/provider registry\.terraform\.io\/hashicorp\/nomad was not\s+(│\s+)?found/);
    expect(run.output).toMatch(/provider registry\.terraform\.io\/kreuzwerker\/docker was not\s+(│\s+)?found/);
    expect(run.output).toContain(empty);
    expect(run.output).not.toMatch(/registry\.terraform\.io.*(timeout|no such host|dial tcp)/);
  });
});
