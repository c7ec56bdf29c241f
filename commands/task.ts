import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { type Duration, durationWord } from '../config/operator-durations';
import { isConnectSidecar, variablePathOf } from '../constructs/nomad/api';
import { requireCapabilities } from './capabilities';
import { type Command, CommandError, ENVIRONMENT_NAMES, environmentNamed, EXIT, parseCommandLine, runMain, UsageError } from './cli';
import { connect } from './connect';
import type { NomadClient } from './nomad-client';
import { NomadError } from './nomad-http';
import { consoleCommand, oneOffJob, taskJobId } from './one-off-job';
import { runToCompletion, withVariableCopy } from './run-to-completion';
import { standInRequested } from './stand-in';

const USAGE = `usage: npm run task -- <environment> [--group <group>] [--output <dir>] [--timeout <30m>] -- <command…>
  environments: ${ENVIRONMENT_NAMES}

Runs the command once on the cluster, with the image the environment's job runs now and the
runtime configuration, env and volumes of a group (release.group in config, else the first
worker), streams its output, copies what it wrote under /alloc/data to
./task-output/<environment>/<time>/ (or --output), removes its job, and exits with its exit code.
Exit status: the command's own; 1 when it could not run (refused, not placed, timed out, failed
without an exit code), 130 interrupted.
Example: npm run task -- production -- rails runner script/report.rb`;

export interface TaskArgs {
  readonly environment: string;
  readonly command: readonly string[];
  readonly group?: string;
  readonly output?: string;
  readonly timeout?: Duration;
}

