import type { Construct } from 'constructs';
import { ConnectService, type HttpCheck, type Upstream } from '../nomad/connect';
import { constructError } from '../core/construct-error';
import type { Constraint } from '../nomad/constraint';
import type { Duration } from '../nomad/duration';
import { type RollingUpdate, TaskGroup } from '../nomad/group';
import type { RegistryPullAuth } from '../nomad/registry-auth';
import type { RuntimeConfig } from '../nomad/runtime-config';
import { DockerTask, type TaskResources } from '../nomad/task';
import type { VolumeMountOptions } from '../nomad/volume';
import type { IContainerImage } from '../image/image-reference';

/** What every process of a Rails app shares: the image, its environment and the services it reaches. */
export interface RailsProcessProps {
  readonly image: IContainerImage;
  readonly resources: TaskResources;
  /** @default 1 */
  readonly count?: number;
  /** @default {} */
  readonly env?: Readonly<Record<string, string>>;
  /** Consul services the process reaches through its Connect sidecar. @default [] */
  readonly upstreams?: readonly Upstream[];
  /** @default [] */
  readonly mounts?: readonly VolumeMountOptions[];
  /** @default [] */
  readonly constraints?: readonly Constraint[];
  /** @default - anonymous pull */
  readonly pullAuth?: RegistryPullAuth;
  /** The app's config files and env vars, from a Nomad Variable. @default - none */
  readonly runtimeConfig?: RuntimeConfig;
}

/** A Rails process group: what every process shares, and the parts that differ between puma and sidekiq. */
export interface RailsProcessGroupProps extends RailsProcessProps {
  readonly groupName: string;
  readonly taskName: string;
  readonly command: readonly string[];
  readonly service: { readonly name: string; readonly tags: readonly string[]; readonly port?: number; readonly httpCheck?: HttpCheck };
  /** @default - the job's update strategy */
  readonly update?: RollingUpdate;
  /** @default - Nomad's default, 5s */
  readonly killTimeout?: Duration;
  /** @default - Nomad's default for docker tasks, SIGTERM */
  readonly killSignal?: string;
  /**
   * How long Nomad waits, once the group's services are deregistered from Consul, before it
   * stops the tasks: callers stop being sent here before the process stops answering.
   * @default - none (Nomad's 0)
   */
  readonly shutdownDelay?: Duration;
}

/** A group of one docker task of a Rails image, with a Connect service: the shape of puma and of every sidekiq. */
export class RailsProcessGroup extends TaskGroup {
  readonly task: DockerTask;

  constructor(scope: Construct, id: string, props: RailsProcessGroupProps) {
    super(scope, id, {
      name: props.groupName,
      count: props.count ?? 1,
      networkMode: 'bridge',
      constraints: props.constraints ?? [],
      ...(props.update ? { update: props.update } : {}),
      ...(props.shutdownDelay ? { shutdownDelay: props.shutdownDelay } : {}),
    });
    let service: ConnectService;
    try {
      service = new ConnectService({
        name: props.service.name,
        tags: [...props.service.tags],
        upstreams: [...(props.upstreams ?? [])],
        ...(props.service.port !== undefined ? { port: props.service.port } : {}),
        ...(props.service.httpCheck ? { httpCheck: props.service.httpCheck } : {}),
      });
    } catch (e) {
      throw constructError(this, `group '${this.groupName}': ${(e as Error).message}`);
    }
    this.addService(service);
    this.task = new DockerTask(this, 'task', {
      name: props.taskName,
      image: props.image,
      command: props.command,
      resources: props.resources,
      env: props.env ?? {},
      mounts: props.mounts ?? [],
      ...(props.pullAuth ? { pullAuth: props.pullAuth } : {}),
      ...(props.runtimeConfig ? { runtimeConfig: props.runtimeConfig } : {}),
      ...(props.killTimeout ? { killTimeout: props.killTimeout } : {}),
      ...(props.killSignal ? { killSignal: props.killSignal } : {}),
    });
  }
}
