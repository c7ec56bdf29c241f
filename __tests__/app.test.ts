import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { filesBelow, runApp } from './support/run-app';
import { FIXTURE_APP, REPO_ROOT } from './support/synth';

const SECRETS = {
  NOMAD_TOKEN: 'nomad-token-5f0c1c8e-secret',
  DOCKER_REGISTRY_USER: 'deployer-user-secret',
  DOCKER_REGISTRY_PASS: 'registry-pass-9b2e-secret',
  TF_VAR_registry_pull_username: 'puller-user-secret',
  TF_VAR_registry_pull_password: 'pull-pass-77aa-secret',
  NOMAD_HTTP_AUTH: 'ops:http-auth-secret',
  VAULT_TOKEN: 'vault-token-secret',
};

describe('the app, run as cdktf synth runs it', () => {
  const run = runApp({ ...SECRETS, NOMAD_ADDR: 'https://nomad.example.org:4646' });

  it('writes production, staging and local Terraform JSON', () => {
    expect(run.stderr).not.toMatch(/synth failed|invalid configuration/);
    expect(run.status).toBe(0);
    for (const [stack, job] of [['production', 'rails'], ['staging', 'rails-staging'], ['local', 'rails']]) {
      const json = JSON.parse(readFileSync(join(run.outdir, 'stacks', stack!, 'cdk.tf.json'), 'utf8'));
      expect(Object.keys(json.resource.nomad_job)).toEqual([job]);
    }
  });

  it('no secret set in the environment appears in synth output or logs', () => {
    const files = filesBelow(run.outdir);
    expect(files.size).toBeGreaterThan(2);
    const texts = [...files.values(), run.stdout, run.stderr];
    for (const [name, value] of Object.entries(SECRETS)) {
      for (const text of texts) expect(text.includes(value), `${name} leaked`).toBe(false);
    }
  });

  it('keeps each stack\'s state beside the project, by absolute path, never under cdktf.out', () => {
    const json = JSON.parse(readFileSync(join(run.outdir, 'stacks/production/cdk.tf.json'), 'utf8'));
    expect(json.terraform.backend.local.path).toBe(join(REPO_ROOT, 'terraform.production.tfstate'));
  });

  it('DASHBOARD_STATE_DIR moves every stack\'s local state file', () => {
    const moved = runApp({ DASHBOARD_STATE_DIR: '/var/lib/dashboard-state' });
    const json = JSON.parse(readFileSync(join(moved.outdir, 'stacks/staging/cdk.tf.json'), 'utf8'));
    expect(json.terraform.backend.local.path).toBe('/var/lib/dashboard-state/terraform.staging.tfstate');
  });

  it('the production jobspec reaches Terraform with Nomad\'s interpolation escaped', () => {
    const json = readFileSync(join(run.outdir, 'stacks/production/cdk.tf.json'), 'utf8');
    const jobspec: string = JSON.parse(json).resource.nomad_job.rails.jobspec;
    expect(jobspec).toContain('"LTarget":"$${node.unique.name}"');
  });
});

describe('synth on a machine with Node.js only', () => {
  it('needs no Terraform: nothing it synthesizes runs a binary', () => {
    const run = runApp({ PATH: '/usr/bin:/bin' });
    expect(spawnSync('sh', ['-c', 'command -v terraform'], { env: { PATH: '/usr/bin:/bin' } }).status).not.toBe(0);
    expect(run.stderr).not.toMatch(/Could not determine version|terraform/i);
    expect(run.status).toBe(0);
  });
});

describe('the runtime configuration, run as cdktf synth runs it', () => {
  it('reaches no synth output or log: synth passes its paths only', () => {
    const dir = mkdtempSync(join(tmpdir(), 'runtime-config-canary-'));
    mkdirSync(join(dir, 'config'));
    mkdirSync(join(dir, 'env'));
    const canaries = ['application.yml', 'database.yml', 'secrets.yml'].map((f) => {
      const value = `canary-${f}-9f3e1`;
      writeFileSync(join(dir, 'config', f), `secret: ${value}\n`);
      return value;
    });
    writeFileSync(join(dir, 'env/SECRET_KEY_BASE'), 'canary-secret-key-base-77c1\n');
    canaries.push('canary-secret-key-base-77c1');
    const run = runApp({ DASHBOARD_CONFIG_DIR: dir });
    expect(run.status).toBe(0);
    const texts = [...filesBelow(run.outdir).values(), run.stdout, run.stderr];
    expect(texts.join('\n')).toContain(`${dir}/config/database.yml`);
    for (const canary of canaries) for (const text of texts) expect(text.includes(canary), canary).toBe(false);
  });
});

