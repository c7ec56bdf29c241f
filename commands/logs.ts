import { setMaxListeners } from 'node:events';
import type { IncomingMessage } from 'node:http';
import { type Command, CommandError, type CommandIo, connectToRead, ENVIRONMENT_NAMES, EXIT, parseCommandLine, runMain, UsageError } from './cli';
import { allocationsToRead, declaredTasks } from './job-view';
import type { AllocationStub, NomadClient, StoredJob } from './nomad-client';

const USAGE = `usage: npm run logs -- <environment> [--group G] [-f] [--tail N] [--since D] [--stdout | --stderr]   (${ENVIRONMENT_NAMES})

Lines from every allocation of the group (every group when none is named), each prefixed with
the group and the allocation's short ID ("sidekiq-long 1a2b3c4d | …"). A task's stdout lines go
to stdout and its stderr lines to stderr. Nomad has no job-wide log: this reads each allocation's.
  --group G    one group's allocations only
  -f, --follow keep reading, and read the new allocations a rollout starts (polled every second);
               Ctrl-C ends it
  --tail N     the last N lines of each allocation's stdout and stderr (default 20; 0 for all
               Nomad keeps); a new allocation met while following is read from its start
  --since D    also allocations that stopped within D (30s, 10m, 2h); without it, the current
               allocations only. Nomad keeps no time for a line: D bounds allocations, not lines
  --stdout, --stderr   one of the two only

Exit status: 0 done, 1 error (no such job or group, Nomad refused), 130 stopped by Ctrl-C.`;

/** Bytes asked for per line wanted: Nomad's logs API counts bytes, and `--tail` lines (Nomad's CLI guesses 120). */
const BYTES_PER_LINE = 400;
/** How long a followed log's first bytes are gathered before its last --tail lines are cut from them (Nomad's CLI waits likewise). */
const TAIL_GATHER_MS = 300;
const POLL_MS = 1000;

type Stream = 'stdout' | 'stderr';

/** `npm run logs -- <env>`: the job's logs, merged per allocation. */
export const logsCommand: Command = {
  name: 'logs',
  usage: USAGE,
  async run(args, io) {
    const { positionals, options } = parseCommandLine(
      args,
      { group: { type: 'string' }, follow: { type: 'boolean', short: 'f' }, tail: { type: 'string' }, since: { type: 'string' }, stdout: { type: 'boolean' }, stderr: { type: 'boolean' } },
      { positionals: ['environment'] },
    );
    if (options.stdout && options.stderr) throw new UsageError('--stdout and --stderr exclude each other: leave both out for both');
    const tail = options.tail === undefined ? 20 : wholeNumber('--tail', options.tail);
    const sinceNs = options.since === undefined ? undefined : Date.now() * 1e6 - durationMs(options.since) * 1e6;
    const streams: Stream[] = options.stdout ? ['stdout'] : options.stderr ? ['stderr'] : ['stdout', 'stderr'];
    const { jobId, nomad } = connectToRead(positionals[0]!, io);

    const job = await nomad.job(jobId);
    if (!job) throw new CommandError(`logs: job '${jobId}' is not registered at ${nomad.connection.address}`);
    const names = job.TaskGroups.map((g) => g.Name);
    if (options.group !== undefined && !names.includes(options.group)) throw new CommandError(`logs: job '${jobId}' has no group '${options.group}' (groups: ${names.join(', ')})`);
    // One abort listener per open log: many, on one signal.
    setMaxListeners(0, io.signal);
    const reader = new LogReader(nomad, job, io, streams);
    const byGroup = (a: AllocationStub, b: AllocationStub) => names.indexOf(a.TaskGroup) - names.indexOf(b.TaskGroup) || a.CreateIndex - b.CreateIndex;
    const select = (allocations: AllocationStub[]) =>
      allocationsToRead(allocations, { ...(options.group ? { groups: [options.group] } : {}), ...(sinceNs !== undefined ? { sinceNs } : {}) }).sort(byGroup);
    const first = select(await nomad.allocations(jobId));
    if (!options.follow) {
      if (first.length === 0) io.stderr(`logs: job '${jobId}'${options.group ? ` group '${options.group}'` : ''} has no allocations to read\n`);
      await reader.readAll(first, tail);
      return EXIT.ok;
    }
    return reader.follow(first, tail, async () => select(await nomad.allocations(jobId)));
  },
};

