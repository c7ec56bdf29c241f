import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { backendRecordPath } from './backend-record';
import type { Redactor } from './secrets';
import { stackBackend } from './terraform-state';
import { streamed, type StreamedRun } from './terraform-stream';

/**
 * Whether `terraform init` has run in the stack's directory, its record of the backend still there
 * (`npm run state` removes it after a move, so that the next deploy sets the new backend up).
 */
export function isInitialized(stackDir: string): boolean {
  return existsSync(backendRecordPath(stackDir)) && existsSync(join(stackDir, '.terraform.lock.hcl'));
}

/** The stack as last synthesized into a directory `terraform init` prepared; undefined when there is none to plan. */
export function lastStack(stackDir: string): string | undefined {
  return existsSync(join(stackDir, 'cdk.tf.json')) && isInitialized(stackDir) ? readFileSync(join(stackDir, 'cdk.tf.json'), 'utf8') : undefined;
}

/**
 * The stack a plan may run ahead of synth on: the one last synthesized into a directory `terraform
 * init` prepared; none with --adopt (the import comes before any plan), nor on a local state file
 * that is not there yet (planAheadOn). `otherBackends: false` (deploy.ts, before the config is
 * read and a shared backend's secret checked) takes a local state file only.
 */
export function planAheadStack(stackDir: string, options: { readonly adopt?: boolean | undefined; readonly otherBackends: boolean }): string | undefined {
  if (options.adopt) return undefined;
  const last = lastStack(stackDir);
  if (last === undefined) return undefined;
  const { stateFile } = stackBackend(last, stackDir);
  if (stateFile === undefined) return options.otherBackends ? last : undefined;
  return planAheadOn(stateFile) ? last : undefined;
}

/**
 * Whether a plan may run ahead on this local state file: only when it is there. To lock a
 * state file that is not there, Terraform creates it empty for the plan's length, and a deploy
 * reading it meanwhile, or after a plan stopped hard, would take it for a broken one.
 */
export function planAheadOn(statePath: string): boolean {
  try {
    return statSync(statePath).size > 0;
  } catch {
    return false;
  }
}

/** Where a deploy writes its plan, in its private directory: the plan file holds the sensitive values in clear. */
export function planFileIn(dir: string): string {
  return join(dir, 'plan.tfplan');
}

/** The deploy's plan, to a file, its exit code telling changes (2) from none (0). */
export function planArguments(planFile: string): string[] {
  return ['plan', '-input=false', '-no-color', '-detailed-exitcode', `-out=${planFile}`];
}

/** A plan run ahead of synth, its output kept back: shown if it is kept, dropped if it is stopped. */
export interface PlanAhead {
  readonly result: Promise<StreamedRun>;
  /** Stops it (SIGTERM: Terraform stops at once and frees the state lock) and waits for it to end. */
  cancel(): Promise<void>;
}

export function startPlanAhead(stackDir: string, args: string[], env: Record<string, string | undefined>, redactor: Redactor): PlanAhead {
  const controller = new AbortController();
  const result = streamed('terraform', args, { cwd: stackDir, env, redactor, signal: controller.signal });
  return {
    result,
    async cancel() {
      controller.abort('SIGTERM');
      await result;
    },
  };
}

/** Terraform's words when another run holds the state lock and the lock timeout ran out. */
export function lockWasHeld(output: string): boolean {
  return /Error acquiring the state lock/.test(output);
}
