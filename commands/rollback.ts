import { existsSync, readFileSync } from 'node:fs';
import { localStatePath } from '../config/state';
import { type Command, CommandError, type CommandIo, ENVIRONMENT_NAMES, environmentNamed, EXIT, parseCommandLine, runMain, UsageError } from './cli';
import { connect } from './connect';
import { manifestPresent, parseDigestReference, RegistryError } from './registry-manifest';
import { chooseRollbackTarget, imageOfVersion, RollbackChoiceError, runtimeOfVersion, sourceDisagreement, stateHoldsBuiltImage } from './rollback-target';
import { deployCommand } from './deploy';
import { NOT_APPROVED } from './deploy-path';

const USAGE = `usage: npm run rollback -- <environment> [--to <version>] [--auto-approve]
  environments: ${ENVIRONMENT_NAMES}

Points the job back at an earlier version's image, by digest, through the deploy's own path
(the plan shown, a confirmation unless --auto-approve, Terraform's apply, the wait): no build,
no push, no release step, and Terraform's state, the variable and the job agree afterwards.
Without --to: the newest stable version older than the running one that runs another image.
The image must still be in the registry (checked with DOCKER_REGISTRY_USER/DOCKER_REGISTRY_PASS).
Migrations are not undone. The next plain npm run deploy rolls forward to the checkout's image.
Exit status: 0 rolled back, 1 refused or failed, 3 not approved, 130 interrupted.`;

/** The operator input the deploy reads: the job runs this digest, the build and release stay as in state. */
export const ROLLBACK_VARIABLE = 'DASHBOARD_ROLLBACK_IMAGE';


export interface RollbackArgs {
  readonly environment: string;
  readonly to?: number;
  readonly autoApprove: boolean;
}

export function parseRollbackArgs(args: readonly string[], interactive: boolean): RollbackArgs {
  const { positionals, options } = parseCommandLine(args, { to: { type: 'string' }, 'auto-approve': { type: 'boolean' } }, { positionals: ['environment'] });
  if (options.to !== undefined && !/^\d+$/.test(options.to)) throw new UsageError(`--to: '${options.to}' is not a job version (a whole number, as npm run history shows)`);
  const autoApprove = options['auto-approve'] === true;
  if (!autoApprove && !interactive) throw new UsageError('no terminal to confirm the plan at: pass --auto-approve');
  return { environment: environmentNamed(positionals[0]!), ...(options.to !== undefined ? { to: Number(options.to) } : {}), autoApprove };
}

/**
 * The deploy itself (commands/deploy.ts, in this process), with the rollback input in its
 * environment: its plan, confirmation, apply, wait, summary and Ctrl-C report are the rollback's.
 */
export function deployRollback(io: CommandIo, environment: string, image: string, runtime: 'buildpacks' | 'direct', autoApprove: boolean): Promise<number> {
  const env = { ...io.env, [ROLLBACK_VARIABLE]: image, DASHBOARD_IMAGE_RUNTIME: runtime };
  return deployCommand.run([environment, ...(autoApprove ? ['--auto-approve'] : [])], { ...io, env });
}

export const rollbackCommand: Command = {
  name: 'rollback',
  usage: USAGE,
  async run(args, io) {
    const say = (m: string) => io.stderr(`rollback: ${m}\n`);
    const parsed = parseRollbackArgs(args, io.interactive);
    const { environment, nomad } = connect(parsed.environment, io);
    const jobId = environment.job.id;
    const job = await nomad.job(jobId);
    if (!job) throw new CommandError(`job '${jobId}' is not registered at ${nomad.connection.address}: there is nothing to roll back`);
    const versions = await nomad.versions(jobId);
    let target;
    try {
      target = chooseRollbackTarget(versions, job.Version, parsed.to);
    } catch (e) {
      if (e instanceof RollbackChoiceError) throw new CommandError(`job '${jobId}': ${e.message}; nothing was changed`);
      throw e;
    }
    const statePath = localStatePath(environment.name, io);
    const disagreement = sourceDisagreement(environment.image.source, stateHoldsBuiltImage(existsSync(statePath) ? readFileSync(statePath, 'utf8') : undefined), statePath);
    if (disagreement) throw new CommandError(`${disagreement}; nothing was changed`);
    const running = imageOfVersion(versions.find((v) => v.Version === job.Version)!);
    const chosen = versions.find((v) => v.Version === target.version)!;
    say(`job '${jobId}' runs version ${job.Version}, image ${running}`);
    say(`going back to version ${target.version} (submitted ${new Date(chosen.SubmitTime / 1e6).toISOString()}): ${target.reason}`);
    say(`its image: ${target.image}`);

    const { registry } = parseDigestReference(target.image);
    const ours = registry === environment.registry.address;
    try {
      const present = await manifestPresent(target.image, {
        plainHttp: ours && environment.registry.plainHttp,
        ...(io.env.DOCKER_REGISTRY_USER ? { username: io.env.DOCKER_REGISTRY_USER, password: io.env.DOCKER_REGISTRY_PASS ?? '' } : {}),
      });
      if (!present) {
        throw new CommandError(`version ${target.version}'s image ${target.image} is gone from the registry ${registry} (its manifest answers 404): it cannot be rolled back to; choose another version with --to; nothing was changed`);
      }
    } catch (e) {
      if (e instanceof RegistryError) throw new CommandError(`cannot tell whether version ${target.version}'s image is still in the registry: ${e.message}; nothing was changed`);
      throw e;
    }
    say(`the registry ${registry} still has it; deploying it (no build, no push, no release step)…`);

    const code = await deployRollback(io, environment.name, target.image, runtimeOfVersion(chosen), parsed.autoApprove);
    if (io.signal.aborted) {
      say('interrupted: the deploy above says what it left');
      return EXIT.interrupted;
    }
    if (code === NOT_APPROVED) {
      say(`not approved: job '${jobId}' still runs ${running}`);
      return code;
    }
    if (code !== 0) throw new CommandError(`the rollback's deploy exited ${code}: the job may still run ${running} (see above; npm run status -- ${environment.name})`, code);
    const after = await nomad.job(jobId);
    const now = after ? imageOfVersion(after) : undefined;
    if (now !== target.image) throw new CommandError(`the deploy exited 0, but job '${jobId}' runs ${now ?? 'nothing'}, not ${target.image}`);
    io.stdout(
      `job '${jobId}' version ${after?.Version} runs ${now} (version ${target.version}'s image; was version ${job.Version}, ${running})\n` +
        `migrations were not undone, and no release ran for it. The next npm run deploy -- ${environment.name} rolls forward to the checkout's image.\n` +
        `look: npm run status -- ${environment.name}, npm run plan -- ${environment.name} (shows the roll-forward)\n`,
    );
    return EXIT.ok;
  },
};

runMain(rollbackCommand, module);
