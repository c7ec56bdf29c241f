import { describe, expect, it } from 'vitest';
import { missingFrom } from './e2e/support/subset';

// The end-to-end round-trip check is only as good as this comparison: it must catch a dropped key.
describe('missingFrom (the end-to-end round-trip check)', () => {
  const sent = {
    TaskGroups: [
      {
        Name: 'web',
        Constraints: [{ LTarget: '${node.unique.name}', RTarget: 'node-railsweb', Operand: '!=' }],
        Tasks: [{ Name: 'rails_server', Config: { args: ['-p', '5000'] }, Resources: { MemoryMB: 2800 } }],
      },
    ],
  };

  it('accepts what Nomad adds: defaults, a sidecar task, more constraints', () => {
    const stored = structuredClone(sent) as any;
    stored.TaskGroups[0].Tasks.push({ Name: 'connect-proxy-puma' });
    stored.TaskGroups[0].Constraints.unshift({ LTarget: '${attr.consul.version}', RTarget: '>= 1.8.0', Operand: 'semver' });
    stored.TaskGroups[0].Tasks[0].Resources.DiskMB = 0;
    stored.Version = 3;
    expect(missingFrom(sent, stored)).toEqual([]);
  });

  it('names a key Nomad dropped', () => {
    const stored = structuredClone(sent) as any;
    delete stored.TaskGroups[0].Tasks[0].Resources.MemoryMB;
    expect(missingFrom(sent, stored)).toEqual(['$.TaskGroups["web"].Tasks["rails_server"].Resources.MemoryMB: dropped by Nomad']);
  });

  it('names a value Nomad changed, such as an interpolation Terraform ate', () => {
    const stored = structuredClone(sent) as any;
    stored.TaskGroups[0].Constraints[0].LTarget = '';
    expect(missingFrom(sent, stored).join('\n')).toMatch(/Constraints\[0\]: not found/);
  });

  it('compares scalar arrays exactly, order included', () => {
    const stored = structuredClone(sent) as any;
    stored.TaskGroups[0].Tasks[0].Config.args = ['5000', '-p'];
    expect(missingFrom(sent, stored)).toEqual([
      '$.TaskGroups["web"].Tasks["rails_server"].Config.args: sent ["-p","5000"], Nomad has ["5000","-p"]',
    ]);
  });
});
