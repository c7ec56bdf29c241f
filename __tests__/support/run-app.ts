import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FIXTURE_APP, FIXTURE_CONFIG, REPO_ROOT } from './synth';

export interface AppRun {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly outdir: string;
}

/** Runs main.ts (or another script) as `cdktf synth` does: a child process told its outdir, with the given environment. */
export function runApp(env: Record<string, string>, script = 'main.ts'): AppRun {
  const outdir = mkdtempSync(join(tmpdir(), 'cdktf-out-'));
  const result = spawnSync(process.execPath, [join(REPO_ROOT, 'node_modules/tsx/dist/cli.mjs'), script], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', TMPDIR: tmpdir(), DASHBOARD_SOURCE: FIXTURE_APP, DASHBOARD_CONFIG_DIR: FIXTURE_CONFIG, CDKTF_OUTDIR: outdir, ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr, outdir };
}

/** Every file below a directory, with its text. */
export function filesBelow(dir: string): Map<string, string> {
  const files = new Map<string, string>();
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) for (const [p, t] of filesBelow(path)) files.set(p, t);
    else files.set(path, readFileSync(path, 'utf8'));
  }
  return files;
}
