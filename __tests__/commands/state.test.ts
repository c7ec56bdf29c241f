import { describe, expect, it } from 'vitest';
import { deployCommand } from '../../commands/deploy';
import { stateCommand } from '../../commands/state';
import { runCommand } from '../support/command';
import { fixtureEdge, REPO_ROOT } from '../support/synth';

/** Refusals come before anything slow: no synth, no terraform (PATH holds neither). */
const run = (args: string[], env: Record<string, string> = {}) =>
  runCommand(stateCommand, args, { env: { ...fixtureEdge().env, PATH: '/nonexistent', ...env }, cwd: REPO_ROOT });

describe('npm run state', () => {
  it.each([
    [[], 'name the environment'],
    [['qa', 'migrate', '--to', 'pg'], "no environment 'qa'"],
    [['local', 'move', '--to', 'pg'], "unknown action 'move': the action is migrate"],
    [['local', 'migrate'], 'say where to with --to pg, --to consul or --to local'],
    [['local', 'migrate', '--to', 's3'], '--to s3: a backend is local, pg or consul'],
  ])('%j: says why, prints its usage and exits 1', async (args, why) => {
    const r = await run(args);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`state: ${why}`);
    expect(r.stderr).toContain('usage: npm run state -- <environment> migrate --to <backend>');
    expect(r.stdout).toBe('');
  });

  it('refuses to move state of an environment whose config keeps it in a file, saying what to set', async () => {
    const r = await run(['local', 'migrate', '--to', 'pg']);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n').at(-1)).toBe("the config puts the state of 'local' in a local file: set its state.backend to the shared one first (DASHBOARD_STATE_BACKEND=pg), then migrate --to it");
  });

  it('refuses a backend other than the one config names', async () => {
    const r = await run(['local', 'migrate', '--to', 'consul'], { DASHBOARD_STATE_BACKEND: 'pg' });
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n').at(-1)).toBe("the config puts the state of 'local' in pg, not consul: migrate --to pg, or --to local");
  });

  it('without PG_CONN_STR, says what to set before anything slow', async () => {
    const r = await run(['local', 'migrate', '--to', 'pg'], { DASHBOARD_STATE_BACKEND: 'pg' });
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n').at(-1)).toBe(
      "the state of 'local' is in PostgreSQL (state.backend pg): set PG_CONN_STR to its connection string, postgres://user:password@host/database (README, \"Shared state\")",
    );
  });

  it('refuses a --lock-timeout that is not a duration, with its usage', async () => {
    const r = await run(['local', 'migrate', '--to', 'pg', '--lock-timeout=soon'], { DASHBOARD_STATE_BACKEND: 'pg' });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("state: --lock-timeout: 'soon' must be a duration");
    expect(r.stderr).toContain('usage: npm run state');
  });
});

describe('npm run deploy on a pg backend', () => {
  it('without PG_CONN_STR, stops before it plans, saying what to set', async () => {
    const r = await runCommand(deployCommand, ['local', '--auto-approve'], { env: { ...fixtureEdge().env, PATH: '/nonexistent', DASHBOARD_STATE_BACKEND: 'pg' }, cwd: REPO_ROOT });
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n').at(-1)).toBe(
      "deploy: the state of 'local' is in PostgreSQL (state.backend pg): set PG_CONN_STR to its connection string, postgres://user:password@host/database (README, \"Shared state\")",
    );
    expect(r.stderr).not.toContain('synth');
  });
});
