import { type Command, CommandError, connectToRead, ENVIRONMENT_NAMES, parseCommandLine, runMain } from './cli';
import { formatHistory, historyView } from './job-view';

const USAGE = `usage: npm run history -- <environment> [--json]   (${ENVIRONMENT_NAMES})

The job's versions Nomad keeps, newest first: for each, its number, submit time, whether it is
stable, the outcome of its deployment, the image, and one line of what changed from the
version before (from Nomad's diffs).
  --json   the same as a JSON array on stdout

Exit status: 0 printed, 1 error or no such job, 130 interrupted.`;

/** `npm run history -- <env>`: the job's versions and what each changed. */
export const historyCommand: Command = {
  name: 'history',
  usage: USAGE,
  async run(args, io) {
    const { positionals, options } = parseCommandLine(args, { json: { type: 'boolean' } }, { positionals: ['environment'] });
    const { jobId, nomad } = connectToRead(positionals[0]!, io);
    const [versions, deployments] = await Promise.all([nomad.versionsWithDiffs(jobId), nomad.deployments(jobId)]);
    if (!versions) throw new CommandError(`history: job '${jobId}' is not registered at ${nomad.connection.address}: it has no history`);
    const rows = historyView(versions, deployments);
    io.stdout(options.json ? `${JSON.stringify(rows, null, 2)}\n` : formatHistory(jobId, rows));
    return 0;
  },
};

runMain(historyCommand, module);
