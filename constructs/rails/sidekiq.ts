import type { Construct } from 'constructs';
import { Duration } from '../nomad/duration';
import { duplicates } from '../nomad/group';
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

const QUEUE_NAME = /^[A-Za-z0-9_.:-]+$/;

/** A sidekiq process working a list of queues. */
export class SidekiqGroup extends RailsProcessGroup {
  readonly queues: readonly string[];

  constructor(scope: Construct, id: string, props: SidekiqGroupProps) {
    const where = `group '${props.groupName}'`;
    const concurrency = props.concurrency ?? 1;
    if (props.queues.length === 0) throw new Error(`${where}: sidekiq needs at least one queue, got an empty list`);
    for (const q of props.queues) {
      if (!QUEUE_NAME.test(q)) throw new Error(`${where}: queue name '${q}' may hold only letters, digits and '_', '.', ':', '-'`);
    }
    for (const q of duplicates(props.queues)) throw new Error(`${where}: queue '${q}' is listed twice`);
    if (!Number.isInteger(concurrency) || concurrency < 1) {
      throw new Error(`${where}: sidekiq concurrency must be a whole number of at least 1, got ${concurrency}`);
    }
    const shutdown = props.shutdownTimeout ?? Duration.seconds(25);
    super(scope, id, props, {
      groupName: props.groupName,
      taskName: props.taskName ?? 'sidekiq',
      command: ['sidekiq', ...props.queues.flatMap((q) => ['-q', q]), '-c', String(concurrency)],
      service: { name: props.serviceName ?? props.groupName, tags: props.serviceTags ?? ['app', 'sidekiq'] },
      killTimeout: Duration.millis(shutdown.toNanoseconds() / 1e6 + 5000),
    });
    this.queues = [...props.queues];
  }
}
