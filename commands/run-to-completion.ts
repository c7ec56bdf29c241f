import type { JobDocument } from '../constructs/nomad/api';
import type { AllocationStub, NomadClient, TaskState } from './nomad-client';
import { formatPlacementFailure } from './plan-format';

/** Where a run's output goes as it comes, and what it says of itself. */
export interface RunIo {
  stdout(chunk: Buffer): void;
  stderr(chunk: Buffer): void;
  progress(message: string): void;
}

export interface RunOptions {
  /** @default - no limit */
  readonly timeoutMs?: number;
  /** How often the allocation and its logs are read. @default 500 */
  readonly pollMs?: number;
  /** Lines of output kept for the end (the command's last words). @default 20 */
  readonly tailLines?: number;
  /** Called once the allocation exists (a caller may want to tell how to reach it). */
  readonly onAllocation?: (allocId: string) => void;
  /** Stops the following (not the job): the outcome is then `interrupted`, the job left as it is. */
  readonly signal?: AbortSignal;
}

export type RunOutcome = 'complete' | 'failed' | 'unplaced' | 'timeout' | 'interrupted';

export interface RunResult {
  readonly outcome: RunOutcome;
  /** The task's exit code, when it ran to its end. */
  readonly exitCode?: number;
  readonly allocId?: string;
  /** Its last lines of output, stdout and stderr in the order they were read. */
  readonly tail: readonly string[];
  /** Why it did not run, or how it ended when it left no output: placement failures, the task's last events. */
  readonly reason?: string;
}

const TERMINAL = new Set<AllocationStub['ClientStatus']>(['complete', 'failed', 'lost']);

/**
 * Registers a batch job of one task, follows its allocation to its end while passing on what
 * the task writes to stdout and stderr (read from `/v1/client/fs/logs` by offset every
 * `pollMs`: a follow stream of a finished task never ends), and says how it ended. A job the
 * scheduler cannot place is stopped at once, with the reason; one that outlives `timeoutMs` is
 * stopped. The job itself is left for the caller to keep or purge.
 */
export async function runToCompletion(client: NomadClient, document: JobDocument, io: RunIo, options: RunOptions = {}): Promise<RunResult> {
  const job = document.Job;
  const evalId = await client.register(document);
  io.progress(`job '${job.ID}' registered (evaluation ${evalId.slice(0, 8)})`);
  return followToEnd(client, { jobId: job.ID, taskName: job.TaskGroups[0]!.Tasks[0]!.Name, evalId }, io, options);
}

/**
 * Follows a one-allocation batch job to its end: the one `runToCompletion` registered (its
 * evaluation tells why nothing is placed), or one already running (`allocId`), such as a release
 * an interrupted deploy left. Its output is passed on from where the task is now when `fromEnd`.
 */
