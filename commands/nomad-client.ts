import { readdirSync, readFileSync, statSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import type { JobDocument } from '../constructs/nomad/api';

/**
 * What Nomad's plan endpoint (`PUT /v1/job/<id>/plan` with `Diff: true`) answers: the Go
 * `api.JobPlanResponse` and the structs it holds (api/jobs.go, api/allocations.go). API
 * responses, not job fields, so they live here rather than in constructs/nomad/api.ts.
 */
export interface JobPlanResponse {
  JobModifyIndex: number;
  Diff: JobDiff;
  Annotations: PlanAnnotations | null;
  FailedTGAllocs: Record<string, AllocationMetric> | null;
  Warnings: string;
}

export type DiffType = 'None' | 'Added' | 'Deleted' | 'Edited';

export interface JobDiff {
  Type: DiffType;
  ID: string;
  Fields: FieldDiff[] | null;
  Objects: ObjectDiff[] | null;
  TaskGroups: TaskGroupDiff[] | null;
}

export interface TaskGroupDiff {
  Type: DiffType;
  Name: string;
  Fields: FieldDiff[] | null;
  Objects: ObjectDiff[] | null;
  Tasks: TaskDiff[] | null;
  /** What the scheduler would do to the group's allocations, e.g. `{ "create/destroy update": 1 }`. */
  Updates: Record<string, number> | null;
}

export interface TaskDiff {
  Type: DiffType;
  Name: string;
  Fields: FieldDiff[] | null;
  Objects: ObjectDiff[] | null;
  Annotations: string[] | null;
}

export interface FieldDiff {
  Type: DiffType;
  Name: string;
  Old: string;
  New: string;
  Annotations: string[] | null;
}

export interface ObjectDiff {
  Type: DiffType;
  Name: string;
  Fields: FieldDiff[] | null;
  Objects: ObjectDiff[] | null;
}

export interface PlanAnnotations {
  DesiredTGUpdates: Record<string, DesiredUpdates> | null;
}

export interface DesiredUpdates {
  Ignore: number;
  Place: number;
  Migrate: number;
  Stop: number;
  InPlaceUpdate: number;
  DestructiveUpdate: number;
  Canary: number;
  Preemptions: number;
}

/** Why the scheduler could not place a group's allocations (Go `api.AllocationMetric`). */
export interface AllocationMetric {
  NodesEvaluated: number;
  NodesFiltered: number;
  NodesInPool?: number;
  NodesAvailable: Record<string, number> | null;
  ClassFiltered: Record<string, number> | null;
  ConstraintFiltered: Record<string, number> | null;
  NodesExhausted: number;
  ClassExhausted: Record<string, number> | null;
  DimensionExhausted: Record<string, number> | null;
  QuotaExhausted: string[] | null;
  CoalescedFailures: number;
}

/**
 * How to reach a Nomad API: what the `nomad` CLI reads from its environment, with the
 * environment's config (config/*.ts) taking precedence where it says something.
 */
/** A deployment, as /v1/deployment returns it (api/deployments.go): the fields we read. */
export interface Deployment {
  ID: string;
  JobID: string;
  JobVersion: number;
  Status: string;
  StatusDescription: string;
  TaskGroups: Record<string, { DesiredTotal: number; PlacedAllocs: number; HealthyAllocs: number; UnhealthyAllocs: number }>;
}

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

/** What config/ knows of the cluster (`Environment['nomad']`). */
export interface NomadSettings {
  readonly address?: string;
  readonly region?: string;
  readonly namespace?: string;
  readonly caFile?: string;
  readonly skipVerify?: boolean;
}

/**
 * The connection the CLI would use, from the variables it reads: NOMAD_ADDR, NOMAD_TOKEN,
 * NOMAD_REGION, NOMAD_NAMESPACE, NOMAD_CACERT / NOMAD_CAPATH, NOMAD_CLIENT_CERT,
 * NOMAD_CLIENT_KEY, NOMAD_SKIP_VERIFY, NOMAD_TLS_SERVER_NAME. An address in config wins over
 * NOMAD_ADDR (the local environment's, so a shell that sourced production's nomad.sh cannot
 * plan against production); so do its region, namespace, CA file and skip-verify switch.
 */
export function nomadConnection(settings: NomadSettings, env: Readonly<Record<string, string | undefined>>): NomadConnection {
  const set = (name: string): string | undefined => (env[name] ? env[name] : undefined);
  const skip = set('NOMAD_SKIP_VERIFY');
  const tls: NomadTls = {
    ...optional('caCert', set('NOMAD_CACERT') ?? settings.caFile),
    ...optional('caPath', set('NOMAD_CAPATH')),
    ...optional('clientCert', set('NOMAD_CLIENT_CERT')),
    ...optional('clientKey', set('NOMAD_CLIENT_KEY')),
    ...optional('serverName', set('NOMAD_TLS_SERVER_NAME')),
    ...(settings.skipVerify || (skip !== undefined && ['1', 'true'].includes(skip.toLowerCase())) ? { skipVerify: true } : {}),
  };
  return {
    address: (settings.address ?? set('NOMAD_ADDR') ?? 'http://127.0.0.1:4646').replace(/\/+$/, ''),
    ...optional('token', set('NOMAD_TOKEN')),
    ...optional('region', settings.region ?? set('NOMAD_REGION')),
    ...optional('namespace', settings.namespace ?? set('NOMAD_NAMESPACE')),
    tls,
  };
}

function optional<K extends string>(key: K, value: string | undefined): Partial<Record<K, string>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, string>);
}

