import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { loadEnvironment } from '../config/load';
import type { Environment } from '../config/schema';
import { localStatePath } from '../config/state';
import { deployNeeds, requireCapabilities } from './capabilities';
import { CommandError, EXIT, type CommandIo, UsageError } from './cli';
import { describeFailedDeployments } from './deploy-outcome';
import { refuseOtherBackend } from './backend-record';
import { checkDrift, type Drift, explainApplyFailure, formatDrift, healAndRefresh, healNeeded, healQuestion } from './drift';
import { deploySummary, interruptedReport, type DeployFacts } from './deploy-report';
import { type Deployment, NomadClient, nomadConnection, type StoredJob } from './nomad-client';
import { isInitialized, lockWasHeld, type PlanAhead, planAheadStack, planArguments, planFileIn, startPlanAhead } from './plan-ahead';
import { releaseJobId } from './release';
import { Redactor } from './secrets';
import { formatWait, heldLockReport, lockWaitEnv, missingBackendSecret, parseLockTimeout } from './state-lock';
import { StepError, synthesizedStack, synthesizeInto, type Steps } from './terraform';
import { brokenStateMessage, readStateFile } from './terraform-state';
import { appliedResources, automationEnv, streamed, terraformErrors } from './terraform-stream';
import { summarize, type TerraformPlan } from './terraform-plan';

/** A plan Terraform refused to apply because the state moved on since (another run applied). */
const STALE: unique symbol = Symbol('stale plan');
/** Plans a deploy makes before it gives up on a state that keeps moving. */
const MAX_PLANS = 3;

/** Exit status of a plan nobody approved (as `cdktf deploy` declining); a rollback, which deploys, passes it on. */
export const NOT_APPROVED = 3;

/** What the deploy command (deploy.ts) did before the config loaded. */
export interface DeployStart {
  readonly name: string;
  readonly options: { readonly 'auto-approve'?: boolean; readonly adopt?: boolean; readonly 'lock-timeout'?: string };
  readonly redactor: Redactor;
  readonly stackDir: string;
  /** A private directory for the plan file, removed when the deploy ends. */
  readonly dir: string;
  /** The plan of the last synthesized stack, started before the config loaded, without the config's lock timeout. */
  readonly early?: { readonly last: string; readonly ahead: PlanAhead };
}

/**
 * `npm run deploy -- <env>`: the one deploy path. The same configuration `cdktf deploy` applies
 * (cdktf.json's app writes it), without cdktf's CLI: synth, `terraform plan -out`, a
 * confirmation, `terraform apply` of that file. Before it plans, it refuses a broken state file;
 * before it applies, a plan that would take over a job this state does not hold. An interrupted
 * deploy says what it left.
 */
export async function deploy(start: DeployStart, io: CommandIo): Promise<number> {
  try {
    return await deployStarted(start, io);
  } finally {
    // However the deploy ended, the plan started before the config loaded is not left running (a kept one has ended).
    await start.early?.ahead.cancel();
    rmSync(start.dir, { recursive: true, force: true });
  }
}

async function deployStarted(start: DeployStart, io: CommandIo): Promise<number> {
  const run = openDeploy(start, io);
  try {
    const planned = await firstPlan(run, start.early);
    return await applyPlanned(run, planned);
  } catch (e) {
    if (io.signal.aborted) return interrupted(run);
    if (e instanceof StepError) throw new CommandError(e.message);
    throw e;
  }
}

/** What every step of one deploy shares: the environment, its Nomad, Terraform as this run runs it, what is known so far. */
interface DeployRun {
  readonly name: string;
  readonly options: DeployStart['options'];
  readonly io: CommandIo;
  readonly redactor: Redactor;
  readonly say: (message: string) => void;
  readonly steps: Steps;
  readonly environment: Environment;
  readonly statePath: string;
  readonly stackDir: string;
  readonly dir: string;
  readonly planFile: string;
  readonly planArgs: readonly string[];
  readonly nomad: NomadClient;
  /** Terraform's environment: the lock wait (state-lock.ts), no prompts, no checkpoint calls. */
  readonly terraformEnv: NodeJS.ProcessEnv;
  /** Terraform in the stack's directory: streamed, redacted, stopped by Ctrl-C; a failure throws, worded. */
  readonly terraform: Terraform;
  readonly failure: (label: string, run: { status: number | undefined; output: string }) => CommandError;
  readonly facts: DeployFacts;
}

