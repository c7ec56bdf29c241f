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

/** The jobspec synth wrote, for the scenarios where Terraform knows it only after apply. */
export function synthesizedJobspec(scenario: 'first-no-docker-node' | 'source-change'): string {
  return readFileSync(join(DIR, `${scenario}.synthesized-jobspec.txt`), 'utf8');
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
