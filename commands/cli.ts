import { parseArgs } from 'node:util';
import { ConfigError, ENVIRONMENTS } from '../config/environments';
import { OperatorInputError } from '../config/operator-inputs';
import { NomadClient, nomadConnection } from './nomad-client';
import { NomadError } from './nomad-http';
import { Redactor } from './secrets';

/**
 * The one entry every command in commands/ goes through: how arguments are refused, how Ctrl-C
 * stops a command, what its exit codes mean, and how a failure prints (its cause on the last
 * line, redacted, never only "failed").
 */

/** Exit codes every command shares; a command adds its own above 1 (plan: 2, 3) and says so in its usage. */
export const EXIT = { ok: 0, error: 1, interrupted: 130 } as const;

/** The arguments are wrong: the command prints why, then its usage, and exits 1 before anything slow. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** A failure already worded for a person: printed as it is, as the command's last lines. */
export class CommandError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.error,
  ) {
    super(message);
    this.name = 'CommandError';
  }
}

export interface CommandIo {
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The project: cdktf.json, config/. */
  readonly cwd: string;
  /** Results. */
  stdout(chunk: Buffer | string): void;
  /** Progress and diagnostics. */
  stderr(chunk: Buffer | string): void;
  /** Aborted when the operator asks the command to stop (Ctrl-C, SIGTERM). */
  readonly signal: AbortSignal;
  /** Whether a person is at the terminal (stdin and stdout are TTYs): prompts and consoles need one. */
  readonly interactive: boolean;
}

export interface Command {
  /** How the command names itself in what it prints: `status: …`. */
  readonly name: string;
  /** The whole usage text: synopsis, what it does, exit codes. */
  readonly usage: string;
  run(args: readonly string[], io: CommandIo): Promise<number>;
}

/** Errors whose message is for a person as it stands; anything else is prefixed `<name> failed:`. */
const WORDED = [UsageError, CommandError, ConfigError, NomadError, OperatorInputError];

/**
 * Runs a command and turns what it throws into its last lines and an exit code. Every message
 * goes through a redactor that knows the secrets in the environment (NOMAD_TOKEN, passwords).
 */
export async function execute(command: Command, args: readonly string[], io: CommandIo): Promise<number> {
  const redactor = Redactor.fromEnvironment(io.env);
  if (asksForHelp(args)) {
    io.stdout(`${command.usage}\n`);
    return EXIT.ok;
  }
  try {
    return await command.run(args, io);
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr(`${command.name}: ${redactor.redact(e.message)}\n\n${command.usage}\n`);
      return EXIT.error;
    }
    if (io.signal.aborted) {
      io.stderr(`${command.name}: interrupted${e instanceof Error && !isAbort(e) ? `: ${redactor.redact(e.message)}` : ''}\n`);
      return EXIT.interrupted;
    }
    const error = e instanceof Error ? e : new Error(String(e));
    const worded = WORDED.some((type) => error instanceof type) || (error as { worded?: boolean }).worded === true;
    io.stderr(`${redactor.redact(worded ? error.message : `${command.name} failed: ${error.message}`)}\n`);
    return e instanceof CommandError ? e.exitCode : EXIT.error;
  }
}

/** `--help` or `-h` among the command's own arguments: before a `--`, after which they are the remote command's (task, console) or cdktf's (diff). */
function asksForHelp(args: readonly string[]): boolean {
  const split = args.indexOf('--');
  return (split < 0 ? args : args.slice(0, split)).some((a) => a === '--help' || a === '-h');
}

function isAbort(e: Error): boolean {
  return e.name === 'AbortError' || /interrupted|SIGINT|SIGTERM/.test(e.message);
}

/**
 * The process around a command: the process's streams and environment, and signals. The first
 * Ctrl-C (or SIGTERM) aborts `io.signal`, so the command stops what it started and says what it
 * left; a second one ends the process at once (130). Resolves to the exit code, also set on the
 * process. `.ci/launch.cjs` calls it for the compiled commands; `runMain` for a module run as it is.
 */
