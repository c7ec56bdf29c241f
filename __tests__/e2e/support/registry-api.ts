import { gunzipSync } from 'node:zlib';

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

  /** The layers of a tag's image, each as its (decompressed) tar bytes. */
  async layers(repository: string, tag: string): Promise<Buffer[]> {
    const res = await fetch(`http://${this.address}/v2/${repository}/manifests/${tag}`, {
      headers: this.headers({ accept: 'application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json' }),
    });
    if (!res.ok) throw new Error(`manifest of ${repository}:${tag}: ${res.status} ${await res.text()}`);
    const manifest = (await res.json()) as { layers: Array<{ digest: string; mediaType: string }> };
    return Promise.all(
      manifest.layers.map(async (layer) => {
        const blob = await fetch(`http://${this.address}/v2/${repository}/blobs/${layer.digest}`, { headers: this.headers() });
        if (!blob.ok) throw new Error(`blob ${layer.digest}: ${blob.status}`);
        const bytes = Buffer.from(await blob.arrayBuffer());
        return layer.mediaType.includes('gzip') ? gunzipSync(bytes) : bytes;
      }),
    );
  }
}

/** The paths in a tar archive (ustar headers; no long-name extensions needed for our short paths). */
export function tarPaths(tar: Buffer): string[] {
  const paths: string[] = [];
  for (let offset = 0; offset + 512 <= tar.length; ) {
    const header = tar.subarray(offset, offset + 512);
    if (header.every((b) => b === 0)) break;
    const name = header.subarray(0, 100).toString('utf8').replace(/\0.*$/s, '');
    const prefix = header.subarray(345, 500).toString('utf8').replace(/\0.*$/s, '');
    const size = parseInt(header.subarray(124, 136).toString('utf8').replace(/\0.*$/s, '').trim() || '0', 8);
    paths.push(prefix ? `${prefix}/${name}` : name);
    offset += 512 + Math.ceil(size / 512) * 512;
  }
  return paths;
}
