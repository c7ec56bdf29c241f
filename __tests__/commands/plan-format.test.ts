import { describe, expect, it } from 'vitest';
import type { JobPlanResponse } from '../../commands/nomad-client';
import { EXIT, exitCode, formatDryRun, formatJobDiff, formatPlan, formatTerraformSummary } from '../../commands/plan-format';
import { MASK, Redactor } from '../../commands/secrets';
import { collectSensitive, summarize, type TerraformSummary } from '../../commands/terraform-plan';
import { CANARY_PASSWORD, RECORDED_PASSWORD } from '../fixtures/plan/record';
import { nomadFixture, terraformFixture, WORKER_MEMORY_DIFF, WORKER_MEMORY_REPORT, type Scenario } from './fixtures';

/** The report `npm run plan` prints for a recorded scenario, through the same redaction. */
function report(scenario: Scenario): string {
  const tf = terraformFixture(scenario);
  const redactor = collectSensitive(tf, new Redactor());
  return redactor.redact(formatPlan(summarize(tf), nomadFixture(scenario)));
}

describe("Nomad's diff, as nomad job plan prints it, changed fields only", () => {
  it('a worker memory change names the group, the task, the field and both values, and nothing else', () => {
    expect(formatJobDiff(nomadFixture('worker-memory').Diff)).toBe(WORKER_MEMORY_DIFF.join('\n'));
  });

  it('leaves out the unchanged context Nomad sends along (CPU, other groups, the sidecar task)', () => {
    const diff = nomadFixture('worker-memory').Diff;
    const resources = diff.TaskGroups!.find((g) => g.Name === 'sidekiq-long')!.Tasks!.find((t) => t.Name === 'sidekiq')!.Objects![0]!;
    // The recording holds the context: the test would pass vacuously without it.
    expect(resources.Fields!.map((f) => f.Name)).toContain('CPU');
    expect(diff.TaskGroups!.map((g) => g.Name)).toContain('web');
    const text = formatJobDiff(diff);
    for (const absent of ['CPU', 'web', 'sidekiq-default', 'connect-proxy']) expect(text).not.toContain(absent);
  });

  it('an unchanged job says so', () => {
    expect(formatJobDiff(nomadFixture('unchanged').Diff)).toBe('Job: "rails": no changes');
  });

  it('a new job names its groups and tasks as added, without expanding every field', () => {
    const text = formatJobDiff(nomadFixture('first-no-docker-node').Diff);
    expect(text.split('\n').slice(0, 4)).toEqual([
      '+ Job: "rails"',
      '+ Task Group: "sidekiq-constant" (1 create)',
      '  + Task: "connect-proxy-sidekiq-constant" (forces create)',
      '  + Task: "sidekiq" (forces create)',
    ]);
    expect(text).not.toContain('MemoryMB');
  });

  it("a group's own field: web's count, with what the scheduler does to its allocations", () => {
    expect(formatJobDiff(nomadFixture('web-count').Diff)).toBe(
      ['+/- Job: "rails"', '+/- Task Group: "web" (1 create, 1 in-place update)', '  +/- Count: "1" => "2" (forces create)'].join('\n'),
    );
    expect(formatDryRun(nomadFixture('web-count'))).toContain("  group 'web': 1 place, 1 in-place update\n  6 unchanged groups: nothing restarts");
  });

  it('a removed worker: the group and its tasks as deleted, its allocation stopped', () => {
    expect(formatJobDiff(nomadFixture('worker-removed').Diff)).toBe(
      [
        '+/- Job: "rails"',
        '- Task Group: "sidekiq-daily" (1 destroy)',
        '  - Task: "connect-proxy-sidekiq-daily" (forces destroy)',
        '  - Task: "sidekiq" (forces destroy)',
      ].join('\n'),
    );
    expect(formatDryRun(nomadFixture('worker-removed'))).toContain("  group 'sidekiq-daily': 1 stop");
  });

  it('an image to be built shows the old digest and the placeholder tag', () => {
    const text = formatJobDiff(nomadFixture('source-change').Diff);
    expect(text).toMatch(/\+\/- image: "127\.0\.0\.1:\d+\/wikiedu-web@sha256:[a-f0-9]{64}" => "127\.0\.0\.1:\d+\/wikiedu-web:ctx-[a-f0-9]{16} \(to be built\)"/);
    expect(text.match(/Task Group: /g)).toHaveLength(7);
  });
});

