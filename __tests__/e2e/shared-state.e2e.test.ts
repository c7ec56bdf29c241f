import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { LocalEnvironment } from './support/local-environment';
import { Postgres } from './support/postgres';
import { type CliRun, expectSuccess, Project } from './support/project';
import { requireProviders } from './support/providers';
import { NomadGate } from './support/nomad-gate';

/**
 * Two operators, each with a clone of this repository, deploying one environment whose state
 * is in a real PostgreSQL (the local environment, switched with DASHBOARD_STATE_BACKEND=pg;
 * PG_CONN_STR from each operator's environment). Each test gets a fresh local environment, a
 * fresh database and fresh clones.
 * Modules it proves: commands/state-lock.ts (the wait and the holder named), commands/state.ts and
 * commands/backend-record.ts (a plan before the move is refused, naming it), commands/deploy-report.ts
 * (the interrupted deploy's lock line, asked of PostgreSQL).
 */
describe('shared state on PostgreSQL', () => {
  let pg: Postgres;
  let local: LocalEnvironment;
  let database: string;
  let a: Project;
  let b: Project;
  let tests = 0;
  let nomadGate: NomadGate | undefined;
  const outputs: string[] = [];
  const seen = <T extends CliRun>(run: T): T => (outputs.push(run.output), run);

  beforeAll(async () => {
    requireProviders();
    pg = await Postgres.start();
  });
  afterAll(() => pg?.stop());

  beforeEach(async () => {
    local = await LocalEnvironment.start();
    database = `state_${++tests}`;
    const onPg = { DASHBOARD_STATE_BACKEND: 'pg', PG_CONN_STR: pg.createDatabase(database), PATH: `${pg.binDir}:${process.env.PATH}` };
    a = new Project(local.env).with(onPg);
    b = new Project(local.env).with(onPg);
  });

  afterEach(() => {
    nomadGate?.stop();
    nomadGate = undefined;
    // The connection string's password is a secret: no command printed it.
    for (const text of outputs.splice(0)) expect(text).not.toContain(pg.password);
    local?.stop();
    a?.remove();
    b?.remove();
  });

  const job = async () => {
    const stored = await local.nomad.job('rails');
    if (!stored) throw new Error('no job rails');
    return stored;
  };
  const memoryOf = async (group: string) => (await job()).TaskGroups.find((g) => g.Name === group)!.Tasks[0]!.Resources.MemoryMB;
  const changedGroups = async () => {
    const { Diffs } = await local.nomad.versions('rails');
    return Diffs[0]!.TaskGroups!.filter((g) => g.Type !== 'None').map((g) => g.Name);
  };
  /** B pulled A's commit (sidekiq-long 640) and added its own (sidekiq-short 600). */
  const aheadOfA = (p: Project) =>
    p.edit(
      'config/local.ts',
      'workers: prod.workers.map((w) => ({ ...w, resources: { cpu: 200, memoryMB: 512 } })),',
      "workers: prod.workers.map((w) => ({ ...w, resources: { cpu: 200, memoryMB: w.name === 'sidekiq-long' ? 640 : w.name === 'sidekiq-short' ? 600 : 512 } })),",
    );

  it("A deploys; B's clone plans no change, and B's deploy of a change makes exactly one new version", async () => {
    seen(expectSuccess(a.npmDeploy('local', '--auto-approve'), "A's deploy"));
    const first = await job();
    expect(pg.sql("SELECT count(*) FROM dashboard_local.states WHERE name = 'default'", database)).toBe('1');
    expect(existsSync(join(a.dir, 'terraform.local.tfstate'))).toBe(false);

    const plan = seen(b.plan());
    expect(plan.status, plan.output).toBe(0);
    expect(plan.stdout).toMatch(/Terraform: image unchanged, job 'rails' unchanged, no other changes/);

    b.setWorkerMemory('sidekiq-long', 640);
    seen(expectSuccess(b.npmDeploy('local', '--auto-approve'), "B's deploy"));
    expect((await job()).Version).toBe(first.Version + 1);
    expect(await changedGroups()).toEqual(['sidekiq-long']);
    // B built nothing: its checkout lies elsewhere, its content is the same.
    expect([local.builds(), local.pushes()]).toEqual([1, 1]);

    // A's clone, behind B's change, sees it would undo it.
    const behind = seen(a.plan());
    expect([2, 3], behind.output).toContain(behind.status); // 3: the dev agent has no docker driver to place it on
    expect(behind.stdout).toMatch(/Task Group: "sidekiq-long"[\s\S]*MemoryMB: "640" => "512"/);
  });

  it("A and B deploy at once: B waits for A's lock, then applies only its own change on A's result", async () => {
    seen(expectSuccess(a.npmDeploy('local', '--auto-approve'), "A's first deploy"));
    const first = await job();
    a.setWorkerMemory('sidekiq-long', 640);
    aheadOfA(b);

    // A's apply stays inside its run (state lock held) until the gate lets its job registration through.
    const gate = (nomadGate = await NomadGate.start(local.env.NOMAD_ADDR));
    gate.close();
    const holding = a.with({ LOCAL_NOMAD_ADDR: gate.address }).start('deploy', 'local', '--auto-approve');
    await waitUntil(() => gate.heldCount > 0, 300_000, holding.output);
    expect(pg.advisoryLockHolders(database)).toEqual([expect.stringMatching(/\tdashboard deploy local by \S+ pid \d+$/)]);
    const waiting = b.start('deploy', 'local', '--auto-approve');
    await waitUntil(() => /terraform plan…/.test(waiting.output()), 300_000, waiting.output);
    await new Promise((r) => setTimeout(r, 10_000));
    expect(waiting.child.exitCode, `B stopped instead of waiting:\n${waiting.output()}`).toBeNull();
    expect((await job()).Version).toBe(first.Version);

    gate.open();
    const done = seen(await holding.done);
    expect(done.status, done.output.slice(-4000)).toBe(0);
    const after = seen(await waiting.done);
    expect(after.status, after.output.slice(-4000)).toBe(0);
    // B's plan was made on A's state: only its own change in it.
    expect(after.output).toMatch(/~ +"?MemoryMB"? += 512 -> 600/);
    expect(after.output).not.toMatch(/MemoryMB"? += 512 -> 640/);
    expect((await job()).Version).toBe(first.Version + 2);
    expect([await memoryOf('sidekiq-long'), await memoryOf('sidekiq-short')]).toEqual([640, 600]);
    expect(await changedGroups()).toEqual(['sidekiq-short']);
  });

  it('a lock held past the bound fails the deploy, naming the holder, its operation and since when', async () => {
    seen(expectSuccess(a.npmDeploy('local', '--auto-approve'), "A's first deploy"));
    const first = await job();
    a.setWorkerMemory('sidekiq-long', 640);
    b.setWorkerMemory('sidekiq-short', 600);
    const gate = (nomadGate = await NomadGate.start(local.env.NOMAD_ADDR));
    gate.close();
    const holding = a.with({ LOCAL_NOMAD_ADDR: gate.address }).start('deploy', 'local', '--auto-approve');
    await waitUntil(() => gate.heldCount > 0, 300_000, holding.output);
    const [holder] = pg.advisoryLockHolders(database);
    const [pid, name] = holder!.split('\t');

    const refused = seen(b.npmDeploy('local', '--auto-approve', '--lock-timeout=5s'));
    expect(refused.status).toBe(1);
    const lines = refused.output.trim().split('\n');
    expect(lines.at(-1)).toMatch(new RegExp(`^deploy: the state of 'local' is locked by '${name}' since \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d UTC: gave up after 5s\\.$`));
    expect(name).toMatch(/^dashboard deploy local by \S+@\S+ pid \d+$/);
    expect(refused.output).toContain(`held by '${name}': PostgreSQL session ${pid} from 127.0.0.1, connected since`);
    expect(refused.output).toContain(`SELECT pg_terminate_backend(${pid});`);
    expect((await job()).Version).toBe(first.Version);

    gate.open();
    expect(seen(await holding.done).status).toBe(0);
    expect((await job()).Version).toBe(first.Version + 1);
    expect(await memoryOf('sidekiq-short')).toBe(512);
    expect(pg.advisoryLockHolders(database)).toEqual([]);
  });

  it("Ctrl-C during a deploy's apply: the report's lock line is PostgreSQL's answer, and the next deploy is not held", async () => {
    const run = seen(await a.interruptDeployAt('deploy: terraform apply…'));
    expect(run.status, run.output).toBe(130);
    const report = run.output.slice(run.output.indexOf('deploy: interrupted; what it left:'));
    expect(report).toContain('state lock: free (no PostgreSQL session holds it)');
    const next = seen(expectSuccess(a.npmDeploy('local', '--auto-approve'), 'the deploy after the interrupted one'));
    expect(next.output).not.toContain('stayed locked');
  });

  it('moving local state into pg and back keeps the job: no re-create, no rebuild, no new version', async () => {
    const alone = a.reset(); // a file, as before
    seen(expectSuccess(alone.npmDeploy('local', '--auto-approve'), 'deploy on local state'));
    const first = await job();
    const file = join(a.dir, 'terraform.local.tfstate');
    expect(existsSync(file)).toBe(true);

    a.with({ DASHBOARD_STATE_BACKEND: 'pg', PG_CONN_STR: pg.connectionString(database), PATH: `${pg.binDir}:${process.env.PATH}` });
    // Before the move, this checkout's Terraform is still set up for the file: plan says how to move it, instead of Terraform's init error.
    const early = seen(a.plan());
    expect(early.status, early.output).toBe(1);
    expect(early.output.trim().split('\n').at(-1)).toBe(
      "plan: this checkout's Terraform was set up for the local backend, and the config of 'local' now names pg: npm run state -- local migrate --to pg moves its state there (with none to move, it only switches)",
    );
    const moved = seen(a.state('local', 'migrate', '--to', 'pg'));
    expect(moved.status, moved.output).toBe(0);
    expect(moved.stdout).toMatch(/^moved: the state of 'local' \(serial \d+, \d+ resources\) from the local file .*terraform\.local\.tfstate to pg schema dashboard_local\./);
    expect(existsSync(file)).toBe(false);
    expect(readdirSync(a.dir).filter((f) => f.startsWith('terraform.local.tfstate.migrated-'))).toHaveLength(1);

    for (const clone of [a, b]) {
      const plan = seen(clone.plan());
      expect(plan.status, plan.output).toBe(0);
    }
    const again = seen(expectSuccess(a.npmDeploy('local', '--auto-approve'), 'deploy on pg after the move'));
    expect(again.output).toMatch(/no changes/i);
    expect((await job()).Version).toBe(first.Version);
    expect([local.builds(), local.pushes()]).toEqual([1, 1]);

    // Moving it into pg again finds it there and moves nothing.
    const twice = seen(a.state('local', 'migrate', '--to', 'pg'));
    expect(twice.status, twice.output).toBe(0);
    expect(twice.stdout).toMatch(/^nothing to move: the local file .* holds no state of 'local'/);

    const back = seen(a.state('local', 'migrate', '--to', 'local'));
    expect(back.status, back.output).toBe(0);
    expect(back.stdout).toMatch(/^moved: the state of 'local' .* from pg schema dashboard_local to the local file /);
    expect(existsSync(file)).toBe(true);
    a.reset();
    const plan = seen(a.plan());
    expect(plan.status, plan.output).toBe(0);
    expect((await job()).Version).toBe(first.Version);
  });
});

async function waitUntil(condition: () => boolean, timeoutMs: number, say: () => string): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > until) throw new Error(`gave up waiting after ${timeoutMs / 1000}s:\n${say().slice(-4000)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
