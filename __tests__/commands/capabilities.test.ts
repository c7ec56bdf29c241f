import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ALL_NEEDS, deployNeeds, deployPolicy, describeToken, formatRefusal, outcomeOf, probesFor } from '../../commands/capabilities';
import { loadEnvironment } from '../../config/load';

const environment = (name: string) => loadEnvironment(name, { env: {}, cwd: process.cwd() }, { build: false });
const answer = (status: number, text = '') => ({ status, denied: /permission denied/i.test(text), unknownAllocation: /unknown allocation/i.test(text), reason: text });

describe('what the token is asked', () => {
  it('a deploy without a release: the job in its namespace and the variable nomad/jobs/<job>, nothing of the release or tasks', () => {
    const local = environment('local');
    expect(deployNeeds(local)).toEqual(['deploy']);
    expect(probesFor(local, deployNeeds(local), 'default').map((p) => p.capability)).toEqual([
      "submit-job in namespace 'default'",
      "read-job in namespace 'default'",
      'variable read on nomad/jobs/rails',
      'variable write on nomad/jobs/rails',
    ]);
  });

  it("production's deploy runs the release step: its variable copy and its logs too", () => {
    const production = environment('production');
    expect(deployNeeds(production)).toEqual(['deploy', 'release']);
    const capabilities = probesFor(production, deployNeeds(production), 'default').map((p) => p.capability);
    expect(capabilities).toContain('variable write on nomad/jobs/rails-release');
    expect(capabilities).toContain('variable destroy on nomad/jobs/rails-release');
    expect(capabilities).toContain("read-logs in namespace 'default'");
    expect(capabilities).not.toContain("alloc-exec in namespace 'default'");
  });

  it('every need: each capability asked once, naming every need that uses it', () => {
    const probes = probesFor(environment('production'), ALL_NEEDS, 'web');
    const names = probes.map((p) => p.capability);
    expect(new Set(names).size).toBe(names.length);
    expect(probes.find((p) => p.capability === "submit-job in namespace 'web'")!.neededBy).toEqual(['deploy', 'release', 'task']);
    expect(probes.find((p) => p.capability === 'variable write on nomad/jobs/rails-task-*')!.neededBy).toEqual(['task']);
    expect(probes.find((p) => p.capability === "alloc-exec in namespace 'web'")!.neededBy).toEqual(['console']);
  });
});

describe("Nomad's answers", () => {
  it('Permission denied is a refusal, whatever the status (the logs endpoint says it with 500)', () => {
    expect(outcomeOf(answer(403, 'Permission denied'), [200]).outcome).toBe('denied');
    expect(outcomeOf(answer(500, 'Permission denied'), [200, 400]).outcome).toBe('denied');
  });

  it("a CAS conflict is a write Nomad's ACL let through; a write that answers 200 is not what a probe expects", () => {
    expect(outcomeOf(answer(409), [409]).outcome).toBe('granted');
    expect(outcomeOf(answer(200), [409])).toEqual({ outcome: 'unknown', detail: 'cannot be told: Nomad answered 200' });
  });

  it('an allocation Nomad does not know cannot tell', () => {
    expect(outcomeOf(answer(404, 'Unknown allocation "0000"'), [200, 404])).toEqual({ outcome: 'unknown', detail: 'cannot be told: Unknown allocation "0000"' });
  });
});

describe('the refusal', () => {
  const local = environment('local');
  const token = { acls: 'on', known: true, name: 'deployer-ci', accessorId: '8c090a88-df8e-a484-d5f4-9b1c1f0b4481', type: 'client', policies: ['ci'], roles: [] } as const;
  const missing = [{ capability: 'variable write on nomad/jobs/rails', neededBy: ['deploy'] as const, outcome: 'denied' as const, detail: 'Nomad answered 403 Permission denied' }];
  const report = { address: 'https://nomad.example:4646', namespace: 'default', token, tokenName: describeToken(token), results: missing, missing };

  it("names the token, what it lacks and for what, the policy to add, and the cause on the last line", () => {
    const text = formatRefusal(report, local, ['deploy']);
    const lines = text.split('\n');
    expect(lines[0]).toBe("token 'deployer-ci' (accessor 8c090a88, policy ci) at https://nomad.example:4646 lacks what a deploy of environment 'local' (namespace 'default') will do:");
    expect(lines[1]).toBe('  - variable write on nomad/jobs/rails (for a deploy): Nomad answered 403 Permission denied');
    expect(text).toContain(deployPolicy('rails', 'default').split('\n').map((l) => `  ${l}`).join('\n'));
    expect(lines.at(-1)).toBe("refused before anything is built, pushed or registered: the Nomad token 'deployer-ci' lacks variable write on nomad/jobs/rails");
  });

  it('a token Nomad does not know is said so, not taken for missing capabilities', () => {
    const unknown = { acls: 'on', known: false, anonymous: false, reason: '404: ACL token not found' } as const;
    const text = formatRefusal({ ...report, token: unknown, tokenName: describeToken(unknown) }, local, ['deploy']);
    expect(text.split('\n').at(-1)).toBe('refused before anything is built, pushed or registered: NOMAD_TOKEN is not a token Nomad at https://nomad.example:4646 knows (404: ACL token not found)');
  });

  it("README's policy is the one the refusal prints", () => {
    const readme = readFileSync(join(__dirname, '../../README.md'), 'utf8');
    expect(readme).toContain(`\`\`\`hcl\n${deployPolicy('rails', 'default')}\n\`\`\``);
  });
});
