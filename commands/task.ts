import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { ConfigError, ENVIRONMENTS, loadEnvironment } from '../config/load';
import { Duration } from '../constructs/nomad/duration';
import { NomadClient, nomadConnection, NomadError } from './nomad-client';
import { variablePathOf } from '../constructs/nomad/api';
import { consoleCommand, oneOffJob } from './one-off-job';
import { runToCompletion, withVariableCopy } from './run-to-completion';
import { standInRequested } from './stand-in';

const USAGE = `usage: npm run task -- <environment> [--group <group>] [--output <dir>] [--timeout <30m>] -- <command…>
  environments: ${Object.keys(ENVIRONMENTS).join(', ')}

Runs the command once on the cluster, with the image the environment's job runs now and the
runtime configuration, env and volumes of a group (release.group in config, else the first
worker), streams its output, copies what it wrote under /alloc/data to
./task-output/<environment>/<time>/ (or --output), removes its job, and exits with its exit code.
Example: npm run task -- production -- rails runner script/report.rb`;

export interface TaskArgs {
  readonly environment: string;
  readonly command: readonly string[];
  readonly group?: string;
  readonly output?: string;
  readonly timeout?: Duration;
}

/** Parses `<env> [flags] -- <command…>`; throws the usage, with what was wrong, on anything else. */
export function parseTaskArgs(args: readonly string[]): TaskArgs {
  const split = args.indexOf('--');
  const fail = (why: string): never => {
    throw new UsageError(`${why}\n\n${USAGE}`);
  };
  if (split < 0) fail('put the command after --');
  const command = args.slice(split + 1);
  if (command.length === 0 || command[0] === '') fail('no command after --');
  const [environment, ...flags] = args.slice(0, split);
  if (!environment || environment.startsWith('-')) fail('name the environment first');
  const parsed: { group?: string; output?: string; timeout?: Duration } = {};
  for (let i = 0; i < flags.length; i += 2) {
    const [flag, value] = [flags[i]!, flags[i + 1]];
    if (value === undefined || value.startsWith('--')) fail(`${flag} needs a value`);
    if (flag === '--group') parsed.group = value;
    else if (flag === '--output') parsed.output = value;
    else if (flag === '--timeout') {
      try {
        parsed.timeout = Duration.parse(value!);
      } catch (e) {
        fail(`--timeout: ${(e as Error).message}`);
      }
    } else fail(`unknown option '${flag}'`);
  }
  return { environment: environment!, command, ...parsed };
}

class UsageError extends Error {}

export interface TaskIo {
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  /** What the command writes to stdout. */
  stdout(chunk: Buffer | string): void;
  /** What it writes to stderr, and this command's own progress. */
  stderr(chunk: Buffer | string): void;
  /** Asked to stop (Ctrl-C): the job is purged before the command returns. @default - never */
  onInterrupt?(stop: () => void): void;
}

/** A timestamp usable in a job ID and a directory name: 20261128-185501. */
function stamp(now: Date): string {
  return now.toISOString().replace(/\.\d+Z$/, '').replace(/[-:]/g, '').replace('T', '-');
}

/**
 * `npm run task -- <env> -- <command…>`: a batch job in the shape of one group of the job Nomad
 * runs now (its image by digest, its templates, env, volumes and upstreams), run once; returns
 * the command's exit code (1 when it could not run).
 */
export async function task(args: readonly string[], io: TaskIo): Promise<number> {
  const say = (m: string) => io.stderr(`task: ${m}\n`);
  let parsed: TaskArgs;
  try {
    parsed = parseTaskArgs(args);
  } catch (e) {
    io.stderr(`${(e as Error).message}\n`);
    return 1;
  }
  let client: NomadClient | undefined;
  let id: string | undefined;
  try {
    const environment = loadEnvironment(parsed.environment, { env: io.env, cwd: io.cwd });
    const standIn = standInRequested(io.env, environment.name);
    client = new NomadClient(nomadConnection(environment.nomad, io.env));
    const jobId = environment.job.id;
    const group = parsed.group ?? environment.release?.group ?? environment.workers[0]!.name;
    const service = await client.job(jobId);
    if (!service) throw new NomadError(`job '${jobId}' is not registered at ${client.connection.address}: deploy it first (npm run deploy -- ${environment.name})`);
    const now = new Date();
    id = `${jobId}-task-${stamp(now)}-${randomBytes(2).toString('hex')}`;
    const variable = { from: variablePathOf(jobId), to: variablePathOf(id) };
    const document = oneOffJob(service, { id, group, command: parsed.command, variable, standIn });
    const serviceTask = service.TaskGroups.find((g) => g.Name === group)!.Tasks.find((t) => !t.Name.startsWith('connect-proxy-'))!;
    say(`${parsed.command.join(' ')} in the shape of group '${group}' of job '${jobId}' (version ${service.Version}), image ${String(serviceTask.Config.image)}${standIn ? ' (stand-in: raw_exec)' : ''}, at ${client.connection.address}`);

    const nomad = client;
    let interrupted = false;
    io.onInterrupt?.(() => {
      interrupted = true;
      say('interrupted: stopping the job');
      void nomad.deregister(id!, { purge: false });
    });
    const result = await withVariableCopy(client, variable.from, variable.to, () =>
      runToCompletion(nomad, document, { stdout: io.stdout, stderr: io.stderr, progress: say }, parsed.timeout ? { timeoutMs: parsed.timeout.toNanoseconds() / 1e6 } : {}),
    );

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

    if (interrupted) return 130;
    if (result.outcome === 'complete' || (result.outcome === 'failed' && result.exitCode !== undefined)) {
      if (result.outcome === 'failed') say(`the command failed (exit ${result.exitCode})`);
      return result.exitCode ?? 0;
    }
    say(`${{ unplaced: 'Nomad cannot place it', timeout: 'timed out', failed: 'it failed', complete: '' }[result.outcome]}: ${result.reason ?? ''}`);
    return 1;
  } catch (e) {
    const known = e instanceof ConfigError || e instanceof NomadError;
    io.stderr(`${known ? (e as Error).message : `task failed: ${(e as Error).message}`}\n`);
    return 1;
  } finally {
    // No pile of dead jobs: the run's job goes, its files are copied.
    if (client && id) await client.deregister(id, { purge: true }).catch((e: Error) => say(`could not purge job '${id}': ${e.message}`));
  }
}

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

if (require.main === module) {
  task(process.argv.slice(2), {
    env: process.env,
    cwd: process.cwd(),
    stdout: (c) => process.stdout.write(c),
    stderr: (c) => process.stderr.write(c),
    onInterrupt: (stop) => process.once('SIGINT', stop),
  }).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`task failed: ${(e as Error).message}\n`);
      process.exitCode = 1;
    },
  );
}
