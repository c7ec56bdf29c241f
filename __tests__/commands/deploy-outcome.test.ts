import { describe, expect, it } from 'vitest';
import { describeFailedDeployments } from '../../commands/deploy-outcome';
import type { Deployment } from '../../commands/nomad-client';

const group = (desired: number, healthy: number, unhealthy = 0, placed = desired) => ({ DesiredTotal: desired, PlacedAllocs: placed, HealthyAllocs: healthy, UnhealthyAllocs: unhealthy });
const deployment = (over: Partial<Deployment> = {}): Deployment => ({
  ID: 'd2',
  JobID: 'rails',
  JobVersion: 1,
  Status: 'failed',
  StatusDescription: 'Failed due to unhealthy allocations - rolling back to job version 0',
  TaskGroups: { web: group(2, 2), 'sidekiq-long': group(1, 0, 1) },
  ...over,
});
const old = deployment({ ID: 'd1', JobVersion: 0, Status: 'successful' });
const revert = deployment({ ID: 'd3', JobVersion: 2, Status: 'running', StatusDescription: 'Deployment is running' });

describe('describeFailedDeployments', () => {
  it("names this deploy's failed deployment, job, version, Nomad's reason and each group short of healthy allocations; not the revert's running one", () => {
    expect(describeFailedDeployments([old], [revert, deployment(), old])).toBe(
      [
        "deployment d2 of job 'rails' version 1 failed: Failed due to unhealthy allocations - rolling back to job version 0",
        "  group 'sidekiq-long': 0 of 1 healthy, 1 unhealthy, 1 placed",
      ].join('\n'),
    );
  });

  it('says so when every group got healthy allocations', () => {
    expect(describeFailedDeployments([], [deployment({ TaskGroups: { web: group(1, 1) } })])).toContain('(every group has its allocations healthy)');
  });

  it.each([
    ['no deployment', [], []],
    ['only deployments that were there before (the deploy failed before registering)', [deployment()], [deployment()]],
    ['a new deployment that succeeded', [], [deployment({ Status: 'successful' })]],
    ['a new one still running', [], [deployment({ Status: 'running' })]],
  ])('says nothing for %s', (_, before, after) => {
    expect(describeFailedDeployments(before, after)).toBeUndefined();
  });
});
