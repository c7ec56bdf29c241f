import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseToolsEnv, PROVIDER_VERSIONS, TOOLS_ENV_FILE } from '../../config/tools';
import { REPO_ROOT } from '../support/synth';

/**
 * `npm run tools -- --dry-run` (.ci/tools/install.sh): where the providers, Nomad and the Debian
 * packages come from, and the exact command for each. The registry cannot be reached here, so
 * its path is proven by the command printed; the source build runs in CI (.ci/run).
 */

const PLATFORM = `${process.platform}_${process.arch === 'x64' ? 'amd64' : process.arch}`;
const TOOLS = parseToolsEnv(readFileSync(TOOLS_ENV_FILE, 'utf8'));
const PATCH = `.ci/tools/patches/kreuzwerker-docker-${PROVIDER_VERSIONS.docker}-registry-read.patch`;

/** A copy of the scripts and config/tools.env in a folder of its own: no ../shared beside it. */
function scriptCopy(): string {
  const repo = join(mkdtempSync(join(tmpdir(), 'tools-decision-')), 'repo');
  cpSync(join(REPO_ROOT, '.ci'), join(repo, '.ci'), { recursive: true });
  mkdirSync(join(repo, 'config'));
  cpSync(join(REPO_ROOT, 'config/tools.env'), join(repo, 'config/tools.env'));
  return repo;
}

/** A bin folder with stand-ins printing `<tool> version`'s first line, e.g. { nomad: 'Nomad v1.8.4' }. */
function fakeTools(versions: Record<string, string>): string {
  const bin = mkdtempSync(join(tmpdir(), 'tools-decision-bin-'));
  for (const [name, line] of Object.entries(versions)) {
    writeFileSync(join(bin, name), `#!/bin/sh\necho '${line}'\n`);
    chmodSync(join(bin, name), 0o755);
  }
  return bin;
}

interface Plan {
  status: number | null;
  lines: string[];
  stderr: string;
  cache: string;
}

