import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobDocument } from '../../constructs/nomad/api';
import { NomadClient, nomadConnection, NomadError } from '../../commands/nomad-client';
import { nomadFixture } from './fixtures';

const DOCUMENT = { Job: { ID: 'rails', Name: 'rails', Type: 'service', Datacenters: ['dc1'], TaskGroups: [] } } as JobDocument;

describe('the connection, as the nomad CLI reads it', () => {
  it('takes NOMAD_ADDR, NOMAD_TOKEN, NOMAD_REGION, NOMAD_NAMESPACE and the TLS variables', () => {
    const c = nomadConnection(
      {},
      {
        NOMAD_ADDR: 'https://nomad.example.org:4646/',
        NOMAD_TOKEN: 'token',
        NOMAD_REGION: 'eu',
        NOMAD_NAMESPACE: 'web',
        NOMAD_CACERT: '/ca.pem',
        NOMAD_CAPATH: '/cas',
        NOMAD_CLIENT_CERT: '/cli.pem',
        NOMAD_CLIENT_KEY: '/cli-key.pem',
        NOMAD_SKIP_VERIFY: 'true',
        NOMAD_TLS_SERVER_NAME: 'server.global.nomad',
      },
    );
    expect(c).toEqual({
      address: 'https://nomad.example.org:4646',
      token: 'token',
      region: 'eu',
      namespace: 'web',
      tls: { caCert: '/ca.pem', caPath: '/cas', clientCert: '/cli.pem', clientKey: '/cli-key.pem', skipVerify: true, serverName: 'server.global.nomad' },
    });
  });

  it("an address in config (the local environment's) wins over NOMAD_ADDR", () => {
    const c = nomadConnection({ address: 'http://127.0.0.1:4646' }, { NOMAD_ADDR: 'https://production.example.org:4646' });
    expect(c.address).toBe('http://127.0.0.1:4646');
  });

  it("config's region, namespace, CA file and skip-verify are used; NOMAD_CACERT still wins for the CA, as it does for the provider", () => {
    const settings = { region: 'eu', namespace: 'web', caFile: '/from-config.pem', skipVerify: true };
    expect(nomadConnection(settings, { NOMAD_REGION: 'us', NOMAD_NAMESPACE: 'other' })).toMatchObject({ region: 'eu', namespace: 'web', tls: { caCert: '/from-config.pem', skipVerify: true } });
    expect(nomadConnection(settings, { NOMAD_CACERT: '/env.pem' }).tls.caCert).toBe('/env.pem');
  });

  it("defaults to the CLI's address; NOMAD_SKIP_VERIFY is a switch; empty variables count as unset", () => {
    expect(nomadConnection({}, { NOMAD_TOKEN: '', NOMAD_SKIP_VERIFY: 'false' })).toEqual({ address: 'http://127.0.0.1:4646', tls: {} });
    expect(nomadConnection({}, { NOMAD_SKIP_VERIFY: '1' }).tls.skipVerify).toBe(true);
  });

  it('NOMAD_SKIP_VERIFY that is not a boolean is refused, as synth refuses it, never read as false', () => {
    expect(() => nomadConnection({}, { NOMAD_SKIP_VERIFY: 'maybe' })).toThrow("NOMAD_SKIP_VERIFY: 'maybe' is not a boolean");
  });
});

