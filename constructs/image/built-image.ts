import { Construct } from 'constructs';
import { Annotations } from 'cdktf';
import { DockerProvider } from '@cdktf/provider-docker/lib/provider';
import { Image } from '@cdktf/provider-docker/lib/image';
import { RegistryImage } from '@cdktf/provider-docker/lib/registry-image';
import type { IContainerImage } from './container-image';
import type { ImageRuntime } from './runtime';
import { DEFAULT_DOCKERFILE } from './dockerfile';
import { DeployCheck } from '../terraform/deploy-check';
import { isUnresolved } from '../nomad/tokens';

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
}

/**
 * Builds an image with the docker provider, pushes it to a registry and names it by the
 * pushed manifest's digest. An unchanged context means no build, no push and the same
 * digest; a changed one means a new tag, a new digest and so a new job version.
 * Pushed tags are kept in the registry, so a rollback can deploy any earlier digest.
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
    if (!isUnresolved(props.contextHash) && !/^[a-f0-9]{12,}$/.test(props.contextHash)) {
      throw new Error(`image '${props.repository}': contextHash must be a hex digest, got '${props.contextHash}'`);
    }
    if (/[:@]/.test(props.repository.split('/').slice(1).join('/'))) {
      throw new Error(`image repository '${props.repository}' must not carry a tag or digest: the build sets the tag`);
    }
    this.runtime = props.runtime;
    this.taggedName = `${props.repository}:ctx-${props.contextHash.slice(0, 16)}`;
    const triggers = { context_sha256: props.contextHash };

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
      lifecycle: { ignoreChanges: ['build'] },
    });
    // Terraform addresses `docker_image.<id>` and `docker_registry_image.<id>`, whatever the construct tree looks like.
    this.image.overrideLogicalId(id);
    this.registryImage = new RegistryImage(this, 'push', {
      name: this.image.name,
      triggers,
      // Earlier digests stay pullable: they are what a rollback deploys.
      keepRemotely: true,
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

/** `ContainerImage.fromBuild`: the docker provider, the deploy checks and the build. */
export function buildWithDockerProvider(scope: Construct, id: string, props: ImageBuildProps): IContainerImage {
  const { registry, daemon, missingContext, contextHash, ...build } = props;
  const socket = daemon
    ? DeployCheck.pathExists(scope, 'docker_socket', { path: daemon.socket, message: daemon.notRunning })
    : undefined;
  // Push credentials: the provider reads DOCKER_REGISTRY_USER / DOCKER_REGISTRY_PASS at plan time.
  new DockerProvider(scope, 'docker', {
    ...(socket ? { host: `unix://${socket.value}` } : {}),
    registryAuth: [{ address: registry.plainHttp ? `http://${registry.address}` : registry.address }],
  });
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
