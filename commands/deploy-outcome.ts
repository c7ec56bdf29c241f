import type { Deployment } from './nomad-client';

/**
 * What a failed deploy adds to the provider's message, which names the deployment and Nomad's
 * reason but not the group: each deployment of the job that this deploy started (not among
 * `before`) and that failed, with the groups that did not get their allocations healthy. A
 * reverted deployment is followed by the revert's own deployment, which is not a failure of this
 * deploy's version; it is left out unless it failed too. Undefined when there is nothing to say.
 */
export function describeFailedDeployments(before: readonly Deployment[], after: readonly Deployment[]): string | undefined {
  const known = new Set(before.map((d) => d.ID));
  const failed = after.filter((d) => !known.has(d.ID) && d.Status === 'failed').sort((a, b) => a.JobVersion - b.JobVersion);
  if (failed.length === 0) return undefined;
  return failed.map(describe).join('\n');
}

function describe(d: Deployment): string {
  const short = Object.entries(d.TaskGroups)
    .filter(([, g]) => g.HealthyAllocs < g.DesiredTotal || g.UnhealthyAllocs > 0)
    .sort(([a], [b]) => a.localeCompare(b));
  const groups = short.map(([name, g]) => `  group '${name}': ${g.HealthyAllocs} of ${g.DesiredTotal} healthy, ${g.UnhealthyAllocs} unhealthy, ${g.PlacedAllocs} placed`);
  return [
    `deployment ${d.ID} of job '${d.JobID}' version ${d.JobVersion} ${d.Status}: ${d.StatusDescription}`,
    ...(groups.length > 0 ? groups : ['  (every group has its allocations healthy)']),
  ].join('\n');
}
