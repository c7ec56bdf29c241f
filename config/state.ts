import { resolve } from 'node:path';
import type { EdgeInputs } from './edge';

/**
 * Where an environment's Terraform state is: a local file beside the project, or in
 * DASHBOARD_STATE_DIR; never under cdktf.out, which synth rewrites. main.ts gives it to the
 * stack's backend; `npm run doctor` reads it.
 */
export function localStatePath(name: string, edge: EdgeInputs): string {
  return resolve(edge.cwd, edge.env.DASHBOARD_STATE_DIR ?? '.', `terraform.${name}.tfstate`);
}
