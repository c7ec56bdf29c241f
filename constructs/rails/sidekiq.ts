import type { Construct } from 'constructs';
import { constructError } from '../nomad/construct-error';
import { Duration } from '../nomad/duration';
import { duplicates } from '../nomad/duplicates';
import { type Check, rule, wholeNumber } from '../nomad/rule';
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
   * How long sidekiq may take to finish its jobs once told to stop. Nomad waits 5s longer
   * before it kills the task, so jobs end or are pushed back to redis, never cut off.
   * @default 25s - sidekiq's own shutdown timeout
   */
  readonly shutdownTimeout?: Duration;
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
    const shutdown = props.shutdownTimeout ?? Duration.seconds(25);
    super(scope, id, {
      ...props,
      taskName: props.taskName ?? 'sidekiq',
      command: ['sidekiq', ...props.queues.flatMap((q) => ['-q', q]), '-c', String(concurrency)],
      service: { name: props.serviceName ?? props.groupName, tags: props.serviceTags ?? ['app', 'sidekiq'] },
      killTimeout: Duration.millis(shutdown.toNanoseconds() / 1e6 + 5000),
    });
    const where = `group '${this.groupName}'`;
    const badQueues = checkQueues(props.queues);
    if (badQueues) throw constructError(this, `${where}: ${badQueues}`);
    const badConcurrency = checkConcurrency(concurrency);
    if (badConcurrency) throw constructError(this, `${where}: sidekiq concurrency ${badConcurrency}, got ${concurrency}`);
    this.queues = [...props.queues];
  }
}
