/**
 * `npm run bench`: how long synth takes, and what of it is cdktf's own load time.
 *  1. the app's synth of all stacks: cdktf.json's "app" command, run as `cdktf synth` runs it
 *     (a shell, CDKTF_OUTDIR), once compiled (the first run, which may compile, is not counted;
 *     median of 15, BENCH_SYNTH_RUNS);
 *  2. the floor: plain node loading cdktf, constructs and the provider modules the app uses;
 *  3. their ratio (goal <= 1.3, issue #17);
 *  4. the synth of one stack with 7 and with 100 sidekiq groups (in process, after warm-up);
 *  5. hashing a synthetic build context (4000 files, 37 MB) beside `find | xargs cat | sha256sum`;
 *  6. the no-op deploy beside a bare `terraform plan` (needs `npm run tools` and the providers);
 *  7. `npm run status` beside `nomad job status` on one agent (needs `npm run tools`).
 * Figures are medians; they go in the README, not in timed tests.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'cdktf';
import { hashBuildContext } from '../../config/build-context';
import { loadEnvironment, parseEnvironment } from '../../config/load';
import { syntheticContext } from './context-tree';
import { benchNoopDeploy } from './noop-deploy';
import { benchStatus } from './status';
import { production } from '../../config/production';
import { DashboardStack } from '../../stacks/dashboard-stack';
import { FIXTURE_APP, FIXTURE_CONFIG, fixtureEdge, REPO_ROOT } from '../support/synth';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
/** The app's synth beside its floor: a process each, a fifth of a second, so more runs cost little and steady the ratio. */
const SYNTH_RUNS = Number(process.env.BENCH_SYNTH_RUNS ?? 15);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/**
 * Shell commands run from the project as cdktf runs its app (told an outdir, the fixture app as
 * the checkout), taking turns so that a busy machine slows each alike. Medians, by command.
 */
function timeCommands(commands: readonly string[], runs: number): number[] {
  const times = commands.map((): number[] => []);
  for (let i = 0; i < runs + 1; i++) {
    commands.forEach((command, c) => {
      const outdir = mkdtempSync(join(tmpdir(), 'bench-out-'));
      const started = process.hrtime.bigint();
      const r = spawnSync('sh', ['-c', command], {
        cwd: REPO_ROOT,
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', DASHBOARD_SOURCE: FIXTURE_APP, DASHBOARD_CONFIG_DIR: FIXTURE_CONFIG, CDKTF_OUTDIR: outdir },
        encoding: 'utf8',
      });
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      rmSync(outdir, { recursive: true, force: true });
      if (r.status !== 0) throw new Error(`${command} failed:\n${r.stderr}`);
      if (i > 0) times[c]!.push(ms); // the first run may compile, and fills the page cache
    });
  }
  return times.map(median);
}

function timeSynthWithWorkers(workers: number): number {
  const base = loadEnvironment('production', fixtureEdge());
  const input = production(fixtureEdge());
  const environment = parseEnvironment({
    ...input,
    workers: Array.from({ length: workers }, (_, i) => ({
      name: `sidekiq-${i}`,
      queues: [`queue_${i}`, 'default'],
      resources: { cpu: 500, memoryMB: 512 },
      placement: { notOnNodes: ['node-railsweb'] },
    })),
    ...(input.release ? { release: { ...input.release, group: 'sidekiq-0' } } : {}),
  });
  const env = { ...environment, image: base.image };
  const times: number[] = [];
  for (let i = 0; i < RUNS + 1; i++) {
    const outdir = mkdtempSync(join(tmpdir(), 'bench-out-'));
    const started = process.hrtime.bigint();
    const app = new App({ outdir });
    new DashboardStack(app, 'bench', { environment: env, projectDir: process.cwd() });
    app.synth();
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    if (i > 0) times.push(ms); // the first run warms the JIT
    rmSync(outdir, { recursive: true, force: true });
  }
  return median(times);
}

/** The build-context hash beside the plainest hash of the same bytes: every file, catenated, one sha256. */
function benchContextHash(): void {
  const tree = syntheticContext();
  try {
    const hashTimes: number[] = [];
    const floorTimes: number[] = [];
    for (let i = 0; i < RUNS + 1; i++) {
      let started = process.hrtime.bigint();
      hashBuildContext(tree.dir);
      const hashMs = Number(process.hrtime.bigint() - started) / 1e6;
      started = process.hrtime.bigint();
      const floor = spawnSync('sh', ['-c', 'find . -type f | xargs cat | sha256sum'], { cwd: tree.dir, encoding: 'utf8' });
      const floorMs = Number(process.hrtime.bigint() - started) / 1e6;
      if (floor.status !== 0) throw new Error(`find | xargs cat | sha256sum failed: ${floor.stderr}`);
      if (i > 0) {
        // the first run fills the page cache for both
        hashTimes.push(hashMs);
        floorTimes.push(floorMs);
      }
    }
    const [hash, floor] = [median(hashTimes), median(floorTimes)];
    const size = `${tree.files} files, ${(tree.bytes / 1e6).toFixed(0)} MB`;
    process.stdout.write(`  build-context hash (${size}): ${fmt(hash)}\n`);
    process.stdout.write(`  find | xargs cat | sha256sum, same:  ${fmt(floor)}\n`);
    process.stdout.write(`  ratio hash / sha256sum (goal <= 1.5): ${(hash / floor).toFixed(2).padStart(8)}\n`);
  } finally {
    rmSync(tree.dir, { recursive: true, force: true });
  }
}

const fmt = (ms: number) => `${ms.toFixed(0).padStart(6)} ms`;
process.stdout.write(`synth benchmarks (median of ${RUNS} runs; node ${process.version})\n`);
const appCommand = (JSON.parse(readFileSync(join(REPO_ROOT, 'cdktf.json'), 'utf8')) as { app: string }).app;
const [app, floor] = timeCommands([appCommand, 'node __tests__/bench/imports-only.cjs'], SYNTH_RUNS) as [number, number];
process.stdout.write(`  app synth, all stacks (${appCommand}, median of ${SYNTH_RUNS}): ${fmt(app)}\n`);
process.stdout.write(`  node loading cdktf + providers only: ${fmt(floor)}\n`);
process.stdout.write(`  ratio app / floor (goal <= 1.3):     ${(app / floor).toFixed(2).padStart(9)}\n`);
for (const n of [7, 100]) {
  process.stdout.write(`  one stack, ${String(n).padStart(3)} sidekiq groups:       ${fmt(timeSynthWithWorkers(n))}\n`);
}
benchContextHash();
const print = (line: string) => process.stdout.write(`${line}\n`);
void benchNoopDeploy(print)
  .catch((e: Error) => {
    process.stderr.write(`no-op deploy benchmark failed: ${e.message}\n`);
    process.exitCode = 1;
  })
  .then(() => benchStatus(print))
  .catch((e: Error) => {
    process.stderr.write(`status benchmark failed: ${e.message}\n`);
    process.exitCode = 1;
  });
