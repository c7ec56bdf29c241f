import { describe, expect, it } from 'vitest';
import { parseEnvironment } from '../../config/load';
import { production } from '../../config/production';
import type { EnvironmentInput } from '../../config/schema';
import {
  describeHeldLock,
  formatWait,
  libpqEnvironment,
  lockWaitEnv,
  parseLockError,
  pgAppName,
  takeLockTimeoutFlag,
} from '../../commands/state-lock';
import { fixtureEdge } from '../support/synth';

/** Terraform 1.11.4's own words, as a second `terraform apply -lock-timeout=3s` printed them against the pg backend. */
const TERRAFORM_LOCK_ERROR = `
Error: Error acquiring the state lock

Error message: Workspace is already locked: default
Lock Info:
  ID:        1f77daa0-6931-d034-5be1-de63ed29565c
  Path:      
  Operation: OperationTypeApply
  Who:       root@vm
  Version:   1.11.4
  Created:   2026-12-01 09:20:23.46274202 +0000 UTC
  Info:      


Terraform acquires a state lock to protect the state from being written
by multiple users at the same time. Please resolve the issue above and try
again. For most commands, you can disable locking with the "-lock=false"
flag, but this is not recommended.
`;

/** The same as cdktf deploy passes it on: the stack's name before every line, Terraform's box, colours. */
const CDKTF_LOCK_ERROR = [
  'local  ╷',
  'local  │ \x1b[31mError: \x1b[0mError acquiring the state lock',
  'local  │ ',
  'local  │ Error message: resource temporarily unavailable',
  'local  │ Lock Info:',
  'local  │   ID:        8c1e2f4a-0000-4b1d-9c3e-6a2b1c0d9e8f',
  'local  │   Path:      /home/alice/dashboard-deploy/terraform.local.tfstate',
  'local  │   Operation: OperationTypeApply',
  'local  │   Who:       alice@laptop',
  'local  │   Version:   1.11.4',
  'local  │   Created:   2026-12-01 09:00:05.5 +0000 UTC',
  'local  │   Info:      ',
  'local  │ ',
  'local  │ Terraform acquires a state lock to protect the state from being written',
  'local  ╵',
].join('\n');

const stateOf = (state: EnvironmentInput['state']) => parseEnvironment({ ...production(fixtureEdge()), state }).state;
const NOW = new Date('2026-12-01T09:12:05Z');

describe('parseLockError', () => {
  it("reads Terraform's lock info and the backend's message", () => {
    expect(parseLockError(TERRAFORM_LOCK_ERROR)).toEqual({
      message: 'Workspace is already locked: default',
      id: '1f77daa0-6931-d034-5be1-de63ed29565c',
      path: '',
      operation: 'OperationTypeApply',
      who: 'root@vm',
      version: '1.11.4',
      created: '2026-12-01 09:20:23.46274202 +0000 UTC',
      info: '',
    });
  });

  it("reads it through cdktf's stack prefix, Terraform's box and colours", () => {
    expect(parseLockError(CDKTF_LOCK_ERROR)).toMatchObject({ who: 'alice@laptop', operation: 'OperationTypeApply', path: '/home/alice/dashboard-deploy/terraform.local.tfstate' });
  });

  it('is undefined for a run that failed for another reason', () => {
    expect(parseLockError('Error: dial tcp 127.0.0.1:1: connect: connection refused')).toBeUndefined();
  });
});

