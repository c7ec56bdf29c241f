import { type Command, CommandError, ENVIRONMENT_NAMES, environmentNamed, parseCommandLine, runMain, UsageError } from './cli';
import { connect } from './connect';
import type { AllocationStub, NomadConnection } from './nomad-client';
import { webGroupOf } from '../config/schema';
import { isConnectSidecar } from '../constructs/nomad/api';
import { consoleArgs, DEFAULT_CONSOLE } from './one-off-job';
import { runProgram } from './run-program';

const USAGE = `usage: npm run console -- <environment> [--group <group>] [-- <command…>]
  environments: ${ENVIRONMENT_NAMES}

Opens a session in a running allocation of the group (default: the web group): rails console,
or the command after --, through the image's launcher for a buildpacks image. It runs the
nomad CLI's alloc exec (the nomad binary on PATH; npm run tools puts one in its bin/).
A session needs a terminal; a command after -- also runs with stdin from a pipe or a file.
Exit status: the session's, 1 refused or failed, 130 interrupted.`;

export interface ConsoleArgs {
  readonly environment: string;
  readonly group?: string;
  readonly command: readonly string[];
  /** A terminal session (`-t`), or a command fed from a pipe. */
  readonly tty: boolean;
}

export function parseConsoleArgs(args: readonly string[], interactive: boolean): ConsoleArgs {
  const { positionals, options, rest } = parseCommandLine(args, { group: { type: 'string' } }, { positionals: ['environment'], rest: 'command' });
  if (rest !== undefined && (rest.length === 0 || rest[0] === '')) throw new UsageError('no command after --');
  if (!interactive && rest === undefined) {
    throw new UsageError('a console needs a terminal (stdin and stdout are not both TTYs): run it in one, or give the command after -- to feed it from a pipe');
  }
  return {
    environment: environmentNamed(positionals[0]!),
    ...(options.group !== undefined ? { group: options.group } : {}),
    command: rest ?? DEFAULT_CONSOLE,
    tty: interactive,
  };
}

/** What the nomad CLI reads for its connection: each is the tool's value, or unset. */
const CONNECTION_VARIABLES = ['NOMAD_ADDR', 'NOMAD_TOKEN', 'NOMAD_REGION', 'NOMAD_NAMESPACE', 'NOMAD_CACERT', 'NOMAD_CAPATH', 'NOMAD_CLIENT_CERT', 'NOMAD_CLIENT_KEY', 'NOMAD_TLS_SERVER_NAME', 'NOMAD_SKIP_VERIFY'];

/** The variables the nomad CLI reads, set to the connection this tool uses (config's address wins, as everywhere). */
export function nomadCliEnvironment(connection: NomadConnection, env: Readonly<Record<string, string | undefined>>): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = Object.fromEntries(Object.entries(env).filter(([k]) => !CONNECTION_VARIABLES.includes(k)));
  const set = (name: string, value: string | undefined) => {
    if (value !== undefined) out[name] = value;
  };
  set('NOMAD_ADDR', connection.address);
  set('NOMAD_TOKEN', connection.token);
  set('NOMAD_REGION', connection.region);
  set('NOMAD_NAMESPACE', connection.namespace);
  set('NOMAD_CACERT', connection.tls.caCert);
  set('NOMAD_CAPATH', connection.tls.caPath);
  set('NOMAD_CLIENT_CERT', connection.tls.clientCert);
  set('NOMAD_CLIENT_KEY', connection.tls.clientKey);
  set('NOMAD_TLS_SERVER_NAME', connection.tls.serverName);
  if (connection.tls.skipVerify) out.NOMAD_SKIP_VERIFY = 'true';
  return out;
}

/** The allocation a console opens in: a running one of the group, of the job's current version if one is, newest first. */
export function pickAllocation(allocations: readonly AllocationStub[], group: string, task: string, version: number): AllocationStub | undefined {
  const running = allocations
    .filter((a) => a.TaskGroup === group && a.ClientStatus === 'running' && a.TaskStates?.[task]?.State !== 'dead' && a.TaskStates?.[task]?.State !== 'pending')
    .sort((a, b) => Number(b.JobVersion === version) - Number(a.JobVersion === version) || b.CreateIndex - a.CreateIndex);
  return running[0];
}

export const consoleCommand: Command = {
  name: 'console',
  usage: USAGE,
  async run(args, io) {
    const say = (m: string) => io.stderr(`console: ${m}\n`);
    const parsed = parseConsoleArgs(args, io.interactive);
    const { environment, nomad } = connect(parsed.environment, io);
    const jobId = environment.job.id;
    const group = parsed.group ?? webGroupOf(environment);
    const job = await nomad.job(jobId);
    if (!job) throw new CommandError(`job '${jobId}' is not registered at ${nomad.connection.address}: deploy it first (npm run deploy -- ${environment.name})`);
    const taskGroup = job.TaskGroups.find((g) => g.Name === group);
    if (!taskGroup) throw new CommandError(`job '${jobId}' has no group '${group}' (it has: ${job.TaskGroups.map((g) => g.Name).join(', ')})`);
    const task = taskGroup.Tasks.find((t) => !isConnectSidecar(t))!;
    const allocation = pickAllocation(await nomad.allocations(jobId), group, task.Name, job.Version);
    if (!allocation) throw new CommandError(`group '${group}' of job '${jobId}' has no running allocation to open a console in (npm run status -- ${environment.name})`);
    const old = allocation.JobVersion !== undefined && allocation.JobVersion !== job.Version ? `, not the current version ${job.Version}` : '';
    say(`allocation ${allocation.ID.slice(0, 8)} of group '${group}', task '${task.Name}' (job version ${allocation.JobVersion ?? '?'}${old}, node ${allocation.NodeName ?? '?'})`);
    const nomadArgs = consoleArgs(task, allocation.ID, parsed.command, { tty: parsed.tty });
    say(`nomad ${nomadArgs.join(' ')}`);
    return runProgram('nomad', nomadArgs, {
      io,
      env: nomadCliEnvironment(nomad.connection, io.env),
      terminal: parsed.tty,
      missing: 'put the nomad CLI on PATH (npm run tools, then source .ci/tools/env.sh)',
    });
  },
};

runMain(consoleCommand, module);
