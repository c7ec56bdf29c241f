import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Environment } from '../config/schema';
import { CommandError } from './cli';

/**
 * A stack directory's record of the backend `terraform init` last set it up for
 * (`.terraform/terraform.tfstate`). A plan or a deploy checks it before Terraform runs: where it
 * names another backend than config, Terraform's init fails ("Backend configuration changed")
 * without a word on how the state gets there; `npm run state` moves it, then forgets the record.
 */

type Backend = Environment['state']['backend'];

/** What the check needs of an environment. */
export interface BackendOwner {
  readonly name: string;
  readonly state: { readonly backend: Backend };
}

/** Where `terraform init` keeps its record of the backend, in a stack's directory. */
export function backendRecordPath(stackDir: string): string {
  return join(stackDir, '.terraform', 'terraform.tfstate');
}

/** The backend `terraform init` last set this directory up for; undefined when it has not run here (or the record was forgotten). */
export function recordedBackend(stackDir: string): string | undefined {
  const path = backendRecordPath(stackDir);
  if (!existsSync(path)) return undefined;
  return (JSON.parse(readFileSync(path, 'utf8')) as { backend?: { type?: string } }).backend?.type;
}

/**
 * Refuses, as `<command>: …`, a stack directory set up for another backend than the config of
 * the environment names, with how its state is moved: never by a plan or a deploy.
 */
export function refuseOtherBackend(stackDir: string, environment: BackendOwner, command: string): void {
  const last = recordedBackend(stackDir);
  const wanted = environment.state.backend;
  if (last === undefined || last === wanted) return;
  throw new CommandError(`${command}: this checkout's Terraform was set up for the ${last} backend, and the config of '${environment.name}' now names ${wanted}: ${howToMove(environment.name, last, wanted)}`);
}

/**
 * `npm run state` moves a state between the local file and the shared backend config names: into
 * a shared one in one step; out of one only while config still names it.
 */
function howToMove(name: string, last: string, wanted: Backend): string {
  const move = (to: string) => `npm run state -- ${name} migrate --to ${to}`;
  if (last === 'local') return `${move(wanted)} moves its state there (with none to move, it only switches)`;
  const setTo = (backend: string) =>
    `set state.backend to ${backend}${name !== 'local' ? '' : backend === 'local' ? ' (unset DASHBOARD_STATE_BACKEND)' : ` (DASHBOARD_STATE_BACKEND=${backend})`}`;
  const then = wanted === 'local' ? setTo('local') : `${setTo(wanted)} and run ${move(wanted)}`;
  return `its state leaves ${last} only while the config names ${last}: ${setTo(last)} again, run ${move('local')} (with none to move, it only switches), then ${then}`;
}

/**
 * Forgets the record of the backend last initialized: the next deploy or plan initializes the
 * backend config names, instead of asking to migrate again.
 */
export function forgetBackend(stackDir: string): void {
  rmSync(backendRecordPath(stackDir), { force: true });
}
