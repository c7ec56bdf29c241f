import { spawn } from 'node:child_process';
import { CommandError, type CommandIo } from './cli';

/**
 * Runs another program for a command (the `nomad` CLI for a console)
 * and returns its exit code. With `terminal`, it gets this process's stdin, stdout and stderr
 * as they are (a prompt, a TTY session); otherwise its output goes through the command's io.
 * Ctrl-C at a terminal reaches it by itself (one process group); any other stop (SIGTERM, an
 * aborted signal in a test) is passed on to it as SIGTERM.
 */
export function runProgram(
  program: string,
  args: readonly string[],
  options: { io: CommandIo; env: Record<string, string | undefined>; cwd?: string; terminal: boolean; missing: string },
): Promise<number> {
  const { io } = options;
  return new Promise((resolve, reject) => {
    const child = spawn(program, [...args], {
      cwd: options.cwd ?? io.cwd,
      env: options.env as NodeJS.ProcessEnv,
      stdio: options.terminal ? 'inherit' : ['inherit', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', (c: Buffer) => io.stdout(c));
    child.stderr?.on('data', (c: Buffer) => io.stderr(c));
    const onAbort = () => {
      // The entry's reason is the signal's name (an Error naming it, in older entries).
      const reason: unknown = io.signal.reason;
      const byTerminal = /SIGINT/.test(typeof reason === 'string' ? reason : String((reason as Error | undefined)?.message ?? ''));
      if (!byTerminal) child.kill('SIGTERM');
    };
    io.signal.addEventListener('abort', onAbort, { once: true });
    child.on('error', (e: NodeJS.ErrnoException) => {
      io.signal.removeEventListener('abort', onAbort);
      reject(e.code === 'ENOENT' ? new CommandError(`${program} is not there to run: ${options.missing}`) : e);
    });
    child.on('close', (code, signal) => {
      io.signal.removeEventListener('abort', onAbort);
      resolve(code ?? (signal === 'SIGINT' || signal === 'SIGTERM' ? 130 : 1));
    });
  });
}
