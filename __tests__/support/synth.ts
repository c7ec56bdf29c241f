import { readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Testing } from 'cdktf';
import type { Job, JobDocument } from '../../constructs/nomad/api';
import type { EdgeInputs } from '../../config/edge';
import { loadEnvironment } from '../../config/load';
import type { Environment } from '../../config/schema';
import { DashboardStack } from '../../stacks/dashboard-stack';

export const REPO_ROOT = resolve(__dirname, '../..');
export const FIXTURE_APP = resolve(__dirname, '../fixtures/rails-app');
/** Stand-in runtime configuration (config files and env values): shapes, no secrets. */
export const FIXTURE_CONFIG = resolve(__dirname, '../fixtures/runtime-config');

/** The edge a test machine has: the fixture app as the Rails checkout, the fixture runtime config, nothing else set. */
export function fixtureEdge(env: Record<string, string> = {}): EdgeInputs {
  return { env: { DASHBOARD_SOURCE: FIXTURE_APP, DASHBOARD_CONFIG_DIR: FIXTURE_CONFIG, ...env }, cwd: REPO_ROOT };
}

export function fixtureEnvironment(name: string, env: Record<string, string> = {}): Environment {
  return loadEnvironment(name, fixtureEdge(env));
}

/** The stack's Terraform JSON, validations run, as cdktf would write it. */
export interface SynthesizedStack {
  terraform: Record<string, any>;
  provider: Record<string, any>;
  resource: Record<string, Record<string, any>>;
  variable?: Record<string, any>;
}

export function synthEnvironment(environment: Environment): SynthesizedStack {
  const app = Testing.app();
  const stack = new DashboardStack(app, environment.name, { environment, projectDir: REPO_ROOT });
  return JSON.parse(Testing.synth(stack, true)) as SynthesizedStack;
}

/**
 * The stack as `cdktf synth` writes it, `//` comments and all (Testing.synth drops them): the
 * rendered job `npm run plan` reads is one (RENDERED_JOB_KEY, constructs/nomad/api.ts).
 */
export function writtenStack(environment: Environment): SynthesizedStack {
  const app = Testing.app();
  const stack = new DashboardStack(app, environment.name, { environment, projectDir: REPO_ROOT });
  const outdir = Testing.fullSynth(stack);
  try {
    return JSON.parse(readFileSync(join(outdir, 'stacks', environment.name, 'cdk.tf.json'), 'utf8')) as SynthesizedStack;
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

/** What Terraform does to the jobspec string before the provider sees it: `$${` becomes `${`. */
export function terraformUnescape(text: string): string {
  return text.replace(/\$\$\{/g, '${').replace(/%%\{/g, '%{');
}

/** The job Nomad receives, with Terraform references left as `${…}` text. */
export function jobOf(stack: SynthesizedStack, jobId = 'rails'): Job {
  const resource = stack.resource.nomad_job?.[jobId.replace(/[^A-Za-z0-9_-]/g, '_')];
  if (!resource) throw new Error(`no nomad_job.${jobId} in ${Object.keys(stack.resource.nomad_job ?? {}).join(', ')}`);
  return (JSON.parse(terraformUnescape(resource.jobspec)) as JobDocument).Job;
}

/** Machine-specific paths out, so a snapshot is the same in every clone. */
export function portable<T>(value: T): T {
  return JSON.parse(JSON.stringify(value).split(REPO_ROOT).join('<repo>')) as T;
}
