import { chmodSync, existsSync } from 'node:fs';
import { Annotations, App, DISABLE_STACK_TRACE_IN_METADATA, TerraformStack } from 'cdktf';
import { ConfigError, ENVIRONMENTS, loadEnvironment } from './config/load';
import type { ContextDigest } from './config/build-context';
import type { EdgeInputs } from './config/edge';
import { localStatePath } from './config/state';
import { formatCapacity } from './constructs/nomad/capacity';
import { DashboardStack } from './stacks/dashboard-stack';

/**
 * The variable the deploy path sets to the one stack it deploys (npm run deploy, npm run plan):
 * only that stack is built, and what synth has to say of it is printed plainly. Without it (cdktf's
 * own CLI, npm run synth) every stack is built and those notes become the stacks' warnings, which
 * cdktf prints as warnings under each stack's name.
 */
export const STACK_VARIABLE = 'DASHBOARD_STACK';

/** Builds every environment's stack (or the one DASHBOARD_STACK names). The one place the program reads the machine it runs on. */
export function buildApp(edge: EdgeInputs, outdir?: string): App {
  // No stack trace in each warning's metadata: the warnings name their stack, and synth is faster.
  const app = new App({ ...(outdir ? { outdir } : {}), context: { [DISABLE_STACK_TRACE_IN_METADATA]: true } });
  const only = edge.env[STACK_VARIABLE];
  if (only !== undefined && !(only in ENVIRONMENTS)) throw new ConfigError(only, [`${STACK_VARIABLE}: no such environment; known: ${Object.keys(ENVIRONMENTS).join(', ')}`]);
  // Every stack builds from the same checkout: hash it once.
  const digests = new Map<string, ContextDigest>();
  for (const name of only ? [only] : Object.keys(ENVIRONMENTS)) {
    const notes: string[] = [];
    const environment = loadEnvironment(name, edge, { log: (m) => process.stderr.write(`${m}\n`), warn: (m) => notes.push(m), digests });
    const statePath = localStatePath(name, edge);
    const stack = new DashboardStack(app, name, { environment, statePath, projectDir: edge.cwd });
    if (environment.state.backend === 'local') protectState(statePath);
    const plan = stack.job.capacityPlan();
    if (only) {
      for (const note of notes) process.stderr.write(`warning: ${note}\n`);
      if (plan) process.stderr.write(`capacity of job '${stack.job.jobId}' on ${name}'s declared nodes\n${formatCapacity(plan)}\n`);
    } else {
      for (const note of notes) Annotations.of(stack).addWarning(note);
    }
  }
  return app;
}

/**
 * State holds the pull credentials and the app's secrets. Terraform creates it under the
 * umask of the process that runs it (077 in the npm scripts and the tools' terraform wrapper);
 * a state file left readable to others by an earlier run is made the owner's alone here.
 */
function protectState(statePath: string): void {
  for (const file of [statePath, `${statePath}.backup`]) if (existsSync(file)) chmodSync(file, 0o600);
}

/** Synthesizes every stack; on a broken rule, says which and fails. .ci/launch.cjs calls it. */
export function main(): void {
  try {
    buildApp({ env: process.env, cwd: process.cwd() }).synth();
  } catch (e) {
    // A person reads this: the rule that broke, not a stack trace.
    const message = e instanceof ConfigError ? e.message : `synth failed: ${(e as Error).message}`;
    if (process.env.CDKTF_CONTINUE_SYNTH_ON_ERROR_ANNOTATIONS !== undefined) {
      reportToCdktf(message);
      return;
    }
    process.stderr.write(`${message}\n`);
    process.exit(1);
  }
}

/**
 * The cdktf CLI (which sets CDKTF_CONTINUE_SYNTH_ON_ERROR_ANNOTATIONS for the app) prints
 * whatever an app writes to stderr twice when it fails: as it arrives, and again under
 * "Command output on stderr". An error annotation it prints once, and then refuses to go on
 * with synth, diff or deploy. The stack that carries it is empty and named for what it is.
 */
function reportToCdktf(message: string): void {
  const app = new App({ context: { [DISABLE_STACK_TRACE_IN_METADATA]: true } });
  Annotations.of(new TerraformStack(app, 'invalid-configuration')).addError(message);
  app.synth();
}

if (require.main === module) main();
