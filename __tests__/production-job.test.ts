import { describe, expect, it } from 'vitest';
import type { TaskGroup } from '../constructs/nomad/api';
import { FIXTURE_CONFIG, fixtureEnvironment, jobOf, synthEnvironment } from './support/synth';

/**
 * The production job is the job that runs today: a first deploy must update it in place.
 * Each row here is a line of the table in the issue; a change to one of them is a decision,
 * not an accident.
 */
const UPSTREAMS = [
  { DestinationName: 'redis-sidekiq', LocalBindPort: 6379 },
  { DestinationName: 'memcache', LocalBindPort: 11211 },
  { DestinationName: 'mariadb', LocalBindPort: 3306 },
];
const NOT_ON_RAILSWEB = [{ LTarget: '${node.unique.name}', RTarget: 'node-railsweb', Operand: '!=' }];
const RAILS_VOLUME = { rails: { Name: 'rails', Type: 'host', Source: 'rails', ReadOnly: false } };
const RAILS_MOUNT = [{ Volume: 'rails', Destination: '/workspace/public/system', ReadOnly: false }];

const WORKERS = [
  { group: 'sidekiq-constant', queues: ['constant_update'], cpu: 1500, mem: 1024, off: true, volume: false },
  { group: 'sidekiq-daily', queues: ['daily_update'], cpu: 1500, mem: 1024, off: true, volume: false },
  { group: 'sidekiq-default', queues: ['default'], cpu: 1200, mem: 1500, off: false, volume: true },
  { group: 'sidekiq-long', queues: ['long_update', 'medium_update'], cpu: 1500, mem: 2048, off: true, volume: false },
  { group: 'sidekiq-medium', queues: ['medium_update', 'short_update'], cpu: 1500, mem: 2048, off: true, volume: false },
  { group: 'sidekiq-short', queues: ['short_update', 'medium_update'], cpu: 1500, mem: 2048, off: true, volume: false },
];

const GROUPS = ['web', ...WORKERS.map((w) => w.group)];
const stack = synthEnvironment(fixtureEnvironment('production'));
const job = jobOf(stack);
const group = (name: string): TaskGroup => {
  const g = job.TaskGroups.find((x) => x.Name === name);
  if (!g) throw new Error(`no group ${name}`);
  return g;
};

