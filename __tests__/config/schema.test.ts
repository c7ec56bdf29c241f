import { describe, expect, it } from 'vitest';
import { ConfigError, loadEnvironment, parseEnvironment } from '../../config/load';
import { durationWord } from '../../config/operator-durations';
import { OperatorInputError } from '../../config/operator-inputs';
import { production } from '../../config/production';
import type { EnvironmentInput } from '../../config/schema';
import { Duration } from '../../constructs/nomad/duration';
import { Volume } from '../../constructs/nomad/volume';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FIXTURE_APP, FIXTURE_CONFIG, REPO_ROOT, fixtureEdge, jobOf, synthEnvironment } from '../support/synth';

const valid = (): EnvironmentInput => production(fixtureEdge());

/** The message a person would read, for a config changed by `change`. */
function errorFor(change: (e: any) => void): string {
  const input = structuredClone(valid()) as any;
  change(input);
  try {
    parseEnvironment(input);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error('the config was accepted');
}

describe('environment schema', () => {
  it('accepts production and fills the defaults that are config\'s own', () => {
    const env = parseEnvironment(valid());
    expect(env.consul.serviceSuffix).toBe('');
    expect(env.workers.find((w) => w.name === 'sidekiq-long')!.mounts).toEqual([]);
  });

  it('leaves a worker\'s concurrency and count to SidekiqGroup, whose defaults the job shows', () => {
    const env = parseEnvironment(valid());
    expect(env.workers.map((w) => [w.concurrency, w.count])).toContainEqual([undefined, undefined]);
    const job = jobOf(synthEnvironment(loadEnvironment('production', fixtureEdge())));
    const worker = job.TaskGroups.find((g) => g.Name === 'sidekiq-default')!;
    expect([worker.Count, worker.Tasks[0]!.Config.args]).toEqual([1, ['-q', 'default', '-c', '1', '-t', '25']]);
  });

  it.each<[string, (e: any) => void, string]>([
    ['an empty queue list', (e) => (e.workers[2].queues = []), 'workers[sidekiq-default].queues: sidekiq needs at least one queue, got an empty list'],
    ['a queue listed twice', (e) => (e.workers[0].queues = ['a', 'a']), "workers[sidekiq-constant].queues: queue 'a' is listed twice"],
    ['non-positive cpu', (e) => (e.web.resources.cpu = 0), 'web.resources.cpu: must be a whole number of MHz of at least 1, got 0'],
    ['too little memory', (e) => (e.workers[1].resources.memoryMB = 5), "workers[sidekiq-daily].resources.memoryMB: must be a whole number of at least 10 (Nomad's minimum), got 5"],
    ['fractional memory', (e) => (e.workers[1].resources.memoryMB = 100.5), 'workers[sidekiq-daily].resources.memoryMB: must be a whole number'],
    ['two groups with one name', (e) => (e.workers[1].name = 'sidekiq-constant'), "workers[1].name: group name 'sidekiq-constant' is used twice"],
    ['a worker named like the web group', (e) => (e.workers[0].name = 'web'), "workers[web].name: group name 'web' is used twice"],
    ['a mount of an undeclared volume', (e) => (e.workers[0].mounts = [{ volume: 'uploads', path: '/x' }]), "workers[sidekiq-constant].mounts[0].volume: volume 'uploads' is not declared under volumes (declared: rails)"],
    ['a relative mount path', (e) => (e.web.mounts[0].path = 'public/system'), 'web.mounts[0].path: must be an absolute path'],
    ['an unknown key (a typo that would deploy silently)', (e) => (e.web.memroy = 1), "web: Unrecognized key(s) in object: 'memroy'"],
    ['a duration without unit', (e) => (e.web.update.minHealthyTime = '30'), 'web.update.minHealthyTime: must be a duration such as "30s"'],
    ['no datacenter', (e) => (e.nomad.datacenters = []), 'nomad.datacenters: must name at least one datacenter'],
    ['a service name Consul refuses', (e) => (e.web.service = 'Puma_Web'), 'web.service: must be a DNS label'],
    ['a secret in env', (e) => (e.env.DATABASE_PASSWORD = 'x'), "env.DATABASE_PASSWORD: 'DATABASE_PASSWORD' looks like a secret"],
    ['an upstream port out of range', (e) => (e.consul.upstreams[0].localPort = 70000), 'consul.upstreams[0].localPort: must be a whole number of at least 1 and at most 65535, got 70000'],
    ['a prebuilt image by tag', (e) => (e.image = { source: 'prebuilt', reference: 'docker.wikiedu.org/wikiedu-web:latest' }), 'image.reference: must be pinned by digest'],
    ['a worker whose service name, once suffixed, is too long for Consul', (e) => { e.consul.serviceSuffix = '-staging'; e.workers[0].name = 's'.repeat(60); }, `workers[${'s'.repeat(60)}].name: must be a DNS label: lower-case letters, digits and '-', at most 63 characters, got '${'s'.repeat(60)}-staging'`],
    ['a minimum healthy time past Nomad\'s healthy deadline', (e) => (e.web.update.minHealthyTime = '5m'), 'web.update: update min_healthy_time 5m must be shorter than healthy_deadline 5m'],
    ['a kill timeout no longer than sidekiq\'s shutdown timeout', (e) => (e.workers[0].killTimeout = '25s'), "workers[sidekiq-constant].killTimeout: kill timeout 25s must be longer than sidekiq's shutdown timeout 25s"],
    ['a shutdown timeout that outlasts the default kill timeout', (e) => { e.workers[0].shutdownTimeout = '40s'; e.workers[0].killTimeout = '30s'; }, "workers[sidekiq-constant].killTimeout: kill timeout 30s must be longer than sidekiq's shutdown timeout 40s"],
    ['a shutdown timeout sidekiq cannot take', (e) => (e.workers[0].shutdownTimeout = '1500ms'), "workers[sidekiq-constant].shutdownTimeout: must be a whole number of seconds, at least 1s (sidekiq -t takes seconds), got '1500ms'"],
    ['a shutdown delay without unit', (e) => (e.web.shutdownDelay = '10'), 'web.shutdownDelay: must be a duration such as "30s"'],
    ['canaries on a worker with a progress deadline inside SidekiqGroup\'s healthy deadline', (e) => (e.workers[0].update = { progressDeadline: '2m' }), 'workers[sidekiq-constant].update: update progress_deadline 2m must be longer than healthy_deadline 3m'],
    ['a negative canary count', (e) => (e.web.update.canary = -1), 'web.update: update canary must be a whole number of at least 0, got -1'],
    ['a health check path without /', (e) => (e.web.healthCheck = { path: 'up' }), "web.healthCheck: check path must start with '/', got 'up'"],
    ['a health check timeout past its interval', (e) => (e.web.healthCheck = { interval: '5s', timeout: '6s' }), 'web.healthCheck: check timeout 6s must not be longer than its interval 5s'],
    ['a registry with a scheme', (e) => (e.registry.address = 'https://docker.wikiedu.org'), 'registry.address: must be a registry host'],
  ])('rejects %s, naming the path and the rule', (_, change, message) => {
    const text = errorFor(change);
    expect(text).toContain("invalid configuration for environment 'production'");
    expect(text).toContain(message);
  });

  it("refuses a release group the job does not have, naming the groups", () => {
    expect(errorFor((e) => (e.release.group = 'sidekiq-nope'))).toContain(
      "release.group: group 'sidekiq-nope' is not a group of the job (groups: web, sidekiq-constant, sidekiq-daily, sidekiq-default, sidekiq-long, sidekiq-medium, sidekiq-short)",
    );
  });

  it('refuses a release with an empty command line or a timeout without unit', () => {
    expect(errorFor((e) => (e.release.command = []))).toContain('release.command');
    expect(errorFor((e) => (e.release.timeout = '30'))).toContain('release.timeout');
  });

  it('lists every broken rule at once', () => {
    const text = errorFor((e) => {
      e.web.resources.cpu = 0;
      e.workers[0].queues = [];
    });
    expect(text.split('\n').filter((l) => l.startsWith('  - '))).toHaveLength(2);
  });
});

describe('the parsed environment holds what the constructs take', () => {
  const parsed = (change: (e: any) => void = () => {}) => {
    const input = structuredClone(valid()) as any;
    change(input);
    return parseEnvironment(input);
  };

  it('durations as Durations, with their nanoseconds', () => {
    const env = parsed((e) => Object.assign(e.workers[0], { shutdownTimeout: '40s', killTimeout: '1m30s' }));
    expect(env.job.deployTimeout).toBeInstanceOf(Duration);
    expect(env.job.deployTimeout!.toNanoseconds()).toBe(1800e9);
    expect(env.release!.timeout.toNanoseconds()).toBe(1800e9);
    expect(parsed((e) => (e.web.shutdownDelay = '250ms')).web.shutdownDelay!.toNanoseconds()).toBe(250e6);
    expect([env.workers[0]!.shutdownTimeout!.toNanoseconds(), env.workers[0]!.killTimeout!.toNanoseconds()]).toEqual([40e9, 90e9]);
  });

  it("a rolling update in the construct's shape: durations parsed, canaries promoted by Nomad, fields left out absent", () => {
    const update = { maxParallel: 1, minHealthyTime: '30s', healthyDeadline: '5m', progressDeadline: '10m', canary: 0, autoRevert: true };
    expect(parsed((e) => (e.web.update = update)).web.update).toStrictEqual({
      maxParallel: 1, minHealthyTime: Duration.seconds(30), healthyDeadline: Duration.minutes(5), progressDeadline: Duration.minutes(10),
      canary: 0, autoPromote: false, autoRevert: true,
    });
    expect(parsed().web.update).toStrictEqual({ canary: 0, autoPromote: false });
    expect(parsed((e) => (e.workers[0].update = { canary: 2 })).workers[0]!.update).toStrictEqual({ canary: 2, autoPromote: true });
    expect(parsed((e) => (e.workers[0].update = { progressDeadline: '6m' })).workers[0]!.update).toStrictEqual({ progressDeadline: Duration.minutes(6) });
  });

  it("a health check in PumaGroup's shape, fields left out absent", () => {
    expect(parsed((e) => (e.web.healthCheck = { path: '/', interval: '10s', timeout: '5s' })).web.healthCheck).toStrictEqual({ path: '/', interval: Duration.seconds(10), timeout: Duration.seconds(5) });
    expect(parsed().web.healthCheck).toStrictEqual({ path: '/' });
    expect(parsed((e) => (e.web.healthCheck = { path: '/up' })).web.healthCheck).toStrictEqual({ path: '/up' });
  });

  it('mounts with the Volume they mount: the one declared under its name, whichever group mounts it', () => {
    const env = parsed((e) => {
      e.volumes.uploads = { source: 'uploads-host', readOnly: true };
      e.workers[0].mounts = [{ volume: 'uploads', path: '/srv/uploads' }];
    });
    const [web] = env.web.mounts;
    expect(web!.volume).toBeInstanceOf(Volume);
    expect([web!.volume.render(), web!.path]).toEqual([{ Name: 'rails', Type: 'host', Source: 'rails', ReadOnly: false }, '/workspace/public/system']);
    expect(env.workers.find((w) => w.name === 'sidekiq-default')!.mounts[0]!.volume).toBe(web!.volume);
    expect(env.workers[0]!.mounts.map((m) => [m.volume.render(), m.path])).toEqual([[{ Name: 'uploads', Type: 'host', Source: 'uploads-host', ReadOnly: true }, '/srv/uploads']]);
  });

  it("placement as the groups' constraints", () => {
    const env = parsed();
    expect(env.web.placement).toEqual([]);
    expect(env.workers.find((w) => w.name === 'sidekiq-long')!.placement.map((c) => c.render())).toEqual([{ LTarget: '${node.unique.name}', RTarget: 'node-railsweb', Operand: '!=' }]);
  });

  it('refuses a mount of an undeclared volume as the one error, naming its path', () => {
    const text = errorFor((e) => (e.web.mounts = [{ volume: 'uploads', path: '/x' }]));
    expect(text.split('\n').slice(1)).toEqual(["  - web.mounts[0].volume: volume 'uploads' is not declared under volumes (declared: rails)"]);
  });

  it.each<[string, (e: any) => void, string]>([
    ['an update', (e) => (e.web.update.minHealthyTime = '30'), 'web.update.minHealthyTime'],
    ['a health check', (e) => (e.web.healthCheck.timeout = '5'), 'web.healthCheck.timeout'],
    ["a worker's stop timings", (e) => (e.workers[0].killTimeout = '30'), 'workers[sidekiq-constant].killTimeout'],
    ["a worker's stop timings, with a shutdown timeout sidekiq cannot take", (e) => (e.workers[0].shutdownTimeout = '1500ms'), 'workers[sidekiq-constant].shutdownTimeout'],
  ])('a duration refused in %s is said once, at its field', (_, change, path) => {
    const lines = errorFor(change).split('\n').slice(1);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^  - ${path.replace(/[[\]]/g, '\\$&')}: `));
  });
});

describe('loadEnvironment', () => {
  it('names the known environments for an unknown one', () => {
    expect(() => loadEnvironment('prod', fixtureEdge())).toThrow("no such environment; known: production, staging, local");
  });

  it('hashes the build context into the environment', () => {
    const env = loadEnvironment('production', fixtureEdge());
    expect(env.image.source === 'build' && env.image.contextHash).toMatch(/^[a-f0-9]{64}$/);
  });

  it('leaves the hash out when the checkout is not on this machine', () => {
    const env = loadEnvironment('production', fixtureEdge({ DASHBOARD_SOURCE: '/nonexistent/WikiEduDashboard' }));
    expect(env.image).toMatchObject({ source: 'build', context: '/nonexistent/WikiEduDashboard' });
    expect(env.image.source === 'build' && env.image.contextHash).toBeUndefined();
  });

  it('refuses a context without the named Dockerfile, naming the variable that named it', () => {
    expect(() => loadEnvironment('production', fixtureEdge({ DASHBOARD_DOCKERFILE: 'Dockerfile.prod' }))).toThrow(
      /^invalid DASHBOARD_DOCKERFILE='Dockerfile.prod' \(read by every stack: production, staging, local\):\n  - image.dockerfile: 'Dockerfile.prod' does not exist in the build context/,
    );
  });

  it('names the operator variable and its value, whichever stack reads it first', () => {
    for (const stack of ['production', 'local']) {
      expect(() => loadEnvironment(stack, fixtureEdge({ DASHBOARD_IMAGE: 'wikiedu-web:latest' }))).toThrow(
        "invalid DASHBOARD_IMAGE='wikiedu-web:latest' (read by every stack: production, staging, local):\n  - image.reference: must be pinned by digest",
      );
    }
  });

  it('an error in the committed config still names the environment', () => {
    expect(() => parseEnvironment({ ...production(fixtureEdge()), web: undefined }, 'production')).toThrow(/^invalid configuration for environment 'production':/);
  });

  it('DASHBOARD_IMAGE switches to a prebuilt image, run directly (a Dockerfile image) unless told otherwise, with no build', () => {
    const ref = `docker.wikiedu.org/wikiedu-web@sha256:${'f'.repeat(64)}`;
    const env = loadEnvironment('production', fixtureEdge({ DASHBOARD_IMAGE: ref }));
    expect(env.image).toEqual({ source: 'prebuilt', reference: ref, runtime: 'direct' });
  });

  it.each([
    ['true', true],
    ['1', true],
    ['TRUE', true],
    ['false', undefined],
    ['0', undefined],
    ['', undefined],
  ])('reads NOMAD_SKIP_VERIFY=%j as skipVerify %j', (value, skipVerify) => {
    expect(loadEnvironment('production', fixtureEdge({ NOMAD_SKIP_VERIFY: value })).nomad.skipVerify).toBe(skipVerify);
  });

  it("a duration typed on a command line obeys config's rule: Nomad's notation, the flag named when not", () => {
    expect(durationWord('--timeout', '1h30m').toNanoseconds()).toBe(5400e9);
    expect(() => durationWord('--lock-timeout', '10')).toThrow(/^--lock-timeout: '10' /);
    expect(() => durationWord('--timeout', '5 minutes')).toThrow(OperatorInputError);
  });

  it.each(['maybe', 'yes', 'ture', '2'])('refuses NOMAD_SKIP_VERIFY=%j, naming the variable and the value', (value) => {
    expect(() => loadEnvironment('production', fixtureEdge({ NOMAD_SKIP_VERIFY: value }))).toThrow(ConfigError);
    expect(() => loadEnvironment('production', fixtureEdge({ NOMAD_SKIP_VERIFY: value }))).toThrow(
      `invalid configuration for environment 'production':\n  - NOMAD_SKIP_VERIFY: '${value}' is not a boolean: write true, false, 1 or 0`,
    );
  });

  it('takes the CA file operators export as NOMAD_CA_PATH, and NOMAD_SKIP_VERIFY', () => {
    const env = loadEnvironment('production', fixtureEdge({ NOMAD_CA_PATH: '/etc/nomad/ca.pem', NOMAD_SKIP_VERIFY: 'true' }));
    expect(env.nomad).toMatchObject({ caFile: '/etc/nomad/ca.pem', skipVerify: true });
  });
});

describe('runtime configuration at synth', () => {
  const copyOfFixture = () => {
    const dir = mkdtempSync(join(tmpdir(), 'runtime-config-'));
    cpSync(FIXTURE_CONFIG, dir, { recursive: true });
    return dir;
  };

  it('missing items only warn, naming each: synth also runs where nothing is deployed', () => {
    const dir = copyOfFixture();
    try {
      rmSync(join(dir, 'config/secrets.yml'));
      rmSync(join(dir, 'env/SECRET_KEY_BASE'));
      const logged: string[] = [];
      const env = loadEnvironment('production', fixtureEdge({ DASHBOARD_CONFIG_DIR: dir }), { log: (m) => logged.push(m) });
      expect(env.runtimeConfig?.source).toBe(dir);
      expect(logged).toEqual([`production: a deploy needs config/secrets.yml, env/SECRET_KEY_BASE in ${dir} (DASHBOARD_CONFIG_DIR): synth goes on without them`]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('empty items (nothing but white space) warn, naming each, and never print what a file holds', () => {
    const dir = copyOfFixture();
    try {
      writeFileSync(join(dir, 'config/database.yml'), '');
      writeFileSync(join(dir, 'env/SECRET_KEY_BASE'), ' \n\t\n');
      writeFileSync(join(dir, 'config/secrets.yml'), 'production:\n  secret_key_base: canary-4410\n');
      const logged: string[] = [];
      loadEnvironment('production', fixtureEdge({ DASHBOARD_CONFIG_DIR: dir }), { log: (m) => logged.push(m) });
      expect(logged).toEqual([`production: config/database.yml, env/SECRET_KEY_BASE in ${dir} (DASHBOARD_CONFIG_DIR) are empty, and a deploy refuses an empty value: synth goes on`]);
      expect(logged.join('\n')).not.toContain('canary-4410');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a signal for a change when env vars are declared (Nomad: "cannot use signals with env var templates"), at onChange', () => {
    const input = production(fixtureEdge()) as EnvironmentInput;
    input.runtimeConfig = { ...input.runtimeConfig!, onChange: { signal: 'SIGHUP' } };
    expect(() => parseEnvironment(input, 'production')).toThrow(
      "runtimeConfig.onChange: onChange signal SIGHUP cannot reach env vars (SECRET_KEY_BASE): a task reads them when it starts, and Nomad refuses a signal on their template; use 'rollout' or 'restart'",
    );
    expect(() => parseEnvironment({ ...input, runtimeConfig: { ...input.runtimeConfig!, env: [] } }, 'production')).not.toThrow();
  });

  it('the default directory is runtime-config/ in this checkout, which git ignores', () => {
    const env = loadEnvironment('production', { env: { DASHBOARD_SOURCE: FIXTURE_APP }, cwd: REPO_ROOT }, { log: () => {} });
    expect(env.runtimeConfig?.source).toBe(join(REPO_ROOT, 'runtime-config'));
    expect(spawnSync('git', ['check-ignore', '-q', 'runtime-config/config/application.yml'], { cwd: REPO_ROOT }).status).toBe(0);
  });
});

describe('web fields an environment leaves out', () => {
  const withoutDefaults = (): EnvironmentInput => {
    const input = valid();
    const { group: _g, task: _t, service: _s, port: _p, workers: _w, threads: _th, preload: _pr, ...web } = input.web;
    return { ...input, web };
  };

  it('stay unset after parsing: the schema restates none of PumaGroup\'s defaults', () => {
    const { web } = parseEnvironment(withoutDefaults());
    for (const key of ['group', 'task', 'service', 'port', 'workers', 'threads', 'preload'] as const) expect(web[key], key).toBeUndefined();
  });

  it('are PumaGroup\'s defaults in the job', () => {
    const base = loadEnvironment('production', fixtureEdge());
    const job = jobOf(synthEnvironment({ ...parseEnvironment(withoutDefaults()), image: base.image }));
    const web = job.TaskGroups[0]!;
    expect([web.Name, web.Tasks[0]!.Name, web.Services![0]!.Name, web.Services![0]!.PortLabel]).toEqual(['web', 'rails_server', 'puma', '5000']);
    expect([web.Tasks[0]!.Config.command, ...(web.Tasks[0]!.Config.args as string[])].join(' ')).toBe('puma -b tcp://0.0.0.0 -p 5000 --preload -w 2 -t 1:1');
  });

  it('still keep a worker off the web group\'s default name', () => {
    const input = withoutDefaults() as any;
    input.workers[0].name = 'web';
    expect(() => parseEnvironment(input)).toThrow("workers[web].name: group name 'web' is used twice");
  });
});

describe("zod's own messages, in the words config errors had before zod 4", () => {
  it.each<[string, (e: any) => void, string]>([
    ['a missing key', (e) => delete e.web.count, 'web.count: Required'],
    ['a value of the wrong type', (e) => (e.web.count = 'two'), 'web.count: Expected number, received string'],
    ['a value no enum member', (e) => (e.image.runtime = 'docker'), "image.runtime: Invalid enum value. Expected 'buildpacks' | 'direct', received 'docker'"],
    ['an image source neither build nor prebuilt', (e) => (e.image = { source: 'pull' }), "image.source: Invalid discriminator value. Expected 'build' | 'prebuilt'"],
    ['an empty string', (e) => (e.nomad.region = ''), 'nomad.region: String must contain at least 1 character(s)'],
    ['an env name its rule refuses, said at the key', (e) => (e.env['bad-key'] = 'x'), "env.bad-key: must be letters, digits and '_', not starting with a digit, got 'bad-key'"],
    ['an unknown key inside one member of a union', (e) => Object.assign(e.runtimeConfig, { env: [], onChange: { signal: 'SIGHUP', x: 1 } }), "runtimeConfig.onChange: Unrecognized key(s) in object: 'x'"],
  ])('%s', (_, change, message) => {
    expect(errorFor(change).split('\n').slice(1)).toEqual([`  - ${message}`]);
  });
});

describe('a typo in a key', () => {
  it('names the item, the key it likely means, and not the "Required" that follows from it', () => {
    const text = errorFor((e) => {
      const long = e.workers.find((w: { name: string }) => w.name === 'sidekiq-long');
      long.resources = { cpu: 1500, memoryMb: 2048 };
    });
    expect(text).toBe(
      "invalid configuration for environment 'production':\n" +
        "  - workers[sidekiq-long].resources: Unrecognized key(s) in object: 'memoryMb' (did you mean 'memoryMB'?)",
    );
  });

  it('guesses within the object\'s own keys, per key, and leaves a far-off key unguessed', () => {
    const text = errorFor((e) => {
      e.web.update = { maxParallel: 1, MinHealthyTime: '30s' };
      e.web.memroy = 1;
      e.nomad.datacentres = ['dc1'];
      delete e.nomad.datacenters;
    });
    expect(text.split('\n').slice(1)).toEqual([
      "  - nomad: Unrecognized key(s) in object: 'datacentres' (did you mean 'datacenters'?)",
      "  - web.update: Unrecognized key(s) in object: 'MinHealthyTime' (did you mean 'minHealthyTime'?)",
      "  - web: Unrecognized key(s) in object: 'memroy'",
    ]);
  });

  it('keeps the index of an item whose name is not unique', () => {
    const text = errorFor((e) => {
      e.workers[1].name = 'sidekiq-constant';
      e.workers[1].queues = [];
    });
    expect(text).toContain('workers[1].queues: sidekiq needs at least one queue');
  });
});
