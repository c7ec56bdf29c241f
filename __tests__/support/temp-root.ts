import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Vitest global setup: every temporary directory a test run makes (cdktf's Testing.app
 * outdirs, runApp's outdirs, scratch build contexts) goes under one directory of this run,
 * removed when the run ends. os.tmpdir() reads TMPDIR, and the test workers inherit it.
 */
export default function setup(): () => void {
  const root = mkdtempSync(join(tmpdir(), 'dashboard-tests-'));
  const previous = process.env.TMPDIR;
  process.env.TMPDIR = root;
  return () => {
    if (previous === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previous;
    rmSync(root, { recursive: true, force: true });
  };
}
