import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { hashBuildContext } from '../../config/build-context';
import { loadEnvironment } from '../../config/load';
import { DASHBOARD_DOCKERFILE } from '../../config/operator-inputs';
import { FIXTURE_APP, fixtureEdge, jobOf, synthEnvironment } from '../support/synth';

/**
 * config/dashboard.Dockerfile, the production image. Ruby images and gems cannot be fetched here,
 * so it is not built in the tests; what can be checked without building it is.
 */
const dockerfile = readFileSync(DASHBOARD_DOCKERFILE, 'utf8');
const instructions = (name: string) => [...dockerfile.matchAll(new RegExp(`^${name}\\s+(.*)$`, 'gm'))].map((m) => m[1]!.trim());

/** The Dashboard's own .dockerignore (its current main), as far as the secrets go. */
const DASHBOARD_DOCKERIGNORE = '/config/application.yml\n/config/database.yml\n/config/secrets.yml\n/dockerAuth.json\n/node_modules\n/tmp\n/log\n.ruby-version\n';

let scratch: string | undefined;
afterEach(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
  scratch = undefined;
});

/** A checkout like the Dashboard's: the fixture app, its .dockerignore, and the secret files a build machine has. */
function checkout(): string {
  scratch = mkdtempSync(join(tmpdir(), 'dashboard-checkout-'));
  cpSync(FIXTURE_APP, scratch, { recursive: true });
  writeFileSync(join(scratch, '.dockerignore'), DASHBOARD_DOCKERIGNORE);
  mkdirSync(join(scratch, 'config'));
  for (const f of ['application.yml', 'database.yml', 'secrets.yml']) writeFileSync(join(scratch, 'config', f), `canary-${f}-secret\n`);
  writeFileSync(join(scratch, 'config/application.example.yml'), 'example: true\n');
  writeFileSync(join(scratch, 'dockerAuth.json'), '{"auths":{"canary":"secret"}}\n');
  return scratch;
}

describe('the production Dockerfile', () => {
  it('is the default for production and staging; local builds the checkout\'s own', () => {
    for (const env of ['production', 'staging']) {
      expect(loadEnvironment(env, fixtureEdge()).image).toMatchObject({ source: 'build', dockerfile: DASHBOARD_DOCKERFILE });
    }
    expect(loadEnvironment('local', fixtureEdge()).image).toMatchObject({ dockerfile: 'Dockerfile' });
    expect(loadEnvironment('production', fixtureEdge({ DASHBOARD_DOCKERFILE: 'Dockerfile' })).image).toMatchObject({ dockerfile: 'Dockerfile' });
  });

  it('follows the Rails 8 conventions: slim Ruby at a declared version, no dev/test gems, dummy key for assets, non-root user', () => {
    expect(instructions('ARG')).toContain('RUBY_VERSION=3.4.8');
    expect(instructions('FROM')[0]).toBe('docker.io/library/ruby:${RUBY_VERSION}-slim AS base');
    expect(dockerfile).toMatch(/BUNDLE_WITHOUT="development:test"/);
    expect(dockerfile).toMatch(/SECRET_KEY_BASE_DUMMY=1 \.\/bin\/rails assets:precompile/);
    expect(instructions('USER')).toEqual(['1000:1000']);
  });

  it('builds in no secret: no config file but the committed examples, no SECRET_KEY_BASE, no credentials', () => {
    expect(dockerfile).not.toMatch(/^(ENV|ARG)\s+.*(SECRET|PASSWORD|TOKEN)/m);
    const copied = instructions('COPY').join(' ');
    expect(copied).not.toMatch(/application\.yml|database\.yml|secrets\.yml|dockerAuth/);
    expect(dockerfile).toMatch(/rm -f config\/application\.yml config\/database\.yml/);
  });

  it('puts the app where the job mounts its volume and its runtime config, and runs the job\'s commands through bundler', () => {
    const env = loadEnvironment('production', fixtureEdge());
    const workdir = instructions('WORKDIR')[0];
    expect(workdir).toBe('/workspace');
    expect(env.runtimeConfig?.appRoot).toBe(workdir);
    expect(instructions('ENTRYPOINT')).toEqual(['["bundle", "exec"]']);
    // A Dockerfile image runs "direct": the job sets no entrypoint, so the image's bundle exec applies.
    const job = jobOf(synthEnvironment(env));
    for (const group of job.TaskGroups) {
      const task = group.Tasks[0]!;
      expect(task.Config.entrypoint).toBeUndefined();
      expect(['puma', 'sidekiq']).toContain(task.Config.command);
      for (const m of task.VolumeMounts ?? []) expect(m.Destination.startsWith(`${workdir}/`)).toBe(true);
    }
  });

  it('the context the daemon is sent holds the Dockerfile and none of the secret files', () => {
    const dir = checkout();
    const before = hashBuildContext(dir, DASHBOARD_DOCKERFILE);
    // The secret files, whatever they hold, are not part of what is sent.
    for (const f of ['config/application.yml', 'config/database.yml', 'config/secrets.yml', 'dockerAuth.json']) {
      writeFileSync(join(dir, f), 'changed-canary\n');
    }
    expect(hashBuildContext(dir, DASHBOARD_DOCKERFILE).sha256).toBe(before.sha256);
    // The committed example is, and so is the Dockerfile kept outside the context.
    writeFileSync(join(dir, 'config/application.example.yml'), 'example: false\n');
    const example = hashBuildContext(dir, DASHBOARD_DOCKERFILE);
    expect(example.sha256).not.toBe(before.sha256);
    const otherDockerfile = join(dir, '..', `${dir.split('/').pop()}.Dockerfile`);
    writeFileSync(otherDockerfile, `${dockerfile}\n# changed\n`);
    try {
      expect(hashBuildContext(dir, otherDockerfile).sha256).not.toBe(example.sha256);
    } finally {
      rmSync(otherDockerfile, { force: true });
    }
  });

  it('refuses at synth a Ruby the checkout does not ask for, naming both', () => {
    const dir = checkout();
    writeFileSync(join(dir, 'Gemfile'), "source 'https://rubygems.org'\nruby '3.4.7'\ngem 'rails'\n");
    writeFileSync(join(dir, '.ruby-version'), 'ruby-3.3.0\n');
    expect(() => loadEnvironment('production', fixtureEdge({ DASHBOARD_SOURCE: dir }))).toThrow(
      "invalid configuration for environment 'production':\n" +
        "  - image.dockerfile: the Dockerfile builds Ruby 3.4.8 (ARG RUBY_VERSION), the checkout's .ruby-version asks for 3.3.0\n" +
        "  - image.dockerfile: the Dockerfile builds Ruby 3.4.8 (ARG RUBY_VERSION), the checkout's Gemfile asks for 3.4.7",
    );
    writeFileSync(join(dir, 'Gemfile'), "source 'https://rubygems.org'\nruby '3.4.8'\ngem 'rails'\n");
    writeFileSync(join(dir, '.ruby-version'), '3.4.8\n');
    expect(() => loadEnvironment('production', fixtureEdge({ DASHBOARD_SOURCE: dir }))).not.toThrow();
  });
});