describe('describeHeldLock', () => {
  it("local: names holder, operation and time from Terraform's lock info, how to see it alive, the cause last", () => {
    const lines = describeHeldLock('local', stateOf({ backend: 'local' }), 300, parseLockError(CDKTF_LOCK_ERROR)!, undefined, NOW);
    expect(lines[0]).toBe("the state of 'local' (a local file) stayed locked for the 5m this run waits (state.lockTimeout in config; --lock-timeout=<duration> to wait longer).");
    expect(lines[1]).toBe('held by alice@laptop, for terraform apply (a deploy or destroy), since 2026-12-01 09:00:05 UTC (12m ago); lock ID 8c1e2f4a-0000-4b1d-9c3e-6a2b1c0d9e8f.');
    expect(lines[2]).toContain("on the machine 'laptop', ps -ef | grep 'terraform apply'");
    expect(lines.at(-1)).toBe("the state of 'local' is locked by alice@laptop since 2026-12-01 09:00:05 UTC (12m ago), for terraform apply (a deploy or destroy): gave up after 5m.");
  });

  it('consul: says how to force-unlock only a dead holder, with its lock ID', () => {
    const lines = describeHeldLock('production', stateOf({ backend: 'consul', address: 'consul:8501', path: 'tf/prod' }), 600, parseLockError(CDKTF_LOCK_ERROR)!, undefined, NOW);
    expect(lines[0]).toContain("the state of 'production' (consul consul:8501/tf/prod) stayed locked for the 10m");
    expect(lines[2]).toContain('only when it is gone and the lock stays: terraform -chdir=cdktf.out/stacks/production force-unlock 8c1e2f4a-0000-4b1d-9c3e-6a2b1c0d9e8f');
  });

  it("pg: the holder comes from PostgreSQL's sessions, not Terraform's lock info (which names the waiter)", () => {
    const holder = { pid: 17002, applicationName: 'dashboard deploy local by alice@laptop pid 4242', clientAddress: '10.0.0.5', connectedSince: '2026-12-01 09:02:05', state: 'idle' };
    const lines = describeHeldLock('local', stateOf({ backend: 'pg', schemaName: 'dashboard_local' }), 300, parseLockError(TERRAFORM_LOCK_ERROR)!, { pg: [holder] }, NOW);
    expect(lines.join('\n')).not.toContain('root@vm');
    expect(lines[1]).toBe("held by 'dashboard deploy local by alice@laptop pid 4242': PostgreSQL session 17002 from 10.0.0.5, connected since 2026-12-01 09:02:05 UTC (10m ago), idle.");
    expect(lines[2]).toContain('SELECT pg_terminate_backend(17002);');
    expect(lines.at(-1)).toBe("the state of 'local' is locked by 'dashboard deploy local by alice@laptop pid 4242' since 2026-12-01 09:02:05 UTC: gave up after 5m.");
  });

  it('pg without psql: says the holder cannot be named and gives the query to ask', () => {
    const lines = describeHeldLock('local', stateOf({ backend: 'pg', schemaName: 'dashboard_local' }), 30, parseLockError(TERRAFORM_LOCK_ERROR)!, { pg: undefined, unavailable: 'could not run psql (spawn psql ENOENT)' }, NOW);
    expect(lines[1]).toContain('could not run psql (spawn psql ENOENT)');
    expect(lines[2]).toMatch(/^Ask PostgreSQL: SELECT .* FROM pg_locks/);
    expect(lines.at(-1)).toBe("the state of 'local' is locked by another run (pg names no holder; see above): gave up after 30s.");
  });
});

describe('lockWaitEnv', () => {
  it("passes the wait to terraform plan and apply after the operator's own flags, and names the run to PostgreSQL", () => {
    const env = lockWaitEnv({ TF_CLI_ARGS_apply: '-parallelism=2' }, 300, { command: 'deploy', environment: 'local' });
    expect(env.TF_CLI_ARGS_plan).toBe('-lock-timeout=300s');
    expect(env.TF_CLI_ARGS_apply).toBe('-parallelism=2 -lock-timeout=300s');
    expect(env.PGAPPNAME).toMatch(/^dashboard deploy local by .+@.+ pid \d+$/);
  });

  it("keeps the operator's PGAPPNAME", () => {
    expect(lockWaitEnv({ PGAPPNAME: 'mine' }, 1, { command: 'deploy', environment: 'local' }).PGAPPNAME).toBe('mine');
  });
});

describe('pgAppName', () => {
  it('is cut to the 63 bytes PostgreSQL keeps, never inside a character', () => {
    const name = pgAppName({ command: 'deploy', environment: 'production' }, `${'é'.repeat(40)}@host`, 1);
    expect(Buffer.byteLength(name)).toBeLessThanOrEqual(63);
    expect(name).not.toContain('\uFFFD');
    expect(name.startsWith('dashboard deploy production by éé')).toBe(true);
  });
});

describe('takeLockTimeoutFlag', () => {
  it.each([
    [['local', '--lock-timeout=10m', '--auto-approve'], { lockTimeout: '10m', rest: ['local', '--auto-approve'] }],
    [['local', '--lock-timeout', '30s'], { lockTimeout: '30s', rest: ['local'] }],
    [['local'], { rest: ['local'] }],
  ])('%j', (args, taken) => {
    expect(takeLockTimeoutFlag(args)).toEqual(taken);
  });

  it('refuses the flag without a value', () => {
    expect(() => takeLockTimeoutFlag(['local', '--lock-timeout'])).toThrow('--lock-timeout needs a duration');
  });
});

describe('libpqEnvironment', () => {
  it('turns a URI into the PG* variables psql reads, password decoded', () => {
    expect(libpqEnvironment('postgres://deployer:p%40ss@db.example.org:5433/terraform?sslmode=require')).toEqual({
      PGHOST: 'db.example.org',
      PGPORT: '5433',
      PGUSER: 'deployer',
      PGPASSWORD: 'p@ss',
      PGDATABASE: 'terraform',
      PGSSLMODE: 'require',
    });
  });

  it("turns key=value words into them, quotes undone", () => {
    expect(libpqEnvironment("host=127.0.0.1 port=5432 dbname=tf user=me password='s3 cret' sslmode=disable")).toMatchObject({ PGHOST: '127.0.0.1', PGDATABASE: 'tf', PGPASSWORD: 's3 cret', PGSSLMODE: 'disable' });
    expect(libpqEnvironment("password='a b\\'c'")).toEqual({ PGPASSWORD: "a b'c" });
  });
});

describe('formatWait', () => {
  it.each([[300, '5m'], [90, '1m30s'], [0, '0s'], [3720, '1h2m']])('%d seconds is %s', (s, text) => expect(formatWait(s)).toBe(text));
});
