import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Testing, TerraformStack } from 'cdktf';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeployCheck } from '../../constructs/terraform/deploy-check';
import { LocalEnvironment, toolsEnv } from './support/local-environment';
import { expectSuccess, Project, oneLine } from './support/project';
import { requireProviders } from './support/providers';
import { rawExecTwin } from './support/twin';

/**
 * The app's runtime configuration travels operator's directory → Terraform (at plan) → Nomad
 * Variable `nomad/jobs/rails` → templates → the task. A raw_exec twin of the deployed task
 * (support/twin.ts) prints the sha256 of what it was given.
 */
const FILES = ['application.yml', 'database.yml', 'secrets.yml'];
const sha256 = (text: string | Buffer) => createHash('sha256').update(text).digest('hex');
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

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

  it('a changed secret changes the variable and the tasks\' revision: a new job version that replaces each group\'s allocations, and nothing else in the job', async () => {
    const before = (await local.nomad.job('rails'))!;
    const spec0 = JSON.parse(project.appliedJobspec()) as { Job: { TaskGroups: Array<{ Name: string; Tasks: Array<{ Meta?: Record<string, string> }> }> } };
    const revisions = (spec: typeof spec0) => [...new Set(spec.Job.TaskGroups.flatMap((g) => g.Tasks.map((t) => t.Meta?.runtime_config_revision)))];
    const withoutRevision = (spec: typeof spec0) => JSON.stringify(spec, (k, v) => (k === 'runtime_config_revision' ? undefined : v));
    const [r0] = revisions(spec0);
    expect(revisions(spec0)).toEqual([expect.stringMatching(UUID)]);

    writeFileSync(join(project.config, 'config/database.yml'), 'production:\n  adapter: mysql2\n  password: rotated-canary-5521\n');
    const diff = expectSuccess(project.diff(), 'cdktf diff local');
    expect(diff.output).toMatch(/nomad_variable\.job_variables (\(\S+\) )?will be updated in-place/);
    expect(diff.output).toMatch(/terraform_data\.runtime_config_revision (\(\S+\) )?must be replaced/);
    expect(diff.output).toMatch(/nomad_job\.rails (\(\S+\) )?will be updated in-place/);
    expect(diff.output).not.toContain('rotated-canary-5521');
    const run = expectSuccess(project.deploy(), 'cdktf deploy local');
    expect(run.output).not.toContain('rotated-canary-5521');
    expect((await local.nomad.variableItems('nomad/jobs/rails'))!.file_database_yml).toContain('rotated-canary-5521');

    // One new revision in every task, a random id (no hash of the value: nothing in the job
    // tells a guess of the secret from a wrong one), and nothing else in the jobspec changed.
    const spec1 = JSON.parse(project.appliedJobspec()) as typeof spec0;
    const [r1] = revisions(spec1);
    expect(revisions(spec1)).toEqual([expect.stringMatching(UUID)]);
    expect(r1).not.toBe(r0);
    expect(withoutRevision(spec1)).toBe(withoutRevision(spec0));
    const after = (await local.nomad.job('rails'))!;
    expect(after.Version).toBe(before.Version + 1);
    expect(JSON.stringify(after)).not.toContain('rotated-canary-5521');
    expect(JSON.stringify(after)).not.toContain(sha256(readFileSync(join(project.config, 'config/database.yml'))));

    // The same values again: the revision stays, nothing to deploy.
    expect(expectSuccess(project.diff(), 'cdktf diff local').output).toMatch(/No changes/);

    // A task of the new version gets the new values; the next revision is, to Nomad's scheduler,
    // a destructive update of the group (its allocation replaced, by the group's update strategy).
    const twin = rawExecTwin(after, 'sidekiq-default', SUMS);
    const task = (twin.Job as { TaskGroups: Array<{ Tasks: Array<Record<string, unknown>> }> }).TaskGroups[0]!.Tasks[0]!;
    task.Meta = { runtime_config_revision: r1 };
    await local.nomad.register(twin);
    await expect.poll(async () => (await local.nomad.allocations('rails')).find((a) => a.ClientStatus === 'running' && a.ID !== alloc)?.ID, { timeout: 60_000 }).toBeDefined();
    alloc = (await local.nomad.allocations('rails')).find((a) => a.ClientStatus === 'running' && a.ID !== alloc)!.ID;
    await expect.poll(() => sumsOf(alloc), { timeout: 30_000 }).toBe(expectedSums());
    task.Meta = { runtime_config_revision: '00000000-0000-4000-8000-000000000001' };
    const plan = (await local.nomad.plan(twin as { Job: { ID: string } })) as unknown as { Annotations: { DesiredTGUpdates: Record<string, { DestructiveUpdate: number; InPlaceUpdate: number }> } };
    expect(plan.Annotations.DesiredTGUpdates['sidekiq-default']).toMatchObject({ DestructiveUpdate: 1, InPlaceUpdate: 0 });
  });

  it('a malformed YAML file fails the deploy naming the file and the line, and none of its text', async () => {
    const items = await local.nomad.variableItems('nomad/jobs/rails');
    const good = readFileSync(join(project.config, 'config/secrets.yml'), 'utf8');
    writeFileSync(join(project.config, 'config/secrets.yml'), 'production:\n  secret_key_base: "canary-7731\n  other: x\n');
    const run = project.deploy();
    writeFileSync(join(project.config, 'config/secrets.yml'), good);
    expect(run.status).not.toBe(0);
    const text = oneLine(run.output);
    expect(text).toContain(`${project.config}/config/secrets.yml`);
    expect(text).toMatch(/Call to function "yamldecode" failed: on line \d+, column \d+/);
    expect(run.output).not.toContain('canary-7731');
    expect(await local.nomad.variableItems('nomad/jobs/rails')).toEqual(items);
  });

  it('an emptied env value fails the deploy naming the file, and nomad/jobs/rails keeps the old value', async () => {
    const job = (await local.nomad.job('rails'))!;
    const items = (await local.nomad.variableItems('nomad/jobs/rails'))!;
    expect(items.env_SECRET_KEY_BASE).not.toBe('');
    const source = join(project.config, 'env/SECRET_KEY_BASE');
    const good = readFileSync(source, 'utf8');
    writeFileSync(source, ''); // `: > env/SECRET_KEY_BASE`
    const run = project.deploy();
    const npmRun = project.npmDeploy('local', '--auto-approve'); // the operator's path, as the issue ran it
    writeFileSync(source, ' \n');
    const blank = project.deploy();
    writeFileSync(source, good);
    for (const r of [run, npmRun, blank]) {
      expect(r.status).not.toBe(0);
      expect(oneLine(r.output)).toContain(`The value for SECRET_KEY_BASE at ${source} is empty (nothing but white space)`);
    }
    expect(await local.nomad.variableItems('nomad/jobs/rails')).toEqual(items);
    expect((await local.nomad.job('rails'))!.Version).toBe(job.Version);
  });

  it('an empty database.yml fails the deploy saying it is empty, not with a YAML parse error', async () => {
    const items = await local.nomad.variableItems('nomad/jobs/rails');
    const source = join(project.config, 'config/database.yml');
    const good = readFileSync(source, 'utf8');
    writeFileSync(source, '');
    const run = project.deploy();
    writeFileSync(source, '# production:\n#   password: canary-6620\n\n');
    const comments = project.deploy();
    writeFileSync(source, good);
    for (const r of [run, comments]) {
      expect(r.status).not.toBe(0);
      const text = oneLine(r.output);
      expect(text).toContain(`The file database.yml at ${source} is empty (nothing but white space and comments)`);
      expect(text).not.toContain('yamldecode');
      expect(r.output).not.toContain('canary-6620');
    }
    expect(await local.nomad.variableItems('nomad/jobs/rails')).toEqual(items);
  });

  it('a missing input fails the deploy naming it, and the job and the variable stay as they were', async () => {
    const job = (await local.nomad.job('rails'))!;
    const items = await local.nomad.variableItems('nomad/jobs/rails');
    rmSync(join(project.config, 'env/SECRET_KEY_BASE'));
    writeFileSync(join(project.config, 'config/application.yml'), 'changed: true\n');
    const run = project.deploy();
    expect(run.status).not.toBe(0);
    expect(oneLine(run.output)).toContain(`There is no value for SECRET_KEY_BASE at ${project.config}/env/SECRET_KEY_BASE.`);
    expect(await local.nomad.variableItems('nomad/jobs/rails')).toEqual(items);
    expect((await local.nomad.job('rails'))!.Version).toBe(job.Version);
  });
});

