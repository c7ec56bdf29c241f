import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { request as httpRequest, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { emptyRuntimeConfig, missingRuntimeConfig } from '../config/runtime-config';
import type { Environment } from '../config/schema';
import { localStatePath } from '../config/state';
import { PROVIDER_VERSIONS, TERRAFORM_MIN_VERSION } from '../config/tools';
import { ALL_NEEDS, checkCapabilities, deployNeeds, deployPolicy, NEED_WORDS } from './capabilities';
import { type Command, type CommandIo, CommandError, ENVIRONMENT_NAMES, EXIT, parseCommandLine, runMain } from './cli';
import { connect } from './connect';
import type { NomadClient } from './nomad-client';
import { stateLock } from './deploy-report';
import { brokenStateFix, readStateFile } from './terraform-state';

const USAGE = `usage: npm run doctor -- <environment> [--json]   (${ENVIRONMENT_NAMES})

Checks everything a deploy of the environment from this machine needs, changing nothing: Node,
Terraform and its providers, the state, Nomad and the token's capabilities, the image registry
(push and pull credentials), the runtime configuration, and the Docker daemon that builds. One
line per check on stdout, each failure with its fix; --json prints the checks as JSON.
Exit status: 0 a deploy could run, 1 something it needs is missing (the last line says what), 130 interrupted.`;

export type Status = 'ok' | 'fail' | 'warn' | 'skip';

export interface Check {
  /** What is checked, as the line starts: `terraform`, `nomad token`, `variable write on nomad/jobs/rails`. */
  readonly name: string;
  readonly status: Status;
  readonly detail: string;
  /** One line: what to do about a failure. */
  readonly fix?: string;
}

/** The fix of a capability the token lacks: the policy follows the checks. */
const POLICY_FIX = "add it to the token's policy (printed below)";

const MARK: Record<Status, string> = { ok: 'ok  ', fail: 'FAIL', warn: 'warn', skip: 'skip' };

export function formatCheck(c: Check): string {
  return `${MARK[c.status]}  ${c.name}: ${c.detail}${c.fix ? `\n      fix: ${c.fix}` : ''}`;
}

/** `npm run doctor -- <env>`: every check, one line each; exits 0 only when a deploy could run. */
export const doctorCommand: Command = {
  name: 'doctor',
  usage: USAGE,
  async run(args, io) {
    const { positionals, options } = parseCommandLine(args, { json: { type: 'boolean' } }, { positionals: ['environment'] });
    const { environment, nomad } = connect(positionals[0]!, io, { timeoutMs: 10_000 });
    const checks: Check[] = [];
    const add = (c: Check) => {
      checks.push(c);
      if (!options.json) io.stdout(`${formatCheck(c)}\n`);
    };
    for (const c of await toolChecks(io)) add(c);
    add(stateCheck(environment, io));
    let policyNeeded = false;
    for await (const c of nomadChecks(nomad, environment)) {
      if (io.signal.aborted) return EXIT.interrupted;
      add(c);
      policyNeeded ||= c.fix === POLICY_FIX;
    }
    for (const c of await registryChecks(environment, io)) add(c);
    add(runtimeConfigCheck(environment));
    for (const c of await imageChecks(environment, io)) add(c);
    if (io.signal.aborted) return EXIT.interrupted;

    const failed = checks.filter((c) => c.status === 'fail');
    if (options.json) io.stdout(`${JSON.stringify({ environment: environment.name, ok: failed.length === 0, checks }, null, 2)}\n`);
    else if (policyNeeded) io.stdout(`\nthe token's policy (nomad acl policy apply dashboard-deploy policy.hcl; README "Registry credentials"):\n${deployPolicy(environment.job.id, nomad.connection.namespace ?? environment.nomad.namespace ?? 'default')}\n`);
    if (failed.length > 0) {
      throw new CommandError(`doctor: a deploy of '${environment.name}' cannot run from this machine: ${failed.length} of ${checks.length} checks failed: ${failed.map((c) => c.name).join(', ')}`);
    }
    io.stderr(`doctor: a deploy of '${environment.name}' can run from this machine (${checks.length} checks)\n`);
    return EXIT.ok;
  },
};

// --- Node, Terraform, providers ---------------------------------------------------------------

async function toolChecks(io: Pick<CommandIo, 'env' | 'cwd'>): Promise<Check[]> {
  return [nodeCheck(io.cwd), terraformCheck(io.env), await providersCheck(io.env)];
}

/** Compares dotted versions: negative when a < b. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

function nodeCheck(cwd: string): Check {
  // package.json's engines is the fact, stated nowhere else.
  let wanted: string | undefined;
  try {
    wanted = (JSON.parse(readFileSync(join(cwd, 'package.json'), 'utf8')) as { engines?: { node?: string } }).engines?.node;
  } catch {
    // no package.json here: said below
  }
  if (wanted === undefined) return { name: 'node', status: 'warn', detail: `v${process.versions.node}; no engines.node in ${join(cwd, 'package.json')} to check it against` };
  return nodeVersionCheck(process.versions.node, wanted);
}

/**
 * Node against package.json's `engines.node`, as `^x.y.z` (x.y.z or later within major x, the
 * one tested) or `>=x.y.z`: older fails; a later major than `^` names is untested, so a warning.
 */
export function nodeVersionCheck(have: string, wanted: string): Check {
  const range = /^\s*(\^|>=)\s*v?(\d+(?:\.\d+){0,2})\s*$/.exec(wanted);
  if (!range) return { name: 'node', status: 'warn', detail: `v${have}; package.json's engines.node '${wanted}' is not a range this check reads (^x.y.z or >=x.y.z)` };
  const [, kind, min] = range as unknown as [string, string, string];
  if (compareVersions(have, min) < 0) {
    return { name: 'node', status: 'fail', detail: `v${have}, older than package.json's ${wanted}`, fix: `install Node.js ${min} or later (nodejs.org, or your package manager), then npm ci` };
  }
  const major = min.split('.')[0]!;
  if (kind === '^' && have.split('.')[0] !== major) {
    return { name: 'node', status: 'warn', detail: `v${have}: untested, package.json names ${wanted} (Node ${major} is the one tested; npm ci warns EBADENGINE and installs)` };
  }
  return { name: 'node', status: 'ok', detail: `v${have} (package.json: ${wanted})` };
}

function terraformCheck(env: CommandIo['env']): Check {
  const r = spawnSync('terraform', ['version', '-json'], { env: env as NodeJS.ProcessEnv, encoding: 'utf8', timeout: 20_000 });
  const fix = 'npm run tools, then source .ci/tools/env.sh (its bin/ goes first on PATH)';
  if (r.error || r.status !== 0) return { name: 'terraform', status: 'fail', detail: r.error ? `not on PATH (${(r.error as NodeJS.ErrnoException).code})` : `terraform version failed: ${r.stderr.trim()}`, fix };
  let version: string;
  try {
    version = (JSON.parse(r.stdout) as { terraform_version: string }).terraform_version;
  } catch {
    return { name: 'terraform', status: 'fail', detail: `terraform version -json printed no version: ${r.stdout.slice(0, 100)}`, fix };
  }
  return compareVersions(version, TERRAFORM_MIN_VERSION) >= 0
    ? { name: 'terraform', status: 'ok', detail: `v${version} (at least ${TERRAFORM_MIN_VERSION}, config/tools.env)` }
    : { name: 'terraform', status: 'fail', detail: `v${version}, older than ${TERRAFORM_MIN_VERSION} (config/tools.env)`, fix };
}

const PROVIDERS = [
  { source: 'hashicorp/nomad', type: 'nomad', version: PROVIDER_VERSIONS.nomad },
  { source: 'kreuzwerker/docker', type: 'docker', version: PROVIDER_VERSIONS.docker },
] as const;

/** Terraform's name for this machine's platform: `linux_amd64`, `darwin_arm64`. */
function platform(): string {
  const arch = { x64: 'amd64', arm64: 'arm64', ia32: '386', arm: 'arm' }[process.arch as string] ?? process.arch;
  return `${process.platform}_${arch}`;
}

/**
 * The providers at the pinned versions: in the filesystem mirror TF_CLI_CONFIG_FILE names (the
 * tools' offline mirror), unpacked or packed; without a mirror, Terraform installs them from the
 * registry, which is then what must be reachable.
 */
async function providersCheck(env: CommandIo['env']): Promise<Check> {
  const name = 'terraform providers';
  const wanted = PROVIDERS.map((p) => `${p.source} ${p.version}`).join(', ');
  const config = env.TF_CLI_CONFIG_FILE;
  const mirror = config && existsSync(config) ? /filesystem_mirror\s*\{[^}]*?path\s*=\s*"([^"]+)"/s.exec(readFileSync(config, 'utf8'))?.[1] : undefined;
  if (!mirror) {
    // Without a mirror, terraform init installs them from the registry: that is what must answer.
    const url = `https://registry.terraform.io/v1/providers/${PROVIDERS[0].source}/versions`;
    const answer = await get(url, { timeoutMs: 5_000 }).then(
      (r) => (r.status === 200 ? '' : `it answers ${r.status}`),
      (e: Error) => e.message,
    );
    const without = `no filesystem mirror in TF_CLI_CONFIG_FILE (${config ?? 'unset'}): terraform init installs ${wanted} from registry.terraform.io`;
    return answer === ''
      ? { name, status: 'ok', detail: `${without}, which answers` }
      : { name, status: 'fail', detail: `${without}, which cannot be reached (${answer})`, fix: 'source .ci/tools/env.sh to use the offline mirror npm run tools fills, or allow HTTPS to registry.terraform.io' };
  }
  const os = platform();
  const absent = PROVIDERS.filter((p) => {
    const dir = join(mirror, 'registry.terraform.io', p.source);
    const unpacked = join(dir, p.version, os);
    const packed = join(dir, `terraform-provider-${p.type}_${p.version}_${os}.zip`);
    return !(existsSync(packed) || (existsSync(unpacked) && readdirSync(unpacked).some((f) => f.startsWith(`terraform-provider-${p.type}`))));
  });
  return absent.length === 0
    ? { name, status: 'ok', detail: `${wanted} (${os}) in the mirror ${mirror}` }
    : { name, status: 'fail', detail: `the mirror ${mirror} lacks ${absent.map((p) => `${p.source} ${p.version} (${os})`).join(', ')}`, fix: 'npm run tools (it builds the providers into the mirror)' };
}

