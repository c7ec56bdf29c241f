import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalEnvironment } from './support/local-environment';
import { expectSuccess, Project } from './support/project';
import { SchedulingNode } from './support/scheduling-node';

/**
 * Deadlines short enough for a test; the rules hold (min healthy < healthy deadline < progress
 * deadline < deploy wait, and sidekiq's 30s kill timeout within the progress deadline).
 */
const SHORT = "{ minHealthyTime: '1s', healthyDeadline: '15s', progressDeadline: '40s' }";
const DEPLOY_TIMEOUT_SECONDS = 120;

interface Deployment {
  ID: string;
  JobVersion: number;
  Status: string;
  StatusDescription: string;
  TaskGroups: Record<string, { PlacedAllocs: number; HealthyAllocs: number; UnhealthyAllocs: number; AutoRevert: boolean }>;
}

/**
 * Safe rollouts against the real local environment: a Nomad 1.6.3 dev agent, with a scheduling
 * node whose allocations stay pending forever (their image pulls are held open), so that no new
 * allocation ever becomes healthy; `cdktf deploy` with the providers from the mirror.
 */
describe('safe rollouts', () => {
  let local: LocalEnvironment;
  let node: SchedulingNode;

  beforeAll(async () => {
    local = await LocalEnvironment.start();
    node = await SchedulingNode.start(local);
  });

  afterAll(() => {
    node?.stop();
    local?.stop();
  });

  it("a job that does not fit the dev node's declared capacity is refused at synth, naming the node and the numbers; Terraform never runs", async () => {
    const project = new Project(local.env);
    try {
      const nodes = (await (await fetch(`${local.env.NOMAD_ADDR}/v1/nodes`)).json()) as { Name: string }[];
      const dev = nodes.map((n) => n.Name).find((n) => n !== node.name)!;
      project.edit(
        'config/local.ts',
        '    cluster: undefined,',
        `    cluster: { nodes: [{ name: '${dev}', cpu: 2000, memoryMB: 2048, hostVolumes: ['rails'] }], otherNodes: false },`,
      );
      const run = project.deploy();
      expect(run.status, run.output).not.toBe(0);
      // web 500 + 6 × 200 MHz, 1024 + 6 × 512 MB, and 7 sidecars of 250 MHz / 128 MB.
      expect(run.output).toContain(`node '${dev}': web 1 × 750 MHz / 1152 MB, sidekiq-constant 1 × 450 MHz / 640 MB`);
      expect(run.output).toContain('need 3450 MHz / 4992 MB (sidecars 250 MHz / 128 MB each included), the node has 2000 MHz / 2048 MB: 1450 MHz and 2944 MB short');
      expect(existsSync(join(project.dir, 'terraform.local.tfstate'))).toBe(false);
      expect(await local.nomad.job('rails')).toBeUndefined();
    } finally {
      project.remove();
    }
  });

  it('a deployment whose new allocations never become healthy fails the deploy within its deadline, naming the group, and Nomad reverts the job to the stable version', async () => {
    const project = new Project(local.env);
    try {
      project.edit('config/local.ts', 'web: { ...prod.web, count: 1,', `web: { ...prod.web, update: { ...prod.web.update, ...${SHORT} }, count: 1,`);
      project.edit(
        'config/local.ts',
        'workers: prod.workers.map((w) => ({ ...w, resources: { cpu: 200, memoryMB: 512 } })),',
        `workers: prod.workers.map((w) => ({ ...w, update: ${SHORT}, resources: { cpu: 200, memoryMB: w.name === 'sidekiq-long' ? 512 : 512 } })),`,
      );
      // Version 0, registered without waiting (local's default): its allocations never start either.
      expectSuccess(project.cdktf('deploy', 'local', '--auto-approve', '--skip-provider-lock'), 'first cdktf deploy local');
      expect((await local.nomad.job('rails'))!.Version).toBe(0);
      // Setup, not the behaviour under test: Nomad reverts only to a stable version, and a version
      // becomes stable when its deployment succeeds, which none can here. So version 0 is marked
      // stable through Nomad's API for that (PUT /v1/job/<id>/stable), standing in for a good first deploy.
      const stable = await fetch(`${local.env.NOMAD_ADDR}/v1/job/rails/stable`, {
        method: 'PUT',
        body: JSON.stringify({ JobID: 'rails', JobVersion: 0, Stable: true }),
      });
      expect(stable.status, await stable.text()).toBe(200);

      // Version 1: one worker's memory, and the deploy now waits for the deployment.
      project.edit('config/local.ts', "w.name === 'sidekiq-long' ? 512 : 512", "w.name === 'sidekiq-long' ? 640 : 512");
      project.edit('config/local.ts', 'deployTimeout: undefined', `deployTimeout: '${DEPLOY_TIMEOUT_SECONDS}s'`);
      const run = project.npmDeploy('local', '--auto-approve');

      expect(run.status, run.output).not.toBe(0);
      expect(run.seconds).toBeLessThan(DEPLOY_TIMEOUT_SECONDS + 60); // synth and init come on top of the wait
      // What the provider prints: the deployment, its status and Nomad's reason, with the version it reverted to.
      const said = /deployment '([0-9a-f-]{36})' terminated with status 'failed': 'Failed due to (unhealthy allocations|progress deadline) - rolling back to job version 0'/.exec(
        run.output.replace(/\s*\n\s*/g, ' '),
      );
      expect(said, run.output).not.toBeNull();
      // What npm run deploy adds: the group that did not become healthy.
      expect(run.output).toContain(`deploy: deployment ${said![1]} of job 'rails' version 1 failed: Failed due to`);
      expect(run.output).toMatch(/deploy: {3}group 'sidekiq-long': 0 of 1 healthy, \d+ unhealthy, 1 placed/);

      // Nomad's deployment names the groups (the provider's message does not): every group of the
      // job is in it (a new version updates the others in place), the changed one with a new
      // allocation; none became healthy.
      const deployments = (await (await fetch(`${local.env.NOMAD_ADDR}/v1/job/rails/deployments`)).json()) as Deployment[];
      const failed = deployments.find((d) => d.ID === said![1])!;
      const groups = JSON.stringify(failed.TaskGroups);
      expect(failed.JobVersion).toBe(1);
      expect(failed.TaskGroups['sidekiq-long'], groups).toMatchObject({ PlacedAllocs: 1, HealthyAllocs: 0, AutoRevert: true });
      for (const g of Object.values(failed.TaskGroups)) expect(g.HealthyAllocs, groups).toBe(0);

      // Reverted: a version 2 that is version 0's spec; version 0 stays the stable one, version 1 never was.
      const job = (await local.nomad.job('rails'))!;
      expect(job.Version).toBe(2);
      const memory = job.TaskGroups.find((g) => g.Name === 'sidekiq-long')!.Tasks.find((t: { Name: string }) => t.Name === 'sidekiq').Resources.MemoryMB;
      expect(memory).toBe(512);
      const { Versions } = await local.nomad.versions('rails');
      const stableOf = Object.fromEntries(Versions.map((v) => [v.Version, v.Stable]));
      expect([stableOf[0], stableOf[1]]).toEqual([true, false]);
    } finally {
      project.remove();
    }
  });

  it('a deployment whose allocations run and stay healthy: cdktf deploy returns 0 only once Nomad marks it successful', async () => {
    const project = new Project(local.env);
    try {
      // The seam, in this checkout only: the rendered jobspec keeps the job's groups, counts,
      // update strategies and deadlines, but each task runs /bin/sleep with raw_exec on the dev
      // agent, in host networking, without the Connect service, templates and volume (no Docker
      // engine, no Consul here); health is task states for every group.
      project.edit('constructs/nomad/job.ts', 'const document: JobDocument = { Job: this.render() };', 'const document: JobDocument = { Job: sleepingPayload(this.render()) };');
      project.append('constructs/nomad/job.ts', SLEEPING_PAYLOAD);
      project.edit('config/local.ts', 'web: { ...prod.web, count: 1,', `web: { ...prod.web, update: { ...prod.web.update, minHealthyTime: '5s', healthyDeadline: '30s', progressDeadline: '40s' }, count: 1,`);
      project.edit(
        'config/local.ts',
        'workers: prod.workers.map((w) => ({ ...w, resources:',
        "workers: prod.workers.map((w) => ({ ...w, update: { minHealthyTime: '5s', healthyDeadline: '30s', progressDeadline: '40s' }, resources:",
      );
      project.edit('config/local.ts', 'job: { ...prod.job, preventDestroy: false, deployTimeout: undefined }', `job: { ...prod.job, id: 'rails-healthy', preventDestroy: false, deployTimeout: '${DEPLOY_TIMEOUT_SECONDS}s' }`);

      const run = project.cdktf('deploy', 'local', '--auto-approve', '--skip-provider-lock');
      expect(run.status, run.output).toBe(0);
      const returnedAt = Date.now();

      const state = JSON.parse(readFileSync(join(project.dir, 'terraform.local.tfstate'), 'utf8'));
      const attributes = state.resources.find((r: { type: string }) => r.type === 'nomad_job').instances[0].attributes;
      expect([attributes.detach, attributes.deployment_status]).toEqual([false, 'successful']);
      const deployment = (await (await fetch(`${local.env.NOMAD_ADDR}/v1/deployment/${attributes.deployment_id}`)).json()) as Deployment & { ModifyIndex: number };
      expect([deployment.JobVersion, deployment.Status]).toEqual([0, 'successful']);
      for (const [name, g] of Object.entries(deployment.TaskGroups)) expect([name, g.HealthyAllocs]).toEqual([name, 1]);
      // A version becomes stable when its deployment succeeds: so it was, before deploy returned.
      const job = (await local.nomad.job('rails-healthy'))!;
      expect([job.Version, job.Stable]).toEqual([0, true]);
      expect(Date.now() - returnedAt).toBeLessThan(10_000);
    } finally {
      project.remove();
    }
  });
});

const SLEEPING_PAYLOAD = `
/** e2e only (rollout.e2e.test.ts): the same job, with tasks that run here and report healthy by task state. */
function sleepingPayload(job: Job): Job {
  const groups = job.TaskGroups.map((g) => {
    const group: any = { ...g, Networks: [{ Mode: 'host' }], Update: { ...g.Update, HealthCheck: 'task_states' } };
    delete group.Services;
    delete group.Volumes;
    group.Tasks = g.Tasks.map((t) => {
      const task: any = { ...t, Driver: 'raw_exec', Config: { command: '/bin/sleep', args: ['3600'] } };
      delete task.Templates;
      delete task.VolumeMounts;
      return task;
    });
    return group;
  });
  return { ...job, TaskGroups: groups };
}
`;
