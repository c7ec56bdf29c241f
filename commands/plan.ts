import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, ENVIRONMENTS, loadEnvironment } from '../config/load';
import { NomadClient, nomadConnection, NomadError } from './nomad-client';
import { EXIT, exitCode, formatPlan } from './plan-format';
import { Redactor } from './secrets';
import { StepError, synthesize, synthesizedStack, terraformPlan, type Steps } from './terraform';
import { collectSensitive, plannedJob, summarize } from './terraform-plan';

const USAGE = `usage: npm run plan -- <environment>   (${Object.keys(ENVIRONMENTS).join(', ')})

Prints what Terraform and Nomad would change, without changing anything.
Exit status: 0 no changes, 2 changes, 3 changes Nomad cannot place, 1 error.`;

export interface PlanIo {
  readonly env: NodeJS.ProcessEnv;
  /** The project: cdktf.json, main.ts, config/. */
  readonly cwd: string;
  stdout(text: string): void;
  stderr(text: string): void;
}

/**
 * `npm run plan -- <env>`: synth, `terraform plan` of the environment's stack, then Nomad's
 * plan of the job Terraform would register. Prints Terraform's one-line summary, Nomad's diff
 * and the scheduler's dry run; returns the exit status (see EXIT).
 */
export async function plan(args: readonly string[], io: PlanIo): Promise<number> {
  const name = args[0];
  if (args.length !== 1 || !name || name.startsWith('-')) {
    io.stderr(`${USAGE}\n`);
    return EXIT.error;
  }
  const redactor = Redactor.fromEnvironment(io.env);
  const steps: Steps = { env: io.env, redactor, progress: (m) => io.stderr(`plan: ${redactor.redact(m)}\n`) };
  try {
    // Validated before the slow steps: an unknown environment or a bad config fails in a second.
    const environment = loadEnvironment(name, { env: io.env, cwd: io.cwd });
    const stackDir = synthesizedStack(synthesize(io.cwd, steps), name, steps);
    const tf = terraformPlan(stackDir, steps);
    collectSensitive(tf, redactor);
    const summary = summarize(tf);
    const job = plannedJob(tf, () => synthesizedJobspec(stackDir, summary.job.address));
    if (job.source === 'synthesized') steps.progress('the jobspec holds values known only after apply (a new image\'s digest, a new runtime config revision): the job is planned with placeholders');

    const nomad = new NomadClient(nomadConnection(environment.nomad, io.env));
    steps.progress(`nomad plan of job '${job.document.Job.ID}' at ${nomad.connection.address}…`);
    const started = Date.now();
    const response = await nomad.plan(job.document);
    steps.progress(`nomad plan: done in ${((Date.now() - started) / 1000).toFixed(1)}s`);
    io.stdout(redactor.redact(formatPlan(summary, response)));
    return exitCode(summary, response);
  } catch (e) {
    const known = e instanceof ConfigError || e instanceof StepError || e instanceof NomadError;
    const message = known ? (e as Error).message : `plan failed: ${(e as Error).message}`;
    io.stderr(`${redactor.redact(message)}\n`);
    return EXIT.error;
  }
}

/** The jobspec as synth wrote it, Terraform's escapes and references still in it. */
function synthesizedJobspec(stackDir: string, address: string): string {
  const stack = JSON.parse(readFileSync(join(stackDir, 'cdk.tf.json'), 'utf8')) as { resource?: Record<string, Record<string, { jobspec?: unknown }>> };
  const [type, name] = address.split('.') as [string, string];
  const jobspec = stack.resource?.[type]?.[name]?.jobspec;
  if (typeof jobspec !== 'string') throw new Error(`${address} has no jobspec in ${stackDir}/cdk.tf.json`);
  return jobspec;
}

if (require.main === module) {
  plan(process.argv.slice(2), {
    env: process.env,
    cwd: process.cwd(),
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
  }).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`plan failed: ${(e as Error).message}\n`);
      process.exitCode = EXIT.error;
    },
  );
}
