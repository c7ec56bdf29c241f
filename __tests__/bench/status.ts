/**
 * `npm run status` beside the Nomad CLI's `nomad job status <job>`, on one local environment's
 * agent, in turns, medians of STATUS_RUNS: the package.json script's command line (npm's own
 * start-up, the same for every script, not counted), against a job whose deployment succeeded.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { NomadClient, nomadConnection } from '../../commands/nomad-client';
import { localJob, runnableJob, waitFor } from '../e2e/support/day-after-jobs';
import { LocalEnvironment, toolsEnv } from '../e2e/support/local-environment';
import { REPO_ROOT } from '../support/synth';

const RUNS = Number(process.env.BENCH_STATUS_RUNS ?? 15);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

export async function benchStatus(print: (line: string) => void): Promise<void> {
  const local = await LocalEnvironment.start();
  try {
    const nomad = new NomadClient(nomadConnection({ address: local.env.NOMAD_ADDR }, {}));
    await nomad.register(runnableJob(localJob({ digest: 'a'.repeat(64) })));
    await waitFor('a successful deployment of rails', async () => ((await nomad.latestDeployment('rails'))?.Status === 'successful' ? true : undefined), 120);
    const script = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts.status!;
    const env = { PATH: toolsEnv().PATH!, HOME: process.env.HOME ?? '', LOCAL_NOMAD_ADDR: local.env.NOMAD_ADDR, NOMAD_ADDR: local.env.NOMAD_ADDR };
    // Node's own start-up, for scale: what no command of ours can start under.
    const commands = { status: `${script} local`, nomad: 'nomad job status rails', node: 'node -e 0' };
    const times: Record<string, number[]> = { status: [], nomad: [], node: [] };
    for (let i = 0; i < RUNS + 1; i++) {
      for (const [name, command] of Object.entries(commands)) {
        const started = process.hrtime.bigint();
        const r = spawnSync('sh', ['-c', command], { cwd: REPO_ROOT, env, encoding: 'utf8' });
        const ms = Number(process.hrtime.bigint() - started) / 1e6;
        if (r.status !== 0) throw new Error(`${command} exited ${r.status}:\n${r.stdout}${r.stderr}`);
        if (i > 0) times[name]!.push(ms); // the first run may compile, and fills the page cache
      }
    }
    const [status, floor, node] = [median(times.status!), median(times.nomad!), median(times.node!)];
    print(`  npm run status (${script} local, median of ${RUNS}): ${status.toFixed(0).padStart(6)} ms`);
    print(`  nomad job status rails, same agent:                 ${floor.toFixed(0).padStart(6)} ms`);
    print(`  ratio status / nomad job status (goal <= 1.3):      ${(status / floor).toFixed(2).padStart(6)}`);
    print(`  node -e 0, for scale (ratio to nomad job status):  ${node.toFixed(0).padStart(6)} ms  ${(node / floor).toFixed(2)}x`);
  } finally {
    local.stop();
  }
}
