import type { Construct } from 'constructs';
import { Duration } from '../nomad/duration';
import type { RollingUpdate } from '../nomad/group';
import { RailsProcessGroup, type RailsProcessProps } from './process-group';

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
  readonly threads?: { readonly min: number; readonly max: number };
  /** Load the app before forking workers (`--preload`). @default true */
  readonly preload?: boolean;
  /** @default - one allocation at a time, each healthy for 30s before the next */
  readonly update?: RollingUpdate;
}

/** The Rails web server: puma behind a Connect service, rolled one allocation at a time. */
export class PumaGroup extends RailsProcessGroup {
  constructor(scope: Construct, id: string, props: PumaGroupProps) {
    const port = props.port ?? 5000;
    const workers = props.workers ?? 2;
    const threads = props.threads ?? { min: 1, max: 1 };
    const groupName = props.groupName ?? 'web';
    for (const [what, n, min] of [['port', port, 1], ['workers', workers, 0], ['threads.min', threads.min, 0], ['threads.max', threads.max, 1]] as const) {
      if (!Number.isInteger(n) || n < min || (what === 'port' && n > 65535)) {
        throw new Error(`group '${groupName}': puma ${what} must be a whole number of at least ${min}${what === 'port' ? ' and at most 65535' : ''}, got ${n}`);
      }
    }
    if (threads.min > threads.max) {
      throw new Error(`group '${groupName}': puma threads.min ${threads.min} must not exceed threads.max ${threads.max}`);
    }
    const command = [
      'puma', '-b', 'tcp://0.0.0.0', '-p', String(port),
      ...(props.preload ?? true ? ['--preload'] : []),
      '-w', String(workers), '-t', `${threads.min}:${threads.max}`,
    ];
    super(scope, id, props, {
      groupName,
      taskName: props.taskName ?? 'rails_server',
      command,
      service: { name: props.serviceName ?? 'puma', tags: props.serviceTags ?? ['app'], port },
      update: props.update ?? { maxParallel: 1, minHealthyTime: Duration.seconds(30) },
    });
  }
}
