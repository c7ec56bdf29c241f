import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalEnvironment } from './support/local-environment';
import { type CliRun, expectSuccess, Project } from './support/project';
import { requireProviders } from './support/providers';

/**
 * Faults around a deploy that must leave nothing half-done or silent, through `npm run deploy`
 * as an operator runs it, on a real Nomad dev agent, registry and podman: a broken state file, a
 * second checkout with no state, an interrupted release, a failure's cause on the last lines.
 * The release runs with the raw_exec stand-in (commands/stand-in.ts).
 * Modules it proves: commands/terraform-state.ts (the broken-file refusal), commands/deploy-report.ts
 * (the interrupted report; deploy.e2e.test.ts holds its end summary), commands/terraform-stream.ts (Terraform streamed,
 * its error blocks as the last lines), commands/release.ts (a release left running, waited for).
 */
const STEPS = 40;
const MIGRATION = `for i in $(seq 1 ${STEPS}); do echo "mig: step $i"; sleep 1; done`;

describe('faults around a deploy', () => {
  let local: LocalEnvironment;
  let project: Project;
  const statePath = () => join(project.dir, 'terraform.local.tfstate');
  const version = async () => (await local.nomad.job('rails'))!.Version;

  beforeAll(async () => {
    requireProviders();
    local = await LocalEnvironment.start();
    project = new Project(local.env).with({ DASHBOARD_RUN_STANDIN: 'raw_exec' });
    project.edit('config/local.ts', /command: false/, `command: ['/bin/sh', '-c', ${JSON.stringify(MIGRATION)}]`);
    expectSuccess(project.npmDeploy('local', '--auto-approve'), 'first npm run deploy local');
  });

  afterAll(() => {
    local?.stop();
    project?.remove();
  });

  it('an empty state file is refused before planning, naming it, its backup and how to restore it', async () => {
    const before = await version();
    const builds = local.builds();
    const saved = readFileSync(statePath());
    // A backup, as Terraform leaves one beside the state after a write.
    writeFileSync(`${statePath()}.backup`, saved);
    try {
      writeFileSync(statePath(), '');
      const run = project.npmDeploy('local', '--auto-approve');
      expect(run.status).toBe(1);
      const last = lastLines(run, 4);
      expect(last).toContain(`The state file ${statePath()} is broken: it is empty (0 bytes)`);
      expect(last).toContain(`Its backup ${statePath()}.backup is whole`);
      expect(last).toContain(`mv ${statePath()} ${statePath()}.broken && cp ${statePath()}.backup ${statePath()}`);
      expect(run.output).not.toContain('terraform plan');
      expect([await version(), local.builds()]).toEqual([before, builds]);
    } finally {
      writeFileSync(statePath(), saved);
    }
  });

  it('a half-written state file is refused before planning, naming the file, not taken for no state', async () => {
    const before = await version();
    const saved = readFileSync(statePath());
    try {
      writeFileSync(statePath(), saved.subarray(0, Math.floor(saved.length / 2)));
      const run = project.npmDeploy('local', '--auto-approve');
      expect(run.status).toBe(1);
      expect(lastLines(run, 4)).toMatch(new RegExp(`The state file ${statePath().replace(/[.]/g, '\\.')} is broken: it is not JSON`));
      expect(run.output).not.toContain('terraform plan');
      expect(await version()).toBe(before);
    } finally {
      writeFileSync(statePath(), saved);
    }
  });

  it('a second checkout with no state stops before applying, naming the running job and --adopt; --adopt takes it over without a new job', async () => {
    const before = (await local.nomad.job('rails'))!;
    const other = new Project(local.env).with({ DASHBOARD_RUN_STANDIN: 'raw_exec' });
    try {
      // The same config as the first checkout, release off: this test is about the job.
      const refused = other.npmDeploy('local', '--auto-approve');
      expect(refused.status, refused.output).toBe(1);
      expect(lastLines(refused, 6)).toContain(`job 'rails' runs at ${local.env.NOMAD_ADDR} (version ${before.Version}`);
      expect(lastLines(refused, 6)).toContain('npm run deploy -- local --adopt');
      expect((await local.nomad.job('rails'))!.Version).toBe(before.Version);

      const adopted = expectSuccess(other.npmDeploy('local', '--auto-approve', '--adopt'), 'npm run deploy --adopt');
      expect(adopted.output).toContain(`--adopt: importing job 'rails' (version ${before.Version})`);
      const after = (await local.nomad.job('rails'))!;
      // Taken over in place: no deregister, no second job; an identical jobspec makes no new version.
      expect(after.CreateIndex).toBe(before.CreateIndex);
      expect(existsSync(join(other.dir, 'terraform.local.tfstate'))).toBe(true);
    } finally {
      other.remove();
    }
  });

  it('Ctrl-C during the release leaves the migration running on purpose and says what it left; the next deploy waits for it and never kills it', async () => {
    const before = await version();
    project.editSource('app/course.rb', `class Course; VERSION = ${Date.now()}; end\n`);
    const run = await project.interruptDeployAt('mig: step 3');
    expect(run.status, run.output).toBe(130);
    const report = run.output.slice(run.output.indexOf('deploy: interrupted; what it left:'));
    expect(report).toMatch(/applied: .*docker_registry_image\.image \(created\)/);
    expect(report).toContain(`job: unchanged (version ${before})`);
    expect(report).toMatch(/release: job 'rails-release' is still running \(allocation [0-9a-f]{8}\), left on purpose: follow it with nomad alloc logs -f [0-9a-f]{8}; stop it with nomad job stop rails-release/);
    expect(report).toContain('state lock: free');
    expect(existsSync(join(project.dir, '.terraform.local.tfstate.lock.info'))).toBe(false);
    const [interruptedAlloc] = await local.nomad.allocations('rails-release');
    expect(interruptedAlloc!.ClientStatus).toBe('running');

    const next = expectSuccess(project.npmDeploy('local', '--auto-approve'), 'npm run deploy after the interrupted one');
    expect(next.output).toMatch(/another release of job 'rails' is running: job 'rails-release', allocation [0-9a-f]{8}, this same image .*It is not stopped: waiting for it to end/s);
    expect(next.output).toContain('that release of this image ended well');
    // The migration ran to its last step, once: one allocation, complete; no second one.
    const allocs = await local.nomad.allocations('rails-release');
    expect(allocs.map((a) => [a.ID, a.ClientStatus])).toEqual([[interruptedAlloc!.ID, 'complete']]);
    const log = await local.nomad.readAllocFile(interruptedAlloc!.ID, 'alloc/logs/sidekiq.stdout.0');
    expect(log).toContain(`mig: step ${STEPS}\n`);
    expect(log.match(/mig: step 1\n/g)).toHaveLength(1);
    expect(await local.nomad.variableItems('nomad/jobs/rails-release')).toBeUndefined();
    expect(await version()).toBe(before + 1);
  });

  it("a failed deploy ends with Terraform's error as its last lines, not only 'failed'", async () => {
    project.with({ DOCKER_REGISTRY_PASS: 'wrong-password', TF_VAR_registry_pull_password: 'wrong-password' });
    try {
      project.editSource('app/course.rb', `class Course; VERSION = ${Date.now()}; end\n`);
      const run = project.npmDeploy('local', '--auto-approve');
      expect(run.status).toBe(1);
      const last = lastLines(run, 12);
      expect(last).toMatch(/deploy: terraform apply failed \(exit 1\):/);
      expect(last).toMatch(/Error: /);
    } finally {
      project.reset().with({ DASHBOARD_RUN_STANDIN: 'raw_exec' });
    }
  });
});

/** The last lines a person sees (trailing blank lines dropped). */
function lastLines(run: CliRun, n: number): string {
  return run.output.trimEnd().split('\n').slice(-n).join('\n');
}
