import { readdirSync, readFileSync, statSync } from 'node:fs';
import { type IncomingMessage, request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';

/**
 * The one way the commands reach Nomad's HTTP API: Node's own `node:http` / `node:https`, no
 * library, with what the `nomad` CLI reads (address, token, region, namespace, CA files, client
 * certificate, server name, skip-verify). `NomadClient` (nomad-client.ts) builds on it.
 */
export interface NomadConnection {
  readonly address: string;
  readonly token?: string;
  readonly region?: string;
  readonly namespace?: string;
  readonly tls: NomadTls;
}

/** File paths and switches, as Nomad's CLI takes them; read when a request is made. */
export interface NomadTls {
  /** NOMAD_CACERT: a CA certificate file. */
  readonly caCert?: string;
  /** NOMAD_CAPATH: a directory of CA certificate files (or one file). */
  readonly caPath?: string;
  readonly clientCert?: string;
  readonly clientKey?: string;
  readonly skipVerify?: boolean;
  readonly serverName?: string;
}

/** Nomad answered with an error status, or could not be reached. */
export class NomadError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'NomadError';
  }
}

export interface HttpResponse {
  readonly status: number;
  /** The body as Nomad sent it, byte for byte (a file of an allocation may be binary). */
  readonly body: Buffer;
  readonly text: string;
}

export interface RequestOptions {
  readonly body?: string;
  /** @default 30_000 */
  readonly timeoutMs?: number;
  /** Aborts the request (Ctrl-C). */
  readonly signal?: AbortSignal;
}

/** A request whose answer is read to its end. */
export async function nomadRequest(connection: NomadConnection, method: string, path: string, options: RequestOptions = {}): Promise<HttpResponse> {
  const res = await open(connection, method, path, options, true);
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of res) chunks.push(chunk as Buffer);
  } catch (e) {
    throw new NomadError(`cannot reach Nomad at ${connection.address}: ${describeNetworkError(e)}`);
  }
  const body = Buffer.concat(chunks);
  return { status: res.statusCode ?? 0, body, text: body.toString('utf8') };
}

/**
 * A request whose answer is read as it comes (a log followed with `follow=true`): the response
 * stream, open until Nomad ends it or `signal` aborts it. Only the time to the first byte of the
 * answer is bounded by `timeoutMs`.
 */
export function nomadStream(connection: NomadConnection, method: string, path: string, options: RequestOptions = {}): Promise<IncomingMessage> {
  return open(connection, method, path, options, false);
}

function open(connection: NomadConnection, method: string, path: string, options: RequestOptions, bounded: boolean): Promise<IncomingMessage> {
  const url = urlOf(connection, path);
  const timeoutMs = options.timeoutMs ?? 30_000;
  // Certificate files are read first: a missing file is named as such, not as an unreachable Nomad.
  const tls = url.protocol === 'https:' ? tlsOptions(connection.tls) : {};
  const body = options.body ?? '';
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const fail = (e: unknown) => reject(new NomadError(`cannot reach Nomad at ${connection.address}: ${describeNetworkError(e)}`));
    const req = send(
      url,
      {
        method,
        headers: {
          'content-type': 'application/json',
          'content-length': String(Buffer.byteLength(body)),
          ...(connection.token ? { 'x-nomad-token': connection.token } : {}),
        },
        ...tls,
        ...(options.signal ? { signal: options.signal } : {}),
      },
      (res) => {
        if (!bounded) req.setTimeout(0);
        resolve(res);
      },
    );
    req.setTimeout(timeoutMs, () => req.destroy(new TimeoutError(timeoutMs)));
    req.on('error', fail);
    req.end(body);
  });
}

class TimeoutError extends Error {
  constructor(ms: number) {
    super(`no answer in ${ms / 1000}s`);
    this.name = 'TimeoutError';
  }
}

function urlOf(connection: NomadConnection, path: string): URL {
  const url = new URL(`${connection.address}${path}`);
  if (connection.region) url.searchParams.set('region', connection.region);
  if (connection.namespace) url.searchParams.set('namespace', connection.namespace);
  return url;
}

interface TlsOptions {
  ca?: Buffer[];
  cert?: Buffer;
  key?: Buffer;
  servername?: string;
  rejectUnauthorized?: boolean;
}

