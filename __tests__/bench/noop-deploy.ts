/**
 * The no-op deploy: after one real deploy to a fresh local environment, how long a second
 * `cdktf deploy local` with nothing changed takes, beside a bare `terraform plan` of the
 * same synthesized stack and state, and what it caused: builds, pushes, job versions
 * (all should be zero).
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { LocalEnvironment } from '../e2e/support/local-environment';
import { expectSuccess, Project } from '../e2e/support/project';
import { requireProviders } from '../e2e/support/providers';

export async function benchNoopDeploy(print: (line: string) => void): Promise<void> {
  requireProviders();
  const local = await LocalEnvironment.start();
  const project = new Project(local.env);
  try {
    expectSuccess(project.deploy(), 'first cdktf deploy local');
    const before = { builds: local.builds(), pushes: local.pushes(), version: (await local.nomad.job('rails'))!.Version };
    const deploy = expectSuccess(project.deploy(), 'no-op cdktf deploy local');
    const started = Date.now();
    const plan = spawnSync('terraform', ['plan', '-input=false', '-no-color', '-detailed-exitcode'], {
      cwd: join(project.dir, 'cdktf.out/stacks/local'),
      env: project.env,
      encoding: 'utf8',
    });
    const planSeconds = (Date.now() - started) / 1000;
    if (plan.status !== 0) throw new Error(`terraform plan found changes or failed (${plan.status}):\n${plan.stdout}${plan.stderr}`);
    const version = (await local.nomad.job('rails'))!.Version;
    print(`  no-op cdktf deploy local:            ${(deploy.seconds * 1000).toFixed(0).padStart(6)} ms`);
    print(`  bare terraform plan, same stack:     ${(planSeconds * 1000).toFixed(0).padStart(6)} ms`);
    print(`  ratio deploy / plan:                 ${(deploy.seconds / planSeconds).toFixed(2).padStart(9)}`);
    print(`  caused: ${local.builds() - before.builds} builds, ${local.pushes() - before.pushes} pushes, ${version - before.version} job versions`);
  } finally {
    local.stop();
    project.remove();
  }
}
