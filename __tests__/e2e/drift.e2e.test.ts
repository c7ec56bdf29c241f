import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobDocument } from '../../constructs/nomad/api';
import { LocalEnvironment } from './support/local-environment';
import { type CliRun, expectSuccess, Project } from './support/project';
import { SchedulingNode } from './support/scheduling-node';

/**
 * Drift: the job changed in Nomad outside this tool (a group scaled, the job registered again
 * with other memory), which the nomad provider does not see. Against the real local environment
 * (Nomad 1.6.3 dev agent with a scheduling node, registry, podman) with the providers from the mirror: each change is
 * shown by npm run plan, diff and deploy with both values, then put back by the deploy as a new
 * version equal to the declared job, after which a plan shows nothing.
 * Modules it proves: commands/drift.ts and commands/terraform-state.ts (the job as state holds it).
 */
describe('drift: a job changed outside this tool, shown and healed', () => {
  let local: LocalEnvironment;
  let node: SchedulingNode;
  let project: Project;

  const npm = (script: string, ...args: string[]): CliRun & { stdout: string; stderr: string } => {
    const started = Date.now();
    const r = spawnSync('npm', ['run', '--silent', script, '--', ...args], { cwd: project.dir, env: project.env, encoding: 'utf8', timeout: 600_000 });
    // eslint-disable-next-line no-control-regex
    const plain = (s: string) => s.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');
    return { status: r.status, stdout: plain(r.stdout), stderr: plain(r.stderr), output: plain(`${r.stdout}\n${r.stderr}`), seconds: (Date.now() - started) / 1000 };
  };
  const nomad = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${local.env.NOMAD_ADDR}${path}`, { method, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return JSON.parse(text);
  };
  /** Nomad refuses to scale a group while its deployment runs, and the dev node's never end by themselves. */
  const failDeployment = async () => {
    const d = await nomad('GET', '/v1/job/rails/deployment');
    if (d?.Status === 'running') await nomad('PUT', `/v1/deployment/fail/${d.ID}`, {});
  };
  const state = () => {
    const s = JSON.parse(readFileSync(join(project.dir, 'terraform.local.tfstate'), 'utf8'));
    return s.resources.find((r: { type: string }) => r.type === 'nomad_job').instances[0].attributes as { jobspec: string; modify_index: string };
  };
  const live = async () => (await local.nomad.job('rails'))!;
  const group = (job: { TaskGroups: Array<Record<string, any>> }, name: string) => job.TaskGroups.find((g) => g.Name === name)!;

  /** After a heal: a new version, never a stop; Nomad runs exactly the jobspec in state; state's index is Nomad's; a plan shows nothing. */
  const expectHealed = async (before: number) => {
    const job = await live();
    expect(job.Version).toBe(before + 1);
    expect(job.Stop).toBe(false);
    const { Versions } = await local.nomad.versions('rails');
    expect(Versions.filter((v) => v.Stop)).toEqual([]);
    expect((await local.nomad.plan(JSON.parse(state().jobspec) as JobDocument)).Diff.Type).toBe('None');
    expect(state().modify_index).toBe(String(job.JobModifyIndex));
    const plan = npm('plan', 'local');
    expect(plan.status, plan.output).toBe(0);
    expect(plan.stdout).toContain("Terraform: image unchanged, job 'rails' unchanged, no other changes");
    expect(plan.stdout).toContain('Job: "rails": no changes');
    expect(plan.stdout).not.toContain('Drift');
    process.stdout.write(`\n--- npm run plan -- local, after the heal ---\n${plan.stdout}\n`);
  };

  beforeAll(async () => {
    local = await LocalEnvironment.start();
    // A node the groups can be placed on (their allocations stay pending): plans say "can be placed", not "missing drivers".
    node = await SchedulingNode.start(local);
    project = new Project(local.env);
    expectSuccess(project.cdktf('deploy', 'local', '--auto-approve', '--skip-provider-lock'), 'cdktf deploy local');
  });

  afterAll(() => {
    node?.stop();
    local?.stop();
    project?.remove();
  });

  it('a group scaled by hand: plan, diff and deploy show the count live and declared; deploy puts it back', async () => {
    await failDeployment();
    await nomad('POST', '/v1/job/rails/scale', { Count: 3, Target: { Group: 'web' }, Message: 'scaled by hand' });
    const scaled = await live();
    expect(group(scaled, 'web').Count).toBe(3);
    const line = `group 'web': Count: live "3", declared "1"`;

    const plan = npm('plan', 'local');
    expect(plan.status, plan.output).toBe(2);
    expect(plan.stdout).toContain("Terraform: image unchanged, job 'rails' unchanged in Terraform, but changed in Nomad by hand: web Count, no other changes");
    expect(plan.stdout).toContain(line);
    process.stdout.write(`\n--- npm run plan -- local, web scaled by hand ---\n${plan.stdout}\n`);

    const diff = npm('diff', 'local');
    expect(diff.status, diff.output).toBe(0);
    expect(diff.stdout).toMatch(/No changes/);
    expect(diff.stdout).toContain(line);

    const deploy = npm('deploy', 'local', '--auto-approve');
    expect(deploy.status, deploy.output).toBe(0);
    expect(deploy.output).toContain(line);
    expect(deploy.output).toContain("Drift healed: job 'rails' registered again as this tool declares it (1 field put back)");
    process.stdout.write(`\n--- npm run deploy -- local --auto-approve, web scaled by hand ---\n${deploy.output.slice(-3000)}\n`);
    expect(group(await live(), 'web').Count).toBe(1);
    await expectHealed(scaled.Version);
  });

  it('the job registered again with more memory: plan, diff and deploy show the memory live and declared; deploy puts it back', async () => {
    // A register, unlike a scale, is taken while the heal's deployment runs.
    const document = JSON.parse(state().jobspec) as JobDocument;
    document.Job.TaskGroups.find((g) => g.Name === 'sidekiq-long')!.Tasks[0]!.Resources!.MemoryMB = 900;
    await local.nomad.register(document);
    const registered = await live();
    expect(group(registered, 'sidekiq-long').Tasks[0].Resources.MemoryMB).toBe(900);
    const line = `group 'sidekiq-long', task 'sidekiq': Resources.MemoryMB: live "900", declared "512"`;

    const plan = npm('plan', 'local');
    // A change either way: 3 when the scheduler finds no room on the scheduling node for the
    // replacements of allocations that never start (it wants to replace every group's here).
    expect([2, 3], plan.output).toContain(plan.status);
    expect(plan.stdout).toContain("job 'rails' unchanged in Terraform, but changed in Nomad by hand: sidekiq-long/sidekiq Resources.MemoryMB");
    expect(plan.stdout).toContain(line);
    expect(plan.stdout).toContain('+/- MemoryMB: "900" => "512"');

    const diff = npm('diff', 'local');
    expect(diff.status, diff.output).toBe(0);
    expect(diff.stdout).toContain(line);

    const deploy = npm('deploy', 'local', '--auto-approve');
    expect(deploy.status, deploy.output).toBe(0);
    expect(deploy.output).toContain(line);
    expect(deploy.output).toContain('Drift healed');
    expect(group(await live(), 'sidekiq-long').Tasks[0].Resources.MemoryMB).toBe(512);
    await expectHealed(registered.Version);
  });

  it('the job scaled between the plan and the apply: the deploy says what happened and to deploy again; the next deploy shows the drift and applies', async () => {
    project.setWorkerMemory('sidekiq-short', 640);
    // At a terminal (script's pseudo-terminal): the deploy plans, asks, and the job is scaled before the answer.
    const child = spawn('script', ['-qfec', 'npm run --silent deploy -- local', '/dev/null'], { cwd: project.dir, env: project.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    let answered = false;
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    const onData = async (chunk: Buffer) => {
      output += chunk.toString();
      if (answered || !output.includes("Only 'yes' will be accepted")) return;
      answered = true;
      await failDeployment();
      await nomad('POST', '/v1/job/rails/scale', { Count: 2, Target: { Group: 'web' }, Message: 'between plan and apply' });
      child.stdin.write('yes\n');
    };
    child.stdout.on('data', (c: Buffer) => void onData(c));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    const status = await exited;
    expect(answered, output).toBe(true);
    expect(status, output).not.toBe(0);
    const lines = output.trim().split(/\r?\n/);
    expect(lines.at(-1)).toContain("deploy: job 'rails' changed in Nomad between the plan and the apply");
    expect(lines.at(-1)).toContain('Run the deploy again');
    expect(output).toContain('job modify index has changed since last refresh');
    process.stdout.write(`\n--- npm run deploy -- local, the job scaled before the answer (last lines) ---\n${lines.slice(-8).join('\n')}\n`);
    const scaled = await live();
    expect(group(scaled, 'web').Count).toBe(2);
    expect(group(scaled, 'sidekiq-short').Tasks[0].Resources.MemoryMB).toBe(512);

    const again = npm('deploy', 'local', '--auto-approve');
    expect(again.status, again.output).toBe(0);
    expect(again.output).toContain(`group 'web': Count: live "2", declared "1"`);
    expect(again.output).not.toContain('Drift healed');
    const after = await live();
    expect([group(after, 'web').Count, group(after, 'sidekiq-short').Tasks[0].Resources.MemoryMB]).toEqual([1, 640]);
    const plan = npm('plan', 'local');
    expect(plan.status, plan.output).toBe(0);
    expect(plan.stdout).not.toContain('Drift');
  });
});
