import { resolve } from 'node:path';
import { checkDuration, Duration } from '../constructs/nomad/duration';
import type { EdgeInputs } from './edge';
import { OperatorInputError } from './operator-inputs';
import type { EnvironmentInput } from './schema';

/**
 * Where an environment keeps its state when its backend is `local`: beside the project, or in
 * DASHBOARD_STATE_DIR; never under cdktf.out, which synth rewrites. Absolute.
 */
export function localStatePath({ env, cwd }: EdgeInputs, environment: string): string {
  return resolve(cwd, env.DASHBOARD_STATE_DIR ?? '.', `terraform.${environment}.tfstate`);
}

/** The backends an environment may name (config `state.backend`). */
export const STATE_BACKENDS = ['local', 'pg', 'consul'] as const;
export type StateBackendName = (typeof STATE_BACKENDS)[number];

/**
 * The local environment's state: a file by default; DASHBOARD_STATE_BACKEND=pg puts it in
 * PostgreSQL (PG_CONN_STR), for trying shared state on a laptop and for the end-to-end tests.
 */
export function localEnvironmentState({ env }: EdgeInputs): EnvironmentInput['state'] {
  const chosen = env.DASHBOARD_STATE_BACKEND;
  if (chosen === undefined || chosen === '' || chosen === 'local') return { backend: 'local' };
  if (chosen === 'pg') return { backend: 'pg', schemaName: 'dashboard_local' };
  throw new OperatorInputError(`DASHBOARD_STATE_BACKEND: '${chosen}' is not a backend the local environment takes: write local or pg`);
}

/** A lock wait given on the command line (`--lock-timeout=10m`), in Nomad's notation like config's. */
export function parseLockTimeout(text: string): Duration {
  const broken = checkDuration(text);
  if (broken) throw new OperatorInputError(`--lock-timeout: '${text}' ${broken}`);
  return Duration.parse(text);
}
