/** The little of Nomad's HTTP API the end-to-end tests read. */
export interface StoredJob {
  ID: string;
  Version: number;
  Stop: boolean;
  Status: string;
  TaskGroups: Array<Record<string, any>>;
  [key: string]: unknown;
}

export class NomadApi {
  constructor(readonly address: string) {}

  private async get(path: string): Promise<Response> {
    return fetch(`${this.address}${path}`, { signal: AbortSignal.timeout(10_000) });
  }

  private async send(method: string, path: string, body: unknown): Promise<any> {
    const res = await fetch(`${this.address}${path}`, {
      method,
      body: JSON.stringify(body),
      headers: { 'content-type': 'application/json' },
      signal: AbortSignal.timeout(10_000),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return JSON.parse(text);
  }

  /** Registers a job document (`{"Job": …}`), as the provider does for `json = true`. */
  async register(document: { Job: unknown }): Promise<{ EvalID: string; JobModifyIndex: number }> {
    return this.send('PUT', '/v1/jobs', document);
  }

  /** Nomad's plan of a job against the registered one: the diff `nomad job plan` prints. */
  async plan(document: { Job: { ID: string } }): Promise<{ Diff: { Type: string; TaskGroups: Array<{ Name: string; Type: string }> } }> {
    return this.send('PUT', `/v1/job/${encodeURIComponent(document.Job.ID)}/plan`, { ...document, Diff: true });
  }

  /** The job as Nomad stored it, or undefined when there is none. */
  async job(id: string): Promise<StoredJob | undefined> {
    const res = await this.get(`/v1/job/${encodeURIComponent(id)}`);
    if (res.status === 404) return undefined;
    if (!res.ok) throw new Error(`GET /v1/job/${id}: ${res.status} ${await res.text()}`);
    return (await res.json()) as StoredJob;
  }

  /** Every stored version, newest first, with Nomad's diff of each against the one before. */
  async versions(id: string): Promise<{ Versions: StoredJob[]; Diffs: Array<{ TaskGroups?: Array<{ Name: string; Type: string }> } | null> }> {
    const res = await this.get(`/v1/job/${encodeURIComponent(id)}/versions?diffs=true`);
    if (!res.ok) throw new Error(`GET /v1/job/${id}/versions: ${res.status} ${await res.text()}`);
    return (await res.json()) as never;
  }

  /** A Nomad Variable's items, or undefined when there is none at that path. */
  async variableItems(path: string): Promise<Record<string, string> | undefined> {
    const res = await this.get(`/v1/var/${path}`);
    if (res.status === 404) return undefined;
    if (!res.ok) throw new Error(`GET /v1/var/${path}: ${res.status} ${await res.text()}`);
    return ((await res.json()) as { Items: Record<string, string> }).Items;
  }

  /** The job's allocations, newest first. */
  async allocations(jobId: string): Promise<Array<{ ID: string; ClientStatus: string; TaskGroup: string; TaskStates?: Record<string, { State: string; Failed: boolean; Events: Array<{ Type: string; DisplayMessage: string }> }> }>> {
    const res = await this.get(`/v1/job/${encodeURIComponent(jobId)}/allocations`);
    if (!res.ok) throw new Error(`GET /v1/job/${jobId}/allocations: ${res.status} ${await res.text()}`);
    return ((await res.json()) as Array<{ ID: string; ClientStatus: string; TaskGroup: string; CreateIndex: number }>).sort((a, b) => b.CreateIndex - a.CreateIndex) as never;
  }

  /** Waits for an allocation of the job in a client status, failing with its task events after `seconds`. */
  async waitForAllocation(jobId: string, status: 'running' | 'complete', seconds = 60): Promise<string> {
    const deadline = Date.now() + seconds * 1000;
    let last: unknown;
    while (Date.now() < deadline) {
      const [alloc] = await this.allocations(jobId);
      last = alloc;
      if (alloc?.ClientStatus === status) return alloc.ID;
      await new Promise((r) => setTimeout(r, 500));
    }
    throw new Error(`no allocation of ${jobId} became ${status} in ${seconds}s; last: ${JSON.stringify(last)}`);
  }

  /** A file of an allocation, as `/v1/client/fs/cat` returns it (path relative to the allocation directory). */
  async readAllocFile(allocId: string, path: string): Promise<string> {
    const res = await this.get(`/v1/client/fs/cat/${allocId}?path=${encodeURIComponent(path)}`);
    if (!res.ok) throw new Error(`fs/cat ${path}: ${res.status} ${await res.text()}`);
    return res.text();
  }

  /** The mode of a file of an allocation (`-rw-------`). */
  async allocFileMode(allocId: string, path: string): Promise<string> {
    const res = await this.get(`/v1/client/fs/stat/${allocId}?path=${encodeURIComponent(path)}`);
    if (!res.ok) throw new Error(`fs/stat ${path}: ${res.status} ${await res.text()}`);
    return ((await res.json()) as { FileMode: string }).FileMode;
  }

  /** A task's state in an allocation, from the allocation itself (restarts, events). */
  async taskState(allocId: string, task: string): Promise<{ State: string; Restarts: number; Events: Array<{ Type: string; DisplayMessage: string }> }> {
    const res = await this.get(`/v1/allocation/${allocId}`);
    if (!res.ok) throw new Error(`GET /v1/allocation/${allocId}: ${res.status} ${await res.text()}`);
    const state = ((await res.json()) as { TaskStates?: Record<string, never> }).TaskStates?.[task];
    if (!state) throw new Error(`allocation ${allocId} has no task ${task}`);
    return state;
  }
}
