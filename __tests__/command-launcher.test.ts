import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './support/synth';

/** `npm run status` / `logs` / `history` as package.json runs them: `node .ci/launch.cjs <name>`. */
function command(args: string[], preload?: string) {
  const r = spawnSync('node', [...(preload ? ['-r', preload] : []), '.ci/launch.cjs', ...args], {
    cwd: REPO_ROOT,
    // Nothing listens on port 1: the command gets as far as asking Nomad.
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', LOCAL_NOMAD_ADDR: 'http://127.0.0.1:1' },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('the read commands, compiled (.ci/launch.cjs)', () => {
  it('run compiled, through the one entry, without loading the schema, zod or cdktf', () => {
    const dir = mkdtempSync(join(tmpdir(), 'command-launcher-'));
    const preload = join(dir, 'modules.cjs');
    // Prints, as the process exits, every module node loaded from node_modules.
    writeFileSync(preload, `process.on('exit', () => process.stderr.write('loaded: ' + (Object.keys(require.cache).filter((m) => m.includes('node_modules')).join(',') || '(none)') + '\\n'));\n`);
    for (const name of ['status', 'logs', 'history']) {
      command([name, 'local']); // compiles, where a source changed (TypeScript is loaded for that)
      const run = command([name, 'local'], preload);
      expect([name, run.code]).toEqual([name, 1]);
      const lines = run.stderr.trimEnd().split('\n');
      expect(lines.at(-1)).toBe('loaded: (none)');
      expect(lines.at(-2)).toMatch(/^cannot reach Nomad at http:\/\/127\.0\.0\.1:1: .*ECONNREFUSED/);
    }
  });

  it('a wrong command line prints the usage and exits 1', () => {
    const usage = command(['status']);
    expect(usage.code).toBe(1);
    expect(usage.stderr).toContain('status: name the environment\n\nusage: npm run status -- <environment> [--json]');
  });
});
