import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Command, type CommandIo, ENVIRONMENT_NAMES, EXIT, parseCommandLine, runMain } from './cli';
import { connect } from './connect';
import { detectDrift, formatDrift } from './drift';
import { Redactor } from './secrets';
import type { Steps } from './terraform';
import { readRegisteredJob } from './terraform-state';

const USAGE = `usage: npm run diff -- <environment> [-- cdktf diff options]   (${ENVIRONMENT_NAMES})

Runs \`cdktf diff <environment>\` as it is (Terraform's plan; builds and changes nothing), then
says whether the job in Nomad was changed by hand since this tool registered it (drift), which
Terraform does not see: each drifted field with its live and its declared value. A deploy puts
the declared job back.
Exit status: cdktf diff's own (0 planned, 1 error; drift does not change it), 130 interrupted.`;

/**
 * `npm run diff -- <env>`: `cdktf diff <env>` (its output and its exit status are the design's
 * contract, passed on as they are), then the drift report (drift.ts) on stdout.
 */
export const diffCommand: Command = {
  name: 'diff',
  usage: USAGE,
  async run(args, io) {
    const { positionals, rest } = parseCommandLine(args, {}, { positionals: ['environment'], rest: 'cdktf diff options' });
    // The configuration is checked before cdktf starts: a bad one fails in a second.
    const { environment, nomad } = connect(positionals[0]!, io);
    const status = await cdktf(['diff', environment.name, ...(rest ?? [])], io);
    if (io.signal.aborted) {
      io.stderr('diff: interrupted: cdktf diff stopped; it changes nothing, so nothing is left behind\n');
      return EXIT.interrupted;
    }
    // cdktf said what failed; without its plan there is no state to compare with.
    if (status !== EXIT.ok) return status;
    const redactor = Redactor.fromEnvironment(io.env);
    const steps: Steps = { env: io.env as NodeJS.ProcessEnv, redactor, progress: (m) => io.stderr(`diff: ${redactor.redact(m)}\n`) };
    steps.progress(`drift check of job '${environment.job.id}' at ${nomad.connection.address}…`);
    const drift = await detectDrift(readRegisteredJob(stackDirectory(io.cwd, environment.name), steps), nomad);
    io.stdout(
      drift ? `\n${redactor.redact(formatDrift(drift))}\n` : `\nNo drift: job '${environment.job.id}' in Nomad is the one this tool last registered.\n`,
    );
    return status;
  },
};

/** Where `cdktf diff` synthesized the stack: cdktf.json's `output` (default cdktf.out), then `stacks/<name>`. */
function stackDirectory(projectDir: string, name: string): string {
  const config = join(projectDir, 'cdktf.json');
  const output = existsSync(config) ? ((JSON.parse(readFileSync(config, 'utf8')) as { output?: string }).output ?? 'cdktf.out') : 'cdktf.out';
  return join(projectDir, output, 'stacks', name);
}

/** The project's cdktf, its output passed on as it comes; resolves with its exit status. */
function cdktf(args: string[], io: CommandIo): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(join(io.cwd, 'node_modules/.bin/cdktf'), args, { cwd: io.cwd, env: io.env as NodeJS.ProcessEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    const stop = () => child.kill('SIGINT');
    io.signal.addEventListener('abort', stop, { once: true });
    child.stdout.on('data', (c: Buffer) => io.stdout(c));
    child.stderr.on('data', (c: Buffer) => io.stderr(c));
    child.on('error', (e) => reject(new Error(`could not run cdktf: ${e.message}`)));
    child.on('close', (code) => {
      io.signal.removeEventListener('abort', stop);
      resolve(code ?? EXIT.error);
    });
  });
}

runMain(diffCommand, module);
