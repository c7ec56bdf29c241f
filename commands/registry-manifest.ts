import { type IncomingHttpHeaders, request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

/**
 * Whether a registry still holds an image by digest: `HEAD /v2/<repository>/manifests/<digest>`
 * of the registry's v2 API, with the push credentials (basic auth, or the bearer token a
 * registry's `WWW-Authenticate` challenge sends for). A registry that cannot be read is an
 * error, never taken for an image that is gone.
 */
export interface RegistryAccess {
  /** The registry speaks plain HTTP (the local environment's). */
  readonly plainHttp: boolean;
  readonly username?: string;
  readonly password?: string;
  /** @default 15_000 */
  readonly timeoutMs?: number;
}

/** The registry could not say: unreachable, credentials refused, an unexpected answer. */
export class RegistryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RegistryError';
  }
}

const MANIFEST_TYPES = [
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
].join(', ');

/** `registry[:port]/repository@sha256:…` in its parts. */
export function parseDigestReference(reference: string): { registry: string; repository: string; digest: string } {
  const m = /^([^/]+)\/(.+)@(sha256:[a-f0-9]{64})$/.exec(reference);
  if (!m) throw new RegistryError(`'${reference}' is not registry/repository@sha256:<digest>`);
  return { registry: m[1]!, repository: m[2]!, digest: m[3]! };
}

export async function manifestPresent(reference: string, access: RegistryAccess): Promise<boolean> {
  const { registry, repository, digest } = parseDigestReference(reference);
  const url = `${access.plainHttp ? 'http' : 'https'}://${registry}/v2/${repository}/manifests/${digest}`;
  const basic = access.username ? `Basic ${Buffer.from(`${access.username}:${access.password ?? ''}`).toString('base64')}` : undefined;
  let res = await send('HEAD', url, { accept: MANIFEST_TYPES, ...(basic ? { authorization: basic } : {}) }, access);
  const challenge = String(res.headers['www-authenticate'] ?? '');
  if (res.status === 401 && /^Bearer /i.test(challenge)) {
    const token = await bearerToken(challenge, repository, basic, access);
    res = await send('HEAD', url, { accept: MANIFEST_TYPES, authorization: `Bearer ${token}` }, access);
  }
  if (res.status === 200) return true;
  if (res.status === 404) return false;
  if (res.status === 401 || res.status === 403) {
    throw new RegistryError(`the registry ${registry} refused ${access.username ? `the credentials of '${access.username}' (DOCKER_REGISTRY_USER/DOCKER_REGISTRY_PASS)` : 'to answer without credentials: set DOCKER_REGISTRY_USER and DOCKER_REGISTRY_PASS'} (${res.status})`);
  }
  throw new RegistryError(`the registry ${registry} answered ${res.status} to HEAD /v2/${repository}/manifests/${digest}`);
}

/** The token service a `Bearer realm="…",service="…"` challenge names, asked for pull access. */
async function bearerToken(challenge: string, repository: string, basic: string | undefined, access: RegistryAccess): Promise<string> {
  const params = Object.fromEntries([...challenge.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]));
  if (!params.realm) throw new RegistryError(`the registry's challenge names no token service: ${challenge}`);
  const query = new URLSearchParams({ ...(params.service ? { service: params.service } : {}), scope: `repository:${repository}:pull` });
  const res = await send('GET', `${params.realm}?${query}`, basic ? { authorization: basic } : {}, access);
  if (res.status !== 200) throw new RegistryError(`the registry's token service ${params.realm} answered ${res.status}${access.username ? ` for '${access.username}'` : ''}`);
  const body = JSON.parse(res.body) as { token?: string; access_token?: string };
  const token = body.token ?? body.access_token;
  if (!token) throw new RegistryError(`the registry's token service ${params.realm} sent no token`);
  return token;
}

function send(method: string, url: string, headers: Record<string, string>, access: RegistryAccess): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> {
  const host = new URL(url).host;
  return new Promise((resolve, reject) => {
    const request = (url.startsWith('https:') ? httpsRequest : httpRequest)(url, { method, headers, timeout: access.timeoutMs ?? 15_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', (e) => reject(new RegistryError(`cannot read the registry at ${host}: ${e.message}`)));
    });
    request.on('timeout', () => request.destroy(new Error(`no answer in ${(access.timeoutMs ?? 15_000) / 1000}s`)));
    request.on('error', (e) => reject(new RegistryError(`cannot reach the registry at ${host}: ${(e as NodeJS.ErrnoException).code ?? e.message}`)));
    request.end();
  });
}
