import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ENVIRONMENTS, loadEnvironment } from '../config/load';
import { describeFailedDeployments } from './deploy-outcome';
import { type Deployment, NomadClient, nomadConnection } from './nomad-client';

/**
 * `npm run deploy -- <env> [cdktf deploy options]`: `cdktf deploy`, as it is (its prompt, its
 * output, its exit status), and when it fails, the groups of the Nomad deployment it started
 * that did not become healthy: the provider's error names the deployment and Nomad's reason only.
 */
async function main(args: readonly string[]): Promise<number> {
  const name = args[0];
  const job = name && name in ENVIRONMENTS ? await jobOf(name) : undefined;
  const before = job ? await deployments(job) : [];
  const cdktf = spawnSync(join(process.cwd(), 'node_modules/.bin/cdktf'), ['deploy', ...args], { stdio: 'inherit' });
  const status = cdktf.status ?? 1;
  if (status === 0 || !job) return status;
  const said = describeFailedDeployments(before, await deployments(job));
  if (said) process.stderr.write(`\ndeploy: ${said.replace(/\n/g, '\ndeploy: ')}\n`);
  return status;
}

async function jobOf(name: string): Promise<{ client: NomadClient; id: string } | undefined> {
  try {
    const environment = loadEnvironment(name, { env: process.env, cwd: process.cwd() });
    return { client: new NomadClient(nomadConnection(environment.nomad, process.env), 10_000), id: environment.job.id };
  } catch {
    return undefined; // cdktf deploy says what is wrong with the config
  }
}

/** The job's deployments; none when Nomad cannot be asked (cdktf deploy says why). */
async function deployments(job: { client: NomadClient; id: string }): Promise<Deployment[]> {
  try {
    return await job.client.deployments(job.id);
  } catch {
    return [];
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`deploy failed: ${(e as Error).message}\n`);
    process.exitCode = 1;
  },
);
