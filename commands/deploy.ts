import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { ENVIRONMENTS, loadEnvironment } from '../config/load';
import type { Environment } from '../config/schema';
import { parseLockTimeout } from '../config/state';
import { describeFailedDeployments } from './deploy-outcome';
import { type Deployment, NomadClient, nomadConnection } from './nomad-client';
import { formatWait, heldLockReport, lockWaitEnv, takeLockTimeoutFlag } from './state-lock';

/**
 * `npm run deploy -- <env> [--lock-timeout=<duration>] [cdktf deploy options]`: `cdktf deploy`,
 * as it is (its prompt, its output, its exit status), waiting for another deploy's state lock up
 * to the environment's `state.lockTimeout` (or the flag's). When it fails: who holds the state
 * lock, if that was why; else the groups of the Nomad deployment it started that did not become
 * healthy (the provider's error names the deployment and Nomad's reason only).
 */
async function main(args: readonly string[]): Promise<number> {
  const { lockTimeout, rest } = takeLockTimeoutFlag(args);
  const name = rest[0];
  const environment = name && name in ENVIRONMENTS ? load(name) : undefined;
  const job = environment ? await jobOf(environment) : undefined;
  const before = job ? await deployments(job) : [];
  const wait = lockTimeout !== undefined ? parseLockTimeout(lockTimeout).toSeconds() : environment?.state.lockTimeout.toSeconds();
  const env = wait !== undefined && name ? lockWaitEnv(process.env, wait, { command: 'deploy', environment: name }) : process.env;
  if (wait !== undefined) process.stderr.write(`deploy: another run holding the state lock of '${name}' is waited for up to ${formatWait(wait)}\n`);
  const cdktf = await teed(join(process.cwd(), 'node_modules/.bin/cdktf'), ['deploy', ...rest], env);
  if (cdktf.status === 0 || !environment) return cdktf.status;
  const held = wait !== undefined ? heldLockReport(cdktf.output, environment, wait, env) : undefined;
  if (held) {
    process.stderr.write(`\n${held.map((l) => `deploy: ${l}\n`).join('')}`);
    return cdktf.status;
  }
  const said = job ? describeFailedDeployments(before, await deployments(job)) : undefined;
  if (said) process.stderr.write(`\ndeploy: ${said.replace(/\n/g, '\ndeploy: ')}\n`);
  return cdktf.status;
}

function load(name: string): Environment | undefined {
  try {
    return loadEnvironment(name, { env: process.env, cwd: process.cwd() }, { build: false });
  } catch {
    return undefined; // cdktf deploy says what is wrong with the config
  }
}

/** The output kept to read Terraform's lock error from: its last part is enough. */
const KEPT_OUTPUT = 256 * 1024;

/** Runs a command with its output passed through as it comes, and kept (the tail) for reading after. */
function teed(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ status: number; output: string }> {
  return new Promise((resolve) => {
    let output = '';
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString('utf8')).slice(-KEPT_OUTPUT);
    };
    const child = spawn(command, args, { env, stdio: ['inherit', 'pipe', 'pipe'] });
    child.stdout.on('data', (c: Buffer) => (process.stdout.write(c), keep(c)));
    child.stderr.on('data', (c: Buffer) => (process.stderr.write(c), keep(c)));
    // Ctrl-C reaches cdktf too, which stops Terraform: this process waits for it to say so.
    const ignore = () => {};
    process.on('SIGINT', ignore);
    child.on('error', (e) => {
      process.stderr.write(`deploy: could not run ${command}: ${e.message}\n`);
      resolve({ status: 1, output });
    });
    child.on('close', (code, signal) => {
      process.off('SIGINT', ignore);
      resolve({ status: code ?? (signal ? 130 : 1), output });
    });
  });
}

async function jobOf(environment: Environment): Promise<{ client: NomadClient; id: string } | undefined> {
  try {
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
