import type { JobDocument } from '../constructs/nomad/api';
import { variablePathOf } from '../constructs/nomad/api';
import { decodeRelease } from '../config/release-contract';
import { type Command, CommandError, EXIT, runMain } from './cli';
import { type AllocationStub, NomadClient, nomadConnection } from './nomad-client';
import { oneOffJob } from './one-off-job';
import { exitCodeOf, followToEnd, runToCompletion, type RunIo, type RunResult } from './run-to-completion';
import { standInRequested } from './stand-in';

/**
 * The release step: the command every deploy that brings a new image runs once, before any
 * group of the service job is updated (`rails db:migrate`). Terraform runs it (the `local-exec`
 * provisioner of `terraform_data.release`, which the job depends on, replaced whenever the
 * image changes); it exits non-zero when the command fails, cannot be placed or times out,
 * and Terraform then stops before it touches the job.
 *
 * What it runs comes from the environment Terraform gives it (config/release-contract.ts),
 * never from its command line. Nomad's address and token come from the deploy's own environment
 * (NOMAD_ADDR, NOMAD_TOKEN, …), or the address from config for the local environment. No secret
 * passes through here but the variable items copied for the run, which are never printed.
 *
 * A running migration is never killed: Ctrl-C leaves it running on purpose (stopped half-way,
 * a migration on MariaDB, whose schema changes are not transactional, can leave the schema
 * half-changed), and a release that finds another one of the same job running waits for it.
 */
export const releaseCommand: Command = {
  name: 'release',
  usage: `usage: commands/release.ts   (run by Terraform's release step, terraform_data.release; no arguments)

Exit status: 0 the release ran (or the same image's release, left running by an interrupted
deploy, ended well), 1 it failed, could not be placed or timed out, 130 interrupted (the
release job is left running on purpose; the next deploy waits for it).`,
  async run(args, io) {
    if (args.length > 0) throw new CommandError(`release: takes no arguments (got ${args.join(' ')}): Terraform's release step runs it`);
    const say = (m: string) => io.stderr(`release: ${m}\n`);
    let decoded: ReturnType<typeof decodeRelease>;
    try {
      decoded = decodeRelease(io.env);
    } catch (e) {
      throw new CommandError(`release: ${(e as Error).message}`);
    }
    const { settings, service } = decoded;
    const standIn = standInRequested(io.env, settings.environment);
    const client = new NomadClient(nomadConnection(settings.nomad, io.env));
    const serviceId = service.Job.ID;
    const id = releaseJobId(serviceId);
    const variable = { from: variablePathOf(serviceId), to: variablePathOf(id) };
    const document = oneOffJob(service.Job, { id, group: settings.group, command: settings.command, variable, standIn });
    const image = imageOf(document);
    const output: RunIo = { stdout: io.stdout, stderr: io.stderr, progress: say };
    const timeoutMs = settings.timeoutSeconds * 1000;

    const done = await completedRelease(client, id, image);
    if (done) {
      say(`the release of this image already ran to its end (job '${id}', allocation ${done.ID.slice(0, 8)}, left by an interrupted deploy): it is not run again`);
      await client.deleteVariable(variable.to);
      return EXIT.ok;
    }
    const previous = await runningRelease(client, id);
    if (previous) {
      const same = imageOf({ Job: previous.job }) === image;
      say(
        `another release of job '${serviceId}' is running: job '${id}', allocation ${previous.alloc.ID.slice(0, 8)}, ${same ? 'this same image' : `image ${imageOf({ Job: previous.job })}`} (left by an interrupted deploy?). ` +
          `It is not stopped: waiting for it to end. Follow it with: nomad alloc logs -f ${previous.alloc.ID.slice(0, 8)}; stop it with: nomad job stop ${id}`,
      );
      const ended = await followToEnd(client, { jobId: id, taskName: document.Job.TaskGroups[0]!.Tasks[0]!.Name, allocId: previous.alloc.ID }, output, { timeoutMs, signal: io.signal });
      if (ended.outcome === 'interrupted') return leftRunning(say, id, ended);
      await client.deleteVariable(variable.to);
      if (same && ended.outcome === 'complete') {
        say(`that release of this image ended well (allocation ${previous.alloc.ID.slice(0, 8)}): it is not run again`);
        return EXIT.ok;
      }
      say(`it ended (${ended.outcome}); now this deploy's release`);
    }

    say(`${settings.command.join(' ')} in the shape of group '${settings.group}', image ${image}${standIn ? ' (stand-in: raw_exec)' : ''}, at ${client.connection.address}`);
    // The last release's job is the record of it until the next one: purged (it has ended), so this one runs afresh.
    await client.deregister(id, { purge: true });
    const items = await client.variableItems(variable.from);
    if (items) await client.putVariable(variable.to, items);
    const started = Date.now();
    let result: RunResult;
    try {
      result = await runToCompletion(client, document, output, { timeoutMs, signal: io.signal });
    } catch (e) {
      if (items) await client.deleteVariable(variable.to).catch(() => undefined);
      throw e;
    }
    // While it runs, its templates read the copy: it stays with a release left running.
    if (result.outcome === 'interrupted') return leftRunning(say, id, result);
    if (items) await client.deleteVariable(variable.to);
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    if (result.outcome === 'complete') {
      say(`done in ${seconds}s (job '${id}', allocation ${result.allocId!.slice(0, 8)})`);
      return EXIT.ok;
    }
    throw new CommandError(`release: ${failure(result, id, seconds)}`);
  },
};