/**
 * The deploy checks of a runtime config file, as real Terraform evaluates them when it plans: a
 * configuration of the checks' variables alone (no provider), planned once per file.
 */
describe('the checks of a file, evaluated by Terraform', () => {
  let dir: string;
  const plan = (yaml: boolean, text: string | undefined) => {
    const stack = new TerraformStack(Testing.app(), 'checks');
    DeployCheck.pathExists(stack, 'f', { path: '/placeholder', message: 'Missing.', yaml, emptyMessage: 'Empty.' });
    // Pretty, as cdktf writes it: Terraform quotes the line of the rule that failed, not all of them.
    writeFileSync(join(dir, 'main.tf.json'), JSON.stringify({ variable: JSON.parse(Testing.synth(stack)).variable }, null, 2));
    const file = join(dir, 'value');
    rmSync(file, { force: true });
    if (text !== undefined) writeFileSync(file, text);
    const r = spawnSync('terraform', ['plan', '-input=false', '-no-color'], { cwd: dir, env: { ...process.env, ...toolsEnv(), TF_VAR_f: file }, encoding: 'utf8' });
    return { status: r.status, output: `${r.stdout}${r.stderr}` };
  };

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'deploy-checks-'));
    writeFileSync(join(dir, 'main.tf.json'), '{}');
    const init = spawnSync('terraform', ['init', '-input=false', '-no-color'], { cwd: dir, env: { ...process.env, ...toolsEnv() }, encoding: 'utf8' });
    if (init.status !== 0) throw new Error(init.stderr);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each([
    ['a YAML file', true, '', 'Empty.'],
    ['a YAML file', true, ' \n\t\n', 'Empty.'],
    ['a YAML file', true, '# production:\n  #   password: x\n', 'Empty.'],
    ['a YAML file', true, '---\n', 'Empty.'],
    ['a YAML file', true, undefined, 'Missing.'],
    ['an env value', false, '', 'Empty.'],
    ['an env value', false, '\n', 'Empty.'],
    ['an env value', false, undefined, 'Missing.'],
  ])('%s (YAML: %s) holding %j is refused: %s', (_, yaml, text, message) => {
    const r = plan(yaml, text);
    expect(r.status).not.toBe(0);
    expect(r.output).toContain(message);
    expect(r.output).not.toContain('yamldecode');
  });

  it.each([
    ['a YAML file', true, 'production:\n  adapter: mysql2\n'],
    ['a YAML file with a comment first', true, '# ours\nproduction: {}\n'],
    ['an env value', false, 'secret\n'],
    ['an env value that starts with #', false, '#not-a-comment'],
  ])('%s (YAML: %s) with content passes', (_, yaml, text) => {
    const r = plan(yaml, text);
    expect(r.output).not.toMatch(/Empty\.|Missing\./);
    expect(r.status, r.output).toBe(0);
  });

  it('a YAML file that does not parse fails with the parser\'s line, not as empty', () => {
    const r = plan(true, 'production:\n  password: "x\n  other: y\n');
    expect(r.status).not.toBe(0);
    expect(r.output).toMatch(/Call to function "yamldecode" failed: on line \d+, column \d+/);
    expect(r.output).not.toContain('Empty.');
  });
});