export async function runProcess(command: Command, args: readonly string[]): Promise<number> {
  const controller = new AbortController();
  let first = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    // One Ctrl-C can arrive twice: from the terminal (to the whole process group) and passed on by
    // npm, which runs the command. The same signal within a second is that same Ctrl-C.
    if (first > 0 && Date.now() - first < DUPLICATE_SIGNAL_MS) return;
    if (first > 0) {
      process.stderr.write(`\n${command.name}: ${signal} again: quitting now; what it started may still run\n`);
      process.exit(EXIT.interrupted);
    }
    first = Date.now();
    process.stderr.write(`\n${command.name}: ${signal}: stopping (press Ctrl-C again to quit at once)\n`);
    // The reason is the signal's name: a command passes a SIGTERM on to what it started, never a SIGINT the terminal already sent them.
    controller.abort(signal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const io: CommandIo = {
    env: process.env,
    cwd: process.cwd(),
    stdout: (c) => process.stdout.write(c),
    stderr: (c) => process.stderr.write(c),
    signal: controller.signal,
    interactive: Boolean(process.stdin.isTTY && process.stdout.isTTY),
  };
  const code = await execute(command, args, io);
  process.exitCode = code;
  process.removeListener('SIGINT', onSignal);
  process.removeListener('SIGTERM', onSignal);
  return code;
}

/** How close two signals come when they are one Ctrl-C seen twice (terminal and npm). */
const DUPLICATE_SIGNAL_MS = 1000;

/** Runs the command when its module is the one node started (`tsx commands/<name>.ts`). */
export function runMain(command: Command, module: NodeModule): void {
  if (require.main === module) void runProcess(command, process.argv.slice(2));
}

/** One option of a command line, as node's `util.parseArgs` takes it. */
export interface OptionSpec {
  readonly type: 'string' | 'boolean';
  readonly short?: string;
  readonly multiple?: boolean;
}

export interface ParsedCommandLine<O extends Record<string, OptionSpec>> {
  readonly positionals: readonly string[];
  readonly options: { [K in keyof O]?: O[K]['type'] extends 'boolean' ? boolean : string };
  /** What came after `--`, as it was typed (a command line to run); undefined when there was no `--`. */
  readonly rest: readonly string[] | undefined;
}

/**
 * Parses `<positionals> [--options] [-- rest…]` strictly: an unknown option, a missing value or a
 * stray positional is a UsageError naming it.
 */
export function parseCommandLine<O extends Record<string, OptionSpec>>(
  args: readonly string[],
  options: O,
  shape: { readonly positionals: readonly string[]; readonly rest?: string },
): ParsedCommandLine<O> {
  const split = args.indexOf('--');
  const head = split < 0 ? [...args] : args.slice(0, split);
  let parsed: { values: Record<string, unknown>; positionals: string[] };
  try {
    parsed = parseArgs({ args: head, options: options as never, strict: true, allowPositionals: true }) as never;
  } catch (e) {
    throw new UsageError((e as Error).message.replace(/\. To specify a positional argument.*$/s, ''));
  }
  if (parsed.positionals.length > shape.positionals.length) {
    const hint = shape.rest ? `: put the ${shape.rest} after --` : '';
    throw new UsageError(`unexpected argument '${parsed.positionals[shape.positionals.length]}'${hint}`);
  }
  if (parsed.positionals.length < shape.positionals.length) {
    throw new UsageError(`name the ${shape.positionals[parsed.positionals.length]}`);
  }
  return { positionals: parsed.positionals, options: parsed.values as never, rest: split < 0 ? undefined : args.slice(split + 1) };
}

/** The environment a command line names, refused at once when there is no such environment. */
export function environmentNamed(name: string): string {
  if (!(name in ENVIRONMENTS)) throw new UsageError(`no environment '${name}' (known: ${Object.keys(ENVIRONMENTS).join(', ')})`);
  return name;
}

/** The names of every environment, for usage texts. */
export const ENVIRONMENT_NAMES = Object.keys(ENVIRONMENTS).join(', ');

/** What a command that only reads the cluster needs of an environment: its job, and a client for its cluster. */
export interface ReadTarget {
  readonly jobId: string;
  readonly nomad: NomadClient;
}

/**
 * The environment's job and a client for its cluster, as the `nomad` CLI would connect, read from
 * the environment as config/ writes it, without the schema (and so without cdktf): what lets
 * status, logs and history start in a blink. They change nothing, so an invalid config costs no
 * more than a refused request; a command that changes the cluster goes through
 * `connect()` (connect.ts), which validates.
 */
export function connectToRead(name: string, io: Pick<CommandIo, 'env' | 'cwd'>, options: { timeoutMs?: number } = {}): ReadTarget {
  const make = ENVIRONMENTS[environmentNamed(name)]!;
  let input;
  try {
    input = make({ env: io.env, cwd: io.cwd });
  } catch (e) {
    if (e instanceof OperatorInputError) throw new ConfigError(name, [e.message]);
    throw e;
  }
  return { jobId: input.job.id, nomad: new NomadClient(nomadConnection(input.nomad, io.env), options.timeoutMs) };
}
