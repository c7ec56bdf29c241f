import type { DockerDriverConfig } from '../nomad/api';

/** The docker driver keys that decide how a task's command line starts in the container. */
export type CommandConfig = Pick<DockerDriverConfig, 'entrypoint' | 'command' | 'args'>;

/**
 * A Cloud Native Buildpacks image's launcher: the entrypoint name its processes start through,
 * and its full path, which a command run beside the entrypoint (`nomad alloc exec`) must name.
 */
export const BUILDPACKS_LAUNCHER = { entrypoint: 'launcher', path: '/cnb/lifecycle/launcher' } as const;

/**
 * How an image runs a command line. It is a property of the image, not of each task:
 * images from Cloud Native Buildpacks start every process through the CNB `launcher`
 * (it sets up the buildpacks' environment: Ruby, bundler, PATH); an image built from a
 * Dockerfile runs the command directly.
 */
export class ImageRuntime {
  /** Cloud Native Buildpacks: `launcher` is the entrypoint, the command line its arguments. */
  static buildpacks(): ImageRuntime {
    return new ImageRuntime('buildpacks', [BUILDPACKS_LAUNCHER.entrypoint]);
  }

  /** A Dockerfile image: the command runs as the process itself, through the image's own entrypoint if it has one. */
  static direct(): ImageRuntime {
    return new ImageRuntime('direct', undefined);
  }

  private constructor(
    readonly kind: 'buildpacks' | 'direct',
    private readonly entrypoint: string[] | undefined,
  ) {}

  /** Splits `["puma", "-b", ...]` into the docker driver's entrypoint, command and args. */
  commandConfig(argv: readonly string[]): CommandConfig {
    const [command, ...args] = argv;
    if (command === undefined || command === '') {
      throw new Error('a task command line needs at least the program to run');
    }
    return { ...(this.entrypoint ? { entrypoint: [...this.entrypoint] } : {}), command, args };
  }
}
