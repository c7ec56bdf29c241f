import { type Command, CommandError, connectToRead, ENVIRONMENT_NAMES, parseCommandLine, runMain } from './cli';
import { formatStatus, STATUS_EXIT, statusView } from './job-view';

const USAGE = `usage: npm run status -- <environment> [--json]   (${ENVIRONMENT_NAMES})

What runs now, read from Nomad (no synth, no Terraform): the job's version, submit time and
whether it is stable; the image its tasks run; per group the allocations desired, running,
healthy and unhealthy, and restarts; the latest deployment's status and description.
  --json   the same facts as one JSON object on stdout

Exit status: 0 every group healthy, 2 not all healthy yet (a deployment is running, allocations
are starting), 3 a group failed (its deployment failed, or it runs short with no deployment
under way) or the job is missing, stopped or dead, 1 error, 130 interrupted.`;

/** `npm run status -- <env>`: the job as Nomad runs it now. */
export const statusCommand: Command = {
  name: 'status',
  usage: USAGE,
  async run(args, io) {
    const { positionals, options } = parseCommandLine(args, { json: { type: 'boolean' } }, { positionals: ['environment'] });
    const { jobId, nomad } = connectToRead(positionals[0]!, io);
    const [job, summary, allocations, deployment] = await Promise.all([nomad.job(jobId), nomad.jobSummary(jobId), nomad.allocations(jobId), nomad.latestDeployment(jobId)]);
    if (!job) throw new CommandError(`status: job '${jobId}' is not registered at ${nomad.connection.address}: nothing runs (deploy it with npm run deploy -- ${positionals[0]})`, STATUS_EXIT.failed);
    const view = statusView(job, summary, allocations, deployment);
    io.stdout(options.json ? `${JSON.stringify(view, null, 2)}\n` : formatStatus(view));
    return view.exitCode;
  },
};

runMain(statusCommand, module);