// --- State ------------------------------------------------------------------------------------

/**
 * The environment's state: with the local backend (every environment today), the file is
 * readable and parses as JSON, or is absent (a first deploy).
 * HOOK for the shared backends (branch `state-backends`: pg, consul): give each kind its own
 * check here (reachable, lockable, holding this environment's state or none), chosen by the
 * environment's backend in config.
 */
export function stateCheck(environment: Environment, io: Pick<CommandIo, 'env' | 'cwd'>): Check {
  return localStateCheck(localStatePath(environment.name, io), environment.name);
}

export function localStateCheck(path: string, environment: string): Check {
  const name = 'terraform state';
  const state = readStateFile(path);
  if (state.kind === 'absent') return { name, status: 'ok', detail: `local file ${path}: none yet (a first deploy creates it)` };
  if (state.kind === 'broken') {
    const restore = brokenStateFix(path, environment);
    const fix = restore.backup ? `its backup is whole (serial ${restore.backup.serial}): ${restore.command}` : `move it away, then adopt the running job: ${restore.command}`;
    return { name, status: 'fail', detail: `local file ${path} is broken: ${state.why}`, fix };
  }
  // Started at no time: a lock file is reported, never taken for this command's own and removed.
  const lock = stateLock(path, Number.POSITIVE_INFINITY);
  const detail = `local file ${path}: serial ${state.serial}, ${state.resources.length} resources`;
  return lock === 'free' ? { name, status: 'ok', detail } : { name, status: 'warn', detail: `${detail}; lock ${lock}` };
}

