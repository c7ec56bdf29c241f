import { describe, expect, it } from 'vitest';
import { Redactor } from '../../commands/secrets';
import { collectSensitive, evaluateTemplate, plannedJob, summarize, type TerraformPlan } from '../../commands/terraform-plan';
import { RECORDED_PASSWORD } from '../fixtures/plan/record';
import { synthesizedJobspec, terraformFixture } from './fixtures';

const NOT_NEEDED = () => {
  throw new Error('the synthesized jobspec was read although Terraform knows the jobspec');
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

  it("when the image is rebuilt, the synthesized jobspec with a placeholder image, escapes undone, Nomad's own ${…} intact", () => {
    const job = plannedJob(terraformFixture('source-change'), () => synthesizedJobspec('source-change'));
    expect(job.source).toBe('synthesized');
    const text = JSON.stringify(job.document);
    expect(text).not.toMatch(/\$\$\{|docker_registry_image|var\./);
    for (const group of job.document.Job.TaskGroups) {
      expect(group.Tasks[0]!.Config.image).toMatch(/^127\.0\.0\.1:\d+\/wikiedu-web:ctx-[0-9a-f]{16} \(to be built\)$/);
      // The pull credentials: read by the task's template from the Nomad Variable, never in the jobspec.
      expect(group.Tasks[0]!.Config.auth).toEqual({ username: '${REGISTRY_PULL_USERNAME}', password: '${REGISTRY_PULL_PASSWORD}' });
    }
    expect(job.document.Job.TaskGroups.find((g) => g.Name === 'sidekiq-long')!.Constraints![0]!.LTarget).toBe('${node.unique.name}');
  });

  it('the first deploy too (nothing in state yet)', () => {
    const job = plannedJob(terraformFixture('first-no-docker-node'), () => synthesizedJobspec('first-no-docker-node'));
    expect(job.document.Job.ID).toBe('rails');
    expect(job.document.Job.TaskGroups).toHaveLength(7);
  });

  it('a job Terraform would delete has nothing to plan', () => {
    const plan = terraformFixture('unchanged');
    const job = plan.resource_changes!.find((r) => r.type === 'nomad_job')!;
    job.change = { ...job.change, actions: ['delete'], after: null, after_unknown: {} };
    expect(() => plannedJob(plan, NOT_NEEDED)).toThrow('nomad_job.rails would be deleted');
  });
});

describe("Terraform's template escapes", () => {
  const none = (ref: string): string => {
    throw new Error(`unexpected reference ${ref}`);
  };

  it('$${ and %%{ are literal ${ and %{ (Nomad interpolations, consul-template directives)', () => {
    expect(evaluateTemplate('$${node.unique.name} %%{ if x }$${NOMAD_ALLOC_DIR}', none)).toBe('${node.unique.name} %{ if x }${NOMAD_ALLOC_DIR}');
  });

  it('${REGISTRY_PASSWORD} escaped for Terraform reaches Nomad as written', () => {
    expect(evaluateTemplate('{"password": "$${REGISTRY_PASSWORD}"}', none)).toBe('{"password": "${REGISTRY_PASSWORD}"}');
  });

  it('references are resolved; a reference plan cannot evaluate is named', () => {
    expect(evaluateTemplate('a ${var.x} b', (r) => `<${r}>`)).toBe('a <var.x> b');
    const plan: TerraformPlan = { format_version: '1.2', resource_changes: terraformFixture('source-change').resource_changes };
    expect(() => plannedJob(plan, () => '{"Job": {"ID": "${nomad_variable.rails.id}"}}')).toThrow('${nomad_variable.rails.id}');
  });

  it("another resource's attribute: its planned value when known, an error naming it when known only after apply", () => {
    const plan = terraformFixture('source-change');
    const job = plannedJob(plan, () => '{"Job": {"ID": "rails", "Meta": {"image": "${docker_image.image.name}"}}}');
    expect(job.document.Job.Meta).toEqual({ image: expect.stringMatching(/^127\.0\.0\.1:\d+\/wikiedu-web:ctx-[0-9a-f]{16}$/) });
    expect(() => plannedJob(plan, () => '{"Job": {"ID": "${docker_image.image.image_id}"}}')).toThrow('the jobspec uses ${docker_image.image.image_id}, which is known only after apply');
  });

  it('a variable value is spliced into the JSON string quoted', () => {
    const plan = terraformFixture('source-change');
    plan.variables!.registry_pull_password = { value: 'pa"ss\\word' };
    const job = plannedJob(plan, () => '{"Job": {"ID": "rails", "Meta": {"password": "${var.registry_pull_password}"}}}');
    expect(job.document.Job.Meta).toEqual({ password: 'pa"ss\\word' });
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
