/**
 * The no-op deploy: after one real deploy to a fresh local environment, the paths that deploy
 * again with nothing changed, beside a bare `terraform plan` of the same synthesized stack and
 * state (the floor), each measured RUNS times in turns, and what they caused: builds, pushes,
 * job versions (all should be zero). Also where a `cdktf deploy` spends its time.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { LocalEnvironment } from '../e2e/support/local-environment';
import { expectSuccess, Project } from '../e2e/support/project';
import { requireProviders } from '../e2e/support/providers';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

export async function benchNoopDeploy(print: (line: string) => void): Promise<void> {
  requireProviders();
  const local = await LocalEnvironment.start();
  const project = new Project(local.env);
  const stackDir = join(project.dir, 'cdktf.out/stacks/local');
  /** Runs a command in the checkout; its wall time in ms. */
  const timed = (what: string, command: string, args: string[], cwd = project.dir, ok: number[] = [0], extra: Record<string, string> = {}): number => {
    const started = process.hrtime.bigint();
    const r = spawnSync(command, args, { cwd, env: { ...project.env, CDKTF_OUTDIR: join(project.dir, 'cdktf.out'), ...extra }, encoding: 'utf8' });
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    if (!ok.includes(r.status ?? -1)) throw new Error(`${what} exited ${r.status}:\n${r.stdout}${r.stderr}`);
    return ms;
  };
  try {
    expectSuccess(project.deploy(), 'first cdktf deploy local');
    const before = { builds: local.builds(), pushes: local.pushes(), version: (await local.nomad.job('rails'))!.Version };
    const tf = project.env.TERRAFORM_BINARY_NAME ?? 'terraform';
    const paths = {
      'npm run deploy -- local': () => timed('npm run deploy', 'npm', ['run', '--silent', 'deploy', '--', 'local', '--auto-approve']),
      '  the same without npm': () => timed('the deploy command', 'node', ['.ci/launch.cjs', 'deploy', 'local', '--auto-approve']),
      'cdktf deploy local': () => timed('cdktf deploy', join(project.dir, 'node_modules/.bin/cdktf'), ['deploy', 'local', '--auto-approve']),
      'bare terraform plan (floor)': () => timed('terraform plan', tf, ['plan', '-input=false', '-detailed-exitcode'], stackDir),
      '  synth of the one stack': () => timed('synth', 'node', ['.ci/launch.cjs'], project.dir, [0], { DASHBOARD_STACK: 'local' }),
      '  of which terraform init': () => timed('terraform init', tf, ['init', '-input=false'], stackDir),
      '  of which terraform plan': () => timed('terraform plan', tf, ['plan', '-input=false', '-detailed-exitcode', '-out=plan'], stackDir),
      '  terraform apply (plans, applies)': () => timed('terraform apply', tf, ['apply', '-input=false', '-auto-approve'], stackDir),
    };
    const times = Object.fromEntries(Object.keys(paths).map((k) => [k, [] as number[]]));
    for (let i = 0; i < RUNS; i++) for (const [name, run] of Object.entries(paths)) times[name]!.push(run());
    const m = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)]));
    const floor = m['bare terraform plan (floor)']!;
    print(`  no-op deploy (median of ${RUNS}, in turns; ratio to a bare terraform plan of the same stack and state):`);
    for (const [name, ms] of Object.entries(m)) {
      print(`    ${name.padEnd(32)} ${ms.toFixed(0).padStart(6)} ms  ${(ms / floor).toFixed(2).padStart(5)}x`);
    }
    const version = (await local.nomad.job('rails'))!.Version;
    print(`    caused: ${local.builds() - before.builds} builds, ${local.pushes() - before.pushes} pushes, ${version - before.version} job versions`);
  } finally {
    local.stop();
    project.remove();
  }
}
