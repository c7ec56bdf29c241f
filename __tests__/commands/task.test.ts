import { describe, expect, it } from 'vitest';
import { parseTaskArgs } from '../../commands/task';

describe('npm run task arguments', () => {
  it('takes the environment, flags, and the command after --', () => {
    const args = parseTaskArgs(['production', '--group', 'web', '--output', 'out', '--timeout', '2h', '--', 'rails', 'runner', 'script/report.rb']);
    expect(args).toMatchObject({ environment: 'production', group: 'web', output: 'out', command: ['rails', 'runner', 'script/report.rb'] });
    expect(args.timeout!.toNanoseconds()).toBe(7200e9);
  });

  it.each([
    [['production', 'rails', 'runner'], 'put the command after --'],
    [['production', '--'], 'no command after --'],
    [['--', 'rails'], 'name the environment'],
    [['qa', '--', 'rails'], "no environment 'qa' (known: production, staging, local)"],
    [['production', '--group', '--', 'rails'], "Option '--group <value>' argument missing"],
    [['production', '--group', '--output', 'x', '--', 'rails'], "Option '--group' argument is ambiguous"],
    [['production', '--nope', 'x', '--', 'rails'], "Unknown option '--nope'"],
    [['production', '--timeout', '10', '--', 'rails'], "--timeout: '10' "],
  ])('%j is refused: %s', (args, message) => {
    expect(() => parseTaskArgs(args)).toThrow(message);
  });
});