/** Ctrl-C: the migration goes on, on purpose; what was left, and how to follow or stop it. */
function leftRunning(say: (m: string) => void, id: string, result: RunResult): number {
  const alloc = result.allocId ? result.allocId.slice(0, 8) : undefined;
  say(
    `interrupted: the release job '${id}' is left running on purpose (a migration stopped half-way can leave the schema half-changed)` +
      `${alloc ? `; follow it: nomad alloc logs -f ${alloc}` : ''}; stop it: nomad job stop ${id}. The job is not updated; the next deploy waits for this release.`,
  );
  return EXIT.interrupted;
}

/** The release job's ID: one per service job, registered afresh by each release (`rails-release`). */
export function releaseJobId(serviceJobId: string): string {
  return `${serviceJobId}-release`;
}

/** The release job's allocation that has not ended, with the job it runs; none when no release runs. */
export async function runningRelease(client: NomadClient, id: string): Promise<{ job: JobDocument['Job']; alloc: AllocationStub } | undefined> {
  const job = await client.job(id);
  if (!job || job.Stop) return undefined;
  const alloc = (await client.allocations(id)).find((a) => a.ClientStatus === 'pending' || a.ClientStatus === 'running');
  return alloc ? { job, alloc } : undefined;
}

/** The release job's last allocation when it ran this image and exited 0: that image's release is done. */
async function completedRelease(client: NomadClient, id: string, image: string): Promise<AllocationStub | undefined> {
  const job = await client.job(id);
  if (!job || imageOf({ Job: job }) !== image) return undefined;
  const last = (await client.allocations(id)).pop();
  const task = job.TaskGroups[0]?.Tasks[0]?.Name;
  const state = task ? last?.TaskStates?.[task] : undefined;
  return last?.ClientStatus === 'complete' && state && (exitCodeOf(state) ?? 0) === 0 ? last : undefined;
}

/** The image a one-off job runs (the stand-in keeps it in its task's meta). */
function imageOf(document: JobDocument): string {
  const task = document.Job.TaskGroups[0]?.Tasks[0];
  return String(task?.Meta?.standin_for_image ?? task?.Config.image);
}

/** Why the release failed, with the command's last lines, for the deploy's error output. */
export function failure(result: RunResult, jobId: string, seconds: string): string {
  const head = {
    failed: `the command failed${result.exitCode !== undefined ? ` (exit ${result.exitCode})` : ''} after ${seconds}s`,
    timeout: `timed out: ${result.reason}`,
    unplaced: `Nomad cannot place it:\n${result.reason ?? ''}`,
    interrupted: 'interrupted',
    complete: 'done',
  }[result.outcome];
  const lines = result.tail.length > 0 ? `\nits last lines:\n${result.tail.map((l) => `  | ${l}`).join('\n')}` : result.reason && result.outcome === 'failed' ? `\n${result.reason}` : '';
  const where = result.allocId ? `\n(job '${jobId}' is kept: nomad alloc logs ${result.allocId.slice(0, 8)}; nomad alloc status ${result.allocId.slice(0, 8)})` : '';
  return `${head}; the job is not updated${lines}${where}`;
}

runMain(releaseCommand, module);
