import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import * as buildContext from '../../config/build-context';
import { buildApp } from '../../main';
import { DashboardStack } from '../../stacks/dashboard-stack';
import { DASHBOARD_DOCKERFILE } from '../../config/operator-inputs';
import { FIXTURE_APP, fixtureEdge } from '../support/synth';

vi.mock('../../config/build-context', async (importOriginal) => {
  const original = await importOriginal<typeof buildContext>();
  return { ...original, hashBuildContext: vi.fn(original.hashBuildContext) };
});

describe('a synth of every stack', () => {
  it('hashes each build context and Dockerfile they share once: production and staging build one image, local the checkout\'s own Dockerfile', () => {
    const app = buildApp(fixtureEdge(), mkdtempSync(join(tmpdir(), 'hash-once-')));
    const stacks = app.node.children.filter((c): c is DashboardStack => c instanceof DashboardStack);
    expect(stacks.map((s) => s.node.id)).toEqual(['production', 'staging', 'local']);
    const calls = vi.mocked(buildContext.hashBuildContext).mock.calls.map(([context, dockerfile]) => [context, dockerfile]);
    expect(calls).toEqual([
      [FIXTURE_APP, DASHBOARD_DOCKERFILE],
      [FIXTURE_APP, 'Dockerfile'],
    ]);
  });
});
