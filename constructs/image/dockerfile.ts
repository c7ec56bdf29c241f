/** The Dockerfile a build uses when none is named: Docker's own default, in the context's root. */
export const DEFAULT_DOCKERFILE = 'Dockerfile';
