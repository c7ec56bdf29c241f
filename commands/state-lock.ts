import { spawnSync } from 'node:child_process';
import { hostname, userInfo } from 'node:os';
import { type Duration, durationWord } from '../config/operator-durations';
import type { Environment } from '../config/schema';

/**
 * Waiting for another deploy's state lock, and saying who holds it when the wait runs out
 * (README, "Shared state"). Terraform waits itself (`-lock-timeout`) and never interleaves two
 * runs on one state; this module gives it the bound and turns its "Error acquiring the state
 * lock" into who, since when, for what, and how to tell whether that run is still alive.
 */

type StateConfig = Environment['state'];

/** Terraform's own flag for a wait of `seconds`. */
export function lockTimeoutArg(seconds: number): string {
  return `-lock-timeout=${seconds}s`;
}

/** What this run tells a waiter about itself (pg's lock says nothing of its holder: see pgAppName). */
export interface Operation {
  /** The command, as the operator typed it: `deploy`, `state migrate`. */
  readonly command: string;
  readonly environment: string;
}

/**
 * The environment for every Terraform a command starts, on any path (cdktf deploy, plan and
 * apply of a plan file): TF_CLI_ARGS_plan / _apply carry the wait (after what the operator set
 * there), and PGAPPNAME names the run to PostgreSQL, where a waiter reads it (pgLockHolders).
 */
export function lockWaitEnv(env: NodeJS.ProcessEnv, seconds: number, operation: Operation): NodeJS.ProcessEnv {
  const add = (name: string) => [env[name], lockTimeoutArg(seconds)].filter(Boolean).join(' ');
  return {
    ...env,
    TF_CLI_ARGS_plan: add('TF_CLI_ARGS_plan'),
    TF_CLI_ARGS_apply: add('TF_CLI_ARGS_apply'),
    ...(env.PGAPPNAME ? {} : { PGAPPNAME: pgAppName(operation) }),
  };
}

/** PostgreSQL keeps 63 bytes of an application name. */
const APP_NAME_BYTES = 63;

/** `dashboard deploy local by alice@laptop pid 4242`, cut to what PostgreSQL keeps. */
export function pgAppName({ command, environment }: Operation, who = `${userInfo().username}@${hostname()}`, pid = process.pid): string {
  const name = `dashboard ${command} ${environment} by ${who} pid ${pid}`;
  return Buffer.from(name).subarray(0, APP_NAME_BYTES).toString().replace(/\uFFFD$/, '');
}

/** Terraform's "Lock Info:" block, as it printed it. */
export interface LockInfo {
  readonly id?: string;
  readonly path?: string;
  /** `OperationTypeApply`, `OperationTypePlan`, `OperationTypeInvalid`. */
  readonly operation?: string;
  /** `user@host` of the holder. */
  readonly who?: string;
  readonly version?: string;
  /** As Terraform prints it: `2026-12-01 09:20:23.46274202 +0000 UTC`. */
  readonly created?: string;
  readonly info?: string;
  /** Terraform's "Error message:" line: the backend's words. */
  readonly message?: string;
}

const FIELDS: Readonly<Record<string, keyof LockInfo>> = { ID: 'id', Path: 'path', Operation: 'operation', Who: 'who', Version: 'version', Created: 'created', Info: 'info' };

/**
 * Terraform's "Error acquiring the state lock" block, from its output however it reached us:
 * colours, cdktf's stack-name prefix and Terraform's `│` box stripped. Undefined when the output
 * holds no such error (the run failed for another reason).
 */
export function parseLockError(output: string): LockInfo | undefined {
  // eslint-disable-next-line no-control-regex
  const lines = output.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').split(/\r?\n/);
  const start = lines.findIndex((l) => l.includes('Error acquiring the state lock'));
  if (start < 0) return undefined;
  const info: Record<string, string> = {};
  for (const raw of lines.slice(start + 1, start + 20)) {
    const line = raw.replace(/^.*?[│|]\s?/, '').trim();
    const message = /^Error message:\s*(.*)$/.exec(line);
    if (message && info.message === undefined) info.message = message[1]!.trim();
    const field = /^(ID|Path|Operation|Who|Version|Created|Info):\s*(.*)$/.exec(line);
    if (field && info[FIELDS[field[1]!]!] === undefined) info[FIELDS[field[1]!]!] = field[2]!.trim();
    if (/^Terraform acquires a state lock/.test(line)) break;
  }
  return info as LockInfo;
}

