/** Reads a Docker registry (v2 API) with basic auth. */
export class RegistryApi {
  constructor(
    readonly address: string,
    private readonly username: string,
    private readonly password: string,
  ) {}

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    return { authorization: `Basic ${Buffer.from(`${this.username}:${this.password}`).toString('base64')}`, ...extra };
  }

  async tags(repository: string): Promise<string[]> {
    const res = await fetch(`http://${this.address}/v2/${repository}/tags/list`, { headers: this.headers() });
    if (res.status === 404) return [];
    if (!res.ok) throw new Error(`tags of ${repository}: ${res.status} ${await res.text()}`);
    return ((await res.json()) as { tags: string[] | null }).tags ?? [];
  }

  /** The digest the registry gives the manifest of a tag (what `name@sha256:…` pulls). */
  async digest(repository: string, tag: string): Promise<string> {
    const res = await fetch(`http://${this.address}/v2/${repository}/manifests/${tag}`, {
      method: 'HEAD',
      headers: this.headers({
        accept: [
          'application/vnd.docker.distribution.manifest.v2+json',
          'application/vnd.oci.image.manifest.v1+json',
          'application/vnd.docker.distribution.manifest.list.v2+json',
          'application/vnd.oci.image.index.v1+json',
        ].join(', '),
      }),
    });
    const digest = res.headers.get('docker-content-digest');
    if (!res.ok || !digest) throw new Error(`manifest of ${repository}:${tag}: ${res.status}`);
    return digest;
  }
}
