import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { filesBelow, runApp } from './support/run-app';
import { FIXTURE_APP, FIXTURE_CONFIG, REPO_ROOT } from './support/synth';

/** Runs cdktf.json's app command in a checkout, as cdktf synth does. */
function synth(checkout: string, extra: Record<string, string> = {}): { status: number | null; stderr: string; outdir: string } {
  const app = (JSON.parse(readFileSync(join(checkout, 'cdktf.json'), 'utf8')) as { app: string }).app;
  const outdir = mkdtempSync(join(tmpdir(), 'launcher-out-'));
  const r = spawnSync('sh', ['-c', app], {
    cwd: checkout,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', TMPDIR: tmpdir(), DASHBOARD_SOURCE: FIXTURE_APP, DASHBOARD_CONFIG_DIR: FIXTURE_CONFIG, CDKTF_OUTDIR: outdir, ...extra },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: r.status, stderr: r.stderr, outdir };
}

const jobIds = (outdir: string) => Object.keys(JSON.parse(readFileSync(join(outdir, 'stacks/production/cdk.tf.json'), 'utf8')).resource.nomad_job);
const builds = (checkout: string) => readdirSync(join(checkout, '.build')).filter((f) => /^app-[0-9a-f]+\.js$/.test(f));
const vendors = (checkout: string) => readdirSync(join(checkout, '.build')).filter((f) => /^vendor-[0-9a-f]+\.js$/.test(f));

describe('cdktf.json\'s app (.ci/launch.cjs)', () => {
  const checkout = mkdtempSync(join(tmpdir(), 'launcher-checkout-'));
  for (const entry of ['.ci', 'main.ts', 'cdktf.json', 'package.json', 'tsconfig.json', 'config', 'constructs', 'stacks', 'commands']) {
    cpSync(join(REPO_ROOT, entry), join(checkout, entry), { recursive: true });
  }
  symlinkSync(join(REPO_ROOT, 'node_modules'), join(checkout, 'node_modules'));
  afterAll(() => rmSync(checkout, { recursive: true, force: true }));

  it('DASHBOARD_STACK (the deploy path) builds that stack only, and prints what synth has to say of it; an unknown one is refused', () => {
    const production = synth(checkout, { DASHBOARD_STACK: 'production' });
    expect(production.status).toBe(0);
    expect(readdirSync(join(production.outdir, 'stacks'))).toEqual(['production']);
    expect(production.stderr.split('\n')[0]).toBe("capacity of job 'rails' on production's declared nodes");
    const local = synth(checkout, { DASHBOARD_STACK: 'local', DASHBOARD_CONFIG_DIR: join(tmpdir(), 'no-such-config') });
    expect(local.stderr).toMatch(/^warning: local: a deploy needs config\/application\.yml/);
    expect(local.stderr).not.toContain('capacity');
    const unknown = synth(checkout, { DASHBOARD_STACK: 'qa' });
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toContain('DASHBOARD_STACK: no such environment; known: production, staging, local');
  });

  it("runs a command of commands/ from the same compiled program, with the command's exit code and its own code cache", () => {
    const run = (...args: string[]) => spawnSync('node', ['.ci/launch.cjs', ...args], { cwd: checkout, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', TMPDIR: tmpdir() }, encoding: 'utf8', timeout: 60_000 });
    const usage = run('plan');
    expect(usage.status).toBe(1);
    expect(usage.stderr).toMatch(/^plan: name the environment\n\nusage: npm run plan -- <environment>/);
    // The plan's modules require cdktf and zod: the packages' program has a code cache of the plan's too.
    expect(readdirSync(join(checkout, '.build')).filter((f) => f.endsWith('.plan.v8')).map((f) => f.replace(/-[0-9a-f]{16}/, ''))).toEqual(['app.js.plan.v8', 'vendor.js.plan.v8']);
    const unknown = run('no-such-command');
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toBe(".ci/launch.cjs: no command 'no-such-command' in commands/\n");
  });

  it('runs compiled JavaScript, and a changed source is compiled again before it runs: never stale', () => {
    const first = synth(checkout);
    // Nothing on stderr: what synth has to say of a stack is the stack's warnings (cdktf prints them under its name).
    expect(first.stderr).toBe('');
    expect(first.status).toBe(0);
    expect(jobIds(first.outdir)).toEqual(['rails']);
    const [compiled] = builds(checkout);
    expect(compiled).toMatch(/^app-[0-9a-f]{16}\.js$/);

    expect(synth(checkout).status).toBe(0);
    expect(builds(checkout)).toEqual([compiled]);

    const production = join(checkout, 'config/production.ts');
    writeFileSync(production, readFileSync(production, 'utf8').replace("id: 'rails',", "id: 'rails-renamed',"));
    const changed = synth(checkout);
    expect(changed.status).toBe(0);
    expect(jobIds(changed.outdir)).toEqual(['rails-renamed']);
    expect(builds(checkout)).toHaveLength(1);
    expect(builds(checkout)).not.toEqual([compiled]);
    // Each program has its code cache beside it, and the replaced program's went with it (the packages' program stays).
    expect(readdirSync(join(checkout, '.build')).filter((f) => f.startsWith('app-') && f.endsWith('.v8'))).toEqual([`${builds(checkout)[0]}.synth.v8`]);
    expect(vendors(checkout)).toHaveLength(1);
  });

  it('sees an edit that keeps the size and the modification time of a source (its change time moves)', async () => {
    // A stat line is recorded only once the sources are older than the clock's tick (2 s here).
    const settled = Date.now() + 2_100;
    synth(checkout);
    await new Promise((r) => setTimeout(r, Math.max(0, settled - Date.now())));
    expect(synth(checkout).status).toBe(0);
    expect(existsSync(join(checkout, '.build/app.stamp'))).toBe(true);

    const production = join(checkout, 'config/production.ts');
    const before = statSync(production, { bigint: true });
    const reference = join(checkout, 'production.ts.times');
    spawnSync('cp', ['-p', production, reference]); // its times, to the nanosecond
    const text = readFileSync(production, 'utf8');
    const id = /id: '([a-z-]+)',/.exec(text)![1]!;
    const sameLength = `${id.slice(0, -1)}${id.endsWith('x') ? 'y' : 'x'}`;
    writeFileSync(production, text.replace(`id: '${id}',`, `id: '${sameLength}',`));
    spawnSync('touch', ['-m', '-r', reference, production]);
    const after = statSync(production, { bigint: true });
    expect([after.ino, after.size, after.mtimeNs]).toEqual([before.ino, before.size, before.mtimeNs]);

    const edited = synth(checkout);
    expect(edited.status).toBe(0);
    expect(jobIds(edited.outdir)).toEqual([sameLength]);
  }, 30_000);

  it('runs past a code cache V8 refuses (another node wrote it, or it is damaged), and writes it again', () => {
    expect(synth(checkout).status).toBe(0);
    const [program] = builds(checkout);
    const cache = join(checkout, '.build', `${program}.synth.v8`);
    writeFileSync(cache, 'not a code cache');
    const run = synth(checkout);
    expect(run.status).toBe(0);
    expect(jobIds(run.outdir)).toHaveLength(1);
    expect(readFileSync(cache).length).toBeGreaterThan(1000);
  });

  it("runs the packages from one compiled program: node compiles none of their files, yet finds each in require.cache", () => {
    // Counts the files of node_modules node itself compiles, and the files of cdktf it holds as loaded.
    const preload = join(checkout, 'count-compiled.cjs');
    writeFileSync(
      preload,
      `const Module = require('node:module'); const js = Module._extensions['.js']; let compiled = 0;
Module._extensions['.js'] = function (module, file) { if (file.includes('node_modules')) compiled += 1; return js.apply(this, arguments); };
process.on('exit', () => process.stderr.write('compiled ' + compiled + ', cached ' + Object.keys(require.cache).filter((f) => f.includes('/node_modules/cdktf/lib/')).length + '\\n'));\n`,
    );
    const run = () => spawnSync('node', ['-r', preload, '.ci/launch.cjs', 'plan'], { cwd: checkout, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', TMPDIR: tmpdir() }, encoding: 'utf8', timeout: 60_000 });
    run(); // compiles, where something changed (TypeScript is loaded for that)
    const [, compiled, cached] = /compiled (\d+), cached (\d+)\n$/.exec(run().stderr)!;
    expect(Number(compiled)).toBe(0);
    expect(Number(cached)).toBeGreaterThan(50);
  });

  it('compiles the packages again when a file of theirs changes', () => {
    // A checkout with a node_modules of its own: zod copied (only the sources require it), the rest linked.
    const own = mkdtempSync(join(tmpdir(), 'launcher-packages-'));
    try {
      for (const entry of ['.ci', 'main.ts', 'cdktf.json', 'package.json', 'tsconfig.json', 'config', 'constructs', 'stacks', 'commands']) cpSync(join(checkout, entry), join(own, entry), { recursive: true });
      const modules = join(REPO_ROOT, 'node_modules');
      mkdirSync(join(own, 'node_modules'));
      for (const entry of readdirSync(modules)) {
        if (entry === 'zod') cpSync(join(modules, entry), join(own, 'node_modules', entry), { recursive: true });
        else symlinkSync(join(modules, entry), join(own, 'node_modules', entry));
      }
      expect(synth(own).status).toBe(0);
      const [first] = vendors(own);
      expect(readFileSync(join(own, '.build', first!), 'utf8')).toContain('"node_modules/zod/index.cjs"');
      const zod = join(own, 'node_modules/zod/index.cjs');
      writeFileSync(zod, `${readFileSync(zod, 'utf8')}\nprocess.stderr.write('zod, edited\\n');\n`);
      const edited = synth(own);
      expect(edited.status).toBe(0);
      expect(edited.stderr).toBe('zod, edited\n');
      expect(vendors(own)).toHaveLength(1);
      expect(vendors(own)).not.toEqual([first]);
    } finally {
      rmSync(own, { recursive: true, force: true });
    }
  }, 60_000);

  it('writes what main.ts run by tsx writes', () => {
    const compiled = synth(REPO_ROOT);
    const direct = runApp({});
    expect(compiled.status).toBe(0);
    const relative = (run: { outdir: string }) => new Map([...filesBelow(run.outdir)].map(([p, t]) => [p.slice(run.outdir.length), t]));
    expect(relative(compiled)).toEqual(relative(direct));
  });
});