describe("the scheduler's dry run", () => {
  it('names the group that is replaced, counts the groups left alone, and says all can be placed', () => {
    expect(formatDryRun(nomadFixture('worker-memory'))).toBe(
      ['Scheduler dry run:', "  group 'sidekiq-long': 1 create/destroy update", '  6 unchanged groups: nothing restarts', '  every allocation can be placed'].join('\n'),
    );
  });

  it('a group asking for more memory than any node has: the group, the reason and the counts behind it', () => {
    const text = formatDryRun(nomadFixture('worker-memory-too-large'));
    expect(text).toContain(`group 'sidekiq-long': cannot place 1 allocation: no node has enough memory: Dimension "memory" exhausted on 1 node`);
    expect(text).toContain('    2 nodes evaluated, 1 filtered, 1 exhausted');
    expect(text).toContain('    * Constraint "missing drivers": 1 node excluded by filter');
    expect(text).not.toContain('every allocation can be placed');
  });

  it('every node filtered out by a constraint: names the constraint for each group', () => {
    const text = formatDryRun(nomadFixture('first-no-docker-node'));
    for (const group of ['web', 'sidekiq-constant', 'sidekiq-long']) {
      expect(text).toContain(`group '${group}': cannot place 1 allocation: every node was filtered out: Constraint "missing drivers" on 1 node`);
    }
  });

  it('no eligible node, coalesced failures, class and quota exhaustion', () => {
    const plan = {
      ...nomadFixture('worker-memory'),
      FailedTGAllocs: {
        web: { ...nomadFixture('worker-memory-too-large').FailedTGAllocs!['sidekiq-long']!, NodesEvaluated: 0, NodesFiltered: 0, NodesExhausted: 0, NodesAvailable: { dc1: 0 }, ConstraintFiltered: null, DimensionExhausted: null, CoalescedFailures: 1 },
        'sidekiq-long': { ...nomadFixture('worker-memory-too-large').FailedTGAllocs!['sidekiq-long']!, ClassExhausted: { large: 1 }, DimensionExhausted: { cpu: 1, memory: 1 }, QuotaExhausted: ['memory exhausted (2048 needed > 1024 limit)'] },
      },
    } as JobPlanResponse;
    const text = formatDryRun(plan);
    expect(text).toContain(`group 'web': cannot place 2 allocations: no node is available in datacenter "dc1"`);
    expect(text).toContain(`group 'sidekiq-long': cannot place 1 allocation: no node has enough resources: Dimension "cpu" exhausted on 1 node, Dimension "memory" exhausted on 1 node`);
    expect(text).toContain('* Class "large" exhausted on 1 node');
    expect(text).toContain('* Quota limit hit "memory exhausted (2048 needed > 1024 limit)"');
  });
});

describe('the Terraform line', () => {
  it('says whether the image is rebuilt, the job updated, and what else changes', () => {
    expect(formatTerraformSummary(summarize(terraformFixture('worker-memory')))).toBe("Terraform: image unchanged, job 'rails' updated, no other changes");
    expect(formatTerraformSummary(summarize(terraformFixture('source-change')))).toBe("Terraform: image rebuilt and pushed, job 'rails' updated, other changes: terraform_data.release replaced");
    expect(formatTerraformSummary(summarize(terraformFixture('first-no-docker-node')))).toBe("Terraform: image built and pushed, job 'rails' created, other changes: nomad_variable.job_variables created, terraform_data.release created, terraform_data.runtime_config_revision created");
    const withVariable: TerraformSummary = { ...summarize(terraformFixture('unchanged')), others: [{ address: 'nomad_variable.rails', action: 'update' }], changed: true };
    expect(formatTerraformSummary(withVariable)).toBe("Terraform: image unchanged, job 'rails' unchanged, other changes: nomad_variable.rails updated");
  });

  it('comes first, above the diff and the dry run', () => {
    expect(report('worker-memory')).toBe(WORKER_MEMORY_REPORT);
  });
});

