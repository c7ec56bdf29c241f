import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalEnvironment } from './support/local-environment';
import { expectSuccess, Project } from './support/project';
import { requireProviders } from './support/providers';
import { rawExecTwin } from './support/twin';

/**
 * The image-pull credentials travel Terraform variable → Nomad Variable `nomad/jobs/rails` →
 * template (workload identity) → task environment → driver config interpolation, and never
 * through the jobspec. Docker tasks cannot start here, so the last hop is proven with a twin:
 * the deployed job's own task, templates and env, its payload swapped for a raw_exec script whose
 * driver config carries the docker `auth` block's interpolations as arguments.
 */
describe('registry pull credentials through a Nomad Variable', () => {
  // Characters an env file or a shell would trip on.
  const PASSWORD = `pull-canary #1 "quoted" & $HOME 'single' \\ end`;
  const USERNAME = 'puller';
  let local: LocalEnvironment;
  let project: Project;

  beforeAll(async () => {
    requireProviders();
    local = await LocalEnvironment.start();
    project = new Project(local.env).with({ TF_VAR_registry_pull_username: USERNAME, TF_VAR_registry_pull_password: PASSWORD });
  });

  afterAll(() => {
    local?.stop();
    project?.remove();
  });

  it('without TF_VAR_registry_pull_password, deploy fails at once naming it, and nothing is registered', async () => {
    const run = new Project(local.env).with({ TF_VAR_registry_pull_password: '' }).deploy();
    expect(run.status).not.toBe(0);
    expect(run.output).toContain('Set TF_VAR_registry_pull_password');
    expect(run.seconds).toBeLessThan(60);
    expect(await local.nomad.job('rails')).toBeUndefined();
  });

  it('deploy stores them in the variable, and the jobspec Nomad holds carries none', async () => {
    const run = expectSuccess(project.deploy(), 'cdktf deploy local');
    expect(run.output).not.toContain(PASSWORD);
    expect(await local.nomad.variableItems('nomad/jobs/rails')).toMatchObject({ registry_pull_username: USERNAME, registry_pull_password: PASSWORD });
    const stored = await local.nomad.job('rails');
    expect(JSON.stringify(stored)).not.toContain(PASSWORD);
    expect(project.appliedJobspec()).not.toContain(PASSWORD);
  });

  it('a task of the deployed job renders them, mode 0600, into the environment its driver config interpolates', async () => {
    const stored = (await local.nomad.job('rails'))!;
    const task = stored.TaskGroups.find((g) => g.Name === 'sidekiq-long')!.Tasks[0];
    const { username, password } = task.Config.auth as { username: string; password: string };
    const script = 'printf %s "$1" > "$NOMAD_ALLOC_DIR/data/username"; printf %s "$2" > "$NOMAD_ALLOC_DIR/data/password"; exec sleep 600';
    await local.nomad.register(rawExecTwin(stored, 'sidekiq-long', script, [username, password]));
    const alloc = await local.nomad.waitForAllocation('rails', 'running');
    expect(await local.nomad.readAllocFile(alloc, 'alloc/data/username')).toBe(USERNAME);
    expect(await local.nomad.readAllocFile(alloc, 'alloc/data/password')).toBe(PASSWORD);
    expect(await local.nomad.allocFileMode(alloc, 'sidekiq/secrets/registry-pull.env')).toBe('-rw-------');
  });
});
