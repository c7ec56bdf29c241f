import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FIXTURE_APP, FIXTURE_CONFIG, REPO_ROOT } from '../../support/synth';
import { type LocalEnv, toolsEnv } from './local-environment';

export interface CliRun {
  readonly status: number | null;
  /** stdout and stderr, as a person would read them, without colour. */
  readonly output: string;
  readonly seconds: number;
}

/** An npm script's run, its two streams apart. */
export interface NpmRun extends CliRun {
  readonly stdout: string;
  readonly stderr: string;
}

/** What an operator's checkout holds (node_modules is linked, not copied). */
const CHECKOUT = ['main.ts', '.ci', 'cdktf.json', 'package.json', 'tsconfig.json', 'config', 'constructs', 'stacks', 'commands'];

/**
 * One operator's checkout of this repository, in a temporary directory: its own config to
 * edit, its own synth output and Terraform state, and a copy of the fixture Rails app as
 * the build context, so a test can change a source file as a commit would.
 */
export class Project {
  readonly dir: string;
  readonly context: string;
  /** The operator's runtime configuration directory (DASHBOARD_CONFIG_DIR): a copy of the fixture's. */
  readonly config: string;
  private overrides: Record<string, string> = {};

  constructor(private readonly local: LocalEnv) {
    this.dir = mkdtempSync(join(tmpdir(), 'e2e-project-'));
    for (const entry of CHECKOUT) cpSync(join(REPO_ROOT, entry), join(this.dir, entry), { recursive: true });
    symlinkSync(join(REPO_ROOT, 'node_modules'), join(this.dir, 'node_modules'));
    this.context = join(this.dir, 'rails-app');
    cpSync(FIXTURE_APP, this.context, { recursive: true });
    this.config = join(this.dir, 'runtime-config');
    cpSync(FIXTURE_CONFIG, this.config, { recursive: true });
  }

  /** Environment variables for the following commands (a wrong password, an unreachable Nomad, a bad image). */
  with(overrides: Record<string, string>): this {
    this.overrides = { ...this.overrides, ...overrides };
    return this;
  }

  reset(): this {
    this.overrides = {};
    return this;
  }

  get env(): Record<string, string> {
    const l = this.local;
    return {
      HOME: process.env.HOME ?? '/root',
      ...toolsEnv(),
      CI: '1',
      NO_COLOR: '1',
      FORCE_COLOR: '0',
      DASHBOARD_SOURCE: this.context,
      DASHBOARD_CONFIG_DIR: this.config,
      LOCAL_NOMAD_ADDR: l.NOMAD_ADDR,
      LOCAL_REGISTRY_ADDRESS: l.LOCAL_REGISTRY_ADDRESS,
      DOCKER_HOST: l.DOCKER_HOST,
      DOCKER_REGISTRY_USER: l.DOCKER_REGISTRY_USER,
      DOCKER_REGISTRY_PASS: l.DOCKER_REGISTRY_PASS,
      TF_VAR_registry_pull_username: l.DOCKER_REGISTRY_USER,
      TF_VAR_registry_pull_password: l.DOCKER_REGISTRY_PASS,
      ...this.overrides,
    };
  }

  /** `cdktf <args>` in the checkout, as an operator runs it. */
  cdktf(...args: string[]): CliRun {
    const started = Date.now();
    const r = spawnSync(join(this.dir, 'node_modules/.bin/cdktf'), args, { cwd: this.dir, env: this.env, encoding: 'utf8', timeout: 600_000 });
    // eslint-disable-next-line no-control-regex
    const output = `${r.stdout}\n${r.stderr}`.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');
    return { status: r.status, output, seconds: (Date.now() - started) / 1000 };
  }

  synth(): CliRun {
    return this.cdktf('synth');
  }

  deploy(): CliRun {
    return this.cdktf('deploy', 'local', '--auto-approve');
  }

  diff(): CliRun {
    return this.cdktf('diff', 'local');
  }

  destroy(): CliRun {
    return this.cdktf('destroy', 'local', '--auto-approve');
  }

  /** `npm run plan -- <stack>`, as an operator runs it (npm's own banner left out); its report is on stdout, progress on stderr. */
  plan(stack = 'local'): NpmRun {
    return this.npmRun('plan', [stack]);
  }

  /** `npm run task -- <args>`, as an operator runs it (npm's own banner left out): the command's output on stdout, progress on stderr. */
  task(...args: string[]): NpmRun {
    return this.npmRun('task', args);
  }

  /** `npm run doctor -- <args>`, as an operator runs it (npm's own banner left out): the checks on stdout, the verdict on stderr. */
  doctor(...args: string[]): NpmRun {
    return this.npmRun('doctor', args);
  }

