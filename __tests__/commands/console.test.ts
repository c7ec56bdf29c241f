import { describe, expect, it } from 'vitest';
import { consoleCommand, nomadCliEnvironment, parseConsoleArgs, pickAllocation } from '../../commands/console';
import type { AllocationStub } from '../../commands/nomad-client';
import { nomadConnection } from '../../commands/nomad-client';
import { consoleArgs } from '../../commands/one-off-job';
import { runCommand } from '../support/command';

describe('npm run console arguments', () => {
  it('opens rails console at a terminal, or the command after --', () => {
    expect(parseConsoleArgs(['production'], true)).toEqual({ environment: 'production', command: ['rails', 'console'], tty: true });
    expect(parseConsoleArgs(['production', '--group', 'sidekiq-default', '--', 'bash', '-l'], true)).toEqual({
      environment: 'production',
      group: 'sidekiq-default',
      command: ['bash', '-l'],
      tty: true,
    });
  });

  it('without a terminal, runs a command after -- with no TTY, and refuses a console, saying why', () => {
    expect(parseConsoleArgs(['local', '--', 'rails', 'runner', '-'], false)).toMatchObject({ command: ['rails', 'runner', '-'], tty: false });
    expect(() => parseConsoleArgs(['local'], false)).toThrow('a console needs a terminal (stdin and stdout are not both TTYs): run it in one, or give the command after -- to feed it from a pipe');
  });

  it.each([
    [['production', '--'], 'no command after --'],
    [['production', 'rails', 'console'], "unexpected argument 'rails': put the command after --"],
    [['production', '--group'], "Option '--group <value>' argument missing"],
    [['staging2'], "no environment 'staging2'"],
  ])('%j is refused: %s', (args, message) => {
    expect(() => parseConsoleArgs(args, true)).toThrow(message);
  });

  it('prints the usage and exits 1 without a terminal, before it asks Nomad anything', async () => {
    const run = await runCommand(consoleCommand, ['local'], { env: { LOCAL_NOMAD_ADDR: 'http://127.0.0.1:9' } });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^console: a console needs a terminal/);
    expect(run.stderr).toContain('usage: npm run console --');
  });
});

describe('the session', () => {
  it('goes through the launcher\'s full path for a buildpacks image; -t only at a terminal', () => {
    expect(consoleArgs({ Name: 'rails_server', Config: { entrypoint: ['launcher'] } }, 'abcd', ['rails', 'console'], { tty: true })).toEqual([
      'alloc', 'exec', '-i', '-t', '-task', 'rails_server', 'abcd', '/cnb/lifecycle/launcher', 'rails', 'console',
    ]);
    expect(consoleArgs({ Name: 'rails_server', Config: {} }, 'abcd', ['bash'], { tty: false })).toEqual(['alloc', 'exec', '-i', '-t=false', '-task', 'rails_server', 'abcd', 'bash']);
  });

  it('opens in a running allocation of the group, of the current version first, newest first', () => {
    const alloc = (ID: string, TaskGroup: string, ClientStatus: AllocationStub['ClientStatus'], JobVersion: number, CreateIndex: number, state = 'running'): AllocationStub =>
      ({ ID, TaskGroup, ClientStatus, JobVersion, CreateIndex, TaskStates: { rails_server: { State: state, Failed: false, Events: [] } } }) as AllocationStub;
    const allocs = [alloc('old', 'web', 'running', 3, 10), alloc('new', 'web', 'running', 4, 5), alloc('newest-other', 'sidekiq', 'running', 4, 20), alloc('failed', 'web', 'failed', 4, 30), alloc('pending', 'web', 'running', 4, 40, 'pending')];
    expect(pickAllocation(allocs, 'web', 'rails_server', 4)?.ID).toBe('new');
    expect(pickAllocation(allocs, 'web', 'rails_server', 5)?.ID).toBe('old');
    expect(pickAllocation(allocs, 'worker', 'rails_server', 4)).toBeUndefined();
  });

  it('hands the nomad CLI the connection this tool uses: config\'s address over a NOMAD_ADDR the shell had', () => {
    const env = { NOMAD_ADDR: 'https://production:4646', NOMAD_TOKEN: 't0ken', NOMAD_CACERT: '/ca.pem', NOMAD_TLS_SERVER_NAME: 'server.global.nomad', NOMAD_REGION: '', NOMAD_HTTP_AUTH: 'u:p', PATH: '/bin' };
    const out = nomadCliEnvironment(nomadConnection({ address: 'http://127.0.0.1:4646', namespace: 'wiki' }, env), env);
    expect(out).toEqual({ PATH: '/bin', NOMAD_HTTP_AUTH: 'u:p', NOMAD_ADDR: 'http://127.0.0.1:4646', NOMAD_TOKEN: 't0ken', NOMAD_NAMESPACE: 'wiki', NOMAD_CACERT: '/ca.pem', NOMAD_TLS_SERVER_NAME: 'server.global.nomad' });
  });
});
