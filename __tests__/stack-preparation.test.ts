import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type App, TerraformOutput, TerraformStack } from 'cdktf';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildApp } from '../main';
import { DashboardStack } from '../stacks/dashboard-stack';
import { filesBelow } from './support/run-app';
import { fixtureEdge } from './support/synth';

const outdirs: string[] = [];
// buildApp prints production's capacity table: not this test's business.
beforeAll(() => void vi.spyOn(process.stderr, 'write').mockImplementation(() => true));
afterAll(() => {
  vi.restoreAllMocks();
  outdirs.forEach((d) => rmSync(d, { recursive: true, force: true }));
});

/** Every file synth writes, by path below its outdir. */
function synthesized(prepare: (app: App) => void): Map<string, string> {
  const outdir = mkdtempSync(join(tmpdir(), 'prepare-out-'));
  outdirs.push(outdir);
  const app = buildApp(fixtureEdge(), outdir);
  prepare(app);
  app.synth();
  return new Map([...filesBelow(outdir)].map(([path, text]) => [path.slice(outdir.length), text]));
}

const stacks = (app: App) => app.node.findAll().filter((c): c is DashboardStack => c instanceof DashboardStack);
/** cdktf's own preparing pass, which DashboardStack skips. */
const cdktfPreparation = (app: App) => stacks(app).forEach((s) => TerraformStack.prototype.prepareStack.call(s));

describe("DashboardStack skips cdktf's preparing pass", () => {
  it('and synthesizes what the full pass gives, every stack and the manifest', () => {
    const skipped = synthesized(() => {});
    expect([...skipped.keys()].sort()).toEqual(['/manifest.json', '/stacks/local/cdk.tf.json', '/stacks/production/cdk.tf.json', '/stacks/staging/cdk.tf.json']);
    expect(skipped).toEqual(synthesized(cdktfPreparation));
  });

  it('(the comparison above sees what the pass adds for a reference into another stack)', () => {
    const crossReference = (app: App) => {
      const [production, staging] = stacks(app);
      new TerraformOutput(staging!, 'production_job', { value: production!.job.resource.id });
    };
    const skipped = synthesized(crossReference);
    const prepared = synthesized((app) => {
      crossReference(app);
      cdktfPreparation(app);
    });
    expect(prepared.get('/stacks/production/cdk.tf.json')).not.toEqual(skipped.get('/stacks/production/cdk.tf.json'));
  });
});