// --- Nomad ------------------------------------------------------------------------------------

async function* nomadChecks(nomad: NomadClient, environment: Environment): AsyncGenerator<Check> {
  const address = nomad.connection.address;
  const tls = nomad.connection.tls;
  const files = [tls.caCert && `CA ${tls.caCert}`, tls.caPath && `CA path ${tls.caPath}`, tls.clientCert && `client certificate ${tls.clientCert}`, tls.skipVerify && 'skip-verify'].filter(Boolean);
  const via = address.startsWith('https:') ? ` over TLS (${files.length > 0 ? files.join(', ') : 'system CAs'})` : '';
  try {
    const leader = await nomad.leader();
    yield { name: 'nomad', status: 'ok', detail: `${address} answers${via} (leader ${leader})` };
  } catch (e) {
    yield {
      name: 'nomad',
      status: 'fail',
      detail: `${(e as Error).message}${via}`,
      fix: `check the address (${environment.nomad.address ? `config/${environment.name}.ts` : 'NOMAD_ADDR'}) and NOMAD_CACERT / NOMAD_CLIENT_CERT / NOMAD_CLIENT_KEY (source your nomad.sh)`,
    };
    yield { name: 'nomad token', status: 'skip', detail: 'not checked: Nomad does not answer' };
    return;
  }
  const report = await checkCapabilities(nomad, environment, ALL_NEEDS);
  const deploys = deployNeeds(environment);
  const token = report.token;
  if (token.acls === 'off') yield { name: 'nomad token', status: 'ok', detail: 'ACLs are off: no token needed' };
  else if (token.known) yield { name: 'nomad token', status: 'ok', detail: report.tokenName };
  else if (token.anonymous) yield { name: 'nomad token', status: 'warn', detail: 'NOMAD_TOKEN is not set: Nomad answers with its anonymous policy', fix: 'export NOMAD_TOKEN (your nomad.sh)' };
  else yield { name: 'nomad token', status: 'fail', detail: report.tokenName, fix: 'set NOMAD_TOKEN to a token of this cluster (nomad acl token self shows which it is)' };
  for (const r of report.results) {
    const what = `for ${r.neededBy.map((n) => NEED_WORDS[n]).join(', ')}`;
    // What only a task or a console (or a release this environment does not run) needs is said, but a deploy runs without it.
    const needed = r.neededBy.some((n) => deploys.includes(n));
    if (r.outcome === 'granted') yield { name: r.capability, status: 'ok', detail: `${what}${token.acls === 'on' && token.known && token.type === 'client' ? '' : ` (${r.detail})`}` };
    else if (r.outcome === 'unknown') yield { name: r.capability, status: 'skip', detail: `${what}: ${r.detail}` };
    else yield { name: r.capability, status: needed ? 'fail' : 'warn', detail: `${what}: ${r.detail}${needed ? '' : ' (a deploy does without it)'}`, fix: POLICY_FIX };
  }
}