describe('the production job', () => {
  it('is job rails, a service in dc1, with the web group and the six sidekiq groups in order', () => {
    expect(job.ID).toBe('rails');
    expect(job.Name).toBe('rails');
    expect(job.Type).toBe('service');
    expect(job.Datacenters).toEqual(['dc1']);
    expect(job.TaskGroups.map((g) => g.Name)).toEqual(['web', ...WORKERS.map((w) => w.group)]);
  });

  it.each(job.TaskGroups.map((g) => [g.Name, g] as const))('group %s: bridge network, one Connect service with the three upstreams, one docker task', (_, g) => {
    expect(g.Networks).toEqual([{ Mode: 'bridge' }]);
    expect(g.Services).toHaveLength(1);
    expect(g.Services![0]!.Connect).toEqual({ SidecarService: { Proxy: { Upstreams: UPSTREAMS } } });
    expect(g.Tasks).toHaveLength(1);
    expect(g.Tasks[0]!.Driver).toBe('docker');
    expect(g.Tasks[0]!.Config.image).toMatch(/^docker\.wikiedu\.org\/wikiedu-web@\$\{docker_registry_image\.image\.sha256_digest\}$/);
    expect(g.Tasks[0]!.Env).toEqual({ RAILS_ENV: 'production', RAILS_LOG_TO_STDOUT: 'true' });
  });

  it('web: 2 puma allocations rolled one at a time, 30s healthy, on the rails volume, 4400 MHz / 2800 MB', () => {
    const web = group('web');
    expect(web.Count).toBe(2);
    expect(web.Update).toEqual({
      MaxParallel: 1,
      MinHealthyTime: 30_000_000_000,
      HealthyDeadline: 300_000_000_000,
      ProgressDeadline: 600_000_000_000,
      AutoRevert: true,
      Canary: 0,
      AutoPromote: false,
      HealthCheck: 'checks',
    });
    expect(web.Volumes).toEqual(RAILS_VOLUME);
    expect(web.Constraints).toBeUndefined();
    expect(web.Services![0]).toMatchObject({ Name: 'puma', Tags: ['app'], PortLabel: '5000' });
    const task = web.Tasks[0]!;
    expect(task.Name).toBe('rails_server');
    expect([task.Config.command, ...(task.Config.args as string[])].join(' ')).toBe('puma -b tcp://0.0.0.0 -p 5000 --preload -w 2 -t 1:1');
    expect(task.Resources).toEqual({ CPU: 4400, MemoryMB: 2800 });
    expect(task.VolumeMounts).toEqual(RAILS_MOUNT);
  });

  it('web: Consul checks puma over HTTP at / (no /up route yet) through an exposed path, past the sidecar', () => {
    expect(group('web').Services![0]!.Checks).toEqual([
      { Name: 'puma-http', Type: 'http', Path: '/', Expose: true, Interval: 10_000_000_000, Timeout: 5_000_000_000 },
    ]);
  });

  it('every sidekiq group rolls one at a time, healthy by task state, and reverts a failed deployment', () => {
    for (const w of WORKERS) {
      expect(group(w.group).Update).toEqual({
        MaxParallel: 1,
        MinHealthyTime: 10_000_000_000,
        HealthyDeadline: 180_000_000_000,
        ProgressDeadline: 300_000_000_000,
        AutoRevert: true,
        HealthCheck: 'task_states',
      });
      expect(group(w.group).Services![0]!.Checks).toBeUndefined();
    }
  });

  it('web: publishes no docker port label (the old template listed an undefined "http")', () => {
    expect(group('web').Tasks[0]!.Config.ports).toBeUndefined();
  });

  it.each(WORKERS)('$group: sidekiq on $queues, $cpu MHz / $mem MB', (w) => {
    const g = group(w.group);
    expect(g.Count).toBe(1);
    expect(g.Services![0]).toMatchObject({ Name: w.group, Tags: ['app', 'sidekiq'] });
    expect(g.Services![0]!.PortLabel).toBeUndefined();
    expect(g.Constraints).toEqual(w.off ? NOT_ON_RAILSWEB : undefined);
    expect(g.Volumes).toEqual(w.volume ? RAILS_VOLUME : undefined);
    const task = g.Tasks[0]!;
    expect(task.Name).toBe('sidekiq');
    expect([task.Config.command, ...(task.Config.args as string[])].join(' ')).toBe(
      `sidekiq ${w.queues.map((q) => `-q ${q}`).join(' ')} -c 1 -t 25`,
    );
    expect(task.Resources).toEqual({ CPU: w.cpu, MemoryMB: w.mem });
    expect(task.VolumeMounts).toEqual(w.volume ? RAILS_MOUNT : undefined);
  });

  it('sidekiq stops gracefully: told -t 25 and SIGTERM, Nomad waits 30s before it kills', () => {
    for (const w of WORKERS) {
      const task = group(w.group).Tasks[0]!;
      expect(task.Config.args).toEqual(expect.arrayContaining(['-t', '25']));
      expect(task.KillTimeout).toBe(30_000_000_000);
      expect(task.KillSignal).toBe('SIGTERM');
    }
  });

  it('web: Consul deregisters puma 10s before puma is stopped', () => {
    expect(group('web').ShutdownDelay).toBe(10_000_000_000);
  });

  it('pulls with credentials from the Nomad Variable nomad/jobs/rails: the jobspec holds no credential and no Terraform variable', () => {
    for (const g of job.TaskGroups) {
      const task = g.Tasks[0]!;
      // Nomad interpolates these from the task environment the template exports.
      expect(task.Config.auth).toEqual({ username: '${REGISTRY_PULL_USERNAME}', password: '${REGISTRY_PULL_PASSWORD}' });
      expect(task.Templates![0]).toEqual(expect.objectContaining({ DestPath: 'secrets/registry-pull.env', Envvars: true, ChangeMode: 'noop', Perms: '0600' }));
      expect(task.Templates![0]!.EmbeddedTmpl).toContain('{{ with nomadVar "nomad/jobs/rails" }}');
    }
    expect(stack.resource.nomad_job!.rails.jobspec).not.toContain('var.');
    expect(stack.resource.nomad_variable!.job_variables).toMatchObject({
      path: 'nomad/jobs/rails',
      items: { registry_pull_username: '${var.registry_pull_username}', registry_pull_password: '${var.registry_pull_password}' },
    });
    expect(stack.resource.nomad_job!.rails.depends_on).toEqual(['data.nomad_regions.nomad_reachable', 'nomad_variable.job_variables', 'terraform_data.release']);
    expect(stack.variable!.registry_pull_password).toMatchObject({ sensitive: true, default: '' });
  });

  const CONFIG_FILES = ['application.yml', 'database.yml', 'secrets.yml'];

  it.each(GROUPS)('%s renders the app config files from nomad/jobs/rails and mounts them read-only at /workspace/config', (name) => {
    const task = group(name).Tasks[0]!;
    const files = task.Templates!.filter((t) => t.DestPath.startsWith('secrets/runtime/file_'));
    expect(files.map((t) => [t.DestPath, t.EmbeddedTmpl, t.ChangeMode])).toEqual(
      CONFIG_FILES.map((f) => {
        const key = `file_${f.replace('.', '_')}`;
        return [`secrets/runtime/${key}`, `{{ with nomadVar "nomad/jobs/rails" }}{{ .${key} }}{{ end }}`, 'noop'];
      }),
    );
    expect(task.Config.mount).toEqual(
      CONFIG_FILES.map((f) => ({ type: 'bind', source: `secrets/runtime/file_${f.replace('.', '_')}`, target: `/workspace/config/${f}`, readonly: true })),
    );
    const env = task.Templates!.find((t) => t.DestPath === 'secrets/runtime/app.env')!;
    expect(env).toMatchObject({ Envvars: true, ChangeMode: 'noop', Perms: '0400' });
    expect(env.EmbeddedTmpl).toBe('{{ with nomadVar "nomad/jobs/rails" }}\nSECRET_KEY_BASE={{ .env_SECRET_KEY_BASE | toJSON }}\n{{ end }}');
  });

  it.each(GROUPS)('%s carries the runtime config revision in its meta: a changed value is a new job version, rolled out', (name) => {
    // Nomad's scheduler (scheduler/util.go tasksUpdated, 1.6.3) takes a change of "task meta" for
    // a destructive update: new allocations, placed by the group's update strategy.
    expect(group(name).Tasks[0]!.Meta).toEqual({ runtime_config_revision: '${terraform_data.runtime_config_revision.id}' });
  });

  it('the revision is drawn anew when a runtime config item changes, and from nothing else: not the pull credentials', () => {
    const revision = stack.resource.terraform_data!.runtime_config_revision;
    expect(revision.triggers_replace).toEqual({
      env_SECRET_KEY_BASE: '${chomp(sensitive(file(var.config_env_SECRET_KEY_BASE)))}',
      ...Object.fromEntries(CONFIG_FILES.map((f) => [`file_${f.replace('.', '_')}`, `\${sensitive(file(var.config_file_${f.replace('.', '_')}))}`])),
    });
    // A random id, never a hash of what changed: a hash of a secret in the job would let anyone who reads it test a guess.
    expect(Object.keys(revision)).toEqual(['triggers_replace']);
  });

  it('Terraform reads each config source when it plans, checked first, marked sensitive; synth writes only paths', () => {
    const items = stack.resource.nomad_variable!.job_variables.items;
    for (const f of CONFIG_FILES) {
      const key = `file_${f.replace('.', '_')}`;
      expect(items[key]).toBe(`\${sensitive(file(var.config_${key}))}`);
      expect(stack.variable![`config_${key}`].default).toBe(`${FIXTURE_CONFIG}/config/${f}`);
    }
    expect(items.env_SECRET_KEY_BASE).toBe('${chomp(sensitive(file(var.config_env_SECRET_KEY_BASE)))}');
    expect(stack.variable!.config_env_SECRET_KEY_BASE.validation.map((v: { error_message: string }) => v.error_message)).toEqual([
      `There is no value for SECRET_KEY_BASE at ${FIXTURE_CONFIG}/env/SECRET_KEY_BASE. Put it in ${FIXTURE_CONFIG} (DASHBOARD_CONFIG_DIR; README, "Runtime configuration").`,
      `The value for SECRET_KEY_BASE at ${FIXTURE_CONFIG}/env/SECRET_KEY_BASE is empty (nothing but white space): the app would start without it. Put it in ${FIXTURE_CONFIG} (DASHBOARD_CONFIG_DIR; README, "Runtime configuration").`,
    ]);
  });

  it.each(CONFIG_FILES)('a deploy refuses an empty %s, naming it, before YAML would fail on it', (f) => {
    const rules = stack.variable![`config_file_${f.replace('.', '_')}`].validation.map((v: { error_message: string }) => v.error_message);
    expect(rules).toEqual([
      `There is no ${f} at ${FIXTURE_CONFIG}/config/${f} (the app reads it at /workspace/config/${f}). Put it in ${FIXTURE_CONFIG} (DASHBOARD_CONFIG_DIR; README, "Runtime configuration").`,
      `The file ${f} at ${FIXTURE_CONFIG}/config/${f} is empty (nothing but white space and comments): the app would read nothing at /workspace/config/${f}. Put it in ${FIXTURE_CONFIG} (DASHBOARD_CONFIG_DIR; README, "Runtime configuration").`,
      `The file ${f} at ${FIXTURE_CONFIG}/config/${f} is empty (nothing but white space and comments): the app would read nothing at /workspace/config/${f}. Put it in ${FIXTURE_CONFIG} (DASHBOARD_CONFIG_DIR; README, "Runtime configuration").`,
    ]);
  });
});

