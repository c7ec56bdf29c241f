import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadEnvironment } from '../config/load';
import type { Environment } from '../config/schema';
import { localStatePath } from '../config/state';
import { forgetBackend } from './backend-record';
import { type Command, CommandError, ENVIRONMENT_NAMES, environmentNamed, parseCommandLine, runMain, UsageError } from './cli';
import { Redactor } from './secrets';
import { heldLockReport, libpqEnvironment, lockTimeoutArg, lockWaitEnv, missingBackendSecret, parseLockTimeout } from './state-lock';
import { run, StepError, synthesize, synthesizedStack, type Steps } from './terraform';
import { automationEnv } from './terraform-stream';

const USAGE = `usage: npm run state -- <environment> migrate --to <backend> [--lock-timeout=<duration>]   (${ENVIRONMENT_NAMES})

Moves the environment's Terraform state between its local file and the shared backend its
config names (state.backend: pg or consul; DASHBOARD_STATE_BACKEND=pg for local):
  --to pg|consul   the local file's state into the shared backend; the file is renamed
                   <file>.migrated-<time>, so nothing reads it again;
  --to local       the shared backend's state into the local file (then set state.backend
                   back to local); the shared copy stays where it was.
Nothing in Nomad changes: the job keeps its version. A target that already holds another
state is refused. Waits for a held lock as long as state.lockTimeout, or --lock-timeout.
Exit status: 0 moved, or nothing to move; 1 error; 130 interrupted.`;

type Backend = Environment['state']['backend'];

/** A Terraform backend block as it appears in synthesized JSON: `{ pg: { schema_name: … } }`. */
type BackendBlock = Record<string, Record<string, unknown>>;

/**
 * What `terraform state pull` gives, in the parts compared here. Terraform's move gives the
 * target its own lineage and serial, so two states are the same when their resources are:
 * every instance's address and ID.
 */
interface PulledState {
  readonly serial: number;
  readonly resources: number;
  readonly instances: string;
}

/**
 * `npm run state -- <env> migrate --to <backend>`: Terraform's own `init -migrate-state`, in a
 * private directory that holds nothing but the two backend blocks, so no provider or plan is
 * involved. Both states are read first (the target must be empty, or already this state), and
 * the target after (the same resources as the source).
 */