export async function followToEnd(
  client: NomadClient,
  run: { readonly jobId: string; readonly taskName: string; readonly evalId?: string; readonly allocId?: string },
  io: RunIo,
  options: RunOptions = {},
): Promise<RunResult> {
  const pollMs = options.pollMs ?? 500;
  const tail = new Tail(options.tailLines ?? 20);
  const job = { ID: run.jobId };
  const { taskName, evalId } = run;
  const deadline = options.timeoutMs === undefined ? Infinity : Date.now() + options.timeoutMs;
  const sleep = () =>
    new Promise<void>((r) => {
      const timer = setTimeout(done, pollMs);
      function done() {
        options.signal?.removeEventListener('abort', done);
        clearTimeout(timer);
        r();
      }
      options.signal?.addEventListener('abort', done, { once: true });
    });

  let alloc: AllocationStub | undefined = run.allocId ? (await client.allocations(job.ID)).find((a) => a.ID === run.allocId) : undefined;
  const offsets = { stdout: 0, stderr: 0 };
  const drain = async (id: string) => {
    for (const type of ['stdout', 'stderr'] as const) {
      const chunk = await client.logs(id, taskName, type, offsets[type]);
      if (chunk.length === 0) continue;
      offsets[type] += chunk.length;
      io[type](chunk);
      tail.add(chunk);
    }
  };

  for (;;) {
    if (options.signal?.aborted) {
      return { outcome: 'interrupted', ...(alloc ? { allocId: alloc.ID } : {}), tail: tail.lines() };
    }
    if (Date.now() > deadline) {
      await client.deregister(job.ID, { purge: false });
      if (alloc) await drain(alloc.ID).catch(() => undefined);
      return { outcome: 'timeout', ...(alloc ? { allocId: alloc.ID } : {}), tail: tail.lines(), reason: `still running after ${Math.round(options.timeoutMs! / 1000)}s: stopped` };
    }
    if (!alloc) {
      alloc = (await client.allocations(job.ID)).pop();
      if (alloc) {
        io.progress(`allocation ${alloc.ID.slice(0, 8)} placed`);
        options.onAllocation?.(alloc.ID);
      } else if (evalId) {
        const evaluation = await client.evaluation(evalId);
        const failed = Object.entries(evaluation.FailedTGAllocs ?? {});
        if (evaluation.Status !== 'pending' && failed.length > 0) {
          await client.deregister(job.ID, { purge: false });
          return { outcome: 'unplaced', tail: [], reason: failed.flatMap(([group, metric]) => formatPlacementFailure(group, metric)).join('\n') };
        }
        if (evaluation.Status === 'failed' || evaluation.Status === 'canceled') {
          return { outcome: 'unplaced', tail: [], reason: `evaluation ${evaluation.Status}: ${evaluation.StatusDescription ?? ''}`.trim() };
        }
        await sleep();
        continue;
      } else {
        await sleep();
        continue;
      }
    }
    const current = (await client.allocations(job.ID)).find((a) => a.ID === alloc!.ID) ?? alloc;
    await drain(current.ID);
    if (TERMINAL.has(current.ClientStatus)) {
      // What the task wrote between the last read and its end.
      await drain(current.ID);
      const state = current.TaskStates?.[taskName];
      const exitCode = exitCodeOf(state);
      const outcome = current.ClientStatus === 'complete' && (exitCode ?? 0) === 0 ? 'complete' : 'failed';
      const reason = outcome === 'failed' ? lastEvents(state) : undefined;
      return { outcome, ...(exitCode !== undefined ? { exitCode } : {}), allocId: current.ID, tail: tail.lines(), ...(reason ? { reason } : {}) };
    }
    await sleep();
  }
}

/** The exit code of the task's last `Terminated` event. */
export function exitCodeOf(state: TaskState | undefined): number | undefined {
  const terminated = (state?.Events ?? []).filter((e) => e.Type === 'Terminated');
  return terminated.length > 0 ? terminated[terminated.length - 1]!.ExitCode ?? 0 : undefined;
}

/** The task's last events, as `nomad alloc status` shows them: what a failed task that wrote nothing says. */
function lastEvents(state: TaskState | undefined): string | undefined {
  const events = (state?.Events ?? []).filter((e) => e.DisplayMessage).slice(-3);
  return events.length > 0 ? events.map((e) => `${e.Type}: ${e.DisplayMessage}`).join('\n') : undefined;
}

/** The last `size` lines of a stream of chunks; a line cut between chunks is joined. */
export class Tail {
  private readonly done: string[] = [];
  private partial = '';

  constructor(private readonly size: number) {}

  add(chunk: Buffer | string): void {
    const parts = (this.partial + chunk.toString()).split('\n');
    this.partial = parts.pop()!;
    this.done.push(...parts);
    if (this.done.length > this.size) this.done.splice(0, this.done.length - this.size);
  }

  lines(): string[] {
    const all = this.partial ? [...this.done, this.partial] : [...this.done];
    return all.slice(-this.size);
  }
}

/**
 * Copies a Nomad Variable's items to another path for the time of `work`, and deletes the copy
 * afterwards, whatever happens. A batch job's tasks read `nomad/jobs/<their job ID>` through
 * their workload identity, not the service job's variable (README, "Release step"). Without
 * a source variable there is nothing to copy.
 */
export async function withVariableCopy<T>(client: NomadClient, from: string, to: string, work: (copied: boolean) => Promise<T>): Promise<T> {
  const items = await client.variableItems(from);
  if (!items) return work(false);
  await client.putVariable(to, items);
  try {
    return await work(true);
  } finally {
    await client.deleteVariable(to);
  }
}
