import type { Project } from './project';

/** node-pty, as cdktf itself uses it to run Terraform. */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const pty = require('@cdktf/node-pty-prebuilt-multiarch') as {
  spawn(file: string, args: string[], options: { cwd: string; env: Record<string, string>; cols: number; rows: number }): {
    onData(listener: (data: string) => void): void;
    onExit(listener: (e: { exitCode: number }) => void): void;
    write(data: string): void;
    kill(signal?: string): void;
  };
};

/** Keys as a terminal sends them. */
export const KEY = { enter: '\r', down: '\x1b[B', ctrlC: '\x03' } as const;

/**
 * `npm run <script> -- <args>` at a terminal, as an operator runs it by hand: cdktf's approval
 * prompt waits for a key, holding the state lock while the operator reads the plan.
 */
export class AtTerminal {
  private text = '';
  readonly exited: Promise<number>;
  private readonly term: ReturnType<typeof pty.spawn>;

  constructor(project: Project, script: string, ...args: string[]) {
    const { CI: _ci, ...env } = project.env; // a person, not CI
    this.term = pty.spawn('npm', ['run', '--silent', script, '--', ...args], { cwd: project.dir, env, cols: 160, rows: 50 });
    this.term.onData((d) => (this.text += d));
    this.exited = new Promise((resolve) => this.term.onExit((e) => resolve(e.exitCode)));
  }

  /** What it has shown, colours and cursor moves taken out. */
  get output(): string {
    // eslint-disable-next-line no-control-regex
    return this.text.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');
  }

  /** Resolves once the output matches; fails with the output after `timeoutMs`. */
  async waitFor(pattern: RegExp, timeoutMs = 180_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (!pattern.test(this.output)) {
      if (Date.now() > until) throw new Error(`no ${pattern} after ${timeoutMs / 1000}s:\n${this.output.slice(-4000)}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  press(...keys: string[]): void {
    for (const k of keys) this.term.write(k);
  }

  /** Its exit code; killed (and failed) when it has not ended within `timeoutMs`. */
  async exit(timeoutMs = 120_000): Promise<number> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.kill();
        reject(new Error(`still running after ${timeoutMs / 1000}s:\n${this.output.slice(-4000)}`));
      }, timeoutMs);
    });
    try {
      return await Promise.race([this.exited, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Ctrl-C at the terminal (its whole process group), then the process itself. */
  kill(): void {
    try {
      this.term.write(KEY.ctrlC);
      this.term.kill('SIGKILL');
    } catch {
      // It has ended already.
    }
  }
}