/** A PostgreSQL session that holds the advisory lock on the environment's state. */
export interface PgLockHolder {
  readonly pid: number;
  /** What the holder told PostgreSQL it is (PGAPPNAME; see pgAppName): empty for a run not started by these commands. */
  readonly applicationName: string;
  readonly clientAddress: string;
  /** When its connection opened, UTC: `2026-12-01 09:20:19`. */
  readonly connectedSince: string;
  readonly state: string;
}

/** Who holds the lock, as far as the backend tells: for pg, from PostgreSQL; else Terraform's lock info. */
export type Holders = { readonly pg: readonly PgLockHolder[] } | { readonly pg: undefined; readonly unavailable: string };

/**
 * The sessions holding the advisory lock on `<schema>.states` row `default` (cdktf's workspace),
 * or the creation lock (-1) while the row does not exist yet: asked of PostgreSQL with psql.
 * The connection string reaches psql as PG* variables, never on its command line.
 */
export function pgLockHolders(connectionString: string, schemaName: string, psql = 'psql', env: NodeJS.ProcessEnv = process.env): Holders {
  let connection: Record<string, string>;
  try {
    connection = libpqEnvironment(connectionString);
  } catch (e) {
    return { pg: undefined, unavailable: `PG_CONN_STR is not a connection string psql takes (${(e as Error).message})` };
  }
  const query = `
    select a.pid, coalesce(a.application_name, ''), coalesce(host(a.client_addr), 'local socket'),
           to_char(a.backend_start at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS'), coalesce(a.state, '')
    from pg_locks l join pg_stat_activity a on a.pid = l.pid
    where l.locktype = 'advisory' and l.granted and a.pid <> pg_backend_pid()
      and l.database = (select oid from pg_database where datname = current_database())
      and ((l.classid::bigint = 0 and l.objid::bigint in (select id from "${schemaName}".states where name = 'default'))
           or (l.classid::bigint = 4294967295 and l.objid::bigint = 4294967295))
    order by a.backend_start`;
  const r = spawnSync(psql, ['-X', '-A', '-t', '-F', '\t', '-v', 'ON_ERROR_STOP=1', '-c', query], {
    env: { ...env, ...connection, PGCONNECT_TIMEOUT: '10' },
    encoding: 'utf8',
    timeout: 20_000,
  });
  if (r.error) return { pg: undefined, unavailable: `could not run ${psql} (${r.error.message}): install PostgreSQL's client to have the holder named` };
  if (r.status !== 0) return { pg: undefined, unavailable: `psql could not ask PostgreSQL: ${(r.stderr || r.stdout).trim().split('\n').pop()}` };
  const holders = r.stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l): PgLockHolder => {
      const [pid, applicationName, clientAddress, connectedSince, state] = l.split('\t');
      return { pid: Number(pid), applicationName: applicationName ?? '', clientAddress: clientAddress ?? '', connectedSince: connectedSince ?? '', state: state ?? '' };
    });
  return { pg: holders };
}

const LIBPQ_VARIABLES: Readonly<Record<string, string>> = {
  host: 'PGHOST',
  hostaddr: 'PGHOSTADDR',
  port: 'PGPORT',
  dbname: 'PGDATABASE',
  user: 'PGUSER',
  password: 'PGPASSWORD',
  sslmode: 'PGSSLMODE',
  sslrootcert: 'PGSSLROOTCERT',
  sslcert: 'PGSSLCERT',
  sslkey: 'PGSSLKEY',
  connect_timeout: 'PGCONNECT_TIMEOUT',
};