function tlsOptions(tls: NomadTls): TlsOptions {
  return {
    ...(tls.caCert || tls.caPath ? { ca: readCertificates(tls) } : {}),
    ...(tls.clientCert ? { cert: readTlsFile('NOMAD_CLIENT_CERT', tls.clientCert) } : {}),
    ...(tls.clientKey ? { key: readTlsFile('NOMAD_CLIENT_KEY', tls.clientKey) } : {}),
    ...(tls.serverName ? { servername: tls.serverName } : {}),
    ...(tls.skipVerify ? { rejectUnauthorized: false } : {}),
  };
}

function readTlsFile(variable: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new NomadError(`${variable}: cannot read '${path}': ${(e as Error).message}`);
  }
}

/** NOMAD_CACERT, and every file of NOMAD_CAPATH (a directory, or one file), as the CLI reads them. */
function readCertificates(tls: NomadTls): Buffer[] {
  const files: [string, string][] = [];
  if (tls.caCert) files.push(['NOMAD_CACERT', tls.caCert]);
  if (tls.caPath) {
    let directory = false;
    try {
      directory = statSync(tls.caPath).isDirectory();
    } catch (e) {
      throw new NomadError(`NOMAD_CAPATH: cannot read '${tls.caPath}': ${(e as Error).message}`);
    }
    if (directory) {
      for (const name of readdirSync(tls.caPath).sort()) {
        const file = join(tls.caPath, name);
        if (statSync(file).isFile()) files.push(['NOMAD_CAPATH', file]);
      }
    } else {
      files.push(['NOMAD_CAPATH', tls.caPath]);
    }
  }
  return files.map(([variable, file]) => readTlsFile(variable, file));
}

/** A person wants "connect ECONNREFUSED 127.0.0.1:4646", not an error class. */
function describeNetworkError(e: unknown): string {
  const error = e as { message?: string; name?: string };
  if (error.name === 'AbortError') return 'interrupted';
  return error.message ?? String(e);
}

/**
 * Opens a WebSocket on `path` (the exec endpoint) and returns the reason of the close frame Nomad
 * ends it with, sending nothing but the handshake: an exec the ACL refuses closes with
 * "Permission denied" before any command runs. Empty when Nomad closed without a reason.
 */
export function nomadWebSocketClose(connection: NomadConnection, path: string, options: Pick<RequestOptions, 'timeoutMs'> = {}): Promise<string> {
  const url = urlOf(connection, path);
  const tls = url.protocol === 'https:' ? tlsOptions(connection.tls) : {};
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  const timeoutMs = options.timeoutMs ?? 30_000;
  return new Promise((resolve, reject) => {
    const fail = (e: unknown) => reject(new NomadError(`cannot reach Nomad at ${connection.address}: ${describeNetworkError(e)}`));
    const req = send(url, {
      headers: {
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-version': '13',
        'sec-websocket-key': randomBytes(16).toString('base64'),
        ...(connection.token ? { 'x-nomad-token': connection.token } : {}),
      },
      ...tls,
    });
    req.setTimeout(timeoutMs, () => req.destroy(new TimeoutError(timeoutMs)));
    req.on('error', fail);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve(`${res.statusCode}: ${Buffer.concat(chunks).toString('utf8').trim()}`));
    });
    req.on('upgrade', (_res, socket, head) => {
      let buffer = Buffer.from(head);
      const timer = setTimeout(() => socket.destroy(), timeoutMs);
      const done = (reason: string) => {
        clearTimeout(timer);
        socket.destroy();
        resolve(reason);
      };
      const read = () => {
        // Server frames are unmasked: opcode, then a 7-bit, 16-bit or 64-bit length.
        while (buffer.length >= 2) {
          const opcode = buffer[0]! & 0x0f;
          let length = buffer[1]! & 0x7f;
          let offset = 2;
          if (length === 126) [length, offset] = [buffer.length >= 4 ? buffer.readUInt16BE(2) : Infinity, 4];
          else if (length === 127) [length, offset] = [buffer.length >= 10 ? Number(buffer.readBigUInt64BE(2)) : Infinity, 10];
          if (buffer.length < offset + length) return;
          const payload = buffer.subarray(offset, offset + length);
          buffer = buffer.subarray(offset + length);
          if (opcode === 0x8) return done(payload.length > 2 ? payload.subarray(2).toString('utf8') : '');
        }
      };
      socket.on('data', (chunk: Buffer) => {
        buffer = Buffer.concat([buffer, chunk]);
        read();
      });
      socket.on('end', () => done(''));
      socket.on('error', () => done(''));
      read();
    });
    req.end();
  });
}
