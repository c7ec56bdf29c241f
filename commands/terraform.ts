import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redactor } from './secrets';
import type { TerraformPlan } from './terraform-plan';
import { automationEnv, streamed, terraformErrors } from './terraform-stream';

/** Where progress goes (stderr) and how failures are told: through the redactor, always. */
export interface Steps {
  readonly env: NodeJS.ProcessEnv;
  readonly redactor: Redactor;
  progress(message: string): void;
}

/** A step that failed: its message is for a person, already redacted. */
export class StepError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StepError';
  }
}

/**
 * Synthesizes one stack as `cdktf synth` does: the app command from cdktf.json, run in the
 * project with CDKTF_OUTDIR, writing `<project>/cdktf.out/stacks/<stack>/cdk.tf.json`; told the
 * stack (DASHBOARD_STACK, main.ts), the app builds that one only and prints what it says of it.
 */
export function synthesize(projectDir: string, stack: string, steps: Steps): string {
  const outdir = join(projectDir, 'cdktf.out');
  const { app } = JSON.parse(readFileSync(join(projectDir, 'cdktf.json'), 'utf8')) as { app: string };
  run('synth', app, [], { cwd: projectDir, shell: true, env: { ...steps.env, CDKTF_OUTDIR: outdir, DASHBOARD_STACK: stack } }, steps, { echoStderr: true });
  return outdir;
}

/**
 * The same synth, without blocking: into `outdir` (a deploy synthesizes beside the stack's
 * directory while Terraform already plans the last synthesized stack), its stderr passed on.
 */
export async function synthesizeInto(projectDir: string, stack: string, outdir: string, steps: Steps): Promise<string> {
  const { app } = JSON.parse(readFileSync(join(projectDir, 'cdktf.json'), 'utf8')) as { app: string };
  const started = Date.now();
  steps.progress('synth…');
  const run = await streamed('sh', ['-c', app], { cwd: projectDir, env: { ...steps.env, CDKTF_OUTDIR: outdir, DASHBOARD_STACK: stack }, redactor: steps.redactor });
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  if (run.status !== 0) throw new StepError(`synth failed (exit ${run.status ?? run.signal}, ${seconds}s):\n${indent(run.output.split('\n').slice(-60).join('\n'))}`);
  for (const line of run.output.split('\n').filter(Boolean)) steps.progress(line);
  steps.progress(`synth: done in ${seconds}s`);
  return outdir;
}

interface Manifest {
  stacks: Record<string, { workingDirectory: string; annotations?: { level: string; message: string; constructPath: string }[] }>;
}

/**
 * A stack's directory in synth's output, its warnings passed on to stderr; its error
 * annotations fail the step, as they fail `cdktf synth`.
 */
export function synthesizedStack(outdir: string, name: string, steps: Steps): string {
  const manifest = JSON.parse(readFileSync(join(outdir, 'manifest.json'), 'utf8')) as Manifest;
  const stack = manifest.stacks[name];
  if (!stack) throw new StepError(`synth wrote no stack '${name}' (it wrote: ${Object.keys(manifest.stacks).join(', ')})`);
  const annotations = stack.annotations ?? [];
  for (const a of annotations.filter((a) => a.level === '@cdktf/warn')) steps.progress(`warning: ${a.constructPath}: ${a.message}`);
  const errors = annotations.filter((a) => a.level === '@cdktf/error');
  if (errors.length > 0) throw new StepError(`synth: stack '${name}' has errors:\n${errors.map((e) => `  ${e.constructPath}: ${e.message}`).join('\n')}`);
  return join(outdir, stack.workingDirectory);
}

/**
 * `terraform init`, `terraform plan -out` and `terraform show -json` in a stack's directory.
 * The plan is never applied and takes no state lock; the plan file (it holds the sensitive
 * values in clear) lives in a private temporary directory, removed before this returns.
 */
export function terraformPlan(stackDir: string, steps: Steps): TerraformPlan {
  const env = automationEnv(steps.env);
  run('terraform init', 'terraform', ['init', '-input=false', '-no-color'], { cwd: stackDir, env }, steps);
  const dir = mkdtempSync(join(tmpdir(), 'dashboard-plan-'));
  try {
    const planFile = join(dir, 'plan.tfplan');
    run('terraform plan', 'terraform', ['plan', '-input=false', '-lock=false', '-no-color', `-out=${planFile}`], { cwd: stackDir, env }, steps);
    const json = run('terraform show', 'terraform', ['show', '-json', '-no-color', planFile], { cwd: stackDir, env }, steps, { quiet: true });
    return JSON.parse(json) as TerraformPlan;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

interface SpawnOptions {
  cwd: string;
  env: NodeJS.ProcessEnv;
  shell?: boolean;
}

/** Runs a step, timing it on stderr; returns its stdout. Its output is shown only when it fails, redacted. */
export function run(label: string, command: string, args: string[], options: SpawnOptions, steps: Steps, { quiet = false, echoStderr = false } = {}): string {
  const started = Date.now();
  if (!quiet) steps.progress(`${label}…`);
  const r = spawnSync(command, args, { ...options, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, stdio: ['ignore', 'pipe', 'pipe'] });
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  if (r.error) throw new StepError(`${label}: could not run ${command}: ${r.error.message}`);
  if (r.status !== 0) {
    const output = steps.redactor.redact(`${quiet ? '' : r.stdout ?? ''}${r.stderr ?? ''}`.trim());
    // Terraform's error blocks are the cause; without one, the output's last lines.
    const cause = terraformErrors(output).join('\n\n') || output.split('\n').slice(-60).join('\n');
    throw new StepError(`${label} failed (exit ${r.status}, ${seconds}s):\n${indent(cause)}`);
  }
  if (echoStderr) for (const line of (r.stderr ?? '').split('\n').filter(Boolean)) steps.progress(steps.redactor.redact(line));
  if (!quiet) steps.progress(`${label}: done in ${seconds}s`);
  return r.stdout;
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n');
}