export const stateCommand: Command = {
  name: 'state',
  usage: USAGE,
  async run(args, io) {
    const { positionals, options } = parseCommandLine(args, { to: { type: 'string' }, 'lock-timeout': { type: 'string' } }, { positionals: ['environment', 'action'] });
    const name = environmentNamed(positionals[0]!);
    if (positionals[1] !== 'migrate') throw new UsageError(`unknown action '${positionals[1]}': the action is migrate`);
    const to = options.to;
    if (to === undefined) throw new UsageError('say where to with --to pg, --to consul or --to local');
    if (!['local', 'pg', 'consul'].includes(to)) throw new UsageError(`--to ${to}: a backend is local, pg or consul`);
    const flagged = options['lock-timeout'];
    let flagWait: number | undefined;
    try {
      flagWait = flagged === undefined ? undefined : parseLockTimeout(flagged).toSeconds();
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    const edge = { env: io.env, cwd: io.cwd };
    const environment = loadEnvironment(name, edge, { build: false });
    const shared = environment.state.backend;
    if (shared === 'local') {
      throw new CommandError(
        `the config puts the state of '${name}' in a local file: set its state.backend to the shared one first${name === 'local' ? ' (DASHBOARD_STATE_BACKEND=pg)' : ''}, then migrate --to it`,
      );
    }
    if (to !== 'local' && to !== shared) throw new CommandError(`the config puts the state of '${name}' in ${shared}, not ${to}: migrate --to ${shared}, or --to local`);
    const wait = flagWait ?? environment.state.lockTimeout.toSeconds();

    const noSecret = missingBackendSecret(environment, io.env);
    if (noSecret) throw new CommandError(noSecret);
    const redactor = Redactor.fromEnvironment(io.env);
    if (io.env.PG_CONN_STR) redactor.add(safely(() => libpqEnvironment(io.env.PG_CONN_STR!).PGPASSWORD));
    const steps: Steps = {
      env: automationEnv(lockWaitEnv(io.env as NodeJS.ProcessEnv, wait, { command: 'state migrate', environment: name })),
      redactor,
      progress: (m) => io.stderr(`state: ${redactor.redact(m)}\n`),
    };
    const file = localStatePath(name, edge);
    const stackDir = synthesizedStack(synthesize(io.cwd, name, steps), name, steps);
    const sharedBlock = (JSON.parse(readFileSync(join(stackDir, 'cdk.tf.json'), 'utf8')) as { terraform?: { backend?: BackendBlock } }).terraform?.backend;
    if (!sharedBlock?.[shared]) throw new CommandError(`synth wrote no ${shared} backend for '${name}' (${stackDir}/cdk.tf.json)`);
    const fileBlock: BackendBlock = { local: { path: file } };
    const [from, into] = to === 'local' ? [sharedBlock, fileBlock] : [fileBlock, sharedBlock];
    const [fromName, intoName] = to === 'local' ? [describe(shared, sharedBlock), `the local file ${file}`] : [`the local file ${file}`, describe(shared, sharedBlock)];

    const work = mkdtempSync(join(tmpdir(), 'dashboard-state-'));
    try {
      const source = pull(join(work, 'from'), from, steps, wait);
      if (!source) {
        forgetBackend(stackDir);
        io.stdout(`nothing to move: ${fromName} holds no state of '${name}'. This checkout uses ${to === 'local' ? 'the local file' : shared} from now on.\n`);
        return 0;
      }
      const target = pull(join(work, 'into'), into, steps, wait);
      if (target && target.instances !== source.instances) {
        throw new CommandError(
          `${intoName} already holds another state of '${name}' (serial ${target.serial}, ${target.resources} resources; ${fromName}: serial ${source.serial}, ${source.resources}): ` +
            'nothing moved. Another clone may have moved its state there first: compare them (terraform state pull) before replacing either.',
        );
      }
      if (!target) {
        migrate(join(work, 'from'), into, steps, wait);
        const moved = pull(join(work, 'check'), into, steps, wait);
        if (moved?.instances !== source.instances) {
          throw new CommandError(`after terraform init -migrate-state, ${intoName} holds ${moved ? `${moved.resources} resources` : 'no state'} other than the ${source.resources} of ${fromName}: check both before deploying`);
        }
      }
      forgetBackend(stackDir);
      const kept = to === 'local' ? undefined : retire(file);
      io.stdout(
        `${target ? 'already there' : 'moved'}: the state of '${name}' (serial ${source.serial}, ${source.resources} resources) from ${fromName} to ${intoName}.\n` +
          (kept ? `The local file is kept as ${kept}; nothing reads it.\n` : '') +
          (to === 'local' ? `The state stays in ${fromName} too: set state.backend back to local${name === 'local' ? ' (unset DASHBOARD_STATE_BACKEND)' : ''} before the next deploy.\n` : '') +
          `Nothing in Nomad changed. Next: npm run plan -- ${name} (it shows no changes).\n`,
      );
      return 0;
    } catch (e) {
      if (e instanceof StepError) {
        const held = heldLockReport(e.message, environment, wait, io.env as NodeJS.ProcessEnv);
        throw new CommandError(held ? held.map((l) => redactor.redact(l)).join('\n') : e.message);
      }
      throw e;
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  },
};

/** `pg schema dashboard_local`, `consul consul:8501/terraform/x`. */
function describe(backend: Backend, block: BackendBlock): string {
  const b = block[backend] ?? {};
  if (backend === 'pg') return `pg schema ${String(b.schema_name ?? 'terraform_remote_state')}`;
  if (backend === 'consul') return `consul ${String(b.address)}/${String(b.path)}`;
  return backend;
}

/** A directory whose whole configuration is one backend block. */
function backendOnly(dir: string, backend: BackendBlock): void {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'main.tf.json'), `${JSON.stringify({ terraform: { backend } }, null, 2)}\n`);
}

/** The state a backend holds, or undefined when it holds none (or one without resources). */
function pull(dir: string, backend: BackendBlock, steps: Steps, wait: number): PulledState | undefined {
  backendOnly(dir, backend);
  run(`terraform init (${Object.keys(backend)[0]})`, 'terraform', ['init', '-input=false', '-no-color', lockTimeoutArg(wait)], { cwd: dir, env: steps.env }, steps);
  const text = run('terraform state pull', 'terraform', ['state', 'pull'], { cwd: dir, env: steps.env }, steps, { quiet: true }).trim();
  if (text === '') return undefined;
  const state = JSON.parse(text) as { serial: number; resources?: { mode: string; type: string; name: string; module?: string; instances: { index_key?: unknown; attributes?: { id?: unknown } }[] }[] };
  const resources = state.resources ?? [];
  if (resources.length === 0) return undefined;
  const instances = resources
    .flatMap((r) => r.instances.map((i) => `${r.module ?? ''}${r.mode}.${r.type}.${r.name}[${JSON.stringify(i.index_key ?? null)}]=${String(i.attributes?.id)}`))
    .sort()
    .join('\n');
  return { serial: state.serial, resources: resources.length, instances };
}

/** Terraform's own move: the directory's backend becomes `into`, its state copied there. */
function migrate(dir: string, into: BackendBlock, steps: Steps, wait: number): void {
  writeFileSync(join(dir, 'main.tf.json'), `${JSON.stringify({ terraform: { backend: into } }, null, 2)}\n`);
  run('terraform init -migrate-state', 'terraform', ['init', '-input=false', '-no-color', '-migrate-state', '-force-copy', lockTimeoutArg(wait)], { cwd: dir, env: steps.env }, steps);
}

/** The moved-out local file, renamed so that neither Terraform nor an operator takes it for the state. */
function retire(file: string): string | undefined {
  if (!existsSync(file)) return undefined;
  const kept = `${file}.migrated-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  renameSync(file, kept);
  if (existsSync(`${file}.backup`)) renameSync(`${file}.backup`, `${kept}.backup`);
  return kept;
}

function safely<T>(f: () => T): T | undefined {
  try {
    return f();
  } catch {
    return undefined;
  }
}

runMain(stateCommand, module);
