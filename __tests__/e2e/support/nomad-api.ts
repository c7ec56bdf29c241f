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
}