/** The first plan of a deploy, with what it found beside it. */
interface FirstPlan {
  readonly plan: { status: number | undefined; output: string };
  /** The job changed in Nomad by hand, which Terraform's plan does not show (drift.ts). */
  readonly drift: Drift | undefined;
  /** The job's deployments before this deploy: a failed apply names the new ones. */
  readonly beforeDeployments: readonly Deployment[];
}

/**
 * The config, read without hashing the build context (synth hashes it); a missing backend
 * secret and a broken state file refused; how long another run's lock is waited for.
 */
function openDeploy({ name, options, redactor, stackDir, dir }: DeployStart, io: CommandIo): DeployRun {
  const flagWait = lockTimeoutFlag(options['lock-timeout']);
  const say = (m: string) => io.stderr(`deploy: ${redactor.redact(m)}\n`);
  const steps: Steps = { env: io.env as NodeJS.ProcessEnv, redactor, progress: say };
  const environment = loadEnvironment(name, { env: io.env, cwd: io.cwd }, { build: false });
  const noSecret = missingBackendSecret(environment, io.env);
  if (noSecret) throw new CommandError(`deploy: ${noSecret}`);
  const statePath = localStatePath(name, { env: io.env, cwd: io.cwd });
  const state = environment.state.backend === 'local' ? readStateFile(statePath) : undefined;
  if (state?.kind === 'broken') throw new CommandError(brokenStateMessage(statePath, state.why));
  // Another run's state lock is waited for, up to this; then its holder is named (README, "Shared state").
  const wait = flagWait ?? environment.state.lockTimeout.toSeconds();
  const terraformEnv = automationEnv(lockWaitEnv(io.env as NodeJS.ProcessEnv, wait, { command: 'deploy', environment: name }));
  say(`another run's state lock is waited for up to ${formatWait(wait)}`);
  /** A failed run's error: who holds the state lock when that was why, else Terraform's error blocks. */
  const failure = (label: string, run: { status: number | undefined; output: string }) => {
    const held = heldLockReport(run.output, environment, wait, terraformEnv);
    if (held) return new CommandError(held.map((l) => `deploy: ${redactor.redact(l)}`).join('\n'));
    return new CommandError(`deploy: ${label} failed${run.status === undefined ? '' : ` (exit ${run.status})`}:\n${indent(terraformErrors(run.output).join('\n\n') || lastLines(run.output))}`);
  };
  const terraform: Terraform = (label, tfArgs, echo = true) =>
    streamed('terraform', [...tfArgs], {
      cwd: stackDir,
      env: terraformEnv,
      redactor,
      signal: io.signal,
      ...(echo ? { echo: (line: string) => io.stdout(`${line}\n`) } : {}),
    }).then((run) => {
      if (io.signal.aborted) return run;
      if (run.status !== 0 && !(label === 'terraform plan' && run.status === 2)) throw failure(label, run);
      return run;
    });
  const planFile = planFileIn(dir);
  return {
    name, options, io, redactor, say, steps, environment, statePath, stackDir, dir, planFile, terraformEnv,
    planArgs: planArguments(planFile),
    nomad: new NomadClient(nomadConnection(environment.nomad, io.env), 10_000),
    terraform,
    failure,
    facts: { environment, started: Date.now(), before: undefined, applied: [] },
  };
}

/**
 * Synth, the token check and the live job at once, while Terraform plans the stack as last
 * synthesized (most deploys change nothing in the stack): that plan, which changes nothing, is
 * kept only when synth writes the very same stack, else it is stopped and the new stack planned.
 * deploy.ts started it already where it could.
 */