// --- Registry ---------------------------------------------------------------------------------

interface HttpAnswer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

function get(url: string, options: RequestOptions & { timeoutMs?: number } = {}): Promise<HttpAnswer> {
  const send = url.startsWith('https:') ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(url, { method: 'GET', ...options }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.setTimeout(options.timeoutMs ?? 10_000, () => req.destroy(new Error(`no answer in ${(options.timeoutMs ?? 10_000) / 1000}s`)));
    req.on('error', reject);
    req.end();
  });
}

const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;

/**
 * Whether the registry takes the credentials: `GET /v2/` with basic auth (a registry with
 * htpasswd), or, when it answers with a Bearer challenge (a token server), the token asked of
 * its realm with the same basic auth.
 */
export async function registryLogin(base: string, user: string, pass: string): Promise<{ ok: boolean; detail: string }> {
  const first = await get(`${base}/v2/`, { headers: { authorization: basic(user, pass) } });
  if (first.status === 200) return { ok: true, detail: 'GET /v2/ with them: 200' };
  const challenge = String(first.headers['www-authenticate'] ?? '');
  const bearer = /^Bearer\s+(.*)$/i.exec(challenge);
  if (first.status === 401 && bearer) {
    const params = Object.fromEntries([...bearer[1]!.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]));
    if (!params.realm) return { ok: false, detail: `GET /v2/: 401 with a Bearer challenge without a realm` };
    const url = new URL(params.realm);
    if (params.service) url.searchParams.set('service', params.service);
    const token = await get(url.toString(), { headers: { authorization: basic(user, pass) } });
    return token.status === 200 ? { ok: true, detail: `its token server (${url.host}) gives them a token` } : { ok: false, detail: `its token server ${url.host} refused them (${token.status})` };
  }
  return { ok: false, detail: `GET /v2/ with them: ${first.status}${first.status === 401 ? ' (refused)' : ''}` };
}

async function registryChecks(environment: Environment, io: Pick<CommandIo, 'env'>): Promise<Check[]> {
  const registry = environment.registry;
  const base = `${registry.plainHttp ? 'http' : 'https'}://${registry.address}`;
  const login = async (name: string, userVar: string, passVar: string, setFix: string): Promise<Check> => {
    const user = io.env[userVar];
    const pass = io.env[passVar];
    const unset = [userVar, passVar].filter((v) => !io.env[v]);
    if (unset.length > 0) return { name, status: 'fail', detail: `${unset.join(' and ')} not set`, fix: setFix };
    try {
      const r = await registryLogin(base, user!, pass!);
      return r.ok ? { name, status: 'ok', detail: `${base} takes ${userVar}'s credentials: ${r.detail}` } : { name, status: 'fail', detail: `${base} refuses ${userVar}/${passVar}: ${r.detail}`, fix: `check ${userVar} and ${passVar} (docker login ${registry.address} with them)` };
    } catch (e) {
      return { name, status: 'fail', detail: `cannot reach ${base}: ${(e as Error).message}`, fix: `check the network to ${registry.address} (config/${environment.name}.ts registry.address)` };
    }
  };
  const checks: Check[] = [];
  checks.push(
    environment.image.source === 'build'
      ? await login('registry push', 'DOCKER_REGISTRY_USER', 'DOCKER_REGISTRY_PASS', 'export DOCKER_REGISTRY_USER and DOCKER_REGISTRY_PASS (the operator\'s env file)')
      : { name: 'registry push', status: 'skip', detail: `the image is prebuilt (${environment.image.reference}): nothing is pushed` },
  );
  checks.push(
    registry.pullAuth
      ? await login('registry pull', 'TF_VAR_registry_pull_username', 'TF_VAR_registry_pull_password', 'export TF_VAR_registry_pull_username and TF_VAR_registry_pull_password (the operator\'s env file)')
      : { name: 'registry pull', status: 'skip', detail: 'the registry needs no pull credentials (registry.pullAuth: false)' },
  );
  return checks;
}

