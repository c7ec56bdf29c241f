import type { JobDocument } from '../constructs/nomad/api';
import { NomadClient, nomadConnection, NomadError, type NomadSettings } from './nomad-client';
import { variablePathOf } from '../constructs/nomad/api';
import { oneOffJob } from './one-off-job';
import { runToCompletion, withVariableCopy, type RunResult } from './run-to-completion';
import { standInRequested } from './stand-in';

/**
 * The release step: the command every deploy that brings a new image runs once, before any
 * group of the service job is updated (`rails db:migrate`). Terraform runs it (the `local-exec`
 * provisioner of `terraform_data.release`, which the job depends on, replaced whenever the
 * image changes); it exits non-zero when the command fails, cannot be placed or times out,
 * and Terraform then stops before it touches the job.
 *
 * What it runs comes from the environment Terraform gives it, never from its command line
 * (which is in cdk.tf.json): DASHBOARD_RELEASE (the settings below, from config) and
 * DASHBOARD_RELEASE_JOBSPEC (the jobspec Terraform is about to register, its image resolved).
 * Nomad's address and token come from the deploy's own environment (NOMAD_ADDR, NOMAD_TOKEN,
 * …), or the address from config for the local environment. No secret passes through here
 * but the variable items copied for the run, which are never printed.
 */
export interface ReleaseSettings {
  readonly environment: string;
  /** The worker group whose shape the release takes. */
  readonly group: string;
  readonly command: readonly string[];
  readonly timeoutSeconds: number;
  readonly nomad: NomadSettings;
}

export interface ReleaseIo {
  readonly env: Readonly<Record<string, string | undefined>>;
  stdout(chunk: Buffer | string): void;
  stderr(chunk: Buffer | string): void;
}

/** The release job's ID: one per service job, registered afresh by each release (`rails-release`). */
export function releaseJobId(serviceJobId: string): string {
  return `${serviceJobId}-release`;
}

export async function release(io: ReleaseIo): Promise<number> {
  const say = (m: string) => io.stderr(`release: ${m}\n`);
  let settings: ReleaseSettings;
  let service: JobDocument;
  try {
    settings = JSON.parse(required(io.env, 'DASHBOARD_RELEASE')) as ReleaseSettings;
    service = JSON.parse(required(io.env, 'DASHBOARD_RELEASE_JOBSPEC')) as JobDocument;
  } catch (e) {
    say(`${(e as Error).message}`);
    return 1;
  }
  try {
    const standIn = standInRequested(io.env, settings.environment);
    const client = new NomadClient(nomadConnection(settings.nomad, io.env));
    const serviceId = service.Job.ID;
    const id = releaseJobId(serviceId);
    const variable = { from: variablePathOf(serviceId), to: variablePathOf(id) };
    const document = oneOffJob(service.Job, { id, group: settings.group, command: settings.command, variable, standIn });
    const image = service.Job.TaskGroups.find((g) => g.Name === settings.group)?.Tasks[0]?.Config.image;
    say(`${settings.command.join(' ')} in the shape of group '${settings.group}', image ${String(image)}${standIn ? ' (stand-in: raw_exec)' : ''}, at ${client.connection.address}`);
    // The last release's job is the record of it until the next one: purged, so this one runs afresh.
    await client.deregister(id, { purge: true });
    const started = Date.now();
    const result = await withVariableCopy(client, variable.from, variable.to, () =>
      runToCompletion(client, document, { stdout: io.stdout, stderr: io.stderr, progress: say }, { timeoutMs: settings.timeoutSeconds * 1000 }),
    );
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    if (result.outcome === 'complete') {
      say(`done in ${seconds}s (job '${id}', allocation ${result.allocId!.slice(0, 8)})`);
      return 0;
    }
    say(failure(result, id, seconds));
    return 1;
  } catch (e) {
    const known = e instanceof NomadError;
    say(known ? (e as Error).message : `failed: ${(e as Error).message}`);
    return 1;
  }
}

/** Why the release failed, with the command's last lines, for the deploy's error output. */
export function failure(result: RunResult, jobId: string, seconds: string): string {
  const head = {
    failed: `the command failed${result.exitCode !== undefined ? ` (exit ${result.exitCode})` : ''} after ${seconds}s`,
    timeout: `timed out: ${result.reason}`,
    unplaced: `Nomad cannot place it:\n${result.reason ?? ''}`,
    complete: 'done',
  }[result.outcome];
  const lines = result.tail.length > 0 ? `\nits last lines:\n${result.tail.map((l) => `  | ${l}`).join('\n')}` : result.reason && result.outcome === 'failed' ? `\n${result.reason}` : '';
  const where = result.allocId ? `\n(job '${jobId}' is kept: nomad alloc logs ${result.allocId.slice(0, 8)}; nomad alloc status ${result.allocId.slice(0, 8)})` : '';
  return `${head}; the job is not updated${lines}${where}`;
}

function required(env: ReleaseIo['env'], name: string): string {
  const value = env[name];
  if (!value) throw new Error(`${name} is not set: this command is run by Terraform's release step (terraform_data.release), which sets it`);
  return value;
}

if (require.main === module) {
  release({ env: process.env, stdout: (c) => process.stdout.write(c), stderr: (c) => process.stderr.write(c) }).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`release: failed: ${(e as Error).message}\n`);
      process.exitCode = 1;
    },
  );
}
