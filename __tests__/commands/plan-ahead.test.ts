import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { planAheadOn, planAheadStack } from '../../commands/plan-ahead';
import { stackBackend } from '../../commands/terraform-state';

describe('a plan run ahead of synth', () => {
  const dir = mkdtempSync(join(tmpdir(), 'plan-ahead-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('knows the local state file of the last stack, and no file for another backend', () => {
    const stack = (terraform: object) => JSON.stringify({ terraform });
    const localStateFileOf = (text: string, stackDir: string) => stackBackend(text, stackDir).stateFile;
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

  it('takes the last stack of an initialized directory: not with --adopt, not before its local state file is there, another backend only once the config is read', () => {
    const checkout = join(dir, 'checkout');
    const stackDir = join(checkout, 'stacks', 'local');
    const write = (backend: object | undefined) => writeFileSync(join(stackDir, 'cdk.tf.json'), JSON.stringify({ terraform: backend ? { backend } : {} }));
    mkdirSync(join(stackDir, '.terraform'), { recursive: true });
    write({ local: { path: '../../terraform.local.tfstate' } });
    expect(planAheadStack(stackDir, { otherBackends: true })).toBeUndefined(); // not initialized
    writeFileSync(join(stackDir, '.terraform', 'terraform.tfstate'), '{"backend": {"type": "local"}}');
    writeFileSync(join(stackDir, '.terraform.lock.hcl'), '');
    expect(planAheadStack(stackDir, { otherBackends: true })).toBeUndefined(); // no state file yet
    writeFileSync(join(checkout, 'terraform.local.tfstate'), '{"version": 4, "serial": 1}');
    const last = planAheadStack(stackDir, { otherBackends: false });
    expect(last && JSON.parse(last)).toEqual({ terraform: { backend: { local: { path: '../../terraform.local.tfstate' } } } });
    expect(planAheadStack(stackDir, { adopt: true, otherBackends: true })).toBeUndefined();
    write({ pg: { schema_name: 'dashboard' } });
    expect(planAheadStack(stackDir, { otherBackends: false })).toBeUndefined();
    expect(planAheadStack(stackDir, { otherBackends: true })).toContain('"pg"');
  });
});
