import { describe, expect, it } from 'vitest';
import { type Command, CommandError, parseCommandLine, UsageError } from '../../commands/cli';
import { NomadError } from '../../commands/nomad-http';
import { runCommand } from '../support/command';

const command = (run: Command['run']): Command => ({ name: 'probe', usage: 'usage: npm run probe -- <environment>', run });

describe('the one entry every command goes through', () => {
  it('a usage error prints why, then the usage, and exits 1', async () => {
    const r = await runCommand(command(async () => Promise.reject(new UsageError("unexpected argument 'x'"))), []);
    expect(r).toEqual({ code: 1, stdout: '', stderr: "probe: unexpected argument 'x'\n\nusage: npm run probe -- <environment>\n" });
  });

  it("a worded failure is printed as it is, with its exit code; an unexpected one is prefixed '<name> failed:'", async () => {
    expect(await runCommand(command(async () => Promise.reject(new CommandError('job rails is not registered', 3))), [])).toMatchObject({ code: 3, stderr: 'job rails is not registered\n' });
    expect(await runCommand(command(async () => Promise.reject(new NomadError('cannot reach Nomad at http://x: refused'))), [])).toMatchObject({ code: 1, stderr: 'cannot reach Nomad at http://x: refused\n' });
    expect(await runCommand(command(async () => Promise.reject(new TypeError('x is undefined'))), [])).toMatchObject({ code: 1, stderr: 'probe failed: x is undefined\n' });
  });

  it('--help or -h before any --: the usage on stdout, exit 0, and the command does not run; after --, they are the remote command\'s', async () => {
    let ran: readonly string[] | undefined;
    const probe = command(async (args) => {
      ran = args;
      return 0;
    });
    for (const args of [['--help'], ['production', '-h'], ['production', '--help', '--', 'rails', 'runner']]) {
      expect(await runCommand(probe, args)).toEqual({ code: 0, stdout: 'usage: npm run probe -- <environment>\n', stderr: '' });
    }
    expect(ran).toBeUndefined();
    expect(await runCommand(probe, ['production', '--', 'rails', '--help'])).toEqual({ code: 0, stdout: '', stderr: '' });
    expect(ran).toEqual(['production', '--', 'rails', '--help']);
  });

  it('every failure it prints is redacted with the secrets of the environment', async () => {
    const token = 'c0ffee00-1234-4bad-8a11-00000000c0de';
    const r = await runCommand(command(async () => Promise.reject(new Error(`refused token ${token}`))), [], { env: { NOMAD_TOKEN: token } });
    expect(r.stderr).toBe('probe failed: refused token (sensitive value)\n');
  });

  it('interrupted: exit 130, saying so', async () => {
    const controller = new AbortController();
    const r = await runCommand(
      command(async (_args, io) => {
        controller.abort('SIGINT');
        throw new Error(`aborted: ${String(io.signal.reason)}`);
      }),
      [],
      { signal: controller.signal },
    );
    expect(r).toMatchObject({ code: 130, stderr: 'probe: interrupted\n' });
  });
});

describe('command lines', () => {
  const options = { group: { type: 'string' }, follow: { type: 'boolean', short: 'f' } } as const;

  it('positionals, options, and what follows -- as typed', () => {
    const p = parseCommandLine(['production', '-f', '--group', 'web', '--', 'rails', '-v'], options, { positionals: ['environment'] });
    expect(p).toEqual({ positionals: ['production'], options: { follow: true, group: 'web' }, rest: ['rails', '-v'] });
    expect(parseCommandLine(['production'], options, { positionals: ['environment'] }).rest).toBeUndefined();
  });

  it.each([
    [['production', '--nope'], "Unknown option '--nope'"],
    [['production', '--group'], "Option '--group <value>' argument missing"],
    [[], 'name the environment'],
    [['production', 'staging'], "unexpected argument 'staging'"],
  ])('%j is a usage error: %s', (args, message) => {
    expect(() => parseCommandLine(args, options, { positionals: ['environment'] })).toThrow(UsageError);
    expect(() => parseCommandLine(args, options, { positionals: ['environment'] })).toThrow(message);
  });
});