interface Seen {
  method?: string;
  url?: string;
  headers?: IncomingMessage['headers'];
  body?: unknown;
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

/** A stand-in for Nomad's plan endpoint: records the request, answers with a recorded plan. */
function planHandler(seen: Seen, status = 200, answer = JSON.stringify(nomadFixture('worker-memory'))) {
  return (req: IncomingMessage, res: import('node:http').ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      Object.assign(seen, { method: req.method, url: req.url, headers: req.headers, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
      res.statusCode = status;
      res.end(answer);
    });
  };
}

describe('the plan request over plain HTTP (node:http)', () => {
  const seen: Seen = {};
  let server: Server;
  let port: number;
  beforeAll(async () => {
    server = createHttpServer(planHandler(seen));
    port = await listen(server);
  });
  afterAll(() => server.close());

  it('PUT /v1/job/<id>/plan with Diff, the token header, region and namespace; returns the parsed answer', async () => {
    const client = new NomadClient(nomadConnection({}, { NOMAD_ADDR: `http://127.0.0.1:${port}`, NOMAD_TOKEN: 'tok-1', NOMAD_REGION: 'eu', NOMAD_NAMESPACE: 'web' }));
    const answer = await client.plan(DOCUMENT);
    expect(seen.method).toBe('PUT');
    expect(seen.url).toBe('/v1/job/rails/plan?region=eu&namespace=web');
    expect(seen.headers!['x-nomad-token']).toBe('tok-1');
    expect(seen.body).toEqual({ ...DOCUMENT, Diff: true });
    expect(answer.Diff.TaskGroups!.some((g) => g.Type === 'Edited')).toBe(true);
  });

  it('sends no token header without NOMAD_TOKEN', async () => {
    await new NomadClient(nomadConnection({ address: `http://127.0.0.1:${port}` }, {})).plan(DOCUMENT);
    expect(seen.headers!['x-nomad-token']).toBeUndefined();
  });

  it("Nomad's refusal is an error naming the address, the job, the status and Nomad's message", async () => {
    const refusing = createHttpServer(planHandler({}, 400, 'Task group web validation failed: 1 error occurred'));
    const p = await listen(refusing);
    try {
      const error = await new NomadClient(nomadConnection({ address: `http://127.0.0.1:${p}` }, {})).plan(DOCUMENT).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(NomadError);
      expect((error as Error).message).toBe(`Nomad at http://127.0.0.1:${p} refused the plan of job 'rails' (400): Task group web validation failed: 1 error occurred`);
    } finally {
      refusing.close();
    }
  });

  it('an unreachable Nomad is named with the reason, not "fetch failed"', async () => {
    const closed = createHttpServer();
    const p = await listen(closed);
    await new Promise((r) => closed.close(r));
    const error = await new NomadClient(nomadConnection({ address: `http://127.0.0.1:${p}` }, {})).plan(DOCUMENT).catch((e: unknown) => e);
    expect((error as Error).message).toBe(`cannot reach Nomad at http://127.0.0.1:${p}: connect ECONNREFUSED 127.0.0.1:${p}`);
  });
});

describe('the plan request over TLS (node:https): CA, client certificate, server name, skip-verify', () => {
  let dir: string;
  let server: Server;
  let port: number;
  const seen: Seen = {};
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'nomad-tls-'));
    // A CA, a server certificate for Nomad's own naming (server.global.nomad, not the address), and a client certificate.
    openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca-key.pem', '-out', 'ca.pem', '-days', '1', '-subj', '/CN=test-ca');
    for (const [name, cn] of [['server', 'server.global.nomad'], ['client', 'cli.global.nomad']] as const) {
      openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}-key.pem`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`);
      writeFileSync(join(dir, `${name}.ext`), `subjectAltName=DNS:${cn}\n`);
      openssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca-key.pem', '-CAcreateserial', '-out', `${name}.pem`, '-days', '1', '-extfile', `${name}.ext`);
    }
    mkdirSync(join(dir, 'cas'));
    writeFileSync(join(dir, 'cas', 'ca.pem'), readFileSync(join(dir, 'ca.pem')));
    const file = (f: string) => readFileSync(join(dir, f));
    // Like a Nomad agent with verify_https_client: no client certificate, no answer.
    server = createHttpsServer({ key: file('server-key.pem'), cert: file('server.pem'), ca: file('ca.pem'), requestCert: true, rejectUnauthorized: true }, planHandler(seen));
    port = await listen(server);
  });
  afterAll(() => {
    server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const env = (extra: Record<string, string>) => ({ NOMAD_ADDR: `https://127.0.0.1:${port}`, NOMAD_TOKEN: 'tls-token', ...extra });
  const mtls = () => ({ NOMAD_CLIENT_CERT: join(dir, 'client.pem'), NOMAD_CLIENT_KEY: join(dir, 'client-key.pem'), NOMAD_TLS_SERVER_NAME: 'server.global.nomad' });

  it('NOMAD_CACERT, NOMAD_CLIENT_CERT/KEY and NOMAD_TLS_SERVER_NAME: the plan goes through', async () => {
    const answer = await new NomadClient(nomadConnection({}, env({ NOMAD_CACERT: join(dir, 'ca.pem'), ...mtls() }))).plan(DOCUMENT);
    expect(answer.Diff.ID).toBe('rails');
    expect(seen.headers!['x-nomad-token']).toBe('tls-token');
    expect(seen.body).toEqual({ ...DOCUMENT, Diff: true });
  });

  it('NOMAD_CAPATH, a directory of CA files, does the same', async () => {
    await expect(new NomadClient(nomadConnection({}, env({ NOMAD_CAPATH: join(dir, 'cas'), ...mtls() }))).plan(DOCUMENT)).resolves.toBeDefined();
  });

  it('without the CA the server is not trusted', async () => {
    const error = await new NomadClient(nomadConnection({}, env(mtls()))).plan(DOCUMENT).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/^cannot reach Nomad at https:\/\/127\.0\.0\.1:\d+: .*(self-signed|unable to (get|verify))/);
  });

  it('without NOMAD_TLS_SERVER_NAME the certificate does not name the address', async () => {
    const { NOMAD_TLS_SERVER_NAME: _, ...withoutName } = mtls();
    const error = await new NomadClient(nomadConnection({}, env({ NOMAD_CACERT: join(dir, 'ca.pem'), ...withoutName }))).plan(DOCUMENT).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/Hostname\/IP does not match certificate's altnames/);
  });

  it('NOMAD_SKIP_VERIFY trusts any server certificate (the client certificate is still sent)', async () => {
    const { NOMAD_TLS_SERVER_NAME: _, ...withoutName } = mtls();
    await expect(new NomadClient(nomadConnection({}, env({ NOMAD_SKIP_VERIFY: 'true', ...withoutName }))).plan(DOCUMENT)).resolves.toBeDefined();
  });

  it('a missing certificate file is named with its variable, not taken for an unreachable Nomad', async () => {
    const error = await new NomadClient(nomadConnection({}, env({ ...mtls(), NOMAD_CACERT: join(dir, 'missing.pem') }))).plan(DOCUMENT).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/^NOMAD_CACERT: cannot read '.*missing\.pem': ENOENT/);
  });
});