describe('exit status', () => {
  const code = (scenario: Scenario) => exitCode(summarize(terraformFixture(scenario)), nomadFixture(scenario));

  it('0 when nothing changes', () => expect(code('unchanged')).toBe(EXIT.noChanges));
  it('2 when something changes and every allocation can be placed', () => {
    for (const s of ['worker-memory', 'source-change', 'web-count', 'worker-removed', 'pull-password'] as const) expect(code(s), s).toBe(EXIT.changes);
  });
  it('3 when something changes that Nomad cannot place', () => {
    expect(code('worker-memory-too-large')).toBe(EXIT.unplaceable);
    expect(code('first-no-docker-node')).toBe(EXIT.unplaceable);
  });
  it('2 when only Terraform changes something (a Nomad variable), the job being the same', () => {
    const terraform = { ...summarize(terraformFixture('unchanged')), others: [{ address: 'nomad_variable.rails', action: 'update' as const }], changed: true };
    expect(nomadFixture('unchanged').Diff.Type).toBe('None');
    expect(exitCode(terraform, nomadFixture('unchanged'))).toBe(EXIT.changes);
  });
  it('the four codes are distinct', () => expect(new Set(Object.values(EXIT)).size).toBe(4));
});

describe('credentials never reach the output', () => {
  it('a changed pull password: the Nomad Variable is said to change, no value of it is printed, the jobspec holds none', () => {
    const terraform = JSON.stringify(terraformFixture('pull-password'));
    // The recording does carry both passwords (the variable's items): the test is not vacuous.
    expect(terraform).toContain(CANARY_PASSWORD);
    expect(terraform).toContain(RECORDED_PASSWORD);
    // Nomad reads the credentials from the variable when it pulls: its plan of the job has neither.
    expect(JSON.stringify(nomadFixture('pull-password'))).not.toMatch(new RegExp(`${CANARY_PASSWORD}|${RECORDED_PASSWORD}`));
    const text = report('pull-password');
    expect(text).toContain('other changes: nomad_variable.job_variables updated');
    expect(text).not.toContain(CANARY_PASSWORD);
    expect(text).not.toContain(RECORDED_PASSWORD);
  });

  it('a field whose name says it holds a secret is masked, whatever its value', () => {
    const plan = nomadFixture('worker-memory');
    const field = plan.Diff.TaskGroups!.find((g) => g.Name === 'sidekiq-long')!.Tasks!.find((t) => t.Name === 'sidekiq')!.Objects![0]!.Fields!.find((f) => f.Name === 'MemoryMB')!;
    Object.assign(field, { Name: 'auth[password]', Old: 'old-unlisted-value', New: 'new-unlisted-value' });
    const text = formatPlan(summarize(terraformFixture('worker-memory')), plan);
    expect(text).toContain(`+/- auth[password]: ${MASK} => ${MASK}`);
    expect(text).not.toMatch(/unlisted-value/);
  });

  it('a sensitive value under a harmless name is masked by value', () => {
    const plan = nomadFixture('worker-memory');
    const field = plan.Diff.TaskGroups!.find((g) => g.Name === 'sidekiq-long')!.Tasks!.find((t) => t.Name === 'sidekiq')!.Objects![0]!.Fields!.find((f) => f.Name === 'MemoryMB')!;
    field.Name = 'DATABASE_URL';
    field.New = `mysql://app:${CANARY_PASSWORD}@db/app`;
    const tf = terraformFixture('pull-password');
    const redactor = collectSensitive(tf, new Redactor());
    const text = redactor.redact(formatPlan(summarize(tf), plan));
    expect(text).toContain(`DATABASE_URL: "512" => "mysql://app:${MASK}@db/app"`);
    expect(text).not.toContain(CANARY_PASSWORD);
  });

  it('credentials in the environment are masked wherever they turn up', () => {
    const redactor = Redactor.fromEnvironment({
      NOMAD_TOKEN: 'c0ffee00-cafe-4bad-8a11-00000000c0de',
      DOCKER_REGISTRY_PASS: 'registry-pass-canary',
      TF_VAR_registry_pull_password: 'pull-pass-canary',
      NOMAD_ADDR: 'http://127.0.0.1:4646',
    });
    const text = redactor.redact('token c0ffee00-cafe-4bad-8a11-00000000c0de, push registry-pass-canary, pull pull-pass-canary, at http://127.0.0.1:4646');
    expect(text).toBe(`token ${MASK}, push ${MASK}, pull ${MASK}, at http://127.0.0.1:4646`);
  });
});
