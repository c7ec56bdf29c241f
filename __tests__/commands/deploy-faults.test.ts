import { chmodSync, mkdtempSync, rmSync, utimesSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decodeRelease, encodeReleaseSettings } from '../../config/release-contract';
import { interruptedStateLock, stateLock } from '../../commands/deploy-report';
import { parseEnvironment } from '../../config/load';
import { production } from '../../config/production';
import type { EnvironmentInput } from '../../config/schema';
import { fixtureEdge } from '../support/synth';
import { brokenStateMessage, readStateFile } from '../../commands/terraform-state';
import { appliedResources, terraformErrors } from '../../commands/terraform-stream';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'deploy-faults-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const STATE = JSON.stringify({ version: 4, serial: 7, lineage: 'x', resources: [{ mode: 'managed', type: 'nomad_job', name: 'rails' }, { mode: 'data', type: 'nomad_regions', name: 'r' }] });

describe('a local state file, read before a deploy plans', () => {
  it('absent, whole (its managed resources), empty or cut short', () => {
    const path = join(dir, 'terraform.local.tfstate');
    expect(readStateFile(path)).toEqual({ kind: 'absent' });
    writeFileSync(path, STATE);
    expect(readStateFile(path)).toEqual({ kind: 'ok', state: JSON.parse(STATE), serial: 7, resources: ['nomad_job.rails'] });
    writeFileSync(path, '  \n');
    expect(readStateFile(path)).toEqual({ kind: 'broken', why: 'it is empty (3 bytes)' });
    writeFileSync(path, STATE.slice(0, 40));
    expect(readStateFile(path)).toMatchObject({ kind: 'broken', why: expect.stringMatching(/^it is not JSON \(.+\): it was cut short or edited$/) });
    writeFileSync(path, '[]');
    expect(readStateFile(path)).toMatchObject({ kind: 'broken', why: 'it is JSON but not a Terraform state (no serial or resources)' });
  });

  it('the refusal names the file and its backup with the command to restore it, or says there is none', () => {
    const path = join(dir, 'terraform.local.tfstate');
    expect(brokenStateMessage(path, 'it is empty (0 bytes)')).toContain('There is no backup (terraform.local.tfstate.backup).');
    writeFileSync(`${path}.backup`, STATE);
    const message = brokenStateMessage(path, 'it is empty (0 bytes)');
    expect(message).toContain(`The state file ${path} is broken: it is empty (0 bytes). It is not taken for "no state"`);
    expect(message).toContain(`Its backup ${path}.backup is whole (serial 7, 1 resources`);
    expect(message).toContain(`mv ${path} ${path}.broken && cp ${path}.backup ${path}`);
    writeFileSync(`${path}.backup`, '');
    expect(brokenStateMessage(path, 'x')).toContain('is broken too: it is empty');
  });
});