/** Nomad answered with an error status, or could not be reached. */
export class NomadError extends Error {
  constructor(message: string, readonly status?: number) {
    super(message);
    this.name = 'NomadError';
  }
}

interface HttpResponse {
  readonly status: number;
  readonly text: string;
}

/**
 * The few calls `npm run plan` makes to Nomad's HTTP API, with Node's own HTTP clients and no
 * library. Plain HTTP and HTTPS with the system's CAs go through `fetch`; Node's fetch (undici)
 * takes TLS options only through an undici Agent, which Node 20 does not let us import, so a
 * request with a CA, a client certificate, a server name or skip-verify goes through
 * `node:https`, which takes them directly.
 */
export class NomadClient {
  constructor(
    readonly connection: NomadConnection,
    private readonly timeoutMs = 30_000,
  ) {}

  /** Nomad's plan of a job against the registered one: its diff and the scheduler's dry run. Changes nothing. */
  async plan(document: JobDocument): Promise<JobPlanResponse> {
    const path = `/v1/job/${encodeURIComponent(document.Job.ID)}/plan`;
    const res = await this.send('PUT', path, JSON.stringify({ ...document, Diff: true }));
    if (res.status !== 200) {
      throw new NomadError(`Nomad at ${this.connection.address} refused the plan of job '${document.Job.ID}' (${res.status}): ${res.text.trim()}`, res.status);
    }
    return JSON.parse(res.text) as JobPlanResponse;
  }

  /** The job's deployments, newest first; none when there is no such job. */
  async deployments(jobId: string): Promise<Deployment[]> {
    const res = await this.send('GET', `/v1/job/${encodeURIComponent(jobId)}/deployments`);
    if (res.status === 404) return [];
    if (res.status !== 200) throw new NomadError(`Nomad at ${this.connection.address} refused to list job '${jobId}''s deployments (${res.status}): ${res.text.trim()}`, res.status);
    return (JSON.parse(res.text) as Deployment[] | null) ?? [];
  }

  private url(path: string): URL {
    const url = new URL(`${this.connection.address}${path}`);
    if (this.connection.region) url.searchParams.set('region', this.connection.region);
    if (this.connection.namespace) url.searchParams.set('namespace', this.connection.namespace);
    return url;
  }

  private headers(): Record<string, string> {
    return {
      'content-type': 'application/json',
      ...(this.connection.token ? { 'x-nomad-token': this.connection.token } : {}),
    };
  }

  private async send(method: string, path: string, body?: string): Promise<HttpResponse> {
    const url = this.url(path);
    // Certificate files are read first: a missing file is named as such, not as an unreachable Nomad.
    const tls = url.protocol === 'https:' && hasTlsOptions(this.connection.tls) ? tlsOptions(this.connection.tls) : undefined;
    try {
      if (tls) return await this.sendTls(method, url, body, tls);
      const res = await fetch(url, { method, body, headers: this.headers(), signal: AbortSignal.timeout(this.timeoutMs) });
      return { status: res.status, text: await res.text() };
    } catch (e) {
      throw new NomadError(`cannot reach Nomad at ${this.connection.address}: ${describeNetworkError(e)}`);
    }
  }

  private sendTls(method: string, url: URL, body: string | undefined, tls: TlsOptions): Promise<HttpResponse> {
    const options = {
      method,
      headers: { ...this.headers(), 'content-length': String(Buffer.byteLength(body ?? '')) },
      timeout: this.timeoutMs,
      ...tls,
    };
    return new Promise((resolve, reject) => {
      const req = httpsRequest(url, options, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`no answer in ${this.timeoutMs / 1000}s`)));
      req.on('error', reject);
      req.end(body);
    });
  }
}

interface TlsOptions {
  ca?: Buffer[];
  cert?: Buffer;
  key?: Buffer;
  servername?: string;
  rejectUnauthorized: boolean;
}

function tlsOptions(tls: NomadTls): TlsOptions {
  return {
    ...(tls.caCert || tls.caPath ? { ca: readCertificates(tls) } : {}),
    ...(tls.clientCert ? { cert: readTlsFile('NOMAD_CLIENT_CERT', tls.clientCert) } : {}),
    ...(tls.clientKey ? { key: readTlsFile('NOMAD_CLIENT_KEY', tls.clientKey) } : {}),
    ...(tls.serverName ? { servername: tls.serverName } : {}),
    rejectUnauthorized: !tls.skipVerify,
  };
}

function readTlsFile(variable: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new NomadError(`${variable}: cannot read '${path}': ${(e as Error).message}`);
  }
}

function hasTlsOptions(tls: NomadTls): boolean {
  return Boolean(tls.caCert || tls.caPath || tls.clientCert || tls.clientKey || tls.serverName || tls.skipVerify);
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

/** fetch hides the reason in `cause`; a person wants "ECONNREFUSED 127.0.0.1:4646", not "fetch failed". */
function describeNetworkError(e: unknown): string {
  const error = e as { message?: string; cause?: { code?: string; message?: string }; code?: string; name?: string };
  if (error.name === 'TimeoutError') return 'no answer in time';
  const cause = error.cause;
  if (cause?.message) return cause.message;
  return error.message ?? String(e);
}
