import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { localStateFileOf, planAheadOn } from '../../commands/plan-ahead';

describe('a plan run ahead of synth', () => {
  const dir = mkdtempSync(join(tmpdir(), 'plan-ahead-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('knows the local state file of the last stack, and no file for another backend', () => {
    const stack = (terraform: object) => JSON.stringify({ terraform });
    expect(localStateFileOf(stack({ backend: { local: { path: '/srv/terraform.local.tfstate' } } }), '/x/stacks/local')).toBe('/srv/terraform.local.tfstate');
    expect(localStateFileOf(stack({ backend: { local: { path: '../../s.tfstate' } } }), '/x/stacks/local')).toBe('/x/s.tfstate');
    expect(localStateFileOf(stack({}), '/x/stacks/local')).toBe('/x/stacks/local/terraform.tfstate');
    expect(localStateFileOf(stack({ backend: { pg: { schema_name: 'dashboard' } } }), '/x/stacks/local')).toBeUndefined();
  });

  it('runs only on a state file that is there: Terraform would create it empty to lock it, and the deploy would read that as broken', () => {
    const path = join(dir, 'terraform.local.tfstate');
    expect(planAheadOn(path)).toBe(false);
    writeFileSync(path, '');
    expect(planAheadOn(path)).toBe(false);
    writeFileSync(path, '{"version": 4, "serial": 1}');
    expect(planAheadOn(path)).toBe(true);
  });
});
