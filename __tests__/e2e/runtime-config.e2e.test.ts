import { createHash } from 'node:crypto';
import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalEnvironment } from './support/local-environment';
import { expectSuccess, Project } from './support/project';
import { requireProviders } from './support/providers';
import { rawExecTwin } from './support/twin';

/**
 * The app's runtime configuration travels operator's directory → Terraform (at plan) → Nomad
 * Variable `nomad/jobs/rails` → templates → the task. A raw_exec twin of the deployed task
 * (support/twin.ts) prints the sha256 of what it was given.
 */
const FILES = ['application.yml', 'database.yml', 'secrets.yml'];
const sha256 = (text: string | Buffer) => createHash('sha256').update(text).digest('hex');

/**
 * Writes `<name> <sha256>` for each rendered file and for SECRET_KEY_BASE as the task sees it.
 * No `${…}` in it: Nomad interpolates the driver config, the script's arguments included.
 */
const SUMS = [
  'out="$NOMAD_ALLOC_DIR/data/sums"',
  'for f in "$NOMAD_SECRETS_DIR"/runtime/file_*; do printf "%s %s\\n" "$(basename "$f")" "$(sha256sum < "$f" | cut -c1-64)"; done > "$out.tmp"',
  'printf "SECRET_KEY_BASE %s\\n" "$(printf %s "$SECRET_KEY_BASE" | sha256sum | cut -c1-64)" >> "$out.tmp"',
  'mv "$out.tmp" "$out"',
  'exec sleep 600',
].join('; ');

describe('runtime configuration through a Nomad Variable', () => {
  let local: LocalEnvironment;
  let project: Project;
  let alloc: string;

  const expectedSums = () =>
    [
      ...FILES.map((f) => `file_${f.replace('.', '_')} ${sha256(readFileSync(join(project.config, 'config', f)))}`),
      `SECRET_KEY_BASE ${sha256(readFileSync(join(project.config, 'env/SECRET_KEY_BASE'), 'utf8').replace(/\n$/, ''))}`,
    ].join('\n');

  const sumsOf = async (id: string) => (await local.nomad.readAllocFile(id, 'alloc/data/sums')).trim();

  beforeAll(async () => {
    requireProviders();
    local = await LocalEnvironment.start();
    project = new Project(local.env);
  });

  afterAll(() => {
    local?.stop();
    project?.remove();
  });

  it('deploy stores every file and env value; a task of the deployed job gets them byte for byte', async () => {
    const run = expectSuccess(project.deploy(), 'cdktf deploy local');
    const items = (await local.nomad.variableItems('nomad/jobs/rails'))!;
    expect(Object.keys(items).sort()).toEqual(['env_SECRET_KEY_BASE', 'file_application_yml', 'file_database_yml', 'file_secrets_yml', 'registry_pull_password', 'registry_pull_username']);
    const stored = (await local.nomad.job('rails'))!;
    for (const f of FILES) {
      const text = readFileSync(join(project.config, 'config', f), 'utf8');
      expect(items[`file_${f.replace('.', '_')}`]).toBe(text);
      expect(JSON.stringify(stored)).not.toContain(text.trim().split('\n').pop());
      expect(run.output).not.toContain(text.trim().split('\n').pop());
    }
    // Terraform's state holds the values: it is the owner's alone.
    expect(statSync(join(project.dir, 'terraform.local.tfstate')).mode & 0o777).toBe(0o600);

    await local.nomad.register(rawExecTwin(stored, 'sidekiq-default', SUMS));
    alloc = await local.nomad.waitForAllocation('rails', 'running');
    await expect.poll(() => sumsOf(alloc), { timeout: 30_000 }).toBe(expectedSums());
  });

  it('a changed secret changes the variable, not the job: the task restarts with the new value', async () => {
    const before = (await local.nomad.job('rails'))!;
    const oldSums = expectedSums();
    expect(await sumsOf(alloc)).toBe(oldSums);
    writeFileSync(join(project.config, 'config/database.yml'), 'production:\n  adapter: mysql2\n  password: rotated-canary-5521\n');
    const diff = expectSuccess(project.diff(), 'cdktf diff local');
    expect(diff.output).toMatch(/nomad_variable\.job_variables (\(\S+\) )?will be updated in-place/);
    expect(diff.output).not.toMatch(/nomad_job\.rails (\(\S+\) )?will be updated/);
    expect(diff.output).not.toContain('rotated-canary-5521');
    const run = expectSuccess(project.deploy(), 'cdktf deploy local');
    expect(run.output).not.toContain('rotated-canary-5521');
    expect(expectedSums()).not.toBe(oldSums);
    await expect.poll(() => sumsOf(alloc), { timeout: 60_000 }).toBe(expectedSums());
    // The same allocation, its task restarted by the template (change_mode restart). The server
    // learns of the client's task events a little after the file is there: poll.
    await expect
      .poll(async () => (await local.nomad.taskState(alloc, 'sidekiq')).Events.map((e) => e.DisplayMessage), { timeout: 30_000 })
      .toContain('Template with change_mode restart re-rendered');
    await expect.poll(async () => (await local.nomad.taskState(alloc, 'sidekiq')).Restarts, { timeout: 30_000 }).toBeGreaterThanOrEqual(1);
    expect((await local.nomad.job('rails'))!.Version).toBe(before.Version);
  });

  it('a malformed YAML file fails the deploy naming the file and the line, and none of its text', async () => {
    const items = await local.nomad.variableItems('nomad/jobs/rails');
    const good = readFileSync(join(project.config, 'config/secrets.yml'), 'utf8');
    writeFileSync(join(project.config, 'config/secrets.yml'), 'production:\n  secret_key_base: "canary-7731\n  other: x\n');
    const run = project.deploy();
    writeFileSync(join(project.config, 'config/secrets.yml'), good);
    expect(run.status).not.toBe(0);
    const text = run.output.replace(/\s+/g, ' ');
    expect(text).toContain(`${project.config}/config/secrets.yml`);
    expect(text).toMatch(/Call to function "yamldecode" failed: on line \d+, column \d+/);
    expect(run.output).not.toContain('canary-7731');
    expect(await local.nomad.variableItems('nomad/jobs/rails')).toEqual(items);
  });

  it('a missing input fails the deploy naming it, and the job and the variable stay as they were', async () => {
    const job = (await local.nomad.job('rails'))!;
    const items = await local.nomad.variableItems('nomad/jobs/rails');
    rmSync(join(project.config, 'env/SECRET_KEY_BASE'));
    writeFileSync(join(project.config, 'config/application.yml'), 'changed: true\n');
    const run = project.deploy();
    expect(run.status).not.toBe(0);
    expect(run.output.replace(/\s+/g, ' ')).toContain(`There is no value for SECRET_KEY_BASE at ${project.config}/env/SECRET_KEY_BASE.`);
    expect(await local.nomad.variableItems('nomad/jobs/rails')).toEqual(items);
    expect((await local.nomad.job('rails'))!.Version).toBe(job.Version);
  });
});
