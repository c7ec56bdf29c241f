import type { Construct } from 'constructs';
import { constructError } from '../core/construct-error';
import { Duration } from '../nomad/duration';
import { duplicates } from '../core/duplicates';
import type { RollingUpdate } from '../nomad/group';
import { type Check, rule, wholeNumber } from '../core/rule';
import { RailsProcessGroup, type RailsProcessProps } from './process-group';

export interface SidekiqGroupProps extends RailsProcessProps {
  /** The group name; also the Consul service name unless `serviceName` says otherwise. */
  readonly groupName: string;
  /** Queues in priority order (`-q a -q b`). */
  readonly queues: readonly string[];
  /** Worker threads (`-c`). @default 1 */
  readonly concurrency?: number;
  /** @default 'sidekiq' */
  readonly taskName?: string;
  /** @default - the group name */
  readonly serviceName?: string;
  /** @default ['app', 'sidekiq'] */
  readonly serviceTags?: readonly string[];
  /**
   * How long sidekiq may take to finish its jobs once told to stop: passed to sidekiq as
   * `-t <seconds>`, so that sidekiq and Nomad agree on it. Jobs still running then are pushed
   * back to redis. Whole seconds (sidekiq's `-t` takes an integer).
   * @default 25s - sidekiq's own default, said explicitly
   */
  readonly shutdownTimeout?: Duration;
  /**
   * How long Nomad waits after SIGTERM before it kills the task. Must be longer than
   * `shutdownTimeout`, or Nomad kills sidekiq while it is still pushing jobs back. Nomad clients
   * cap it at their `max_kill_timeout` (30s unless the client config says otherwise).
   * @default - shutdownTimeout + 5s (SIDEKIQ_KILL_MARGIN)
   */
  readonly killTimeout?: Duration;
  /**
   * Merged over the defaults field by field.
   * @default - SIDEKIQ_UPDATE: one at a time, healthy when its task has run 10s (sidekiq listens
   * on no port: Nomad's task states are its health), within 3m; reverts after 5m without progress
   */
  readonly update?: RollingUpdate;
}

/**
 * A sidekiq group rolls one allocation at a time. Sidekiq serves no port to check, so health is
 * the task's state: running for minHealthyTime without a restart (a worker that cannot boot exits).
 */
export const SIDEKIQ_UPDATE = {
  maxParallel: 1,
  minHealthyTime: Duration.seconds(10),
  healthyDeadline: Duration.minutes(3),
  progressDeadline: Duration.minutes(5),
  autoRevert: true,
  healthCheck: 'task_states',
} as const satisfies RollingUpdate;

/** What Nomad leaves sidekiq beyond its own shutdown timeout: time to push the last jobs back and exit. */
export const SIDEKIQ_KILL_MARGIN = Duration.seconds(5);
export const SIDEKIQ_DEFAULT_SHUTDOWN = Duration.seconds(25);
/**
 * Sidekiq's signal for "stop": on TERM it stops fetching, waits up to its `-t` for running jobs,
 * pushes the unfinished back to redis and exits (TSTP only quiets it; KILL loses jobs).
 */
export const SIDEKIQ_STOP_SIGNAL = 'SIGTERM';

/** Sidekiq's `-t` is whole seconds, at least one. */
export const checkShutdownTimeout: Check<Duration> = (d) =>
  d.toNanoseconds() >= 1e9 && d.toNanoseconds() % 1e9 === 0 ? undefined : 'must be a whole number of seconds, at least 1s (sidekiq -t takes seconds)';

/** Nomad must wait longer than sidekiq does, or it kills sidekiq mid-shutdown. */
export function checkKillTimeout(killTimeout: Duration, shutdownTimeout: Duration): string | undefined {
  return killTimeout.toNanoseconds() > shutdownTimeout.toNanoseconds()
    ? undefined
    : `kill timeout ${killTimeout} must be longer than sidekiq's shutdown timeout ${shutdownTimeout}, or Nomad kills sidekiq before it has pushed its jobs back`;
}

export const checkQueueName = rule((q: string) => /^[A-Za-z0-9_.:-]+$/.test(q), "may hold only letters, digits and '_', '.', ':', '-'");

/** A sidekiq process works at least one queue, each named once. */
export const checkQueues: Check<readonly string[]> = (queues) => {
  if (queues.length === 0) return 'sidekiq needs at least one queue, got an empty list';
  for (const q of queues) {
    const bad = checkQueueName(q);
    if (bad) return `queue name '${q}' ${bad}`;
  }
  const [twice] = duplicates(queues);
  return twice === undefined ? undefined : `queue '${twice}' is listed twice`;
};

export const checkConcurrency = wholeNumber({ min: 1 });

/** A sidekiq process working a list of queues. */
export class SidekiqGroup extends RailsProcessGroup {
  readonly queues: readonly string[];

  constructor(scope: Construct, id: string, props: SidekiqGroupProps) {
    const concurrency = props.concurrency ?? 1;
    const shutdown = props.shutdownTimeout ?? SIDEKIQ_DEFAULT_SHUTDOWN;
    const killTimeout = props.killTimeout ?? shutdown.plus(SIDEKIQ_KILL_MARGIN);
    super(scope, id, {
      ...props,
      taskName: props.taskName ?? 'sidekiq',
      command: ['sidekiq', ...props.queues.flatMap((q) => ['-q', q]), '-c', String(concurrency), '-t', String(shutdown.toSeconds())],
      service: { name: props.serviceName ?? props.groupName, tags: props.serviceTags ?? ['app', 'sidekiq'] },
      killTimeout,
      killSignal: SIDEKIQ_STOP_SIGNAL,
      update: { ...SIDEKIQ_UPDATE, ...props.update },
    });
    const where = `group '${this.groupName}'`;
    const badShutdown = checkShutdownTimeout(shutdown);
    if (badShutdown) throw constructError(this, `${where}: sidekiq shutdown timeout ${badShutdown}, got ${shutdown}`);
    const badKill = checkKillTimeout(killTimeout, shutdown);
    if (badKill) throw constructError(this, `${where}: ${badKill}`);
    const badQueues = checkQueues(props.queues);
    if (badQueues) throw constructError(this, `${where}: ${badQueues}`);
    const badConcurrency = checkConcurrency(concurrency);
    if (badConcurrency) throw constructError(this, `${where}: sidekiq concurrency ${badConcurrency}, got ${concurrency}`);
    this.queues = [...props.queues];
  }
}