async function firstPlan(run: DeployRun, early: DeployStart['early']): Promise<FirstPlan> {
  const { io, say, steps, nomad, environment, stackDir, redactor, options } = run;
  const last = early ? early.last : planAheadStack(stackDir, { adopt: options.adopt, otherBackends: true });
  const ahead = early?.ahead ?? (last === undefined ? undefined : startPlanAhead(stackDir, [...run.planArgs], run.terraformEnv, redactor));
  let synthesized: string;
  let beforeDeployments: Deployment[];
  try {
    const [capabilities, before, stack] = await Promise.all([
      // Before anything is built or pushed: a token that cannot do what this deploy will do is refused, naming what it lacks.
      requireCapabilities(nomad, environment, deployNeeds(environment)),
      liveJob(nomad, environment.job.id),
      synthesizeInto(io.cwd, run.name, join(run.dir, 'synth'), steps).then((outdir) => readFileSync(join(synthesizedStack(outdir, run.name, steps), 'cdk.tf.json'), 'utf8')),
    ]);
    say(capabilities.summary);
    run.facts.before = before;
    synthesized = stack;
    beforeDeployments = before ? await nomad.deployments(environment.job.id).catch(() => [] as Deployment[]) : [];
  } catch (e) {
    await ahead?.cancel();
    throw e;
  }
  const showDrift = (drift: Drift | undefined) => {
    if (drift) io.stdout(`${redactor.redact(formatDrift(drift))}\n\n`);
    return drift;
  };
  if (ahead && synthesized === last) {
    say('terraform plan… (started beside synth: the stack is unchanged)');
    const [planned, drift] = await Promise.all([ahead.result, checkDrift(stackDir, steps, nomad).then(showDrift)]);
    let plan: { status: number | undefined; output: string } = planned;
    const failed = !io.signal.aborted && plan.status !== 0 && plan.status !== 2;
    if (failed && early && lockWasHeld(plan.output)) {
      // Started before the config said how long to wait for another run's lock, it did not wait: planned again, waiting.
      say('terraform plan… (again: another run holds the state lock)');
      plan = await run.terraform('terraform plan', run.planArgs);
    } else {
      for (const line of plan.output.split('\n')) io.stdout(`${line}\n`);
      if (failed) throw run.failure('terraform plan', plan);
    }
    return { plan, drift, beforeDeployments };
  }
  await ahead?.cancel();
  mkdirSync(stackDir, { recursive: true });
  writeFileSync(join(stackDir, 'cdk.tf.json'), synthesized);
  await initialized(stackDir, environment, run.terraform, say);
  if (options.adopt) await adopt(environment, run.facts.before, run.terraform, say);
  const drift = showDrift(await checkDrift(stackDir, steps, nomad));
  say('terraform plan…');
  return { plan: await run.terraform('terraform plan', run.planArgs), drift, beforeDeployments };
}

/**
 * The plan's changes, refused when they would take over a job this state does not hold,
 * confirmed unless --auto-approve, applied; drift Terraform cannot see put back; the summary.
 * Planned again when another run applied between this plan and its apply: Terraform refuses
 * the stale plan (nothing applied), and the new plan is made on what that run left.
 */
async function applyPlanned(run: DeployRun, first: FirstPlan): Promise<number> {
  const { io, say, nomad, environment, options, facts, name } = run;
  const { drift, beforeDeployments } = first;
  let plan = first.plan;
  for (let attempt = 1; ; attempt += 1) {
    if (io.signal.aborted) return interrupted(run);
    if (plan.status === 0 && !healNeeded(drift, undefined)) {
      say('no changes: nothing to apply');
      io.stderr(await deploySummary(nomad, { ...facts, after: facts.before }, { changed: false }));
      return EXIT.ok;
    }
    const show = plan.status === 0 ? undefined : await streamed('terraform', ['show', '-json', run.planFile], { cwd: run.stackDir, env: io.env, redactor: new Redactor() });
    const planned = show && summarize(JSON.parse(show.output) as TerraformPlan);
    if (planned?.job.action === 'create' && facts.before && !options.adopt) throw new CommandError(takeoverMessage(environment, facts.before, run.statePath, nomad.connection.address));
    const heal = healNeeded(drift, planned?.job.action);

    if (!options['auto-approve']) {
      if (!io.interactive) throw new CommandError(`deploy: the plan above has changes and no one can approve them here (stdin is not a terminal): run again with --auto-approve`, NOT_APPROVED);
      if (!(await confirmed(heal ? healQuestion(drift, name, planned !== undefined) : `Apply this plan to '${name}'? Only 'yes' will be accepted: `, io))) {
        say('not applied');
        return NOT_APPROVED;
      }
    }
    if (planned) {
      say('terraform apply…');
      const apply = await applyPlanFile(run, beforeDeployments, attempt);
      if (apply === STALE) {
        say('the state changed after this plan (another run applied first): nothing was applied; terraform plan again…');
        plan = await run.terraform('terraform plan', run.planArgs);
        continue;
      }
      facts.applied = appliedResources(apply.output);
      if (io.signal.aborted) return interrupted(run);
    }
    if (heal) say(await healAndRefresh(drift, run.stackDir, run.steps, nomad, io.signal, environment.job.deployTimeout && { seconds: environment.job.deployTimeout.toSeconds(), signal: io.signal }));
    if (io.signal.aborted) return interrupted(run);
    io.stderr(await deploySummary(nomad, { ...facts, after: await liveJob(nomad, environment.job.id) }, { changed: true }));
    return EXIT.ok;
  }
}

