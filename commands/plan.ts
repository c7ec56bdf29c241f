import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RENDERED_JOB_KEY } from '../constructs/nomad/api';
import { loadEnvironment } from '../config/load';
import { refuseOtherBackend } from './backend-record';
import { deployNeeds, requireCapabilities } from './capabilities';
import { type Command, CommandError, ENVIRONMENT_NAMES, environmentNamed, parseCommandLine, runMain } from './cli';
import { detectDrift } from './drift';
import { NomadClient, nomadConnection } from './nomad-client';
import { EXIT, exitCode, formatPlan } from './plan-format';
import { Redactor } from './secrets';
import { StepError, synthesize, synthesizedStack, terraformPlan, type Steps } from './terraform';
import { collectSensitive, plannedJob, summarize } from './terraform-plan';
import { readRegisteredJob } from './terraform-state';

const USAGE = `usage: npm run plan -- <environment>   (${ENVIRONMENT_NAMES})

Prints what Terraform and Nomad would change, without changing anything, and what was changed
in Nomad by hand since this tool registered the job (drift), which a deploy puts back. First
checks that the Nomad token can do what a deploy does: if not, it says what the token lacks, and stops.
Exit status: 0 no changes, 2 changes, 3 changes Nomad cannot place, 1 error, 130 interrupted.`;

/**
 * `npm run plan -- <env>`: synth, `terraform plan` of the environment's stack, then Nomad's
 * plan of the job Terraform would register, and the drift check (drift.ts). Prints Terraform's
 * one-line summary, the drift, Nomad's diff and the scheduler's dry run; returns the exit
 * status (see EXIT): drift alone is a change, since a deploy puts it back.
 */
export const planCommand: Command = {
  name: 'plan',
  usage: USAGE,
  async run(args, io) {
    const { positionals } = parseCommandLine(args, {}, { positionals: ['environment'] });
    const name = environmentNamed(positionals[0]!);
    const redactor = Redactor.fromEnvironment(io.env);
    const steps: Steps = { env: io.env, redactor, progress: (m) => io.stderr(`plan: ${redactor.redact(m)}\n`) };
    try {
      // Validated before the slow steps: a bad config fails in a second.
      const environment = loadEnvironment(name, { env: io.env, cwd: io.cwd });
      const nomad = new NomadClient(nomadConnection(environment.nomad, io.env));
      // A token that could not deploy is refused before synth, as the deploy refuses it before it builds.
      const token = await requireCapabilities(nomad, environment, deployNeeds(environment));
      steps.progress(token.summary);
      const stackDir = synthesizedStack(synthesize(io.cwd, name, steps), name, steps);
      refuseOtherBackend(stackDir, environment, 'plan');
      const tf = terraformPlan(stackDir, steps);
      collectSensitive(tf, redactor);
      const summary = summarize(tf);
      const job = plannedJob(tf, () => renderedJob(stackDir, summary.job.address));
      if (job.source === 'rendered') steps.progress('the jobspec holds values known only after apply (a new image\'s digest, a new runtime config revision): the job is planned with placeholders');

      steps.progress(`nomad plan of job '${job.document.Job.ID}' at ${nomad.connection.address}…`);
      const started = Date.now();
      const response = await nomad.plan(job.document);
      steps.progress(`nomad plan: done in ${((Date.now() - started) / 1000).toFixed(1)}s`);
      // What Terraform cannot see: the live job changed since this tool registered it.
      const drift = await detectDrift(readRegisteredJob(stackDir, steps), nomad);
      io.stdout(redactor.redact(formatPlan(summary, response, drift)));
      return exitCode(summary, response);
    } catch (e) {
      // The plan's own secrets (sensitive values it read) are known only here: masked before the entry prints.
      if (e instanceof Error) e.message = redactor.redact(e.message);
      if (e instanceof StepError) throw new CommandError(e.message, EXIT.error);
      throw e;
    }
  },
};

/** The job as the stack rendered it at synth, beside the resource's jobspec (RENDERED_JOB_KEY, api.ts). */
function renderedJob(stackDir: string, address: string): string {
  type Resource = { '//'?: Record<string, unknown> };
  const stack = JSON.parse(readFileSync(join(stackDir, 'cdk.tf.json'), 'utf8')) as { resource?: Record<string, Record<string, Resource>> };
  const [type, name] = address.split('.') as [string, string];
  const rendered = stack.resource?.[type]?.[name]?.['//']?.[RENDERED_JOB_KEY];
  if (typeof rendered !== 'string') throw new Error(`${address} has no rendered job (its "//"."${RENDERED_JOB_KEY}") in ${stackDir}/cdk.tf.json: synthesize it again with this checkout`);
  return rendered;
}

runMain(planCommand, module);
