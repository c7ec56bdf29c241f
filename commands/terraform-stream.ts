import { spawn } from 'node:child_process';
import type { Redactor } from './secrets';

/** A command's environment as Terraform runs with it here: in automation (no hints worded for a prompt), no checkpoint calls home. */
export function automationEnv<E extends Readonly<Record<string, string | undefined>>>(env: E): E & { TF_IN_AUTOMATION: string; CHECKPOINT_DISABLE: string } {
  return { ...env, TF_IN_AUTOMATION: '1', CHECKPOINT_DISABLE: '1' };
}

/** What a streamed Terraform run printed and how it ended. */
export interface StreamedRun {
  /** Exit status; undefined when it could not be started or was killed by a signal. */
  readonly status: number | undefined;
  readonly signal?: NodeJS.Signals;
  /** Everything it printed (stdout and stderr, in arrival order), redacted, for what the deploy reads of it. */
  readonly output: string;
}

export interface StreamOptions {
  readonly cwd: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly redactor: Redactor;
  /** Where each line goes as it comes (the operator's terminal); @default - nowhere */
  readonly echo?: (line: string) => void;
  /**
   * Aborted by the first Ctrl-C. The terminal sends Terraform its own SIGINT (it is in the same
   * process group), and a second SIGINT makes Terraform quit without cleaning up; so a SIGINT is
   * not passed on, a SIGTERM (which reaches only this process) is passed on as SIGINT.
   */
  readonly signal?: AbortSignal;
}

/**
 * Runs a Terraform command (or any program) with its output shown line by line as it comes,
 * each line through the redactor, and kept for reading afterwards. Stdin stays the operator's
 * (a prompt would be Terraform's); the commands here always pass -input=false.
 */
export function streamed(command: string, args: readonly string[], options: StreamOptions): Promise<StreamedRun> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env as NodeJS.ProcessEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    const lines: string[] = [];
    const partial = { stdout: '', stderr: '' };
    const take = (stream: 'stdout' | 'stderr', chunk: Buffer) => {
      const parts = (partial[stream] + chunk.toString('utf8')).split('\n');
      partial[stream] = parts.pop()!;
      for (const line of parts) emit(line);
    };
    const emit = (line: string) => {
      const clean = options.redactor.redact(line);
      lines.push(clean);
      options.echo?.(clean);
    };
    child.stdout.on('data', (c: Buffer) => take('stdout', c));
    child.stderr.on('data', (c: Buffer) => take('stderr', c));
    const onAbort = () => {
      const reason = options.signal?.reason as unknown;
      if (reason === 'SIGTERM' && child.exitCode === null) child.kill('SIGINT');
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    child.on('error', (e) => {
      emit(`could not run ${command}: ${e.message}`);
      resolve({ status: undefined, output: lines.join('\n') });
    });
    child.on('close', (code, signal) => {
      options.signal?.removeEventListener('abort', onAbort);
      for (const stream of ['stdout', 'stderr'] as const) if (partial[stream]) emit(partial[stream]);
      resolve({ status: code ?? undefined, ...(signal ? { signal } : {}), output: lines.join('\n') });
    });
  });
}

/**
 * Terraform's error blocks (`╷ │ Error: … ╵`, or plain `Error: …` with -no-color), joined, without
 * the box drawing: what a failed run says of its cause, for the last lines of a deploy.
 */
export function terraformErrors(output: string): string[] {
  const errors: string[] = [];
  let block: { lines: string[]; boxed: boolean } | undefined;
  const close = () => {
    if (block) errors.push(block.lines.join('\n').trim());
    block = undefined;
  };
  for (const raw of output.split('\n')) {
    const boxed = /^[│╷╵]/.test(raw);
    const line = raw.replace(/^[│╷╵]\s?/, '');
    if (!block && /^(Error|error): /.test(line.trim())) block = { lines: [], boxed };
    if (!block) continue;
    // A boxed diagnostic ends at its closing corner, a plain one at its first blank line.
    if (block.boxed ? raw.startsWith('╵') : raw.trim() === '') {
      close();
      continue;
    }
    block.lines.push(line);
  }
  close();
  return errors.filter((e) => e.length > 0);
}

/** What an apply's output says it did to each resource: `nomad_job.rails: Modifications complete after 2s`. */
export function appliedResources(output: string): { address: string; action: 'created' | 'modified' | 'destroyed' }[] {
  const done: { address: string; action: 'created' | 'modified' | 'destroyed' }[] = [];
  const words = { Creation: 'created', Modifications: 'modified', Destruction: 'destroyed' } as const;
  for (const m of output.matchAll(/^(\S+): (Creation|Modifications|Destruction) complete after/gm)) {
    done.push({ address: m[1]!.replace(/\s*\(.*\)$/, ''), action: words[m[2] as keyof typeof words] });
  }
  return done;
}
