import { describe, expect, it } from 'vitest';
import { Redactor } from '../../commands/secrets';
import { collectSensitive, plannedJob, summarize, type TerraformPlan } from '../../commands/terraform-plan';
import { RENDERED_JOB_KEY, referenceMark } from '../../constructs/nomad/api';
import { RECORDED_PASSWORD } from '../fixtures/plan/record';
import { jobOf, writtenStack, fixtureEnvironment } from '../support/synth';
import { RENDERED_SCENARIOS, renderedJobFixture, terraformFixture } from './fixtures';

const NOT_NEEDED = () => {
  throw new Error('the rendered job was read although Terraform knows the jobspec');
};

describe("Terraform's plan, summarized", () => {
  it('a config change: image unchanged, job updated', () => {
    expect(summarize(terraformFixture('worker-memory'))).toEqual({
      image: 'unchanged',
      job: { address: 'nomad_job.rails', name: 'rails', action: 'update' },
      others: [],
      changed: true,
    });
  });

  it('a source change: image replaced (rebuilt), job updated', () => {
    const s = summarize(terraformFixture('source-change'));
    expect([s.image, s.job.action]).toEqual(['rebuild', 'update']);
  });

  it('nothing deployed yet: image built, job created', () => {
    const s = summarize(terraformFixture('first-no-docker-node'));
    expect([s.image, s.job.action, s.changed]).toEqual(['build', 'create', true]);
  });

  it('no change: nothing changed', () => {
    const s = summarize(terraformFixture('unchanged'));
    expect([s.image, s.job.action, s.changed]).toEqual(['unchanged', 'unchanged', false]);
  });

  it('any other managed resource that changes is listed (a nomad_variable)', () => {
    const plan = terraformFixture('unchanged');
    plan.resource_changes!.push({
      address: 'nomad_variable.rails',
      mode: 'managed',
      type: 'nomad_variable',
      name: 'rails',
      change: { actions: ['update'], before: { items: { a: 'old-variable-secret' } }, after: { items: { a: 'new-variable-secret' } }, before_sensitive: { items: true }, after_sensitive: { items: true } },
    });
    const s = summarize(plan);
    expect(s.others).toEqual([{ address: 'nomad_variable.rails', action: 'update' }]);
    expect(s.changed).toBe(true);
    const redactor = collectSensitive(plan, new Redactor());
    expect(redactor.redact('old-variable-secret new-variable-secret')).not.toMatch(/variable-secret/);
  });
});

describe('the job handed to Nomad', () => {
  it("Terraform's evaluated jobspec when it is known: Nomad's ${…} intact, the new memory in it", () => {
    const job = plannedJob(terraformFixture('worker-memory'), NOT_NEEDED);
    expect(job.source).toBe('terraform');
    const long = job.document.Job.TaskGroups.find((g) => g.Name === 'sidekiq-long')!;
    expect(long.Tasks[0]!.Resources.MemoryMB).toBe(640);
    expect(long.Constraints).toEqual([{ LTarget: '${node.unique.name}', RTarget: 'node-railsweb', Operand: '!=' }]);
  });

  it("when the image is rebuilt, the job synth rendered, a placeholder image in it, Nomad's own ${…} intact", () => {
    const job = plannedJob(terraformFixture('source-change'), () => renderedJobFixture('source-change'));
    expect(job.source).toBe('rendered');
    const text = JSON.stringify(job.document);
    expect(text).not.toMatch(/\$\$\{|docker_registry_image|terraform_data|var\.|\\u000[01]/);
    // The runtime config did not change: its revision is the one in state.
    expect(job.document.Job.TaskGroups[0]!.Tasks[0]!.Meta).toEqual({ runtime_config_revision: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f-]{27}$/) });
    for (const group of job.document.Job.TaskGroups) {
      expect(group.Tasks[0]!.Config.image).toMatch(/^127\.0\.0\.1:\d+\/wikiedu-web:ctx-[0-9a-f]{16} \(to be built\)$/);
      // The pull credentials: read by the task's template from the Nomad Variable, never in the jobspec.
      expect(group.Tasks[0]!.Config.auth).toEqual({ username: '${REGISTRY_PULL_USERNAME}', password: '${REGISTRY_PULL_PASSWORD}' });
    }
    expect(job.document.Job.TaskGroups.find((g) => g.Name === 'sidekiq-long')!.Constraints![0]!.LTarget).toBe('${node.unique.name}');
  });

  it('the first deploy too (nothing in state yet)', () => {
    const job = plannedJob(terraformFixture('first-no-docker-node'), () => renderedJobFixture('first-no-docker-node'));
    expect(job.document.Job.ID).toBe('rails');
    expect(job.document.Job.TaskGroups[0]!.Tasks[0]!.Meta).toEqual({ runtime_config_revision: '(new runtime_config_revision, known after apply)' });
    expect(job.document.Job.TaskGroups).toHaveLength(7);
  });

  it('a job Terraform would delete has nothing to plan', () => {
    const plan = terraformFixture('unchanged');
    const job = plan.resource_changes!.find((r) => r.type === 'nomad_job')!;
    job.change = { ...job.change, actions: ['delete'], after: null, after_unknown: {} };
    expect(() => plannedJob(plan, NOT_NEEDED)).toThrow('nomad_job.rails would be deleted');
  });
});