describe('an invalid configuration', () => {
  const run = runApp({ DASHBOARD_IMAGE: 'docker.wikiedu.org/wikiedu-web:latest' });

  it('fails synth naming the variable, its value, the path and the rule, and no stack trace', () => {
    expect(run.status).toBe(1);
    expect(run.stderr).toContain("invalid DASHBOARD_IMAGE='docker.wikiedu.org/wikiedu-web:latest' (read by every stack: production, staging, local)");
    expect(run.stderr).toContain('image.reference: must be pinned by digest');
    expect(run.stderr).not.toMatch(/^\s+at /m);
    expect(existsSync(join(run.outdir, 'stacks/production/cdk.tf.json'))).toBe(false);
    expect(run.stderr.split('image.reference:')).toHaveLength(2);
  });

  it('run by the cdktf CLI, is one error annotation on an empty stack, not stderr the CLI would print twice', () => {
    const underCli = runApp({ DASHBOARD_IMAGE: 'docker.wikiedu.org/wikiedu-web:latest', CDKTF_CONTINUE_SYNTH_ON_ERROR_ANNOTATIONS: 'true' });
    expect(underCli.stderr).toBe('');
    const manifest = JSON.parse(readFileSync(join(underCli.outdir, 'manifest.json'), 'utf8'));
    expect(Object.keys(manifest.stacks)).toEqual(['invalid-configuration']);
    expect(manifest.stacks['invalid-configuration'].annotations).toEqual([
      { constructPath: 'invalid-configuration', level: '@cdktf/error', message: expect.stringContaining("invalid DASHBOARD_IMAGE='docker.wikiedu.org/wikiedu-web:latest' (read by every stack: production, staging, local):\n  - image.reference: must be pinned by digest") },
    ]);
  });

  it('`cdktf synth` shows it once and fails', () => {
    const outdir = mkdtempSync(join(tmpdir(), 'cdktf-cli-out-'));
    try {
      const cli = spawnSync(join(REPO_ROOT, 'node_modules/.bin/cdktf'), ['synth', '--output', outdir], {
        cwd: REPO_ROOT,
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', TMPDIR: tmpdir(), CHECKPOINT_DISABLE: '1', DASHBOARD_SOURCE: FIXTURE_APP, DASHBOARD_IMAGE: 'docker.wikiedu.org/wikiedu-web:latest' },
        encoding: 'utf8',
        timeout: 60_000,
      });
      expect(cli.status).toBe(1);
      const output = `${cli.stdout}${cli.stderr}`;
      expect(output.split("invalid DASHBOARD_IMAGE='docker.wikiedu.org/wikiedu-web:latest'")).toHaveLength(2);
      expect(output.split('image.reference: must be pinned by digest')).toHaveLength(2);
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('the committed tree', () => {
  it('holds no state, synth output or .env file', () => {
    expect(forbiddenTracked(REPO_ROOT)).toEqual([]);
  });

  it('(the check above finds a Terraform state file git tracks)', () => {
    const repo = mkdtempSync(join(tmpdir(), 'tracked-state-'));
    try {
      const git = (...args: string[]) => execFileSync('git', ['-C', repo, ...args], { encoding: 'utf8' });
      git('init', '-q');
      writeFileSync(join(repo, 'main.ts'), '');
      writeFileSync(join(repo, 'terraform.production.tfstate'), '{}');
      git('add', '--force', 'main.ts', 'terraform.production.tfstate');
      expect(forbiddenTracked(repo)).toEqual(['terraform.production.tfstate']);
    } finally {
      rmSync(repo, { recursive: true, force: true });
    }
  });
});

/** Files git tracks that must never be committed: Terraform state, synth output, provider caches, .env. */
function forbiddenTracked(repo: string): string[] {
  const tracked = execFileSync('git', ['-C', repo, 'ls-files', '-z'], { encoding: 'utf8' }).split('\0').filter(Boolean);
  return tracked.filter((path) => /\.tfstate(\.|$)|(^|\/)(cdktf\.out|\.terraform)\/|(^|\/)\.env$/.test(path));
}
