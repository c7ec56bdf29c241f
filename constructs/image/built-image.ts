import { Construct } from 'constructs';
import { Annotations } from 'cdktf';
import { DockerProvider } from '@cdktf/provider-docker/lib/provider';
import { Image } from '@cdktf/provider-docker/lib/image';
import { RegistryImage } from '@cdktf/provider-docker/lib/registry-image';
import type { IContainerImage } from './image-reference';
import type { ImageRuntime } from './runtime';
import { DEFAULT_DOCKERFILE } from './dockerfile';
import { DeployCheck } from '../terraform/deploy-check';
import { rule } from '../core/rule';

export interface BuiltImageProps {
  /** Where the image is pushed, without tag: `docker.wikiedu.org/wikiedu-web`. */
  readonly repository: string;
  /** Absolute path of the build context. */
  readonly context: string;
  /** Path of the Dockerfile, relative to the context, or absolute (then it may lie outside it). @default 'Dockerfile' */
  readonly dockerfile?: string;
  /**
   * A content hash of the build context (what the Docker daemon would receive). The docker
   * provider cannot see changed files by itself: this hash is its trigger, and the tag.
   */
  readonly contextHash: string;
  readonly runtime: ImageRuntime;
  /** @default - the daemon's platform */
  readonly platform?: string;
  /**
   * Terraform keeps the build and the push as they are in state (`ignore_changes = all`): no
   * build, no push and the same digest, whatever the context holds now. For a rollback, where
   * the job runs an earlier digest and the next plain deploy rolls forward from this state.
   * @default false
   */
  readonly keepAsInState?: boolean;
}

/** The context's content hash, as config/build-context.ts computes it: the build's trigger and its tag. */
export const checkContextHash = rule((hash: string) => /^[a-f0-9]{64}$/.test(hash), 'must be a SHA-256 digest: 64 lower-case hex digits');

/**
 * Builds an image with the docker provider, pushes it to a registry and names it by the
 * pushed manifest's digest. An unchanged context means no build, no push and the same
 * digest; a changed one means a new tag, a new digest and so a new job version.
 * Pushed tags are kept in the registry, so a rollback can deploy any earlier digest.
 *
 * A new image replaces build and push create-before-destroy: the push that replaces the last one
 * runs first, so when it fails (the registry is down) the pushed image stays in state, and so does
 * the release step keyed on its digest; a deploy of that same source later pushes and releases
 * nothing. (Destroy-first, the failed push left no image in state: the next deploy pushed it again
 * and re-ran the release.) Destroying either is nothing but forgetting it (`keep_*`).
 */
export class BuiltImage extends Construct implements IContainerImage {
  readonly reference: string;
  readonly runtime: ImageRuntime;
  /** `repository:tag` of the pushed image. */
  readonly taggedName: string;
  readonly image: Image;
  readonly registryImage: RegistryImage;

  constructor(scope: Construct, id: string, props: BuiltImageProps) {
    super(scope, id);
    const badHash = checkContextHash(props.contextHash);
    if (badHash) throw new Error(`image '${props.repository}': contextHash ${badHash}, got '${props.contextHash}'`);
    if (/[:@]/.test(props.repository.split('/').slice(1).join('/'))) {
      throw new Error(`image repository '${props.repository}' must not carry a tag or digest: the build sets the tag`);
    }
    this.runtime = props.runtime;
    this.taggedName = `${props.repository}:ctx-${props.contextHash.slice(0, 16)}`;
    const triggers = { context_sha256: props.contextHash };
    const lifecycle = props.keepAsInState ? { ignoreChanges: 'all' as const } : {};

    this.image = new Image(this, 'build', {
      name: this.taggedName,
      buildAttribute: {
        context: props.context,
        dockerfile: props.dockerfile ?? DEFAULT_DOCKERFILE,
        ...(props.platform ? { platform: props.platform } : {}),
      },
      triggers,
      keepLocally: true,
      // The provider replaces the image when the build's paths change, and each operator's
      // checkout lies elsewhere: with shared state, a teammate's first deploy would rebuild and
      // re-release. What is in the context is the trigger (and the tag); where it lies is not.
      lifecycle: { createBeforeDestroy: true, ignoreChanges: ['build'], ...lifecycle },
    });
    // Terraform addresses `docker_image.<id>` and `docker_registry_image.<id>`, whatever the construct tree looks like.
    this.image.overrideLogicalId(id);
    this.registryImage = new RegistryImage(this, 'push', {
      name: this.image.name,
      triggers,
      // Earlier digests stay pullable: they are what a rollback deploys.
      keepRemotely: true,
      lifecycle: { createBeforeDestroy: true, ...lifecycle },
    });
    this.registryImage.overrideLogicalId(id);
    this.reference = `${props.repository}@${this.registryImage.sha256Digest}`;
  }
}