function plan(repo: string, { args = ['--dry-run'], env = {}, bin }: { args?: string[]; env?: Record<string, string>; bin: string }): Plan {
  const cache = join(mkdtempSync(join(tmpdir(), 'tools-decision-cache-')), 'tools');
  const r = spawnSync('bash', [join(repo, '.ci/tools/install.sh'), ...args], {
    cwd: repo,
    // Only the stand-ins and the system's own tools: no terraform, nomad or go of this machine.
    env: { PATH: `${bin}:/usr/bin:/bin`, HOME: process.env.HOME ?? '', TMPDIR: tmpdir(), DASHBOARD_TOOLS_DIR: cache, ...env },
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { status: r.status, lines: r.stdout.split('\n').filter((l) => l !== ''), stderr: r.stderr, cache };
}

const line = (p: Plan, prefix: string) => p.lines.filter((l) => l.startsWith(prefix));

describe('npm run tools -- --dry-run: the decisions and their commands', () => {
  const terraform = { terraform: 'Terraform v1.11.4' };

  it('with both source archives present, builds each provider from its archive, the docker one patched', () => {
    const repo = scriptCopy();
    const sources = mkdtempSync(join(tmpdir(), 'tools-decision-sources-'));
    for (const name of [`terraform-provider-nomad-${PROVIDER_VERSIONS.nomad}.tar.gz`, `terraform-provider-docker-${PROVIDER_VERSIONS.docker}.tar.gz`]) {
      writeFileSync(join(sources, name), 'not really a tarball');
    }
    const p = plan(repo, { env: { DASHBOARD_PROVIDER_SOURCES: sources }, bin: fakeTools(terraform) });
    expect(p.status).toBe(0);
    expect(line(p, 'providers: ')).toEqual([
      `providers: hashicorp/nomad ${PROVIDER_VERSIONS.nomad}: build from ${sources}/terraform-provider-nomad-${PROVIDER_VERSIONS.nomad}.tar.gz`,
      `providers: kreuzwerker/docker ${PROVIDER_VERSIONS.docker}: build from ${sources}/terraform-provider-docker-${PROVIDER_VERSIONS.docker}.tar.gz, applying ${PATCH}`,
    ]);
    expect(p.stderr).toBe('');
  });

  for (const [what, env] of [
    ['DASHBOARD_PROVIDER_SOURCES names an empty folder', () => ({ DASHBOARD_PROVIDER_SOURCES: mkdtempSync(join(tmpdir(), 'tools-decision-empty-')) })],
    ['DASHBOARD_PROVIDER_SOURCES names no folder', () => ({ DASHBOARD_PROVIDER_SOURCES: join(tmpdir(), 'no-such-folder') })],
    ['DASHBOARD_PROVIDER_SOURCES is unset and no ../shared/providers is beside the checkout', () => ({})],
  ] as const) {
    it(`without source archives (${what}), mirrors both from the registry for this platform and says the patch is not applied`, () => {
      const p = plan(scriptCopy(), { env: env(), bin: fakeTools(terraform) });
      expect(p.status).toBe(0);
      const providers = line(p, 'providers: ');
      expect(providers[0]).toBe(`providers: mirror from the registry: terraform providers mirror -platform=${PLATFORM} ${p.cache}/mirror`);
      expect(providers[1]).toBe(`providers: NOT applied: ${PATCH} (the registry serves the providers as released)`);
      expect(providers.join(' ')).toContain('drops the pushed image from state on any registry error');
      expect(providers.some((l) => l.includes('build from'))).toBe(false);
    });
  }

  it('--production-only skips apt and uses the nomad on PATH when it is 1.6 or newer', () => {
    const bin = fakeTools({ ...terraform, nomad: 'Nomad v1.8.4' });
    const p = plan(scriptCopy(), { args: ['--dry-run', '--production-only'], bin });
    expect(p.status).toBe(0);
    expect(line(p, 'apt: ')).toEqual(['apt: skipped (--production-only)']);
    expect(line(p, 'nomad: ')).toEqual([`nomad: use ${bin}/nomad (Nomad v1.8.4)`]);
    expect(line(p, 'terraform: ')).toEqual([`terraform: use ${bin}/terraform (v1.11.4)`]);
    // The environment variables say the same as the flags.
    const byEnv = plan(scriptCopy(), { args: [], env: { DASHBOARD_TOOLS_PLAN: '1', DASHBOARD_TOOLS_PRODUCTION_ONLY: '1' }, bin });
    for (const prefix of ['apt: ', 'nomad: ']) expect(line(byEnv, prefix)).toEqual(line(p, prefix));
  });

  it('--production-only builds Nomad when the nomad on PATH is older than 1.6, or there is none', () => {
    for (const bin of [fakeTools({ ...terraform, nomad: 'Nomad v1.5.6' }), fakeTools(terraform)]) {
      const p = plan(scriptCopy(), { args: ['--dry-run', '--production-only'], bin });
      expect(line(p, 'nomad: ')).toEqual([`nomad: build github.com/hashicorp/nomad@v${TOOLS.NOMAD_VERSION} into ${p.cache}/bin/nomad`]);
    }
  });

  it('without --production-only, installs the apt packages and builds Nomad 1.6.3 even with a nomad on PATH', () => {
    const p = plan(scriptCopy(), { bin: fakeTools({ ...terraform, nomad: 'Nomad v1.8.4' }) });
    expect(line(p, 'apt: ')).toHaveLength(1);
    expect(line(p, 'apt: ')[0]).toMatch(/^apt: podman docker-registry apache2-utils postgresql: (all present|(sudo -n )?apt-get install -y --no-install-recommends )/);
    expect(line(p, 'nomad: ')).toEqual([`nomad: build github.com/hashicorp/nomad@v${TOOLS.NOMAD_VERSION} into ${p.cache}/bin/nomad`]);
  });

  it('builds Terraform when the one on PATH is older than 1.5', () => {
    const p = plan(scriptCopy(), { bin: fakeTools({ terraform: 'Terraform v1.4.6' }) });
    expect(line(p, 'terraform: ')).toEqual([`terraform: build github.com/hashicorp/terraform@v${TOOLS.TERRAFORM_BUILD_VERSION} into ${p.cache}/bin/terraform`]);
  });

  it('changes nothing: the tools directory is not even created', () => {
    const p = plan(scriptCopy(), { bin: fakeTools(terraform) });
    expect(p.status).toBe(0);
    expect(p.lines[0]).toBe(`tools cache: ${p.cache}`);
    expect(existsSync(p.cache)).toBe(false);
  });

  it('an unknown argument prints the usage and exits 1 before anything else', () => {
    const p = plan(scriptCopy(), { args: ['--dry-rum'], bin: fakeTools(terraform) });
    expect(p.status).toBe(1);
    expect(p.lines).toEqual([]);
    expect(p.stderr).toMatch(/^usage: npm run tools/);
    expect(p.stderr.trimEnd().split('\n').pop()).toBe("install.sh: unknown argument '--dry-rum'");
    expect(existsSync(p.cache)).toBe(false);
  });
});
