import { spawnSync } from 'node:child_process';
import { request } from 'node:http';

/**
 * The few Docker Engine API calls the docker provider makes to build and push, sent to the
 * socket `local:up` serves (podman's Docker-compatible API).
 */
export class DockerApi {
  private readonly socketPath: string;

  constructor(dockerHost: string) {
    if (!dockerHost.startsWith('unix://')) throw new Error(`DOCKER_HOST '${dockerHost}' is not a unix socket`);
    this.socketPath = dockerHost.slice('unix://'.length);
  }

  private call(method: string, path: string, body?: Buffer, headers: Record<string, string> = {}): Promise<{ status: number; text: string }> {
    return new Promise((resolve, reject) => {
      const req = request({ socketPath: this.socketPath, method, path, headers, timeout: 120_000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      });
      req.on('error', reject);
      req.end(body);
    });
  }

  /** Whether the API answers `GET /_ping` with OK. */
  async ping(): Promise<boolean> {
    const res = await this.call('GET', '/_ping');
    return res.status === 200 && res.text === 'OK';
  }

  /** Builds a context directory (sent as a tar, as `docker build` sends it) and tags it. */
  async build(context: string, tag: string): Promise<void> {
    const tar = spawnSync('tar', ['-C', context, '-c', '.'], { maxBuffer: 64 * 1024 * 1024 });
    if (tar.status !== 0) throw new Error(`tar of ${context} failed: ${tar.stderr}`);
    const res = await this.call('POST', `/v1.41/build?t=${encodeURIComponent(tag)}&dockerfile=Dockerfile`, tar.stdout, {
      'content-type': 'application/x-tar',
    });
    const error = streamError(res.text);
    if (res.status !== 200 || error) throw new Error(`build of ${tag}: ${res.status} ${error ?? res.text.slice(0, 500)}`);
  }

  /** Pushes a tag with X-Registry-Auth; returns the error the stream reports, if any. */
  async push(name: string, tag: string, auth: { username: string; password: string; serveraddress: string }): Promise<string | undefined> {
    // Go's base64.URLEncoding, as the docker CLI sends it: URL alphabet, with padding.
    const header = Buffer.from(JSON.stringify(auth)).toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
    const res = await this.call('POST', `/v1.41/images/${encodeURIComponent(name)}/push?tag=${encodeURIComponent(tag)}`, undefined, {
      'x-registry-auth': header,
    });
    if (res.status !== 200) return `${res.status} ${res.text.slice(0, 500)}`;
    return streamError(res.text);
  }
}

/** The first error in a Docker API progress stream (one JSON object per line). */
function streamError(stream: string): string | undefined {
  for (const line of stream.split('\n')) {
    if (!line.trim()) continue;
    try {
      const message = JSON.parse(line) as { error?: string; errorDetail?: { message?: string } };
      if (message.error || message.errorDetail) return message.errorDetail?.message ?? message.error;
    } catch {
      // Not JSON: podman sometimes interleaves plain lines.
    }
  }
  return undefined;
}
