import type { Construct } from 'constructs';
import { ImageRuntime } from './runtime';
import { buildWithDockerProvider, type ImageBuildProps } from './built-image';
import { checkDigestReference, type IContainerImage } from './image-reference';

/** Where a task's image comes from: built and pushed at deploy, or built elsewhere and named by digest. */
export class ContainerImage {
  /**
   * Built from a context with the docker provider and pushed, named by the pushed digest. Sets
   * up the docker provider in the stack. A context that is not on this machine still
   * synthesizes (with a warning), and `cdktf diff`/`deploy` stop before planning with
   * `props.missingContext`.
   */
  static fromBuild(scope: Construct, id: string, props: ImageBuildProps): IContainerImage {
    return buildWithDockerProvider(scope, id, props);
  }

  /**
   * A prebuilt image pinned by digest, e.g. one `pack build` pushed:
   * `docker.wikiedu.org/wikiedu-web@sha256:…`. A tag is not accepted: a tag can move, a digest
   * is what makes a deploy repeatable and a rollback exact.
   * @param runtime @default ImageRuntime.direct()
   */
  static fromDigest(reference: string, runtime: ImageRuntime = ImageRuntime.direct()): IContainerImage {
    const bad = checkDigestReference(reference);
    if (bad) throw new Error(`image '${reference}' ${bad}`);
    return { reference, runtime };
  }
}