/** `terraform apply` of the plan file: STALE when another run applied since the plan; a failed one says which groups did not get healthy. */
async function applyPlanFile(run: DeployRun, beforeDeployments: readonly Deployment[], attempt: number): Promise<{ output: string } | typeof STALE> {
  const { nomad, environment } = run;
  return run.terraform('terraform apply', ['apply', '-input=false', '-no-color', run.planFile]).catch(async (e: unknown): Promise<typeof STALE> => {
    if (e instanceof CommandError && /Saved plan is stale/.test(e.message) && attempt < MAX_PLANS) return STALE;
    // The provider names the failed deployment and Nomad's reason; the groups that did not get healthy are added.
    const failed = describeFailedDeployments([...beforeDeployments], await nomad.deployments(environment.job.id).catch(() => []));
    const moved = e instanceof CommandError ? explainApplyFailure(e.message, environment.job.id) : undefined;
    // The job changed in Nomad since the plan (provider #398): what happened and what to do, last.
    const said = [...(failed ? [failed.replace(/^/gm, 'deploy: ')] : []), ...(moved ? [`deploy: ${moved}`] : [])];
    if (e instanceof CommandError && said.length > 0) throw new CommandError([e.message, ...said].join('\n'), e.exitCode);
    throw e;
  });
}

/** `--lock-timeout`, in seconds; undefined when not given. */
function lockTimeoutFlag(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  try {
    return parseLockTimeout(text).toSeconds();
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

type Terraform = (label: string, args: readonly string[], echo?: boolean) => Promise<{ status: number | undefined; output: string }>;

/**
 * `terraform init` once per stack directory (see isInitialized). A directory set up for another backend than config
 * names is refused: its state is moved by `npm run state`, never by a deploy.
 */
async function initialized(stackDir: string, environment: Environment, terraform: Terraform, say: (m: string) => void): Promise<void> {
  refuseOtherBackend(stackDir, environment, 'deploy');
  if (isInitialized(stackDir)) return;
  say('terraform init…');
  await terraform('terraform init', ['init', '-input=false', '-no-color'], false);
}

/** `--adopt`: the running job and its variable go into this state, so the plan updates them instead of creating them. */
async function adopt(environment: Environment, live: StoredJob | undefined, terraform: Terraform, say: (m: string) => void): Promise<void> {
  if (!live) {
    say(`--adopt: job '${environment.job.id}' is not running: nothing to adopt`);
    return;
  }
  // The provider (2.5.2) imports a job, not a variable (its read of an imported variable has no path): the apply writes the variable.
  say(`--adopt: importing job '${live.ID}' (version ${live.Version}) into this state; the apply writes its variable`);
  await terraform('terraform import', ['import', '-input=false', '-no-color', 'nomad_job.rails', `${live.ID}@${environment.nomad.namespace ?? 'default'}`]);
}

function takeoverMessage(environment: Environment, live: StoredJob, statePath: string, address: string): string {
  const submitted = new Date(live.SubmitTime / 1e6).toISOString();
  return [
    `deploy: job '${live.ID}' runs at ${address} (version ${live.Version}, submitted ${submitted}), but this checkout's state has no job: the plan would register it as new, over what runs, with no diff.`,
    `The state is ${statePath} (or this environment's state backend).`,
    `If another checkout deploys this environment, use its state (README, "Shared state"). To take the running job over on purpose:`,
    `  npm run deploy -- ${environment.name} --adopt`,
    `(imports the job, then plans as usual: the plan shows what differs from what runs).`,
  ].join('\n');
}

/** The job as Nomad has it now; undefined when there is none (or it was stopped). */
async function liveJob(nomad: NomadClient, id: string): Promise<StoredJob | undefined> {
  const job = await nomad.job(id);
  return job && !job.Stop ? job : undefined;
}

async function interrupted({ io, nomad, facts, say }: DeployRun): Promise<number> {
  say('interrupted; what it left:');
  io.stderr(await interruptedReport(nomad, facts, { releaseJob: releaseJobId(facts.environment.job.id), statePath: localStatePath(facts.environment.name, io), env: io.env }));
  return EXIT.interrupted;
}

function confirmed(question: string, io: CommandIo): Promise<boolean> {
  return new Promise((resolve) => {
    const rl = createInterface({ input: process.stdin, output: process.stderr });
    io.signal.addEventListener('abort', () => rl.close(), { once: true });
    rl.question(question, (answer) => {
      // Before close: closing emits 'close' at once, whose `resolve(false)` would win.
      resolve(answer.trim() === 'yes');
      rl.close();
    });
    rl.on('close', () => resolve(false));
  });
}

function lastLines(output: string): string {
  return output.split('\n').slice(-15).join('\n');
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n');
}

