import { type ChildProcess, spawn, spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePorts } from './ports';

/**
 * A real PostgreSQL server on a free loopback port, with its own data directory in a
 * temporary folder: Debian's `postgresql` package's server binaries (`npm run tools` installs
 * it), or the ones PG_BIN names. PostgreSQL refuses to run as root: as root (CI), the server
 * runs as the package's `postgres` user. Password authentication, so that the connection
 * string the tests hand Terraform carries a secret to look for in every output.
 */
export class Postgres {
  static async start(): Promise<Postgres> {
    const bin = serverBinaries();
    const dir = mkdtempSync(join(tmpdir(), 'e2e-pg-'));
    const owner = unprivileged();
    if (owner) chownSync(dir, owner.uid, owner.gid);
    const as: SpawnSyncOptions = { encoding: 'utf8', timeout: 120_000, ...(owner ? { uid: owner.uid, gid: owner.gid } : {}), env: { ...process.env, LC_ALL: 'C' } };
    const password = `pg-e2e-${Math.random().toString(36).slice(2, 12)}`;
    const pwfile = join(dir, 'pwfile');
    writeFileSync(pwfile, `${password}\n`);
    if (owner) chownSync(pwfile, owner.uid, owner.gid);
    const data = join(dir, 'data');
    const init = spawnSync(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', `--pwfile=${pwfile}`, '--auth=scram-sha-256', '--no-sync'], as);
    if (init.status !== 0) {
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`initdb failed (${init.status ?? init.error?.message}): ${init.stderr}`);
    }
    const port = await freePorts(1);
    const pg = new Postgres(dir, port, password, bin, as);
    const started = spawnSync(
      join(bin, 'pg_ctl'),
      ['-D', data, '-l', join(dir, 'server.log'), '-w', '-t', '60', '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`, 'start'],
      as,
    );
    if (started.status !== 0) {
      const log = existsSync(join(dir, 'server.log')) ? readFileSync(join(dir, 'server.log'), 'utf8') : '';
      pg.stop();
      throw new Error(`pg_ctl start failed (${started.status}): ${started.stderr}\n${log}`);
    }
    return pg;
  }

  private constructor(
    readonly dir: string,
    readonly port: number,
    /** The superuser's password: a secret, to look for in outputs. */
    readonly password: string,
    private readonly bin: string,
    private readonly as: SpawnSyncOptions,
  ) {}

  /** `postgres://postgres:<password>@127.0.0.1:<port>/<database>?sslmode=disable`: what an operator's PG_CONN_STR holds. */
  connectionString(database = 'postgres'): string {
    return `postgres://postgres:${this.password}@127.0.0.1:${this.port}/${database}?sslmode=disable`;
  }

  /** A fresh database; its connection string. */
  createDatabase(name: string): string {
    this.sql(`CREATE DATABASE ${name}`);
    return this.connectionString(name);
  }

  /** Runs SQL with psql; returns its unaligned, tab-separated rows. */
  sql(statement: string, database = 'postgres'): string {
    const r = spawnSync(join(this.bin, 'psql'), ['-X', '-A', '-t', '-F', '\t', '-v', 'ON_ERROR_STOP=1', '-c', statement], {
      env: { ...process.env, ...this.clientEnv(database) },
      encoding: 'utf8',
      timeout: 60_000,
    });
    if (r.status !== 0) throw new Error(`psql ${statement}: ${r.stderr}`);
    return r.stdout.trim();
  }

  /** A psql session that stays open: statements are written to it; `end()` closes it. */
  session(database: string): { child: ChildProcess; write(sql: string): void; end(): void } {
    const child = spawn(join(this.bin, 'psql'), ['-X', '-q', '-v', 'ON_ERROR_STOP=1'], { env: { ...process.env, ...this.clientEnv(database) }, stdio: ['pipe', 'pipe', 'pipe'] });
    return {
      child,
      write: (sql) => child.stdin!.write(`${sql}\n`),
      end: () => child.stdin!.end(),
    };
  }

  /** The advisory locks sessions hold in a database: one row each, `pid<TAB>application_name`. */
  advisoryLockHolders(database: string): string[] {
    const rows = this.sql(
      `SELECT a.pid, a.application_name FROM pg_locks l JOIN pg_stat_activity a USING (pid) WHERE l.locktype = 'advisory' AND l.granted AND l.database = (SELECT oid FROM pg_database WHERE datname = '${database}')`,
      database,
    );
    return rows === '' ? [] : rows.split('\n');
  }

  private clientEnv(database: string): Record<string, string> {
    return { PGHOST: '127.0.0.1', PGPORT: String(this.port), PGUSER: 'postgres', PGPASSWORD: this.password, PGDATABASE: database, PGSSLMODE: 'disable' };
  }

  /** The directory of psql, for a PATH that lets commands ask PostgreSQL who holds a lock. */
  get binDir(): string {
    return this.bin;
  }

  stop(): void {
    if (existsSync(join(this.dir, 'data', 'postmaster.pid'))) {
      spawnSync(join(this.bin, 'pg_ctl'), ['-D', join(this.dir, 'data'), '-m', 'immediate', '-w', 'stop'], this.as);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The newest /usr/lib/postgresql/<major>/bin (Debian's layout), or PG_BIN. */
function serverBinaries(): string {
  if (process.env.PG_BIN) return process.env.PG_BIN;
  const root = '/usr/lib/postgresql';
  const majors = existsSync(root) ? readdirSync(root).filter((d) => /^\d+$/.test(d) && existsSync(join(root, d, 'bin/postgres'))) : [];
  if (majors.length === 0) throw new Error(`no PostgreSQL server binaries under ${root}: run npm run tools (it installs the postgresql package), or set PG_BIN`);
  const newest = majors.sort((a, b) => Number(b) - Number(a))[0]!;
  return join(root, newest, 'bin');
}

/** As root, the `postgres` user the package creates (PostgreSQL will not run as root); else nobody: run as we are. */
function unprivileged(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postgres:'));
  if (!line) throw new Error('running as root, and there is no postgres user to run PostgreSQL as: install the postgresql package (npm run tools)');
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}
