import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { diffCommand } from '../../commands/diff';
import { runCommand } from '../support/command';
import { DEPLOYED_STATE_FILE, FakeNomad } from './drift-fixtures';

/**
 * `npm run diff`'s wiring, without the tools: a project whose `cdktf` prints a plan and writes
 * the stack (its backend pointing at a recorded state), and a stand-in for Nomad answering with
 * recorded answers. cdktf's output and status are passed on; the drift report follows.
 */
describe('npm run diff, on recorded answers', () => {
  let dir: string;
  const nomad = new FakeNomad();

  beforeAll(async () => {
    await nomad.start();
    dir = mkdtempSync(join(tmpdir(), 'diff-command-'));
    mkdirSync(join(dir, 'node_modules/.bin'), { recursive: true });
    writeFileSync(join(dir, 'cdktf.json'), JSON.stringify({ app: 'true' }));
    writeFileSync(
      join(dir, 'node_modules/.bin/cdktf'),
      `#!/bin/sh
echo "cdktf $*"
[ -n "$FAIL_DIFF" ] && { echo "Error: cannot plan" >&2; exit 1; }
mkdir -p cdktf.out/stacks/local
printf '{"terraform":{"backend":{"local":{"path":"%s"}}}}' "${DEPLOYED_STATE_FILE}" > cdktf.out/stacks/local/cdk.tf.json
echo "local  No changes. Your infrastructure matches the configuration."
`,
    );
    chmodSync(join(dir, 'node_modules/.bin/cdktf'), 0o755);
  });
  afterAll(() => {
    nomad.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => nomad.reset('clean'));

  const run = (args: string[], env: Record<string, string> = {}) =>
    runCommand(diffCommand, args, { cwd: dir, env: { PATH: process.env.PATH, LOCAL_NOMAD_ADDR: nomad.client.connection.address, ...env } });

  it("cdktf diff's output as it is, then each drifted field with both values; cdktf's exit status", async () => {
    nomad.reset('scaled-and-memory');
    const r = await run(['local']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      [
        'cdktf diff local',
        'local  No changes. Your infrastructure matches the configuration.',
        '',
        "Drift: job 'rails' was changed in Nomad outside this tool (Nomad runs version 2, modify index 12 → 26):",
        `  group 'sidekiq-long', task 'sidekiq': Resources.MemoryMB: live "900", declared "512"`,
        `  group 'web': Count: live "3", declared "1"`,
        'A deploy puts the declared job back as a rolling update (a new version of the job).',
        '',
      ].join('\n'),
    );
    expect(r.stderr).toContain("diff: drift check of job 'rails' at http://127.0.0.1:");
  });

  it('no drift: said in one line; options after -- reach cdktf', async () => {
    const r = await run(['local', '--', '--skip-synth']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('cdktf diff local --skip-synth\n');
    expect(r.stdout).toContain("\nNo drift: job 'rails' in Nomad is the one this tool last registered.\n");
  });

  it('cdktf diff failing: its status, and no drift check', async () => {
    const r = await run(['local'], { FAIL_DIFF: '1' });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Error: cannot plan');
    expect(nomad.requests).toEqual([]);
  });

  it('usage errors before cdktf starts', async () => {
    const r = await run(['nowhere']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("diff: no environment 'nowhere'");
    expect(r.stdout).toBe('');
  });
});
