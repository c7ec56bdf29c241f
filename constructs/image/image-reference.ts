import type { ImageRuntime } from './runtime';
import { rule } from '../core/rule';

/** An image a task can run. */
export interface IContainerImage {
  /** What the docker driver pulls: `registry/name@sha256:…` (may hold a Terraform reference). */
  readonly reference: string;
  /** How the image starts a command line. */
  readonly runtime: ImageRuntime;
}

/** A registry reference pinned by digest, in the lower case Docker requires of registry and repository. */
export const checkDigestReference = rule(
  (reference: string) => /^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(\/[a-z0-9]+([._-][a-z0-9]+)*)*@sha256:[a-f0-9]{64}$/.test(reference),
  "must be pinned by digest: 'registry.example.org/name@sha256:<64 hex digits>', registry and name in lower case",
);