export interface ImageBuildProps extends Omit<BuiltImageProps, 'contextHash'> {
  /** The context's content hash. @default - the context is not on this machine: see `missingContext` */
  readonly contextHash?: string;
  /** What to do when the context is missing, in a sentence: "Set SOURCE to the app's checkout." */
  readonly missingContext: string;
  /** The registry the image is pushed to: its credentials come from the provider's environment. */
  readonly registry: { readonly address: string; readonly plainHttp?: boolean };
  /**
   * A Docker daemon on a unix socket that must exist when Terraform plans, and what to say
   * when it does not ("The local environment is not running: start it with …").
   * @default - the provider's own (DOCKER_HOST, else the local socket), unchecked
   */
  readonly daemon?: { readonly socket: string; readonly notRunning: string };
}

/** Where the docker provider finds the daemon and the registry (ImageBuildProps). */
export type DockerProviderProps = Pick<ImageBuildProps, 'registry' | 'daemon'>;

/**
 * The docker provider as a build uses it: the daemon (checked to be there before planning) and
 * the registry login. Also what a stack that runs a prebuilt image needs while its state may
 * still hold an image it built: Terraform reads what state holds with it, and without the
 * login it fails with `Unable to get authConfig for registry`.
 */
export function configureDockerProvider(scope: Construct, { registry, daemon }: DockerProviderProps): void {
  const socket = daemon
    ? DeployCheck.pathExists(scope, 'docker_socket', { path: daemon.socket, message: daemon.notRunning })
    : undefined;
  // Push credentials: the provider reads DOCKER_REGISTRY_USER / DOCKER_REGISTRY_PASS at plan time.
  new DockerProvider(scope, 'docker', {
    ...(socket ? { host: `unix://${socket.value}` } : {}),
    registryAuth: [{ address: registry.plainHttp ? `http://${registry.address}` : registry.address }],
  });
}

/** `ContainerImage.fromBuild`: the docker provider, the deploy checks and the build. */
export function buildWithDockerProvider(scope: Construct, id: string, props: ImageBuildProps): IContainerImage {
  const { registry, daemon, missingContext, contextHash, ...build } = props;
  configureDockerProvider(scope, { registry, ...(daemon ? { daemon } : {}) });
  if (!contextHash) {
    const named = build.dockerfile ?? DEFAULT_DOCKERFILE;
    // The Dockerfile in the context, or, for one kept outside it, the context directory itself.
    const dockerfile = named.startsWith('/') ? build.context : `${build.context}/${named}`;
    Annotations.of(scope).addWarning(
      `build context '${build.context}' is not on this machine: synth goes on, but a deploy stops before planning. ${missingContext}`,
    );
    DeployCheck.pathExists(scope, 'build_context', { path: dockerfile, message: `There is no build context at ${build.context}. ${missingContext}` });
  }
  // Without the context the tag is a placeholder: the deploy check stops any plan that would build it.
  return new BuiltImage(scope, id, { ...build, contextHash: contextHash ?? '0'.repeat(64) });
}