/** Parses `<env> [flags] -- <command…>`; throws a UsageError, saying what was wrong, on anything else. */
export function parseTaskArgs(args: readonly string[]): TaskArgs {
  const { positionals, options, rest } = parseCommandLine(
    args,
    { group: { type: 'string' }, output: { type: 'string' }, timeout: { type: 'string' } },
    { positionals: ['environment'], rest: 'command' },
  );
  if (rest === undefined) throw new UsageError('put the command after --');
  if (rest.length === 0 || rest[0] === '') throw new UsageError('no command after --');
  let timeout: Duration | undefined;
  if (options.timeout !== undefined) {
    try {
      timeout = durationWord('--timeout', options.timeout);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
  }
  return {
    environment: environmentNamed(positionals[0]!),
    command: rest,
    ...(options.group !== undefined ? { group: options.group } : {}),
    ...(options.output !== undefined ? { output: options.output } : {}),
    ...(timeout ? { timeout } : {}),
  };
}

/** A timestamp usable in a job ID and a directory name: 20261128-185501. */
function stamp(now: Date): string {
  return now.toISOString().replace(/\.\d+Z$/, '').replace(/[-:]/g, '').replace('T', '-');
}

/**
 * `npm run task -- <env> -- <command…>`: a batch job in the shape of one group of the job Nomad
 * runs now (its image by digest, its templates, env, volumes and upstreams), run once; returns
 * the command's exit code (1 when it could not run, 130 when interrupted: the job is stopped).
 */
export const taskCommand: Command = {
  name: 'task',
  usage: USAGE,
  async run(args, io) {
    const say = (m: string) => io.stderr(`task: ${m}\n`);
    const parsed = parseTaskArgs(args);
    const { environment, nomad: client } = connect(parsed.environment, io);
    const standIn = standInRequested(io.env, environment.name);
    const jobId = environment.job.id;
    // A token that cannot run it is refused before anything is registered, naming what it lacks.
    await requireCapabilities(client, environment, ['task']);
    const group = parsed.group ?? environment.release?.group ?? environment.workers[0]!.name;
    const service = await client.job(jobId);
    if (!service) throw new CommandError(`job '${jobId}' is not registered at ${client.connection.address}: deploy it first (npm run deploy -- ${environment.name})`);
    const now = new Date();
    const id = taskJobId(jobId, `${stamp(now)}-${randomBytes(2).toString('hex')}`);
    try {
      const variable = { from: variablePathOf(jobId), to: variablePathOf(id) };
      const document = oneOffJob(service, { id, group, command: parsed.command, variable, standIn });
      const serviceTask = service.TaskGroups.find((g) => g.Name === group)!.Tasks.find((t) => !isConnectSidecar(t))!;
      say(`${parsed.command.join(' ')} in the shape of group '${group}' of job '${jobId}' (version ${service.Version}), image ${String(serviceTask.Config.image)}${standIn ? ' (stand-in: raw_exec)' : ''}, at ${client.connection.address}`);

      const stop = () => {
        say(`interrupted: stopping job '${id}'`);
        void client.deregister(id, { purge: false }).catch(() => undefined);
      };
      io.signal.addEventListener('abort', stop, { once: true });
      const result = await withVariableCopy(client, variable.from, variable.to, () =>
        runToCompletion(client, document, { stdout: io.stdout, stderr: io.stderr, progress: say }, parsed.timeout ? { timeoutMs: parsed.timeout.toNanoseconds() / 1e6 } : {}),
      );
      io.signal.removeEventListener('abort', stop);

      if (result.allocId) {
        const outDir = resolve(io.cwd, parsed.output ?? join('task-output', environment.name, stamp(now)));
        const files = await download(client, result.allocId, outDir);
        if (files.length === 0) say('it wrote no files under /alloc/data');
        else {
          say(`${files.length} file${files.length === 1 ? '' : 's'} from /alloc/data in ${outDir}:`);
          const width = Math.max(...files.map((f) => f.path.length));
          for (const f of files) io.stderr(`  ${f.path.padEnd(width)}  ${f.size.toLocaleString('en-US')} bytes\n`);
        }
      }
      const running = (await client.allocations(jobId)).filter((a) => a.TaskGroup === group && a.ClientStatus === 'running').pop();
      say(`for a console in a running allocation of '${group}'${running ? '' : ` (none is running now: take one from nomad job status ${jobId})`}:\n  ${consoleCommand(serviceTask, running?.ID ?? '<allocation>')}`);

      if (io.signal.aborted) return EXIT.interrupted;
      if (result.outcome === 'complete' || (result.outcome === 'failed' && result.exitCode !== undefined)) {
        if (result.outcome === 'failed') say(`the command failed (exit ${result.exitCode})`);
        return result.exitCode ?? 0;
      }
      throw new CommandError(`task: ${{ unplaced: 'Nomad cannot place it', timeout: 'timed out', failed: 'it failed', interrupted: 'interrupted', complete: '' }[result.outcome]}: ${result.reason ?? ''}`);
    } finally {
      // No pile of dead jobs: the run's job goes, its files are copied.
      await client.deregister(id, { purge: true }).catch((e: Error) => say(`could not purge job '${id}': ${e.message}`));
    }
  },
};

export interface DownloadedFile {
  /** Relative to /alloc/data. */
  readonly path: string;
  readonly size: number;
}

/** Copies every file under the allocation's /alloc/data to `outDir`, byte for byte (sizes checked against Nomad's listing). */
export async function download(client: NomadClient, allocId: string, outDir: string, dir = ''): Promise<DownloadedFile[]> {
  const files: DownloadedFile[] = [];
  const entries = await client.listFiles(allocId, join('alloc/data', dir));
  for (const entry of entries.sort((a, b) => a.Name.localeCompare(b.Name))) {
    const path = join(dir, entry.Name);
    if (entry.IsDir) {
      files.push(...(await download(client, allocId, outDir, path)));
      continue;
    }
    const bytes = await client.readFile(allocId, join('alloc/data', path));
    if (bytes.length !== entry.Size) throw new NomadError(`alloc/data/${path}: read ${bytes.length} bytes, Nomad lists ${entry.Size}`);
    const target = join(outDir, path);
    if (!target.startsWith(outDir) || isAbsolute(entry.Name)) throw new NomadError(`alloc/data/${path}: not a path under the output directory`);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, bytes);
    files.push({ path, size: bytes.length });
  }
  return files;
}

runMain(taskCommand, module);
