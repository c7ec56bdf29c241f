import { resolve } from 'node:path';
import type { EdgeInputs } from './edge';

/**
 * Where an environment's Terraform state is: beside the project, or in DASHBOARD_STATE_DIR;
 * never under cdktf.out, which synth rewrites. Synth gives it to the stack's backend; commands
 * read the file (a rollback checks what it holds).
 */
export function statePathOf({ env, cwd }: EdgeInputs, environment: string): string {
  return resolve(cwd, env.DASHBOARD_STATE_DIR ?? '.', `terraform.${environment}.tfstate`);
}