describe("the state lock an interrupted deploy's Terraform leaves", () => {
  it("its own is removed (written after the deploy started); someone else's is named with how to free it", () => {
    const path = join(dir, 'terraform.local.tfstate');
    const info = join(dir, '.terraform.local.tfstate.lock.info');
    expect(stateLock(path, Date.now())).toBe('free');
    const started = Date.now();
    writeFileSync(info, JSON.stringify({ ID: 'a1', Operation: 'OperationTypeApply', Who: 'root@laptop', Created: new Date(started + 500).toISOString() }));
    expect(stateLock(path, started)).toMatch(/^free \(the lock file this deploy's Terraform left, .* is removed\)$/);
    expect(existsSync(info)).toBe(false);
    writeFileSync(info, JSON.stringify({ ID: 'b2', Operation: 'OperationTypeApply', Who: 'ana@other', Created: new Date(started - 60_000).toISOString() }));
    utimesSync(info, new Date(), new Date());
    expect(stateLock(path, started)).toMatch(/^held: .* \(ID b2, OperationTypeApply by ana@other since .*force-unlock b2$/);
    expect(existsSync(info)).toBe(true);
  });
});

describe("the state lock line of an interrupted deploy, per backend (its Terraform has exited)", () => {
  const environment = (state: EnvironmentInput['state']) => ({ ...parseEnvironment({ ...production(fixtureEdge()), state }), name: 'local' as const });
  const pg = environment({ backend: 'pg', schemaName: 'dashboard_local' });
  /** A psql on PATH that answers the holders query with `rows`, then with none once `rows` were given `times` times. */
  const psql = (rows: string, times = 1000) => {
    const calls = join(dir, 'calls');
    writeFileSync(calls, '');
    writeFileSync(join(dir, 'psql'), `#!/bin/sh\necho x >> "${calls}"\n[ "$(wc -l < "${calls}")" -le ${times} ] && printf '%s' '${rows}'\nexit 0\n`);
    chmodSync(join(dir, 'psql'), 0o755);
    return { PATH: `${dir}:${process.env.PATH}`, PG_CONN_STR: 'postgres://deploy:pw@127.0.0.1/state' };
  };
  const line = (env: Record<string, string>, e = pg) => interruptedStateLock({ environment: e, started: Date.now() }, { statePath: join(dir, 'terraform.local.tfstate'), env }, 10);

  it('pg: asked of PostgreSQL, not of a lock file (which pg never writes)', async () => {
    // A stale local lock file is no answer for pg: its lock is a PostgreSQL session's.
    writeFileSync(join(dir, '.terraform.local.tfstate.lock.info'), JSON.stringify({ ID: 'b2', Created: new Date(0).toISOString() }));
    expect(await line(psql(''))).toBe('free (no PostgreSQL session holds it)');
    const other = "17002\tdashboard deploy local by ana@other pid 9\t10.0.0.7\t2026-12-01 09:20:19\tidle in transaction\n";
    expect(await line(psql(other))).toBe(
      "held by 'dashboard deploy local by ana@other pid 9' (PostgreSQL session 17002, connected since 2026-12-01 09:20:19 UTC): the next deploy waits for it (state.lockTimeout) and names it again",
    );
  });

  it("pg: this deploy's own session, still closing, is waited for a moment", async () => {
    const own = `17003\tdashboard deploy local by me pid ${process.pid}\tlocal socket\t2026-12-01 09:20:19\tidle\n`;
    expect(await line({ ...psql(own, 2), PGAPPNAME: `dashboard deploy local by me pid ${process.pid}` })).toBe('free (no PostgreSQL session holds it)');
  });

  it('pg without a way to ask, and consul: what is true without asking', async () => {
    expect(await line({ PATH: process.env.PATH! })).toBe(
      "freed when this deploy's Terraform exited (pg's lock is held by a PostgreSQL session, closed with it); not checked: PG_CONN_STR is not set",
    );
    const consul = environment({ backend: 'consul', address: 'consul:8501', path: 'tf/local' });
    expect(await line({}, consul)).toMatch(/^released by this deploy's Terraform as it stopped \(a Consul session lock; not checked here\)/);
  });
});

describe("what Terraform's output says", () => {
  it('its error blocks, without the box drawing, for the last lines of a failure', () => {
    const output = ['nomad_job.rails: Modifying...', '╷', '│ Error: error applying jobspec: 403 Permission denied', '│ ', '│   with nomad_job.rails,', '╵', 'other'].join('\n');
    expect(terraformErrors(output)).toEqual(['Error: error applying jobspec: 403 Permission denied\n\n  with nomad_job.rails,']);
    expect(terraformErrors('Error: Backend initialization required\n\nRun terraform init\n\nmore')).toEqual(['Error: Backend initialization required']);
    expect(terraformErrors('all fine')).toEqual([]);
  });

  it('which resources an apply created, modified, destroyed', () => {
    const output = 'docker_image.image: Creation complete after 2s [id=x]\nnomad_job.rails: Modifications complete after 1s [id=rails]\nterraform_data.release: Destruction complete after 0s';
    expect(appliedResources(output)).toEqual([
      { address: 'docker_image.image', action: 'created' },
      { address: 'nomad_job.rails', action: 'modified' },
      { address: 'terraform_data.release', action: 'destroyed' },
    ]);
  });
});

describe('the release contract between the stack and commands/release.ts', () => {
  const settings = { environment: 'local', group: 'sidekiq-default', command: ['rails', 'db:migrate'], timeoutSeconds: 1800, nomad: { address: 'http://127.0.0.1:4646' } };
  const jobspec = JSON.stringify({ Job: { ID: 'rails', TaskGroups: [] } });

  it('what the stack writes, the command reads', () => {
    expect(decodeRelease({ DASHBOARD_RELEASE: encodeReleaseSettings(settings), DASHBOARD_RELEASE_JOBSPEC: jobspec })).toEqual({ settings, service: JSON.parse(jobspec) });
  });

  it('a wrong shape fails at synth; a missing or malformed variable names itself', () => {
    expect(() => encodeReleaseSettings({ ...settings, command: [] })).toThrow();
    expect(() => encodeReleaseSettings({ ...settings, extra: 1 } as never)).toThrow(/Unrecognized key/);
    expect(() => decodeRelease({ DASHBOARD_RELEASE_JOBSPEC: jobspec })).toThrow('DASHBOARD_RELEASE is not set');
    expect(() => decodeRelease({ DASHBOARD_RELEASE: '{', DASHBOARD_RELEASE_JOBSPEC: jobspec })).toThrow(/^DASHBOARD_RELEASE: not JSON/);
    expect(() => decodeRelease({ DASHBOARD_RELEASE: JSON.stringify({ ...settings, timeoutSeconds: 'x' }), DASHBOARD_RELEASE_JOBSPEC: jobspec })).toThrow('DASHBOARD_RELEASE: timeoutSeconds:');
    expect(() => decodeRelease({ DASHBOARD_RELEASE: encodeReleaseSettings(settings), DASHBOARD_RELEASE_JOBSPEC: '{}' })).toThrow('DASHBOARD_RELEASE_JOBSPEC: not a job document');
  });
});