/** A libpq connection string (URI or `key=value` words) as the PG* variables psql reads. */
export function libpqEnvironment(connectionString: string): Record<string, string> {
  const params: Record<string, string> = {};
  if (/^postgres(ql)?:\/\//.test(connectionString)) {
    const url = new URL(connectionString);
    if (url.hostname) params.host = decodeURIComponent(url.hostname);
    if (url.port) params.port = url.port;
    if (url.username) params.user = decodeURIComponent(url.username);
    if (url.password) params.password = decodeURIComponent(url.password);
    const db = decodeURIComponent(url.pathname.replace(/^\//, ''));
    if (db) params.dbname = db;
    for (const [k, v] of url.searchParams) params[k] = v;
  } else {
    for (const m of connectionString.matchAll(/(\w+)\s*=\s*('(?:[^'\\]|\\.)*'|\S+)/g)) {
      params[m[1]!] = m[2]!.startsWith("'") ? m[2]!.slice(1, -1).replace(/\\(.)/g, '$1') : m[2]!;
    }
    if (Object.keys(params).length === 0) throw new Error('neither a postgres:// URI nor key=value words');
  }
  return Object.fromEntries(Object.entries(params).flatMap(([k, v]) => (LIBPQ_VARIABLES[k] ? [[LIBPQ_VARIABLES[k]!, v]] : [])));
}

const OPERATIONS: Readonly<Record<string, string>> = {
  OperationTypeApply: 'terraform apply (a deploy or destroy)',
  OperationTypePlan: 'terraform plan',
  OperationTypeRefresh: 'terraform refresh',
  OperationTypeInvalid: 'a terraform state command (state, import, console, init -migrate-state)',
};

/**
 * The lines a command prints when the state stayed locked past its wait, its cause last. pg's Terraform lock
 * info names the waiter, not the holder (its advisory lock keeps no record of who took it), so
 * there the holder comes from PostgreSQL's sessions; local and consul keep the holder's own.
 */
export function describeHeldLock(
  environment: string,
  state: StateConfig,
  waitedSeconds: number,
  lock: LockInfo,
  holders: Holders | undefined,
  now: Date = new Date(),
): string[] {
  const where = state.backend === 'pg' ? `pg schema ${state.schemaName}` : state.backend === 'consul' ? `consul ${state.address}/${state.path}` : 'a local file';
  const lines = [`the state of '${environment}' (${where}) stayed locked for the ${formatWait(waitedSeconds)} this run waits (state.lockTimeout in config; --lock-timeout=<duration> to wait longer).`];
  const stackDir = `cdktf.out/stacks/${environment}`;
  let cause: string;
  if (state.backend === 'pg') {
    if (holders?.pg === undefined) {
      lines.push(`pg does not say who holds its lock, and the sessions that do could not be read: ${holders?.unavailable ?? 'not asked'}.`);
      lines.push(`Ask PostgreSQL: SELECT a.pid, a.application_name, a.client_addr, a.backend_start FROM pg_locks l JOIN pg_stat_activity a USING (pid) WHERE l.locktype = 'advisory' AND l.granted;`);
      cause = `the state of '${environment}' is locked by another run (pg names no holder; see above)`;
    } else if (holders.pg.length === 0) {
      lines.push('no PostgreSQL session holds it any more: the holder has just finished. Run the command again.');
      cause = `the state of '${environment}' was locked until moments ago`;
    } else {
      for (const h of holders.pg) {
        const what = h.applicationName ? `'${h.applicationName}'` : 'a session that gave no name (not started by these commands)';
        lines.push(`held by ${what}: PostgreSQL session ${h.pid} from ${h.clientAddress}, connected since ${h.connectedSince} UTC${ago(`${h.connectedSince}Z`, now)}, ${h.state || 'state unknown'}.`);
      }
      const first = holders.pg[0]!;
      lines.push(
        `Is it alive? PostgreSQL frees this lock the moment the holder's connection closes, so a held lock is a connected run: ask its operator, or see it with SELECT * FROM pg_stat_activity WHERE pid = ${first.pid}; a hung one ends with SELECT pg_terminate_backend(${first.pid});`,
      );
      cause = `the state of '${environment}' is locked by ${first.applicationName ? `'${first.applicationName}'` : `PostgreSQL session ${first.pid}`} since ${first.connectedSince} UTC`;
    }
  } else {
    const who = lock.who ?? 'someone (Terraform printed no holder)';
    const since = lock.created ? `${shortTime(lock.created)}${ago(lock.created, now)}` : 'an unknown time';
    const operation = lock.operation ? (OPERATIONS[lock.operation] ?? lock.operation) : 'an unknown operation';
    lines.push(`held by ${who}, for ${operation}, since ${since}; lock ID ${lock.id ?? 'unknown'}${lock.info ? `, info: ${lock.info}` : ''}.`);
    lines.push(
      state.backend === 'local'
        ? `Is it alive? The lock is an operating-system lock on the state file, freed when the holding process ends: on ${hostHint(lock.who)}, ps -ef | grep 'terraform apply' shows whether it still runs.`
        : `Is it alive? Consul frees the lock when the holder's session ends (its process stopped and the session's TTL passed): on ${hostHint(lock.who)}, ps -ef | grep 'terraform apply' shows whether it still runs; only when it is gone and the lock stays: terraform -chdir=${stackDir} force-unlock ${lock.id ?? '<lock ID>'}`,
    );
    cause = `the state of '${environment}' is locked by ${who} since ${since}, for ${operation}`;
  }
  return [...lines, `${cause}: gave up after ${formatWait(waitedSeconds)}.`];
}

/** `2026-12-01 09:20:23 UTC` from Terraform's `2026-12-01 09:20:23.46274202 +0000 UTC`. */
function shortTime(created: string): string {
  const m = /^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)(?:\.\d+)? ([+-]\d{4}) (\w+)$/.exec(created.trim());
  if (!m) return created;
  return m[2] === '+0000' ? `${m[1]} UTC` : `${m[1]} ${m[2]}`;
}

/** ` (12m ago)`, or nothing when the time cannot be read. */
function ago(time: string, now: Date): string {
  const m = /^(\d{4}-\d\d-\d\d)[ T](\d\d:\d\d:\d\d)(?:\.\d+)?(?: ([+-]\d\d)(\d\d)(?: \w+)?|Z)$/.exec(time.trim());
  if (!m) return '';
  const at = Date.parse(`${m[1]}T${m[2]}${m[3] ? `${m[3]}:${m[4]}` : 'Z'}`);
  if (Number.isNaN(at)) return '';
  const seconds = Math.max(0, Math.round((now.getTime() - at) / 1000));
  return ` (${formatWait(seconds)} ago)`;
}

function hostHint(who: string | undefined): string {
  const host = who?.split('@')[1];
  return host ? `the machine '${host}'` : 'the holder\'s machine';
}

/** `5m`, `90s`, `1h2m`. */
export function formatWait(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  const parts = [h ? `${h}h` : '', m ? `${m}m` : '', s || (!h && !m) ? `${s}s` : ''];
  return parts.join('');
}

/**
 * `--lock-timeout=<duration>` (or `--lock-timeout <duration>`) taken out of a command's
 * arguments: the wait it sets, as written, and the arguments left for the rest of the command.
 */
export function takeLockTimeoutFlag(args: readonly string[]): { readonly lockTimeout?: string; readonly rest: string[] } {
  const rest: string[] = [];
  let lockTimeout: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const inline = /^--lock-timeout=(.*)$/.exec(arg);
    if (inline) lockTimeout = inline[1]!;
    else if (arg === '--lock-timeout') {
      const value = args[++i];
      if (value === undefined || value.startsWith('-')) throw new Error('--lock-timeout needs a duration, such as --lock-timeout=10m');
      lockTimeout = value;
    } else rest.push(arg);
  }
  return { ...(lockTimeout !== undefined ? { lockTimeout } : {}), rest };
}

