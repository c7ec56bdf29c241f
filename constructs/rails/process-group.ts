import type { Construct } from 'constructs';
import { ConnectService, type Upstream } from '../nomad/connect';
import type { Constraint } from '../nomad/constraint';
import type { Duration } from '../nomad/duration';
import { type RollingUpdate, TaskGroup } from '../nomad/group';
import type { RegistryPullAuth } from '../nomad/registry-auth';
import type { RuntimeConfig } from '../nomad/runtime-config';
import { DockerTask, type TaskResources } from '../nomad/task';
import type { VolumeMountOptions } from '../nomad/volume';
import type { IContainerImage } from '../image/container-image';

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

/** The parts of one process that differ between puma and sidekiq. */
export interface ProcessShape {
  readonly groupName: string;
  readonly taskName: string;
  readonly command: readonly string[];
  readonly service: { readonly name: string; readonly tags: readonly string[]; readonly port?: number };
  readonly update?: RollingUpdate;
  readonly killTimeout?: Duration;
}

/** A group of one docker task of a Rails image, with a Connect service: the shape of puma and of every sidekiq. */
export class RailsProcessGroup extends TaskGroup {
  readonly task: DockerTask;

  constructor(scope: Construct, id: string, props: RailsProcessProps, shape: ProcessShape) {
    super(scope, id, {
      name: shape.groupName,
      count: props.count ?? 1,
      networkMode: 'bridge',
      constraints: props.constraints ?? [],
      services: [
        new ConnectService({
          name: shape.service.name,
          tags: [...shape.service.tags],
          upstreams: [...(props.upstreams ?? [])],
          ...(shape.service.port !== undefined ? { port: shape.service.port } : {}),
        }),
      ],
      ...(shape.update ? { update: shape.update } : {}),
    });
    this.task = new DockerTask(this, 'task', {
      name: shape.taskName,
      image: props.image,
      command: shape.command,
      resources: props.resources,
      env: props.env ?? {},
      mounts: props.mounts ?? [],
      ...(props.pullAuth ? { pullAuth: props.pullAuth } : {}),
      ...(props.runtimeConfig ? { runtimeConfig: props.runtimeConfig } : {}),
      ...(shape.killTimeout ? { killTimeout: shape.killTimeout } : {}),
    });
  }
}
