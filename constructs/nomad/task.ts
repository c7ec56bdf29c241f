import { Construct } from 'constructs';
import type { DockerDriverConfig, Task } from './api';
import type { Duration } from './duration';
import type { RegistryPullAuth } from './registry-auth';
import type { RuntimeConfig } from './runtime-config';
import type { VolumeMountOptions } from './volume';
import type { IContainerImage } from '../image/image-reference';
import { constructError } from '../core/construct-error';
import { checkEnvName } from './env-name';
import { checkAbsolutePath, rule, wholeNumber } from '../core/rule';
import { isUnresolved } from '../core/tokens';

export interface TaskResources {
  /** MHz of CPU the task is given. */
  readonly cpu: number;
  /** MB of memory the task is given. */
  readonly memoryMB: number;
  /**
   * MB the task may use beyond `memoryMB` when the node has it (memory oversubscription).
   * @default - no oversubscription
   */
  readonly memoryMaxMB?: number;
}

export interface DockerTaskProps {
  /** The task name, unique in its group. */
  readonly name: string;
  readonly image: IContainerImage;
  /** The command line, program first: `["sidekiq", "-q", "default"]`. The image's runtime decides how it starts. */
  readonly command: readonly string[];
  readonly resources: TaskResources;
  /** @default {} */
  readonly env?: Readonly<Record<string, string>>;
  /** @default [] */
  readonly mounts?: readonly VolumeMountOptions[];
  /**
   * Labels of group network ports the container publishes.
   * @default [] - Connect services in bridge mode need none
   */
  readonly ports?: readonly string[];
  /**
   * Credentials for the image pull, read from a Nomad Variable at run time: the jobspec holds none.
   * @default - the pull is anonymous, or uses the Nomad client's own docker auth
   */
  readonly pullAuth?: RegistryPullAuth;
  /**
   * The app's config files and env vars, rendered from a Nomad Variable: files bind-mounted
   * read-only where the app reads them, env vars into the environment.
   * @default - none
   */
  readonly runtimeConfig?: RuntimeConfig;
  /**
   * How long Nomad waits after the kill signal before it kills the task.
   * @default - Nomad's default, 5s
   */
  readonly killTimeout?: Duration;
  /** @default - Nomad's default for docker tasks, SIGTERM */
  readonly killSignal?: string;
}

/** Nomad makes a directory of it: "Task name cannot include slashes" (either kind). */
export const checkTaskName = rule((name: string) => /^[^/\\\s]+$/.test(name), "must not be empty or hold '/', '\\' or spaces");
export const checkCpu = wholeNumber({ min: 1, unit: 'MHz' });
export const checkMemoryMB = wholeNumber({ min: 10, why: "Nomad's minimum" });

/** A task run by Nomad's docker driver. Add it to a `TaskGroup`, which collects it at synth. */
export class DockerTask extends Construct {
  readonly taskName: string;
  readonly mounts: readonly VolumeMountOptions[];
  readonly ports: readonly string[];

  constructor(scope: Construct, id: string, private readonly props: DockerTaskProps) {
    super(scope, id);
    const where = `task '${props.name}'`;
    const badName = checkTaskName(props.name);
    if (badName) throw constructError(this, `${where}: a task name ${badName}`);
    const { cpu, memoryMB, memoryMaxMB } = props.resources;
    const badCpu = checkCpu(cpu);
    if (badCpu) throw constructError(this, `${where}: cpu ${badCpu}, got ${cpu}`);
    const badMemory = checkMemoryMB(memoryMB);
    if (badMemory) throw constructError(this, `${where}: memoryMB ${badMemory}, got ${memoryMB}`);
    if (memoryMaxMB !== undefined && !isUnresolved(memoryMaxMB) && !isUnresolved(memoryMB) && (!Number.isInteger(memoryMaxMB) || memoryMaxMB < memoryMB)) {
      throw constructError(this, `${where}: memoryMaxMB ${memoryMaxMB} must be a whole number no smaller than memoryMB ${memoryMB}`);
    }
    for (const key of Object.keys(props.env ?? {})) {
      const badKey = checkEnvName(key);
      if (badKey) throw constructError(this, `${where}: env key '${key}' ${badKey}`);
    }
    for (const mount of props.mounts ?? []) {
      const badPath = checkAbsolutePath(mount.path);
      if (badPath) throw constructError(this, `${where}: volume '${mount.volume.name}' mount path ${badPath}, got '${mount.path}'`);
      if (mount.readOnly === false && mount.volume.readOnly) {
        throw constructError(this, `${where}: volume '${mount.volume.name}' is read-only and cannot be mounted read-write`);
      }
    }
    // Fails now, naming the task, if the command line is empty.
    props.image.runtime.commandConfig(props.command);
    this.taskName = props.name;
    this.mounts = [...(props.mounts ?? [])];
    this.ports = [...(props.ports ?? [])];
  }

  /** @default - Nomad's 5s, when undefined */
  get killTimeout(): Duration | undefined {
    return this.props.killTimeout;
  }

  get resources(): TaskResources {
    return this.props.resources;
  }

  render(): Task {
    const { image, command, resources, env, pullAuth, runtimeConfig, killTimeout, killSignal } = this.props;
    const mounts = runtimeConfig?.dockerMounts() ?? [];
    const meta = runtimeConfig?.taskMeta() ?? {};
    const templates = [...(pullAuth ? [pullAuth.template()] : []), ...(runtimeConfig?.templates() ?? [])];
    const config: DockerDriverConfig = {
      image: image.reference,
      ...image.runtime.commandConfig(command),
      ...(this.ports.length > 0 ? { ports: [...this.ports] } : {}),
      ...(pullAuth ? { auth: pullAuth.dockerAuth() } : {}),
      ...(mounts.length > 0 ? { mount: mounts } : {}),
    };
    return {
      Name: this.taskName,
      Driver: 'docker',
      Config: { ...config },
      Env: { ...(env ?? {}) },
      Resources: {
        CPU: resources.cpu,
        MemoryMB: resources.memoryMB,
        ...(resources.memoryMaxMB !== undefined ? { MemoryMaxMB: resources.memoryMaxMB } : {}),
      },
      ...(templates.length > 0 ? { Templates: templates } : {}),
      ...(this.mounts.length > 0
        ? {
            VolumeMounts: this.mounts.map((m) => ({
              Volume: m.volume.name,
              Destination: m.path,
              ReadOnly: m.readOnly ?? m.volume.readOnly,
            })),
          }
        : {}),
      ...(killTimeout ? { KillTimeout: killTimeout.toNanoseconds() } : {}),
      ...(killSignal ? { KillSignal: killSignal } : {}),
      ...(Object.keys(meta).length > 0 ? { Meta: meta } : {}),
    };
  }
}