/**
 * When a run's output says the state lock could not be had: the lines to print (the holder
 * asked of PostgreSQL for pg), its cause last. Undefined when the run failed for another reason.
 */
export function heldLockReport(
  output: string,
  environment: Pick<Environment, 'name' | 'state'>,
  waitedSeconds: number,
  env: NodeJS.ProcessEnv,
): string[] | undefined {
  const lock = parseLockError(output);
  if (!lock) return undefined;
  const { state } = environment;
  let holders: Holders | undefined;
  if (state.backend === 'pg') {
    holders = env.PG_CONN_STR ? pgLockHolders(env.PG_CONN_STR, state.schemaName, 'psql', env) : { pg: undefined, unavailable: 'PG_CONN_STR is not set' };
  }
  return describeHeldLock(environment.name, state, waitedSeconds, lock, holders);
}

/**
 * The operator variable a shared backend cannot work without, when it is unset: said before
 * anything slow, instead of Terraform's error at init. (Consul's token is optional: a Consul
 * without ACLs takes none.)
 */
export function missingBackendSecret(environment: Pick<Environment, 'name' | 'state'>, env: Readonly<Record<string, string | undefined>>): string | undefined {
  if (environment.state.backend !== 'pg' || env.PG_CONN_STR) return undefined;
  return `the state of '${environment.name}' is in PostgreSQL (state.backend pg): set PG_CONN_STR to its connection string, postgres://user:password@host/database (README, "Shared state")`;
}

/** A lock wait given on the command line (`--lock-timeout=10m`), in Nomad's notation like config's. */
export function parseLockTimeout(text: string): Duration {
  return durationWord('--lock-timeout', text);
}
