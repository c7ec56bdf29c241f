import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, parseEnvironment } from '../config/load';
import { production } from '../config/production';
import type { EnvironmentInput } from '../config/schema';
import { filesBelow, runApp } from './support/run-app';
import { fixtureEdge, fixtureEnvironment, portable, synthEnvironment } from './support/synth';

/** The stack's `terraform` block (backend, required providers) for an environment as written. */
const terraformBlock = (input: EnvironmentInput) => portable(synthEnvironment(parseEnvironment(input)).terraform);
const withState = (state: EnvironmentInput['state']): EnvironmentInput => ({ ...production(fixtureEdge()), state });

describe('the state backend an environment names', () => {
  it('local is the default, with a 5m lock wait', () => {
    const { state, ...rest } = production(fixtureEdge());
    expect(state).toBeDefined();
    const parsed = parseEnvironment(rest);
    expect(parsed.state.backend).toBe('local');
    expect(parsed.state.lockTimeout.toSeconds()).toBe(300);
  });

  it('pg renders the schema and no connection string (the backend reads PG_CONN_STR)', async () => {
    const block = terraformBlock(withState({ backend: 'pg', schemaName: 'dashboard_production' }));
    expect(block.backend).toEqual({ pg: { schema_name: 'dashboard_production' } });
    await expect(`${JSON.stringify(block.backend, null, 2)}\n`).toMatchFileSnapshot('__snapshots__/backend.pg.json');
  });

  // Consul cannot run on these machines: this rendering is all that is tested of it (README, "Shared state").
  it('consul renders address, path and locking, and no token (the backend reads CONSUL_HTTP_TOKEN)', async () => {
    const block = terraformBlock(
      withState({ backend: 'consul', address: 'consul.service.consul:8501', path: 'terraform/dashboard/production', caFile: '/etc/consul.d/ca.pem' }),
    );
    expect(block.backend.consul).toEqual({
      address: 'consul.service.consul:8501',
      scheme: 'https',
      path: 'terraform/dashboard/production',
      lock: true,
      ca_file: '/etc/consul.d/ca.pem',
    });
    await expect(`${JSON.stringify(block.backend, null, 2)}\n`).toMatchFileSnapshot('__snapshots__/backend.consul.json');
  });

  it('refuses a backend it does not know and a lock wait that is not a duration, by path', () => {
    const refused = (input: unknown) => {
      try {
        parseEnvironment(input);
      } catch (e) {
        if (e instanceof ConfigError) return e.issues.join('\n');
        throw e;
      }
      return 'accepted';
    };
    expect(refused(withState({ backend: 's3' } as never))).toMatch(/^state\.backend: /);
    expect(refused(withState({ backend: 'pg', schemaName: 'dashboard', lockTimeout: 'five minutes' }))).toMatch(/^state\.lockTimeout: must be a duration/);
    expect(refused(withState({ backend: 'consul', address: 'https://consul:8501', path: 'x' }))).toMatch(/^state\.address: must be host or host:port/);
  });

  it('the local environment is a file, unless DASHBOARD_STATE_BACKEND=pg', () => {
    expect(fixtureEnvironment('local').state.backend).toBe('local');
    expect(fixtureEnvironment('local', { DASHBOARD_STATE_BACKEND: 'pg' }).state).toMatchObject({ backend: 'pg', schemaName: 'dashboard_local' });
    expect(fixtureEnvironment('production', { DASHBOARD_STATE_BACKEND: 'pg' }).state.backend).toBe('local');
    expect(() => fixtureEnvironment('local', { DASHBOARD_STATE_BACKEND: 'consul' })).toThrow(/DASHBOARD_STATE_BACKEND: 'consul' is not a backend the local environment takes/);
  });
});

describe('the app with the local environment on pg', () => {
  const secrets = { PG_CONN_STR: 'postgres://deployer:pg-pass-3c9e-secret@db.example.org/terraform', CONSUL_HTTP_TOKEN: 'consul-token-41d7-secret' };
  const run = runApp({ ...secrets, DASHBOARD_STATE_BACKEND: 'pg' });

  it('renders the pg backend for local only, and no connection string or token anywhere in its output or logs', () => {
    expect(run.status, run.stderr).toBe(0);
    const local = JSON.parse(readFileSync(join(run.outdir, 'stacks/local/cdk.tf.json'), 'utf8'));
    expect(local.terraform.backend).toEqual({ pg: { schema_name: 'dashboard_local' } });
    const prod = JSON.parse(readFileSync(join(run.outdir, 'stacks/production/cdk.tf.json'), 'utf8'));
    expect(Object.keys(prod.terraform.backend)).toEqual(['local']);
    const texts = [...filesBelow(run.outdir).values(), run.stdout, run.stderr];
    for (const text of texts) {
      expect(text).not.toContain('pg-pass-3c9e-secret');
      expect(text).not.toContain('consul-token-41d7-secret');
    }
  });
});
