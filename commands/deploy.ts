import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Command, ENVIRONMENT_NAMES, environmentNamed, parseCommandLine, runMain } from './cli';
import type { DeployStart } from './deploy-path';
import { planAheadStack, planArguments, planFileIn, startPlanAhead } from './plan-ahead';
import { Redactor } from './secrets';
import { automationEnv } from './terraform-stream';

const USAGE = `usage: npm run deploy -- <environment> [--auto-approve] [--adopt] [--lock-timeout=<duration>]   (${ENVIRONMENT_NAMES})

Synthesizes the environment's stack, plans it (terraform plan to a file, shown), asks, then
applies exactly that plan: the image build and push, the Nomad Variable, the release step, the
job, and the wait for its deployment. Ends with what runs now. Before it plans, it reports what
was changed in Nomad by hand (drift); when the plan leaves the job alone, it puts it back itself.
  --auto-approve  apply without asking (needed where no one is at a terminal)
  --adopt         take over a job that runs in Nomad but is not in this checkout's state
                  (imports it, then plans as usual)
  --lock-timeout  how long to wait for another run's state lock (default: the
                  environment's state.lockTimeout, 5m); past it, names the holder
Exit status: 0 applied or nothing to do, 1 error, 3 changes not approved, 130 interrupted.`;

/**
 * `npm run deploy -- <env>`: the one deploy path (deploy-path.ts). Its arguments checked, it
 * starts Terraform's plan of the stack as last synthesized before it loads the rest: the config,
 * and zod and cdktf with it, take a tenth of a plan to load. That early plan waits for no other
 * run's state lock (the config says how long to); deploy-path.ts plans again, waiting, if one
 * held it. With a state backend other than a local file, or a `--lock-timeout` to check first,
 * the plan-ahead starts once the config is read; with `--adopt` there is none (planAheadStack).
 */
export const deployCommand: Command = {
  name: 'deploy',
  usage: USAGE,
  async run(args, io) {
    const { positionals, options } = parseCommandLine(
      args,
      { 'auto-approve': { type: 'boolean' }, adopt: { type: 'boolean' }, 'lock-timeout': { type: 'string' } },
      { positionals: ['environment'] },
    );
    const name = environmentNamed(positionals[0]!);
    const redactor = Redactor.fromEnvironment(io.env);
    const stackDir = join(io.cwd, 'cdktf.out', 'stacks', name);
    // The plan file holds the sensitive values in clear: a private directory, removed when the deploy ends.
    const dir = mkdtempSync(join(tmpdir(), 'dashboard-deploy-'));
    const last = options['lock-timeout'] === undefined ? planAheadStack(stackDir, { adopt: options.adopt, otherBackends: false }) : undefined;
    const early = last === undefined ? undefined : { last, ahead: startPlanAhead(stackDir, planArguments(planFileIn(dir)), automationEnv(io.env), redactor) };
    const start: DeployStart = { name, options, redactor, stackDir, dir, ...(early ? { early } : {}) };
    let deploy: typeof import('./deploy-path.js').deploy;
    try {
      ({ deploy } = await import('./deploy-path.js'));
    } catch (e) {
      await early?.ahead.cancel();
      rmSync(dir, { recursive: true, force: true });
      throw e;
    }
    return deploy(start, io);
  },
};

runMain(deployCommand, module);