// --- Runtime config, image, Docker --------------------------------------------------------------

function runtimeConfigCheck(environment: Environment): Check {
  const config = environment.runtimeConfig;
  const name = 'runtime config';
  if (!config) return { name, status: 'skip', detail: 'the environment declares none' };
  const items = config.files.length + config.env.length;
  const missing = missingRuntimeConfig(config);
  const empty = emptyRuntimeConfig(config);
  if (missing.length === 0 && empty.length === 0) return { name, status: 'ok', detail: `${items} items in ${config.source}, each there and non-empty` };
  const problems = [...(missing.length > 0 ? [`missing ${missing.join(', ')}`] : []), ...(empty.length > 0 ? [`empty ${empty.join(', ')}`] : [])];
  return { name, status: 'fail', detail: `in ${config.source}: ${problems.join('; ')}`, fix: 'write each in DASHBOARD_CONFIG_DIR (README "Runtime configuration")' };
}

/** Where the Docker API is: the environment's socket (local), DOCKER_HOST, or the default socket. */
function dockerEndpoint(environment: Environment, env: CommandIo['env']): { socketPath: string } | { url: string; tls: boolean } | { unsupported: string } {
  if (environment.image.source === 'build' && environment.image.daemon) return { socketPath: environment.image.daemon.socket };
  const host = env.DOCKER_HOST;
  if (!host) return { socketPath: '/var/run/docker.sock' };
  if (host.startsWith('unix://')) return { socketPath: host.slice('unix://'.length) };
  if (host.startsWith('tcp://')) {
    const tls = Boolean(env.DOCKER_TLS_VERIFY);
    return { url: `${tls ? 'https' : 'http'}://${host.slice('tcp://'.length)}`, tls };
  }
  return { unsupported: host };
}

/** The build context and the Docker daemon that builds, when the image is built here. */
async function imageChecks(environment: Environment, io: Pick<CommandIo, 'env'>): Promise<Check[]> {
  if (environment.image.source !== 'build') return [{ name: 'docker daemon', status: 'skip', detail: 'the image is prebuilt: nothing is built here' }];
  const context = environment.image.context;
  const contextCheck: Check = existsSync(context)
    ? { name: 'build context', status: 'ok', detail: context }
    : { name: 'build context', status: 'fail', detail: `${context} is not on this machine`, fix: 'set DASHBOARD_SOURCE to your WikiEduDashboard checkout' };
  return [contextCheck, await daemonCheck(environment, io)];
}

async function daemonCheck(environment: Environment, io: Pick<CommandIo, 'env'>): Promise<Check> {
  const name = 'docker daemon';
  const where = dockerEndpoint(environment, io.env);
  if ('unsupported' in where) return { name, status: 'skip', detail: `DOCKER_HOST=${where.unsupported}: only unix:// and tcp:// are checked here` };
  const shown = 'socketPath' in where ? `unix://${where.socketPath}` : where.url;
  const daemon = environment.image.source === 'build' ? environment.image.daemon : undefined;
  const fix = daemon ? daemon.notRunning : 'start Docker, or set DOCKER_HOST to the daemon that builds';
  try {
    const certs = 'url' in where && where.tls && io.env.DOCKER_CERT_PATH ? io.env.DOCKER_CERT_PATH : undefined;
    const r = await get('socketPath' in where ? 'http://docker/_ping' : `${where.url}/_ping`, {
      ...('socketPath' in where ? { socketPath: where.socketPath } : {}),
      ...(certs ? { ca: readFileSync(join(certs, 'ca.pem')), cert: readFileSync(join(certs, 'cert.pem')), key: readFileSync(join(certs, 'key.pem')) } : {}),
      timeoutMs: 5_000,
    } as RequestOptions);
    return r.status === 200 && r.body.trim() === 'OK' ? { name, status: 'ok', detail: `${shown} answers GET /_ping` } : { name, status: 'fail', detail: `${shown} answers GET /_ping with ${r.status} ${r.body.trim().slice(0, 80)}`, fix };
  } catch (e) {
    return { name, status: 'fail', detail: `${shown}: ${(e as Error).message}`, fix };
  }
}

runMain(doctorCommand, module);
