import { describe, expect, it } from 'vitest';
import type { TerraformPlan } from '../../commands/terraform-plan';
import { RECORDED_RELEASE } from '../fixtures/plan/record';
import { fixtureEnvironment, synthEnvironment } from '../support/synth';
import { type Scenario, terraformFixture } from './fixtures';

/**
 * The plan tests read recordings of real runs (__tests__/fixtures/plan/record.ts) of the local
 * stack, its release step turned on. A recording made before the stack gained or lost a
 * resource or a variable still passes them while describing another stack: these tests fail
 * instead, until it is recorded again.
 */
const SCENARIOS: readonly Scenario[] = [
  'first-no-docker-node', 'unchanged', 'worker-memory', 'worker-memory-too-large', 'pull-password', 'web-count', 'worker-removed', 'source-change',
];

const local = fixtureEnvironment('local');
const today = synthEnvironment({ ...local, release: { ...local.release!, command: [...RECORDED_RELEASE] } });
/** Terraform's addresses of the managed resources the local stack synthesizes today: `nomad_job.rails`. */
const resources = Object.entries(today.resource).flatMap(([type, byName]) => Object.keys(byName).map((name) => `${type}.${name}`)).sort();
const variables = Object.keys(today.variable ?? {}).sort();

/** The managed resources a plan changes or keeps, as `type.name`; an address of any other form is kept as it is, and differs. */
const planned = (plan: TerraformPlan) =>
  (plan.resource_changes ?? []).filter((r) => r.mode === 'managed').map((r) => (r.address === `${r.type}.${r.name}` ? r.address : `${r.address} (${r.type})`)).sort();

describe.each(SCENARIOS)('the %s recording', (scenario) => {
  const plan = terraformFixture(scenario);

  it('plans the resources the local stack synthesizes today, type and address (record again if not: see record.ts)', () => {
    expect(planned(plan)).toEqual(resources);
  });

  it('declares the variables the local stack synthesizes today', () => {
    expect(Object.keys(plan.configuration?.root_module?.variables ?? {}).sort()).toEqual(variables);
  });
});

describe('the comparison', () => {
  it('sees a recording without the resources it lacked before (the Nomad Variable, the release step), or with another address', () => {
    expect(resources).toEqual(expect.arrayContaining(['nomad_variable.job_variables', 'terraform_data.release', 'nomad_job.rails']));
    const plan = terraformFixture('unchanged');
    const old = { ...plan, resource_changes: plan.resource_changes!.filter((r) => !['nomad_variable', 'terraform_data'].includes(r.type)) };
    expect(planned(old)).not.toEqual(resources);
    const moved = { ...plan, resource_changes: plan.resource_changes!.map((r) => (r.type === 'nomad_job' ? { ...r, address: 'module.app.nomad_job.rails' } : r)) };
    expect(planned(moved)).not.toEqual(resources);
  });
});
