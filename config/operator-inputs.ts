import { isAbsolute, resolve } from 'node:path';
import type { EnvironmentInput } from './schema';
import type { EdgeInputs } from './edge';

/** A variable of the operator's environment holds a value it cannot mean: the message names both. */
export class OperatorInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OperatorInputError';
  }
}

/**
 * A switch from the environment: true, false, 1 or 0 (any case); unset or empty is undefined.
 * Anything else is refused: `NOMAD_SKIP_VERIFY=maybe` must not be read as false.
 */
export function booleanWord(name: string, value: string | undefined): boolean | undefined {
  if (value === undefined || value === '') return undefined;
  const word = value.trim().toLowerCase();
  if (word === 'true' || word === '1') return true;
  if (word === 'false' || word === '0') return false;
  throw new OperatorInputError(`${name}: '${value}' is not a boolean: write true, false, 1 or 0`);
}

/**
 * The Nomad connection settings an operator's `nomad.sh` exports that the provider does not
 * read by itself. NOMAD_ADDR, NOMAD_TOKEN, NOMAD_CLIENT_CERT and NOMAD_CLIENT_KEY it does read,
 * at plan time; the CA file (exported as NOMAD_CA_PATH) and NOMAD_SKIP_VERIFY it is told here.
 * Paths and switches only: no secret passes through synth.
 */
export function nomadConnection({ env }: EdgeInputs): Pick<EnvironmentInput['nomad'], 'caFile' | 'skipVerify'> {
  const caFile = env.NOMAD_CACERT ? undefined : env.NOMAD_CA_PATH;
  const skip = booleanWord('NOMAD_SKIP_VERIFY', env.NOMAD_SKIP_VERIFY);
  return {
    ...(caFile ? { caFile } : {}),
    ...(skip ? { skipVerify: true } : {}),
  };
}

/** The operator variable behind each config path it sets (for errors that name what the operator typed). */
export const OPERATOR_INPUT_OF: Readonly<Record<string, string>> = {
  'image.reference': 'DASHBOARD_IMAGE',
  'image.runtime': 'DASHBOARD_IMAGE_RUNTIME',
  'image.rollback': 'DASHBOARD_ROLLBACK_IMAGE',
  'image.context': 'DASHBOARD_SOURCE',
  'image.dockerfile': 'DASHBOARD_DOCKERFILE',
  'runtimeConfig.source': 'DASHBOARD_CONFIG_DIR',
};

/** The production image's Dockerfile, kept in this repository (an absolute path: outside the build context). */
export const DASHBOARD_DOCKERFILE = resolve(__dirname, 'dashboard.Dockerfile');

/**
 * Where the image comes from. By default the Rails checkout is built: DASHBOARD_SOURCE names
 * it (else `defaultContext`, beside this repo). DASHBOARD_IMAGE names a prebuilt image by
 * digest instead (for example one `pack build` pushed); DASHBOARD_IMAGE_RUNTIME says whether
 * the image is a Dockerfile one ("direct", the default for both) or a buildpacks one.
 * DASHBOARD_ROLLBACK_IMAGE (set by `npm run rollback`) points the job at an earlier digest.
 */
export function imageSource({ env, cwd }: EdgeInputs, opts: { defaultContext: string; defaultDockerfile: string }): EnvironmentInput['image'] {
  const runtime = env.DASHBOARD_IMAGE_RUNTIME ? (env.DASHBOARD_IMAGE_RUNTIME as 'buildpacks' | 'direct') : undefined;
  const common = { ...(runtime ? { runtime } : {}), ...(env.DASHBOARD_ROLLBACK_IMAGE ? { rollback: env.DASHBOARD_ROLLBACK_IMAGE } : {}) };
  if (env.DASHBOARD_IMAGE) {
    return { source: 'prebuilt', reference: env.DASHBOARD_IMAGE, ...common };
  }
  const context = env.DASHBOARD_SOURCE ?? opts.defaultContext;
  return {
    source: 'build',
    context: isAbsolute(context) ? context : resolve(cwd, context),
    dockerfile: env.DASHBOARD_DOCKERFILE ?? opts.defaultDockerfile,
    ...common,
  };
}

/**
 * The operator's directory of runtime configuration (DASHBOARD_CONFIG_DIR, default `runtime-config/`
 * in this checkout, ignored by git): the app's config files at their paths under the app root
 * (`config/application.yml`, …) and `env/<NAME>` files for environment variables. Only its path
 * passes through synth; Terraform reads the files when it plans.
 */
export function runtimeConfigSource({ env, cwd }: EdgeInputs): string {
  const dir = env.DASHBOARD_CONFIG_DIR ?? 'runtime-config';
  return isAbsolute(dir) ? dir : resolve(cwd, dir);
}
