import type { Construct } from 'constructs';
import type { HttpCheck } from '../nomad/connect';
import { constructError } from '../core/construct-error';
import { Duration } from '../nomad/duration';
import { NOMAD_UPDATE_DEFAULTS, type RollingUpdate } from '../nomad/group';
import { type Check, checkPort, wholeNumber } from '../core/rule';
import { isUnresolved } from '../core/tokens';
import { RailsProcessGroup, type RailsProcessProps } from './process-group';

export interface PumaThreads {
  readonly min: number;
  readonly max: number;
}

/** Puma worker processes: 0 runs puma in single mode. */
export const checkPumaWorkers = wholeNumber({ min: 0 });

/** Threads per worker: a pool of at least one thread, its minimum no larger than its maximum. */
export const checkPumaThreads: Check<PumaThreads> = ({ min, max }) => {
  const badMin = wholeNumber({ min: 0 })(min);
  if (badMin) return `threads.min ${badMin}, got ${min}`;
  const badMax = wholeNumber({ min: 1 })(max);
  if (badMax) return `threads.max ${badMax}, got ${max}`;
  if (isUnresolved(min) || isUnresolved(max)) return undefined;
  return min > max ? `threads.min ${min} must not exceed threads.max ${max}` : undefined;
};

/**
 * What a puma group is when its props leave a field out: the construct's defaults, in one
 * place. Config reads the names from here where it must know them (a worker may not take
 * the web group's name).
 */
export const PUMA_DEFAULTS = {
  groupName: 'web',
  taskName: 'rails_server',
  serviceName: 'puma',
  serviceTags: ['app'],
  port: 5000,
  workers: 2,
  threads: { min: 1, max: 1 },
  preload: true,
  /** Consul deregisters the service, and its callers' proxies hear of it, before puma is told to stop. */
  shutdownDelay: Duration.seconds(10),
  /**
   * Rails 8.1's `rails/health#show` answers 200 at `/up` once the app has booted, without a
   * session or the database. An app without that route passes another path (README, "Safe rollouts").
   * Interval and timeout: ConnectService's (HTTP_CHECK_DEFAULTS).
   */
  healthCheck: { path: '/up' },
  /** One at a time, each checked healthy for 30s; a deployment that does not get there reverts. Nomad's deadlines, written out. */
  update: {
    maxParallel: 1,
    minHealthyTime: Duration.seconds(30),
    healthyDeadline: NOMAD_UPDATE_DEFAULTS.healthyDeadline,
    progressDeadline: NOMAD_UPDATE_DEFAULTS.progressDeadline,
    autoRevert: true,
    healthCheck: 'checks',
  },
} as const satisfies { healthCheck: HttpCheck; update: RollingUpdate } & Record<string, unknown>;

export interface PumaGroupProps extends RailsProcessProps {
  /** @default 'web' */
  readonly groupName?: string;
  /** @default 'rails_server' */
  readonly taskName?: string;
  /** The Consul service name. @default 'puma' */
  readonly serviceName?: string;
  /** @default ['app'] */
  readonly serviceTags?: readonly string[];
  /** The port puma binds inside the group's network namespace. @default 5000 */
  readonly port?: number;
  /** Puma worker processes (`-w`). @default 2 */
  readonly workers?: number;
  /** Puma threads per worker (`-t min:max`). @default { min: 1, max: 1 } */
  readonly threads?: PumaThreads;
  /** Load the app before forking workers (`--preload`). @default true */
  readonly preload?: boolean;
  /**
   * Merged over the defaults field by field.
   * @default - one allocation at a time, healthy by its checks for 30s before the next, within
   * 5m; the deployment fails after 10m without progress and Nomad reverts to the last stable version
   */
  readonly update?: RollingUpdate;
  /**
   * Merged over the defaults field by field.
   * @default - GET /up every 10s, 5s to answer (Rails 8.1's health route)
   */
  readonly healthCheck?: Partial<HttpCheck>;
  /**
   * How long Nomad waits between deregistering the puma service from Consul and stopping puma,
   * so requests stop arriving before puma stops answering.
   * @default 10s
   */
  readonly shutdownDelay?: Duration;
}

/** The Rails web server: puma behind a Connect service, rolled one allocation at a time. */
export class PumaGroup extends RailsProcessGroup {
  constructor(scope: Construct, id: string, props: PumaGroupProps) {
    const port = props.port ?? PUMA_DEFAULTS.port;
    const workers = props.workers ?? PUMA_DEFAULTS.workers;
    const threads = props.threads ?? PUMA_DEFAULTS.threads;
    super(scope, id, {
      ...props,
      groupName: props.groupName ?? PUMA_DEFAULTS.groupName,
      taskName: props.taskName ?? PUMA_DEFAULTS.taskName,
      command: [
        'puma', '-b', 'tcp://0.0.0.0', '-p', String(port),
        ...(props.preload ?? PUMA_DEFAULTS.preload ? ['--preload'] : []),
        '-w', String(workers), '-t', `${threads.min}:${threads.max}`,
      ],
      service: {
        name: props.serviceName ?? PUMA_DEFAULTS.serviceName,
        tags: props.serviceTags ?? PUMA_DEFAULTS.serviceTags,
        port,
        httpCheck: { ...PUMA_DEFAULTS.healthCheck, ...props.healthCheck },
      },
      update: { ...PUMA_DEFAULTS.update, ...props.update },
      shutdownDelay: props.shutdownDelay ?? PUMA_DEFAULTS.shutdownDelay,
    });
    const where = `group '${this.groupName}'`;
    const badPort = checkPort(port);
    if (badPort) throw constructError(this, `${where}: puma port ${badPort}, got ${port}`);
    const badWorkers = checkPumaWorkers(workers);
    if (badWorkers) throw constructError(this, `${where}: puma workers ${badWorkers}, got ${workers}`);
    const badThreads = checkPumaThreads(threads);
    if (badThreads) throw constructError(this, `${where}: puma ${badThreads}`);
  }
}
