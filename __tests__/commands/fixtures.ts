import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { JobPlanResponse } from '../../commands/nomad-client';
import type { TerraformPlan } from '../../commands/terraform-plan';

/** Recorded from a real Nomad 1.6.3 agent and Terraform 1.11 by __tests__/fixtures/plan/record.ts. */
const DIR = join(__dirname, '../fixtures/plan');

export type Scenario =
  | 'first-no-docker-node'
  | 'unchanged'
  | 'worker-memory'
  | 'worker-memory-too-large'
  | 'pull-password'
  | 'web-count'
  | 'worker-removed'
  | 'source-change';

export function terraformFixture(scenario: Scenario): TerraformPlan {
  return JSON.parse(readFileSync(join(DIR, `${scenario}.terraform.json`), 'utf8')) as TerraformPlan;
}

export function nomadFixture(scenario: Scenario): JobPlanResponse {
  return JSON.parse(readFileSync(join(DIR, `${scenario}.nomad.json`), 'utf8')) as JobPlanResponse;
}

/** The scenarios where Terraform knows the jobspec only after apply, so the plan reads the job synth rendered. */
export const RENDERED_SCENARIOS = ['first-no-docker-node', 'source-change'] as const;
export type RenderedScenario = (typeof RENDERED_SCENARIOS)[number];

/** The job the stack rendered at synth (RENDERED_JOB_KEY in constructs/nomad/api.ts), as recorded. */
export function renderedJobFixture(scenario: RenderedScenario): string {
  return readFileSync(renderedJobPath(scenario), 'utf8');
}

export function renderedJobPath(scenario: RenderedScenario): string {
  return join(DIR, `${scenario}.rendered-job.json`);
}

/** Nomad's diff for sidekiq-long's memory going from 512 to 640 MB, as `npm run plan` prints it: recorded, and seen live in the e2e test. */
export const WORKER_MEMORY_DIFF = [
  '+/- Job: "rails"',
  '+/- Task Group: "sidekiq-long" (1 create/destroy update)',
  '  +/- Task: "sidekiq" (forces create/destroy update)',
  '    +/- Resources {',
  '      +/- MemoryMB: "512" => "640"',
  '        }',
];

/** All `npm run plan -- local` prints on stdout for that change, on a cluster that can place it. */
export const WORKER_MEMORY_REPORT = [
  "Terraform: image unchanged, job 'rails' updated, no other changes",
  '',
  ...WORKER_MEMORY_DIFF,
  '',
  'Scheduler dry run:',
  "  group 'sidekiq-long': 1 create/destroy update",
  '  6 unchanged groups: nothing restarts',
  '  every allocation can be placed',
  '',
].join('\n');