  private npmRun(script: string, args: string[]): NpmRun {
    const started = Date.now();
    const r = spawnSync('npm', ['run', '--silent', script, '--', ...args], { cwd: this.dir, env: this.env, encoding: 'utf8', timeout: 600_000 });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr, output: `${r.stdout}\n${r.stderr}`, seconds: (Date.now() - started) / 1000 };
  }

  /** `npm run deploy -- <args>` (cdktf deploy, and the failed deployment's groups), as an operator runs it. */
  npmDeploy(...args: string[]): CliRun {
    const started = Date.now();
    const r = spawnSync('npm', ['run', '--silent', 'deploy', '--', ...args], { cwd: this.dir, env: this.env, encoding: 'utf8', timeout: 600_000 });
    // eslint-disable-next-line no-control-regex
    const output = `${r.stdout}\n${r.stderr}`.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');
    return { status: r.status, output, seconds: (Date.now() - started) / 1000 };
  }

  /** `npm run <script> -- <args>` started, not waited for: two operators' commands at once. Its output is collected as it comes. */
  start(script: string, ...args: string[]): RunningCli {
    const started = Date.now();
    const child = spawn('npm', ['run', '--silent', script, '--', ...args], { cwd: this.dir, env: this.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    const done = new Promise<CliRun>((resolve) => {
      child.on('close', (status) => resolve({ status, output: output.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, ''), seconds: (Date.now() - started) / 1000 }));
    });
    return { child, done, output: () => output };
  }

  /** `npm run deploy -- local --auto-approve` in its own process group, sent SIGINT (as Ctrl-C) once `marker` is printed. */
  interruptDeployAt(marker: string): Promise<CliRun> {
    return new Promise((resolve, reject) => {
      const started = Date.now();
      const child = spawn('npm', ['run', '--silent', 'deploy', '--', 'local', '--auto-approve'], { cwd: this.dir, env: this.env, detached: true });
      let output = '';
      let sent = false;
      const timer = setTimeout(() => {
        process.kill(-child.pid!, 'SIGKILL');
        reject(new Error(`no '${marker}' in 300s:\n${output}`));
      }, 300_000);
      const take = (chunk: Buffer) => {
        output += chunk.toString();
        if (!sent && output.includes(marker)) {
          sent = true;
          process.kill(-child.pid!, 'SIGINT');
        }
      };
      child.stdout.on('data', take);
      child.stderr.on('data', take);
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        // npm passes the SIGINT on to itself once its script has ended: a shell shows that as 130.
        resolve({ status: code ?? (signal === 'SIGINT' ? 130 : null), output, seconds: (Date.now() - started) / 1000 });
      });
    });
  }

  /** `npm run state -- <args>`, as an operator runs it. */
  state(...args: string[]): CliRun & { readonly stdout: string; readonly stderr: string } {
    const started = Date.now();
    const r = spawnSync('npm', ['run', '--silent', 'state', '--', ...args], { cwd: this.dir, env: this.env, encoding: 'utf8', timeout: 600_000 });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr, output: `${r.stdout}\n${r.stderr}`, seconds: (Date.now() - started) / 1000 };
  }

  /** The synthesized Terraform JSON of a stack. */
  stack(name = 'local'): { resource: Record<string, Record<string, any>>; variable?: Record<string, unknown> } {
    return JSON.parse(readFileSync(join(this.dir, 'cdktf.out/stacks', name, 'cdk.tf.json'), 'utf8'));
  }

  /** The jobspec Terraform last sent to Nomad, references resolved, from the stack's state. */
  appliedJobspec(): string {
    const state = JSON.parse(readFileSync(join(this.dir, 'terraform.local.tfstate'), 'utf8'));
    const job = state.resources.find((r: { type: string }) => r.type === 'nomad_job');
    return job.instances[0].attributes.jobspec as string;
  }

  /** Edits a file of the checkout: `replace` must match, so a test cannot silently edit nothing. */
  edit(file: string, replace: string | RegExp, by: string): void {
    const path = join(this.dir, file);
    const text = readFileSync(path, 'utf8');
    const next = text.replace(replace, by);
    if (next === text) throw new Error(`${file}: ${String(replace)} not found`);
    writeFileSync(path, next);
  }

  /** Appends text to a file of the checkout. */
  append(file: string, text: string): void {
    const path = join(this.dir, file);
    writeFileSync(path, `${readFileSync(path, 'utf8')}${text}`);
  }

  /** Gives one worker of the local environment other memory, by editing config/local.ts as an operator would. */
  setWorkerMemory(worker: string, memoryMB: number): void {
    this.edit(
      'config/local.ts',
      'workers: prod.workers.map((w) => ({ ...w, resources: { cpu: 200, memoryMB: 512 } })),',
      `workers: prod.workers.map((w) => ({ ...w, resources: { cpu: 200, memoryMB: w.name === '${worker}' ? ${memoryMB} : 512 } })),`,
    );
  }

  /** A source change: what a developer's commit does to the build context. */
  editSource(file: string, text: string): void {
    writeFileSync(join(this.context, file), text);
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A command still running: its process, its end, and what it has printed so far. */
export interface RunningCli {
  readonly child: ChildProcess;
  readonly done: Promise<CliRun>;
  output(): string;
}

/**
 * A command's output as one line, for a message Terraform wrapped: cdktf starts each chunk of
 * Terraform's output on a line of its own behind the stack's name, wherever the chunk began (in
 * the middle of a sentence too, as the machine's load has it), so that name is taken out first.
 */
export function oneLine(output: string, stack = 'local'): string {
  return output.replace(new RegExp(`^${stack}\\s+`, 'gm'), '').replace(/\s+/g, ' ');
}

/** Fails with the command's output when it did not exit 0. */
export function expectSuccess(run: CliRun, what: string): CliRun {
  if (run.status !== 0) throw new Error(`${what} exited ${run.status} after ${run.seconds}s:\n${run.output.slice(-6000)}`);
  return run;
}