describe('the job synth rendered beside the jobspec', () => {
  it('is the jobspec Terraform evaluates, its references marked instead of written ${…}, nothing escaped', () => {
    const stack = writtenStack(fixtureEnvironment('local'));
    const rendered = stack.resource.nomad_job.rails['//'][RENDERED_JOB_KEY] as string;
    const references = [...rendered.matchAll(/\\u0000([^\\]+)\\u0000/g)].map((m) => m[1]);
    expect(new Set(references)).toEqual(new Set(['docker_registry_image.image.sha256_digest', 'terraform_data.runtime_config_revision.id']));
    const written = JSON.parse(JSON.stringify(JSON.parse(rendered)).replace(/\\u0000([^\\]+)\\u0000/g, '${$1}'));
    expect(written).toEqual({ Job: jobOf(stack) });
  });

  it('the recordings hold the references the stack renders today (record again if not: see record.ts)', () => {
    const today = writtenStack(fixtureEnvironment('local')).resource.nomad_job.rails['//'][RENDERED_JOB_KEY] as string;
    const marks = (text: string) => new Set(text.match(/\\u0000[^\\]+\\u0000/g));
    for (const scenario of RENDERED_SCENARIOS) expect(marks(renderedJobFixture(scenario))).toEqual(marks(today));
  });
});

describe('the references in the rendered job', () => {
  /** A rendered job (RENDERED_JOB_KEY) holding the given Job fields, references marked as synth marks them. */
  const rendered = (job: object) => () => JSON.stringify({ Job: { ID: 'rails', ...job } });

  it('a reference npm run plan cannot evaluate is named', () => {
    const plan: TerraformPlan = { format_version: '1.2', resource_changes: terraformFixture('source-change').resource_changes };
    expect(() => plannedJob(plan, rendered({ Name: referenceMark('nomad_variable.rails.id') }))).toThrow('the jobspec uses ${nomad_variable.rails.id}, which npm run plan cannot evaluate before apply');
  });

  it("another resource's attribute: its planned value when known, an error naming it when known only after apply", () => {
    const plan = terraformFixture('source-change');
    const job = plannedJob(plan, rendered({ Meta: { image: referenceMark('docker_image.image.name') } }));
    expect(job.document.Job.Meta).toEqual({ image: expect.stringMatching(/^127\.0\.0\.1:\d+\/wikiedu-web:ctx-[0-9a-f]{16}$/) });
    expect(() => plannedJob(plan, rendered({ Name: referenceMark('docker_image.image.image_id') }))).toThrow('the jobspec uses ${docker_image.image.image_id}, which is known only after apply');
  });

  it('a value is put in as it is, inside the string that holds its reference, and in a key too', () => {
    const plan = terraformFixture('source-change');
    plan.variables!.registry_pull_password = { value: 'pa"ss\\word ${x}' };
    const job = plannedJob(plan, rendered({ Meta: { password: `<${referenceMark('var.registry_pull_password')}>`, [`k-${referenceMark('var.registry_pull_password')}`]: 'v' } }));
    expect(job.document.Job.Meta).toEqual({ password: '<pa"ss\\word ${x}>', 'k-pa"ss\\word ${x}': 'v' });
  });

  it('a reference alone in its string takes its value as it is: a count from a variable stays a number', () => {
    const plan = terraformFixture('source-change');
    plan.variables!.web_count = { value: 3 };
    const job = plannedJob(plan, rendered({ Meta: { count: `n=${referenceMark('var.web_count')}` }, TaskGroups: [{ Name: 'web', Count: referenceMark('var.web_count') }] }));
    expect(job.document.Job.TaskGroups[0]!.Count).toBe(3);
    expect(job.document.Job.Meta).toEqual({ count: 'n=3' });
  });

  it("a digest to be built: the tag to be pushed where the string is the image, named where it is part of one", () => {
    const plan = terraformFixture('source-change');
    const digest = referenceMark('docker_registry_image.image.sha256_digest');
    const job = plannedJob(plan, rendered({ Meta: { image: `127.0.0.1:5000/wikiedu-web@${digest}`, note: `built as ${digest}` } }));
    expect(job.document.Job.Meta!.image).toMatch(/^127\.0\.0\.1:\d+\/wikiedu-web:ctx-[0-9a-f]{16} \(to be built\)$/);
    expect(job.document.Job.Meta!.note).toMatch(/^built as \(digest of 127\.0\.0\.1:\d+\/wikiedu-web:ctx-[0-9a-f]{16}, to be built\)$/);
  });
});

describe('sensitive values of the plan', () => {
  it('sensitive variables are collected, others are not', () => {
    const plan = terraformFixture('worker-memory');
    const socket = plan.variables!.docker_socket!.value as string;
    const redactor = collectSensitive(plan, new Redactor());
    expect(redactor.redact(`socket ${socket}, password ${RECORDED_PASSWORD}`)).toBe(`socket ${socket}, password (sensitive value)`);
  });
});
