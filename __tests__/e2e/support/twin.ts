import type { StoredJob } from './nomad-api';

/**
 * The deployed job with one group's task run by raw_exec instead of docker: its templates and
 * env as deployed, so the Nomad Variable, the templates, the paths and the change behaviour are
 * the real ones; only the payload is a shell script (containers cannot run here). No Connect
 * service or bridge network: the dev agent has neither Consul nor CNI.
 */
export function rawExecTwin(stored: StoredJob, groupName: string, script: string, args: readonly string[] = []): { Job: Record<string, unknown> } {
  const group = stored.TaskGroups.find((g) => g.Name === groupName);
  if (!group) throw new Error(`the deployed job has no group ${groupName}`);
  const task = group.Tasks[0];
  return {
    Job: {
      ID: stored.ID,
      Name: stored.ID,
      Type: 'service',
      Datacenters: stored.Datacenters,
      TaskGroups: [
        {
          Name: group.Name,
          Count: 1,
          Tasks: [
            {
              Name: task.Name,
              Driver: 'raw_exec',
              Config: { command: '/bin/sh', args: ['-c', script, 'twin', ...args] },
              Env: task.Env,
              Templates: task.Templates,
              Resources: { CPU: 100, MemoryMB: 64 },
            },
          ],
        },
      ],
    },
  };
}
