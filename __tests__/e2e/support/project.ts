import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FIXTURE_APP, REPO_ROOT } from '../../support/synth';
import { type LocalEnvironment, toolsEnv } from './local-environment';

export interface CliRun {
  readonly status: number | null;
  /** stdout and stderr, interleaved as a person would see them, without colour. */
  readonly output: string;
  readonly seconds: number;
}

/**
 * One user's working copy against a local environment: the fixture Rails app as the build
 * context (a copy, so tests can change it), and its own synth output and Terraform state.
 */
export class Project {
  readonly context: string;
  readonly workDir: string;
  private overrides: Record<string, string> = {};

  constructor(readonly local: LocalEnvironment) {
    this.workDir = mkdtempSync(join(tmpdir(), 'e2e-project-'));
    this.context = join(this.workDir, 'rails-app');
    cpSync(FIXTURE_APP, this.context, { recursive: true });
  }

  /** Environment variables for the next commands (a wrong password, an unreachable Nomad, a bad config). */
  with(overrides: Record<string, string>): this {
    this.overrides = { ...this.overrides, ...overrides };
    return this;
  }

  reset(): this {
    this.overrides = {};
    return this;
  }

  get env(): Record<string, string> {
    const l = this.local.env;
    return {
      HOME: process.env.HOME ?? '/root',
      ...toolsEnv(),
      CI: '1',
      NO_COLOR: '1',
      FORCE_COLOR: '0',
      DASHBOARD_SOURCE: this.context,
      DASHBOARD_STATE_DIR: this.workDir,
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

  /** `cdktf <args>` in the repository, as an operator runs it. */
  cdktf(...args: string[]): CliRun {
    const started = Date.now();
    const r = spawnSync(join(REPO_ROOT, 'node_modules/.bin/cdktf'), [...args, '--output', join(this.workDir, 'cdktf.out')], {
      cwd: REPO_ROOT,
      env: this.env,
      encoding: 'utf8',
      timeout: 600_000,
    });
    // eslint-disable-next-line no-control-regex
    const output = `${r.stdout}\n${r.stderr}`.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '');
    return { status: r.status, output, seconds: (Date.now() - started) / 1000 };
  }

  deploy(): CliRun {
    return this.cdktf('deploy', 'local', '--auto-approve');
  }

  diff(): CliRun {
    return this.cdktf('diff', 'local');
  }

  /** The jobspec Terraform last sent to Nomad, references resolved, read from the state. */
  appliedJobspec(): string {
    const state = JSON.parse(readFileSync(join(this.workDir, 'terraform.local.tfstate'), 'utf8'));
    const job = state.resources.find((r: { type: string }) => r.type === 'nomad_job');
    return job.instances[0].attributes.jobspec as string;
  }

  /** A source change: what a developer's commit does to the build context. */
  editSource(file: string, text: string): void {
    writeFileSync(join(this.context, file), text);
  }

  remove(): void {
    rmSync(this.workDir, { recursive: true, force: true });
  }
}

/** Fails with the command's output when it did not exit 0. */
export function expectSuccess(run: CliRun, what: string): CliRun {
  if (run.status !== 0) throw new Error(`${what} exited ${run.status} after ${run.seconds}s:\n${run.output.slice(-6000)}`);
  return run;
}