describe('the release step', () => {
  const release = stack.resource.terraform_data!.release;
  const exec = release.provisioner[0]['local-exec'];
  const settings = JSON.parse(exec.environment.DASHBOARD_RELEASE);

  it('runs rails db:migrate in the shape of sidekiq-default, for 30 minutes at most', () => {
    expect(settings).toEqual({ environment: 'production', group: 'sidekiq-default', command: ['rails', 'db:migrate'], timeoutSeconds: 1800, nomad: {} });
    expect(exec.command).toBe('node .ci/launch.cjs release');
  });

  it('runs again for a new image only, and before the job: the job depends on it, and it on the variable its job reads', () => {
    expect(release.triggers_replace).toEqual({ trigger: job.TaskGroups[0]!.Tasks[0]!.Config.image });
    expect(stack.resource.nomad_job!.rails.depends_on).toContain('terraform_data.release');
    expect(release.depends_on).toEqual(['data.nomad_regions.nomad_reachable', 'nomad_variable.job_variables']);
  });

  it('is replaced create-before-destroy, as the push it is keyed on is: a push that fails leaves both as they were (registry-outage.e2e)', () => {
    expect(release.lifecycle).toEqual({ create_before_destroy: true });
    expect(stack.resource.docker_registry_image!.image.lifecycle).toEqual({ create_before_destroy: true });
  });

  it('is given the group of the job about to be registered, image and interpolations as Nomad will get them, and no secret', () => {
    const given = JSON.parse(exec.environment.DASHBOARD_RELEASE_JOBSPEC.replace(/\$\$\{/g, '${'));
    expect(given.Job.TaskGroups).toEqual([job.TaskGroups.find((g) => g.Name === 'sidekiq-default')]);
    expect(JSON.stringify(release)).not.toMatch(/var\.registry_pull|file\(|not-a-secret/);
  });

  it('is left out where release.command is false (the local environment)', () => {
    const local = synthEnvironment(fixtureEnvironment('local'));
    expect(local.resource.terraform_data?.release).toBeUndefined();
    expect(local.resource.nomad_job!.rails.depends_on).not.toContain('terraform_data.release');
  });
});
