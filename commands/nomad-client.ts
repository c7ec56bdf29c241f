import type { JobDocument } from '../constructs/nomad/api';
import { booleanWord } from '../config/operator-inputs';
import { type HttpResponse, type NomadConnection, NomadError, type NomadTls, nomadRequest, nomadWebSocketClose } from './nomad-http';

export { NomadError, type NomadConnection, type NomadTls } from './nomad-http';

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

/** A job as Nomad stores it: the job fields we send, and Nomad's own (Version, SubmitTime, …). */
export type StoredJob = JobDocument['Job'] & { Version: number; SubmitTime: number; Status: string; Stop: boolean };

/** One of a job's versions, as `/v1/job/<id>/versions` returns it (Go `api.Job` with Stable). */
export type JobVersion = StoredJob & { Stable: boolean };

/** The fields of Go's `api.Evaluation` the commands read. */
export interface Evaluation {
  ID: string;
  Status: 'pending' | 'complete' | 'failed' | 'canceled' | 'blocked';
  StatusDescription?: string;
  BlockedEval?: string;
  FailedTGAllocs?: Record<string, AllocationMetric> | null;
}

/** The fields of Go's `api.AllocationListStub` the commands read. */
export interface AllocationStub {
  ID: string;
  TaskGroup: string;
  ClientStatus: 'pending' | 'running' | 'complete' | 'failed' | 'lost' | 'unknown';
  CreateIndex: number;
  JobVersion?: number;
  NodeName?: string;
  TaskStates?: Record<string, TaskState> | null;
}

export interface TaskState {
  State: 'pending' | 'running' | 'dead';
  Failed: boolean;
  StartedAt?: string;
  FinishedAt?: string;
  Events: Array<{ Type: string; Time: number; ExitCode?: number; DisplayMessage?: string; Details?: Record<string, string> }>;
}

/** An entry of `/v1/client/fs/ls` (Go `api.AllocFileInfo`). */
export interface FileEntry {
  Name: string;
  IsDir: boolean;
  Size: number;
  FileMode: string;
}

/** A deployment, as /v1/deployment returns it (api/deployments.go): the fields we read. */
export interface Deployment {
  ID: string;
  JobID: string;
  JobVersion: number;
  Status: string;
  StatusDescription: string;
  TaskGroups: Record<string, { DesiredTotal: number; PlacedAllocs: number; HealthyAllocs: number; UnhealthyAllocs: number }>;
}

/** Who `/v1/acl/token/self` says the token is (Go `api.ACLToken`: the fields we read). */
export type TokenSelf =
  | { readonly acls: 'off' }
  | { readonly acls: 'on'; readonly known: true; readonly name: string; readonly accessorId: string; readonly type: 'client' | 'management'; readonly policies: readonly string[]; readonly roles: readonly string[] }
  | { readonly acls: 'on'; readonly known: false; readonly anonymous: boolean; /** Nomad's answer: `404: ACL token not found`. */ readonly reason: string };

