import { type Command, CommandError, connectToRead, ENVIRONMENT_NAMES, parseCommandLine, runMain } from './cli';
import { formatStatus, STATUS_EXIT, statusView } from './job-view';

const USAGE = `usage: npm run status -- <environment> [--json]   (${ENVIRONMENT_NAMES})

What runs now, read from Nomad (no synth, no Terraform): the job's version, submit time and
whether it is stable; the image its tasks run; per group the allocations desired, running,
healthy and unhealthy, and restarts; the latest deployment's status and description.
  --json   the same facts as one JSON object on stdout

Exit status: 0 every group healthy; 2 not all healthy (a deployment is running, or a group runs
allocations no deployment found healthy); 3 a group failed (unhealthy allocations failed its
deployment, or it runs short with no deployment under way), or the job is missing, stopped or
dead; 1 error; 130 interrupted.`;

/** `npm run status -- <env>`: the job as Nomad runs it now. */
export const statusCommand: Command = {
  name: 'status',
  usage: USAGE,
  async run(args, io) {
    const { positionals, options } = parseCommandLine(args, { json: { type: 'boolean' } }, { positionals: ['environment'] });
    const { jobId, nomad } = connectToRead(positionals[0]!, io);
    // Asked at once; when there is no job, the others' refusals say nothing more.
    const answers = await Promise.allSettled([nomad.job(jobId), nomad.jobSummary(jobId), nomad.allocations(jobId), nomad.latestDeployment(jobId)] as const);
    const job = settled(answers[0]);
    if (!job) throw new CommandError(`status: job '${jobId}' is not registered at ${nomad.connection.address}: nothing runs (deploy it with npm run deploy -- ${positionals[0]})`, STATUS_EXIT.failed);
    const view = statusView(job, settled(answers[1]), settled(answers[2]), settled(answers[3]));
    io.stdout(options.json ? `${JSON.stringify(view, null, 2)}\n` : formatStatus(view, positionals[0]));
    return view.exitCode;
  },
};

function settled<T>(result: PromiseSettledResult<T>): T {
  if (result.status === 'rejected') throw result.reason;
  return result.value;
}

runMain(statusCommand, module);
