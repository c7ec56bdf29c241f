import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WORKER_MEMORY_REPORT } from '../commands/fixtures';
import { LocalEnvironment } from './support/local-environment';
import { expectSuccess, Project } from './support/project';
import { SchedulingNode } from './support/scheduling-node';

/**
 * `npm run plan -- local` against the real local environment: a Nomad 1.6.3 dev agent with a
 * scheduling node (docker + Consul as the scheduler sees them; see scheduling-node.ts), the
 * registry and podman; the job registered by `cdktf deploy` with the providers from the mirror.
 */
describe('npm run plan -- local', () => {
  let local: LocalEnvironment;
  let node: SchedulingNode;
  let project: Project;
  let config: string;
  const timings: Record<string, number> = {};

  const plan = (label: string) => {
    const run = project.plan();
    timings[label] = run.seconds;
    return run;
  };

  beforeAll(async () => {
    local = await LocalEnvironment.start();
    node = await SchedulingNode.start(local);
    project = new Project(local.env);
    expectSuccess(project.cdktf('deploy', 'local', '--auto-approve', '--skip-provider-lock'), 'cdktf deploy local');
    config = readFileSync(join(project.dir, 'config/local.ts'), 'utf8');
  });

  afterEach(() => {
    writeFileSync(join(project.dir, 'config/local.ts'), config);
    project.reset();
  });

  afterAll(() => {
    process.stderr.write(`npm run plan timings (s): ${JSON.stringify(timings)}\n`);
    node?.stop();
    local?.stop();
    project?.remove();
  });

  it('the deployed job is placed on the scheduling node and stays pending there', async () => {
    const allocations = (await (await fetch(`${local.env.NOMAD_ADDR}/v1/job/rails/allocations`)).json()) as { TaskGroup: string; ClientStatus: string; NodeName: string }[];
    expect(allocations.map((a) => a.TaskGroup).sort()).toEqual(['sidekiq-constant', 'sidekiq-daily', 'sidekiq-default', 'sidekiq-long', 'sidekiq-medium', 'sidekiq-short', 'web']);
    for (const a of allocations) expect([a.NodeName, a.ClientStatus]).toEqual([node.name, 'pending']);
  });

  it('an unchanged checkout: no changes, exit 0', () => {
    const run = plan('unchanged');
    expect(run.status, run.output).toBe(0);
    expect(run.stdout).toContain("Terraform: image unchanged, job 'rails' unchanged, no other changes");
    expect(run.stdout).toContain('Job: "rails": no changes');
  });

  it("a worker's memory change: that group, the field and both values, nothing else; exit 2; Nomad unchanged", async () => {
    project.setWorkerMemory('sidekiq-long', 640);
    // A shell that sourced production's nomad.sh: the local plan must not go there.
    const run = project.with({ NOMAD_ADDR: 'http://127.0.0.1:9' }).plan();
    timings['worker memory'] = run.seconds;
    expect(run.status, run.output).toBe(2);
    expect(run.stdout).toBe(WORKER_MEMORY_REPORT);
    expect(run.stderr).toMatch(/plan: synth: done in [\d.]+s\nplan: terraform init…\nplan: terraform init: done in [\d.]+s\nplan: terraform plan…\nplan: terraform plan: done in [\d.]+s/);
    const job = await local.nomad.job('rails');
    expect(job?.Version).toBe(0);
    expect(job!.TaskGroups.find((g) => g.Name === 'sidekiq-long')!.Tasks.find((t: { Name: string }) => t.Name === 'sidekiq').Resources.MemoryMB).toBe(512);
  });

  it('a group asking for more memory than any node has: the placement failure names the group and why; exit 3', () => {
    project.setWorkerMemory('sidekiq-medium', 1_000_000);
    const run = plan('too much memory');
    expect(run.status, run.output).toBe(3);
    expect(run.stdout).toContain('      +/- MemoryMB: "512" => "1000000"');
    expect(run.stdout).toContain(`group 'sidekiq-medium': cannot place 1 allocation: no node has enough memory: Dimension "memory" exhausted on 1 node`);
    expect(run.stdout).not.toContain('every allocation can be placed');
    expect(run.stdout).not.toMatch(/group '(web|sidekiq-long|sidekiq-short)'/);
  });

  it('a source change: image rebuilt, the job planned with the tag to be built; nothing is built or pushed; exit 2', () => {
    const builds = local.builds();
    const pushes = local.pushes();
    project.editSource('app/application_controller.rb', 'class ApplicationController; def health; end; end\n');
    const run = plan('source change');
    expect(run.status, run.output).toBe(2);
    expect(run.stdout).toContain("Terraform: image rebuilt and pushed, job 'rails' updated, no other changes");
    expect(run.stdout).toMatch(/\+\/- image: "127\.0\.0\.1:\d+\/wikiedu-web@sha256:[a-f0-9]{64}" => "127\.0\.0\.1:\d+\/wikiedu-web:ctx-[a-f0-9]{16} \(to be built\)"/);
    expect(run.stdout.match(/Task Group: /g)).toHaveLength(7);
    expect([local.builds(), local.pushes()]).toEqual([builds, pushes]);
    // The next test starts from the deployed source.
    writeFileSync(join(project.context, 'app/application_controller.rb'), readFileSync(join(__dirname, '../fixtures/rails-app/app/application_controller.rb')));
  });

  it('credentials never reach the output: canary token and pull password, the real registry password', () => {
    const canaries = { NOMAD_TOKEN: 'c0ffee00-cafe-4bad-8a11-00000000c0de', TF_VAR_registry_pull_password: 'canary-pull-password-e2e-41b7' };
    const run = project.with(canaries).plan();
    timings['canaries'] = run.seconds;
    // The pull password changed, wherever the stack keeps it: in the task's docker auth (Nomad's
    // diff has the field, old and new value) or in a Nomad Variable (Terraform changes it).
    expect(run.status, run.output).toBe(2);
    expect(run.stdout).toMatch(/auth\[password\]: \(sensitive value\) => \(sensitive value\)|other changes: nomad_variable\.\S+ updated/);
    for (const secret of [...Object.values(canaries), local.env.DOCKER_REGISTRY_PASS]) expect(run.output).not.toContain(secret);
  });

  it('Nomad unreachable: exit 1, naming what failed', () => {
    const run = project.with({ LOCAL_NOMAD_ADDR: 'http://127.0.0.1:9' }).plan();
    timings['unreachable'] = run.seconds;
    expect(run.status).toBe(1);
    // The token check asks Nomad first: an unreachable one stops the plan before synth.
    expect(run.stderr.trimEnd().split('\n').at(-1)).toContain('cannot reach Nomad at http://127.0.0.1:9');
    expect(run.stderr).not.toContain('plan: synth');
    expect(run.stdout).toBe('');
  });

  it('an unknown environment: exit 1 before anything slow runs', () => {
    const run = project.plan('nowhere');
    expect(run.status).toBe(1);
    expect(run.stderr).toContain("invalid configuration for environment 'nowhere':\n  - no such environment; known: production, staging, local");
    expect(run.stderr).not.toContain('synth…');
  });
});
