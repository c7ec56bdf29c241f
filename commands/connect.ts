import { loadEnvironment } from '../config/load';
import type { Environment } from '../config/schema';
import { type CommandIo, environmentNamed } from './cli';
import { NomadClient, nomadConnection } from './nomad-client';

/**
 * An environment's configuration, validated, and a client for its cluster, as the `nomad` CLI
 * would connect. `build: false` (the default here) leaves the checkout alone: only a deploy
 * hashes it. Apart from cli.ts because the schema brings cdktf with it: a read command that
 * needs only the job and the cluster uses cli.ts's `connectToRead`, and starts fast.
 */
export function connect(name: string, io: Pick<CommandIo, 'env' | 'cwd'>, options: { timeoutMs?: number; build?: boolean } = {}): { environment: Environment; nomad: NomadClient } {
  const environment = loadEnvironment(environmentNamed(name), { env: io.env, cwd: io.cwd }, { build: options.build ?? false });
  return { environment, nomad: new NomadClient(nomadConnection(environment.nomad, io.env), options.timeoutMs) };
}
