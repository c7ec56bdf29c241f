import { type Command, execute } from '../../commands/cli';

export interface CommandRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command through the one entry every command uses, with its output captured. */
export async function runCommand(
  command: Command,
  args: readonly string[],
  options: { env?: Record<string, string | undefined>; cwd?: string; signal?: AbortSignal; interactive?: boolean } = {},
): Promise<CommandRun> {
  let stdout = '';
  let stderr = '';
  const code = await execute(command, args, {
    env: options.env ?? {},
    cwd: options.cwd ?? process.cwd(),
    stdout: (c) => (stdout += c.toString()),
    stderr: (c) => (stderr += c.toString()),
    signal: options.signal ?? new AbortController().signal,
    interactive: options.interactive ?? false,
  });
  return { code, stdout, stderr };
}
