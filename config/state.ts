import { resolve } from 'node:path';
import type { EdgeInputs } from './edge';

/**
 * Where an environment's local Terraform state lives: beside the project, or in
 * DASHBOARD_STATE_DIR; never under cdktf.out, which synth rewrites. Absolute: Terraform runs in
 * the stack's directory. The stack (main.ts) and the commands that check the state both ask here.
 */
export function localStatePath(environment: string, edge: EdgeInputs): string {
  return resolve(edge.cwd, edge.env.DASHBOARD_STATE_DIR ?? '.', `terraform.${environment}.tfstate`);
}