/** Reads the logs of allocations, each line prefixed, each stream to its own output. */
class LogReader {
  /** `group alloc8` and, where the group has more than one task, the task: what prefixes a line. */
  private readonly multiTask: Set<string>;
  private readonly tasks: Map<string, string[]>;

  constructor(
    private readonly nomad: NomadClient,
    job: StoredJob,
    private readonly io: CommandIo,
    private readonly streams: readonly Stream[],
  ) {
    this.tasks = new Map(job.TaskGroups.map((g) => [g.Name, declaredTasks(g).map((t) => t.Name)]));
    this.multiTask = new Set([...this.tasks].filter(([, t]) => t.length > 1).map(([g]) => g));
  }

  private prefix(alloc: AllocationStub, task: string): string {
    return `${alloc.TaskGroup} ${alloc.ID.slice(0, 8)}${this.multiTask.has(alloc.TaskGroup) ? ` ${task}` : ''} | `;
  }

  private keys(alloc: AllocationStub): Array<{ task: string; type: Stream; key: string }> {
    return (this.tasks.get(alloc.TaskGroup) ?? []).flatMap((task) => this.streams.map((type) => ({ task, type, key: `${alloc.ID}/${task}/${type}` })));
  }

  private write(type: Stream, text: string): void {
    if (text) (type === 'stdout' ? this.io.stdout : this.io.stderr)(text);
  }

  /** Every stream read to its end at once, then printed allocation by allocation (a read is not interleaved). */
  async readAll(allocations: readonly AllocationStub[], tail: number): Promise<void> {
    const reads = allocations.flatMap((alloc) =>
      this.keys(alloc).map(async ({ task, type }) => {
        const res = await this.open(alloc, task, type, tail > 0 ? { origin: 'end', offset: tail * BYTES_PER_LINE } : { origin: 'start', offset: 0 }, false);
        const text = res ? await readText(res) : '';
        return { alloc, task, type, missing: !res, text: prefixed(lastLines(text, tail), this.prefix(alloc, task)) };
      }),
    );
    const said = new Set<string>();
    for (const { alloc, task, type, missing, text } of await Promise.all(reads)) {
      this.write(type, text);
      const key = `${alloc.ID}/${task}`;
      if (missing && !said.has(key)) {
        said.add(key);
        this.io.stderr(`logs: ${this.prefix(alloc, task)}no log yet (allocation ${alloc.ClientStatus}: its task has not started)\n`);
      }
    }
  }

  /**
   * Follows the streams of the given allocations, and every second looks for new ones (a
   * rollout's), read from their start. Ends when the operator stops it.
   */
  async follow(first: readonly AllocationStub[], tail: number, poll: () => Promise<AllocationStub[]>): Promise<number> {
    const { signal } = this.io;
    const open = new Map<string, Promise<void>>();
    const ended = new Set<string>();
    const known = new Set(first.map((a) => a.ID));
    /** Allocations met while following: read from their first line, however late their log appears. */
    const arrived = new Set<string>();
    const start = (alloc: AllocationStub) => {
      const fromStart = arrived.has(alloc.ID);
      for (const { task, type, key } of this.keys(alloc)) {
        if (open.has(key) || ended.has(key)) continue;
        const from = fromStart || tail === 0 ? { origin: 'start' as const, offset: 0 } : { origin: 'end' as const, offset: tail * BYTES_PER_LINE };
        const running = this.stream(alloc, task, type, from, fromStart ? 0 : tail)
          .then((read) => {
            // A log not there yet (the task has not started) is tried again at the next poll.
            if (read) ended.add(key);
          })
          .catch((e: Error) => {
            if (!signal.aborted) this.io.stderr(`logs: ${this.prefix(alloc, task)}${type}: ${e.message}\n`);
            ended.add(key);
          })
          .finally(() => open.delete(key));
        open.set(key, running);
      }
    };
    for (const alloc of first) start(alloc);
    while (!signal.aborted) {
      await sleep(POLL_MS, signal);
      if (signal.aborted) break;
      let allocations: AllocationStub[];
      try {
        allocations = await poll();
      } catch (e) {
        if (signal.aborted) break;
        this.io.stderr(`logs: listing allocations failed, trying again: ${(e as Error).message}\n`);
        continue;
      }
      for (const alloc of allocations) {
        if (!known.has(alloc.ID)) {
          known.add(alloc.ID);
          arrived.add(alloc.ID);
          this.io.stderr(`logs: new allocation ${alloc.ID.slice(0, 8)} of ${alloc.TaskGroup} (job version ${alloc.JobVersion ?? '?'})\n`);
        }
        start(alloc);
      }
    }
    await Promise.allSettled(open.values());
    this.io.stderr(`logs: stopped following ${known.size} allocation${known.size === 1 ? '' : 's'}\n`);
    return EXIT.interrupted;
  }

