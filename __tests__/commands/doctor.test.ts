import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { doctorCommand, compareVersions, formatCheck, localStateCheck, nodeVersionCheck, registryLogin } from '../../commands/doctor';
import { runCommand } from '../support/command';

describe('npm run doctor: the state file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'doctor-state-'));
  const path = join(dir, 'terraform.local.tfstate');
  const state = (serial: number) => JSON.stringify({ version: 4, serial, resources: [{ mode: 'managed', type: 'nomad_job', name: 'rails' }] });

  it('none yet is no failure: a first deploy creates it', () => {
    expect(localStateCheck(path, 'local')).toMatchObject({ status: 'ok', detail: `local file ${path}: none yet (a first deploy creates it)` });
  });

  it('a whole file: its serial and resources', () => {
    writeFileSync(path, state(7));
    expect(localStateCheck(path, 'local')).toEqual({ name: 'terraform state', status: 'ok', detail: `local file ${path}: serial 7, 1 resources` });
  });

  it('an empty file fails, with the restore of a whole backup as its fix', () => {
    writeFileSync(path, '');
    writeFileSync(`${path}.backup`, state(6));
    const check = localStateCheck(path, 'local');
    expect(check.status).toBe('fail');
    expect(check.detail).toBe(`local file ${path} is broken: it is empty (0 bytes)`);
    expect(check.fix).toBe(`its backup is whole (serial 6): mv ${path} ${path}.broken && cp ${path}.backup ${path}`);
  });

  it('a half-written file without a good backup: adopt on purpose', () => {
    writeFileSync(path, state(7).slice(0, 20));
    writeFileSync(`${path}.backup`, '{');
    const check = localStateCheck(path, 'production');
    expect(check.status).toBe('fail');
    expect(check.detail).toMatch(/is broken: it is not JSON/);
    expect(check.fix).toBe('move it away, then adopt the running job: npm run deploy -- production --adopt');
  });
});

describe('npm run doctor: the registry login', () => {
  let server: Server;
  let base: string;
  const good = `Basic ${Buffer.from('deployer:right').toString('base64')}`;

  beforeAll(async () => {
    // A registry behind a token server, as Docker Hub's: /v2/ asks for a Bearer token, the realm gives one for good basic auth.
    server = createServer((req, res) => {
      if (req.url === '/v2/') {
        res.writeHead(401, { 'www-authenticate': `Bearer realm="${base}/token",service="registry.test"` }).end();
      } else if (req.url?.startsWith('/token?service=registry.test')) {
        res.writeHead(req.headers.authorization === good ? 200 : 401).end('{"token":"t"}');
      } else res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => server?.close());

  it('a Bearer challenge: the credentials are tried at the token server', async () => {
    expect(await registryLogin(base, 'deployer', 'right')).toEqual({ ok: true, detail: `its token server (${new URL(base).host}) gives them a token` });
    expect(await registryLogin(base, 'deployer', 'wrong')).toEqual({ ok: false, detail: `its token server ${new URL(base).host} refused them (401)` });
  });
});

describe('npm run doctor', () => {
  it('versions compare by number, not as text', () => {
    expect(compareVersions('1.11.4', '1.5.0')).toBeGreaterThan(0);
    expect(compareVersions('1.5', '1.5.0')).toBe(0);
    expect(compareVersions('20.9.0', '20.10')).toBeLessThan(0);
  });

  it("Node against package.json's engines: older fails, a later major than ^ names is untested", () => {
    const engines = (JSON.parse(readFileSync(join(__dirname, '../../package.json'), 'utf8')) as { engines: { node: string } }).engines.node;
    expect(nodeVersionCheck(process.versions.node, engines).status).toBe('ok');
    expect(nodeVersionCheck('20.18.3', '^20.19.0')).toMatchObject({ status: 'fail', fix: expect.stringContaining('Node.js 20.19.0 or later') });
    expect(nodeVersionCheck('20.19.0', '^20.19.0').status).toBe('ok');
    expect(nodeVersionCheck('22.12.0', '^20.19.0')).toMatchObject({ status: 'warn', detail: expect.stringContaining('untested') });
    expect(nodeVersionCheck('22.12.0', '>=20').status).toBe('ok');
    expect(nodeVersionCheck('22.12.0', '20 || 22').status).toBe('warn');
  });

  it('a failure prints with its fix on the next line', () => {
    expect(formatCheck({ name: 'terraform', status: 'fail', detail: 'not on PATH (ENOENT)', fix: 'npm run tools' })).toBe('FAIL  terraform: not on PATH (ENOENT)\n      fix: npm run tools');
  });

  it('usage errors before anything slow', async () => {
    const run = await runCommand(doctorCommand, ['local', '--jsn']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("doctor: Unknown option '--jsn'");
    expect(run.stderr).toContain('Exit status: 0 a deploy could run');
  });
});