/** How Nomad answered a capability probe: its status and whether it said "Permission denied". */
export interface ProbeAnswer {
  readonly status: number;
  readonly denied: boolean;
  /** The allocation a probe named is not one Nomad knows: the capability cannot be told with it. */
  readonly unknownAllocation: boolean;
  /** Nomad's words when it refused or failed (never a body that holds a variable's items). */
  readonly reason: string;
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
  // One reading of the switch for synth and the commands: `NOMAD_SKIP_VERIFY=maybe` is refused, never taken for false.
  const skip = booleanWord('NOMAD_SKIP_VERIFY', set('NOMAD_SKIP_VERIFY'));
  const tls: NomadTls = {
    ...optional('caCert', set('NOMAD_CACERT') ?? settings.caFile),
    ...optional('caPath', set('NOMAD_CAPATH')),
    ...optional('clientCert', set('NOMAD_CLIENT_CERT')),
    ...optional('clientKey', set('NOMAD_CLIENT_KEY')),
    ...optional('serverName', set('NOMAD_TLS_SERVER_NAME')),
    ...(settings.skipVerify || skip ? { skipVerify: true } : {}),
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

/**
 * The calls the commands make to Nomad's HTTP API, each typed by what it answers, over the one
 * transport (nomad-http.ts).
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

  /** The job as Nomad stores it, or undefined when there is none. */
  async job(id: string): Promise<StoredJob | undefined> {
    const res = await this.send('GET', `/v1/job/${encodeURIComponent(id)}`, '');
    if (res.status === 404) return undefined;
    return this.json(res, `read job '${id}'`);
  }

  /** Registers a job (`PUT /v1/jobs`, as `nomad job run`); returns the evaluation's ID. */
  async register(document: JobDocument): Promise<string> {
    const res = await this.send('PUT', '/v1/jobs', JSON.stringify(document));
    return this.json<{ EvalID: string }>(res, `register job '${document.Job.ID}'`).EvalID;
  }

  /** Stops a job; with `purge`, removes it and its history (`nomad job stop -purge`). A job that is not there is no error. */
  async deregister(id: string, { purge }: { purge: boolean }): Promise<void> {
    const res = await this.send('DELETE', `/v1/job/${encodeURIComponent(id)}${purge ? '?purge=true' : ''}`, '');
    if (res.status === 404) return;
    this.json(res, `stop job '${id}'`);
  }

  async evaluation(id: string): Promise<Evaluation> {
    return this.json(await this.send('GET', `/v1/evaluation/${encodeURIComponent(id)}`, ''), `read evaluation ${id}`);
  }

  /** The job's allocations, oldest first. */
  async allocations(jobId: string): Promise<AllocationStub[]> {
    const list = this.json<AllocationStub[]>(await this.send('GET', `/v1/job/${encodeURIComponent(jobId)}/allocations`, ''), `list allocations of '${jobId}'`);
    return list.sort((a, b) => a.CreateIndex - b.CreateIndex);
  }

  /** A Nomad Variable's items, or undefined when there is none at that path. */
  async variableItems(path: string): Promise<Record<string, string> | undefined> {
    const res = await this.send('GET', `/v1/var/${path}`, '');
    if (res.status === 404) return undefined;
    return this.json<{ Items: Record<string, string> }>(res, `read variable '${path}'`).Items;
  }

  async putVariable(path: string, items: Record<string, string>): Promise<void> {
    this.json(await this.send('PUT', `/v1/var/${path}`, JSON.stringify({ Path: path, Items: items })), `write variable '${path}'`);
  }

  async deleteVariable(path: string): Promise<void> {
    const res = await this.send('DELETE', `/v1/var/${path}`, '');
    if (res.status !== 404) this.json(res, `delete variable '${path}'`);
  }

  /**
   * What a task has written to stdout or stderr from `offset` on (`/v1/client/fs/logs`, plain).
   * Empty while the task has not started (its log file does not exist yet).
   */
  async logs(allocId: string, task: string, type: 'stdout' | 'stderr', offset: number): Promise<Buffer> {
    const query = `task=${encodeURIComponent(task)}&type=${type}&origin=start&offset=${offset}&plain=true`;
    const res = await this.send('GET', `/v1/client/fs/logs/${allocId}?${query}`, '');
    if (res.status === 404 || (res.status === 500 && /no such file|not found|does not exist/i.test(res.text))) return Buffer.alloc(0);
    if (res.status !== 200) throw new NomadError(`Nomad at ${this.connection.address} refused the ${type} of task '${task}' (${res.status}): ${res.text.trim()}`, res.status);
    return res.body;
  }

  /** The entries of a directory of an allocation (`/v1/client/fs/ls`), path relative to the allocation directory. */
  async listFiles(allocId: string, path: string): Promise<FileEntry[]> {
    return this.json(await this.send('GET', `/v1/client/fs/ls/${allocId}?path=${encodeURIComponent(path)}`, ''), `list ${path} of allocation ${allocId}`);
  }

  /** A file of an allocation, byte for byte (`/v1/client/fs/cat`). */
  async readFile(allocId: string, path: string): Promise<Buffer> {
    const res = await this.send('GET', `/v1/client/fs/cat/${allocId}?path=${encodeURIComponent(path)}`, '');
    if (res.status !== 200) throw new NomadError(`Nomad at ${this.connection.address} refused to read ${path} of allocation ${allocId} (${res.status}): ${res.text.trim()}`, res.status);
    return res.body;
  }

  private json<T>(res: HttpResponse, what: string): T {
    if (res.status < 200 || res.status > 299) throw new NomadError(`Nomad at ${this.connection.address} refused to ${what} (${res.status}): ${res.text.trim()}`, res.status);
    return (res.text.trim() === '' ? undefined : JSON.parse(res.text)) as T;
  }

  /** The job's deployments, newest first; none when there is no such job. */
  async deployments(jobId: string): Promise<Deployment[]> {
    const res = await this.send('GET', `/v1/job/${encodeURIComponent(jobId)}/deployments`, '');
    if (res.status === 404) return [];
    if (res.status !== 200) throw new NomadError(`Nomad at ${this.connection.address} refused to list job '${jobId}''s deployments (${res.status}): ${res.text.trim()}`, res.status);
    return (JSON.parse(res.text) as Deployment[] | null) ?? [];
  }

  // --- capability checks (commands/capabilities.ts, commands/doctor.ts) ---

  /** Who the token is (`/v1/acl/token/self`), or that the cluster runs without ACLs. */
  async tokenSelf(): Promise<TokenSelf> {
    const res = await this.send('GET', '/v1/acl/token/self', '');
    const text = res.text.trim();
    if (res.status === 400 && /ACL support disabled/i.test(text)) return { acls: 'off' };
    if (res.status === 200) {
      const t = JSON.parse(res.text) as { Name: string; AccessorID: string; Type: 'client' | 'management'; Policies: string[] | null; Roles: Array<{ Name: string }> | null };
      return { acls: 'on', known: true, name: t.Name, accessorId: t.AccessorID, type: t.Type, policies: t.Policies ?? [], roles: (t.Roles ?? []).map((r) => r.Name) };
    }
    if (/missing secret id/i.test(text)) return { acls: 'on', known: false, anonymous: true, reason: 'NOMAD_TOKEN is not set' };
    return { acls: 'on', known: false, anonymous: false, reason: `${res.status}: ${text}` };
  }

  /** The cluster's leader (`/v1/status/leader`): answers with or without a token, so it tells reachable from allowed. */
  async leader(): Promise<string> {
    return this.json<string>(await this.send('GET', '/v1/status/leader', ''), 'say who leads the cluster');
  }

  /**
   * A request whose status is the answer (a capability probe): the body stays here, as a
   * variable read or a CAS conflict answers with the variable's items.
   */
  async probe(method: string, path: string, body = ''): Promise<ProbeAnswer> {
    const res = await this.send(method, path, body);
    return { status: res.status, denied: /permission denied/i.test(res.text), unknownAllocation: /unknown allocation/i.test(res.text), reason: res.status >= 300 && res.status !== 409 ? res.text.trim().slice(0, 200) : '' };
  }

  /** The close reason of `/v1/client/allocation/<id>/exec` for a task the allocation does not have: Nomad checks alloc-exec first, and runs nothing. */
  async execProbe(allocId: string, task: string): Promise<ProbeAnswer> {
    const query = new URLSearchParams({ task, command: JSON.stringify(['/bin/true']), tty: 'false' });
    const reason = await nomadWebSocketClose(this.connection, `/v1/client/allocation/${encodeURIComponent(allocId)}/exec?${query}`, { timeoutMs: this.timeoutMs });
    return { status: 0, denied: /permission denied/i.test(reason), unknownAllocation: /unknown allocation/i.test(reason), reason };
  }

  // --- end of capability checks ---

  // --- rollback and console (commands/rollback.ts, commands/console.ts) ---

  /** The job's versions as Nomad keeps them, newest first; none when there is no such job. */
  async versions(jobId: string): Promise<JobVersion[]> {
    const res = await this.send('GET', `/v1/job/${encodeURIComponent(jobId)}/versions`, '');
    if (res.status === 404) return [];
    const { Versions } = this.json<{ Versions: JobVersion[] | null }>(res, `list the versions of job '${jobId}'`);
    return (Versions ?? []).sort((a, b) => b.Version - a.Version);
  }

  // --- end rollback and console ---

  private send(method: string, path: string, body?: string): Promise<HttpResponse> {
    return nomadRequest(this.connection, method, path, { ...(body ? { body } : {}), timeoutMs: this.timeoutMs });
  }
}