  /** One followed stream, line by line; false when the log is not there yet. */
  private async stream(alloc: AllocationStub, task: string, type: Stream, from: { origin: 'start' | 'end'; offset: number }, tail: number): Promise<boolean> {
    const res = await this.open(alloc, task, type, from, true);
    if (!res) return false;
    const prefix = this.prefix(alloc, task);
    let partial = '';
    // The first bytes (what the log held already) are gathered a moment and cut to the last --tail lines.
    let gathering: string | undefined = tail > 0 ? '' : undefined;
    const release = setTimeout(() => {
      if (gathering === undefined) return;
      const text = lastLines(gathering, tail, true);
      gathering = undefined;
      emit(text);
    }, TAIL_GATHER_MS);
    const emit = (text: string) => {
      const whole = partial + text;
      const cut = whole.lastIndexOf('\n') + 1;
      partial = whole.slice(cut);
      this.write(type, prefixed(whole.slice(0, cut), prefix));
    };
    try {
      for await (const chunk of res) {
        const text = (chunk as Buffer).toString('utf8');
        if (gathering !== undefined) gathering += text;
        else emit(text);
      }
    } catch (e) {
      if (!this.io.signal.aborted) throw e;
    } finally {
      clearTimeout(release);
      if (gathering !== undefined) emit(lastLines(gathering, tail, true));
      if (partial) this.write(type, prefixed(`${partial}\n`, prefix));
    }
    return true;
  }

  /** The log's stream, or undefined while it does not exist (the task has not started). */
  private async open(alloc: AllocationStub, task: string, type: Stream, from: { origin: 'start' | 'end'; offset: number }, follow: boolean): Promise<IncomingMessage | undefined> {
    const res = await this.nomad.logStream(alloc.ID, task, type, { ...from, follow, signal: this.io.signal });
    if (res.statusCode === 200) return res;
    const text = await readText(res);
    if (res.statusCode === 404 || /no such file|not found|does not exist|not started/i.test(text)) return undefined;
    throw new CommandError(`logs: Nomad at ${this.nomad.connection.address} refused the ${type} of ${alloc.TaskGroup} ${alloc.ID.slice(0, 8)} task '${task}' (${res.statusCode}): ${text.trim()}`);
  }
}

async function readText(res: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of res) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * The last `n` lines of a text (all of it for 0). With `open` (a followed log), an unfinished
 * last line is not counted and kept as it is, for what follows to finish it. A read from inside a
 * file may start mid-line: with more lines than wanted, that piece is cut with the rest.
 */
export function lastLines(text: string, n: number, open = false): string {
  if (n === 0) return text;
  const cut = text.lastIndexOf('\n') + 1;
  const lines = cut > 0 ? text.slice(0, cut - 1).split('\n') : [];
  let rest = text.slice(cut);
  if (!open && rest) {
    lines.push(rest);
    rest = '';
  }
  const kept = lines.slice(-n);
  return (kept.length ? `${kept.join('\n')}\n` : '') + rest;
}

/** Each whole line with the prefix; a last line without its line break gets one. */
export function prefixed(text: string, prefix: string): string {
  if (text === '') return '';
  const lines = (text.endsWith('\n') ? text.slice(0, -1) : text).split('\n');
  return lines.map((l) => `${prefix}${l}\n`).join('');
}

function wholeNumber(flag: string, value: string): number {
  if (!/^\d+$/.test(value)) throw new UsageError(`${flag} takes a whole number of lines, got '${value}'`);
  return Number(value);
}

/** `30s`, `10m`, `2h`, `1d` in milliseconds. */
export function durationMs(value: string): number {
  const m = /^(\d+)(s|m|h|d)$/.exec(value);
  if (!m) throw new UsageError(`--since takes a duration such as 30s, 10m, 2h or 1d, got '${value}'`);
  return Number(m[1]) * { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 's' | 'm' | 'h' | 'd'];
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

runMain(logsCommand, module);
