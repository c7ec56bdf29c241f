import { resolve } from 'node:path';
import type { EdgeInputs } from './edge';
import { OperatorInputError } from './operator-inputs';
import type { EnvironmentInput } from './schema';

/**
 * Where an environment's local Terraform state lives (its `state.backend` is `local`): beside the
 * project, or in DASHBOARD_STATE_DIR; never under cdktf.out, which synth rewrites. Absolute:
 * Terraform runs in the stack's directory. The stack (main.ts) and the commands that check or
 * move the state all ask here.
 */
export function localStatePath(environment: string, edge: EdgeInputs): string {
  return resolve(edge.cwd, edge.env.DASHBOARD_STATE_DIR ?? '.', `terraform.${environment}.tfstate`);
}

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
