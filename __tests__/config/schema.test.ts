import { describe, expect, it } from 'vitest';
import { ConfigError, loadEnvironment, parseEnvironment } from '../../config/load';
import { production } from '../../config/production';
import type { EnvironmentInput } from '../../config/schema';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FIXTURE_APP, FIXTURE_CONFIG, REPO_ROOT, fixtureEdge } from '../support/synth';

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
  it('accepts production and fills the defaults', () => {
    const env = parseEnvironment(valid());
    expect(env.workers.map((w) => [w.name, w.concurrency, w.count])).toContainEqual(['sidekiq-default', 1, 1]);
    expect(env.consul.serviceSuffix).toBe('');
  });

  it.each<[string, (e: any) => void, string]>([
    ['an empty queue list', (e) => (e.workers[2].queues = []), 'workers[2].queues: a sidekiq worker needs at least one queue'],
    ['a queue listed twice', (e) => (e.workers[0].queues = ['a', 'a']), 'workers[0].queues: a queue is listed twice'],
    ['non-positive cpu', (e) => (e.web.resources.cpu = 0), 'web.resources.cpu: must be at least 1'],
    ['too little memory', (e) => (e.workers[1].resources.memoryMB = 5), 'workers[1].resources.memoryMB: must be at least 10'],
    ['fractional memory', (e) => (e.workers[1].resources.memoryMB = 100.5), 'workers[1].resources.memoryMB: must be a whole number'],
    ['two groups with one name', (e) => (e.workers[1].name = 'sidekiq-constant'), "workers[1].name: group name 'sidekiq-constant' is used twice"],
    ['a worker named like the web group', (e) => (e.workers[0].name = 'web'), "workers[0].name: group name 'web' is used twice"],
    ['a mount of an undeclared volume', (e) => (e.workers[0].mounts = [{ volume: 'uploads', path: '/x' }]), "workers[0].mounts[0].volume: volume 'uploads' is not declared under volumes (declared: rails)"],
    ['a relative mount path', (e) => (e.web.mounts[0].path = 'public/system'), 'web.mounts[0].path: must be an absolute path'],
    ['an unknown key (a typo that would deploy silently)', (e) => (e.web.memroy = 1), "web: Unrecognized key(s) in object: 'memroy'"],
    ['a duration without unit', (e) => (e.web.update.minHealthyTime = '30'), 'web.update.minHealthyTime: must be a duration such as "30s"'],
    ['no datacenter', (e) => (e.nomad.datacenters = []), 'nomad.datacenters: name at least one datacenter'],
    ['a service name Consul refuses', (e) => (e.web.service = 'Puma_Web'), 'web.service: must be a DNS label'],
    ['a secret in env', (e) => (e.env.DATABASE_PASSWORD = 'x'), "env.DATABASE_PASSWORD: 'DATABASE_PASSWORD' looks like a secret"],
    ['an upstream port out of range', (e) => (e.consul.upstreams[0].localPort = 70000), 'consul.upstreams[0].localPort: must be at most 65535'],
    ['a prebuilt image by tag', (e) => (e.image = { source: 'prebuilt', reference: 'docker.wikiedu.org/wikiedu-web:latest' }), 'image.reference: must be pinned by digest'],
    ['a registry with a scheme', (e) => (e.registry.address = 'https://docker.wikiedu.org'), 'registry.address: must be a registry host'],
  ])('rejects %s, naming the path and the rule', (_, change, message) => {
    const text = errorFor(change);
    expect(text).toContain("invalid configuration for environment 'production'");
    expect(text).toContain(message);
  });

  it('lists every broken rule at once', () => {
    const text = errorFor((e) => {
      e.web.resources.cpu = 0;
      e.workers[0].queues = [];
    });
    expect(text.split('\n').filter((l) => l.startsWith('  - '))).toHaveLength(2);
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

  it('DASHBOARD_IMAGE switches to a prebuilt buildpacks image, with no build', () => {
    const ref = `docker.wikiedu.org/wikiedu-web@sha256:${'f'.repeat(64)}`;
    const env = loadEnvironment('production', fixtureEdge({ DASHBOARD_IMAGE: ref }));
    expect(env.image).toEqual({ source: 'prebuilt', reference: ref, runtime: 'buildpacks' });
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

  it('a malformed YAML file fails synth naming the variable, the file and the line, and none of its text', () => {
    const dir = copyOfFixture();
    try {
      writeFileSync(join(dir, 'config/database.yml'), 'production:\n  adapter: mysql2\n  password: "canary-secret-7731\n  host: x\n');
      let message = '';
      try {
        loadEnvironment('production', fixtureEdge({ DASHBOARD_CONFIG_DIR: dir }));
      } catch (e) {
        message = (e as Error).message;
      }
      expect(message).toMatch(new RegExp(`^invalid DASHBOARD_CONFIG_DIR='${dir}' \\(read by every stack: production, staging, local\\):\\n  - runtimeConfig.source: config/database.yml line \\d+: not valid YAML \\([A-Z_]+\\)$`));
      expect(message).not.toContain('canary-secret-7731');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

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

  it('the default directory is runtime-config/ in this checkout, which git ignores', () => {
    const env = loadEnvironment('production', { env: { DASHBOARD_SOURCE: FIXTURE_APP }, cwd: REPO_ROOT }, { log: () => {} });
    expect(env.runtimeConfig?.source).toBe(join(REPO_ROOT, 'runtime-config'));
    expect(spawnSync('git', ['check-ignore', '-q', 'runtime-config/config/application.yml'], { cwd: REPO_ROOT }).status).toBe(0);
  });
});
