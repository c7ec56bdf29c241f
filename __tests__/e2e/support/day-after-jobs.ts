import type { Job, JobDocument } from '../../../constructs/nomad/api';
import { fixtureEnvironment, jobOf, synthEnvironment } from '../../support/synth';

/**
 * The local job as synth writes it, for the day-after commands' tests (status, logs, history):
 * registered straight through Nomad's API, as the nomad provider registers it (`PUT /v1/jobs`), so
 * a test can make three versions in seconds; `npm run deploy`'s own path is tested elsewhere.
 */
export function localJob(options: { digest: string; memoryMB?: Record<string, number>; jobId?: string; groups?: readonly string[] }): Job {
  const environment = fixtureEnvironment('local', { DASHBOARD_IMAGE: `127.0.0.1:5000/wikiedu-web@sha256:${options.digest}`, DASHBOARD_IMAGE_RUNTIME: 'direct' });
  const job = jobOf(synthEnvironment(environment));
  const memory = options.memoryMB ?? {};
  const groups = job.TaskGroups.filter((g) => !options.groups || options.groups.includes(g.Name)).map((g) => ({
    ...g,
    Tasks: g.Tasks.map((t) => (memory[g.Name] === undefined ? t : { ...t, Resources: { ...t.Resources, MemoryMB: memory[g.Name]! } })),
  }));
  return { ...job, ...(options.jobId ? { ID: options.jobId, Name: options.jobId } : {}), TaskGroups: groups };
}

/**
 * The same job with tasks that run here (the dev agent has no Docker engine, no Consul): each
 * task is a raw_exec shell loop that writes `<group> out <n>` to stdout and `<group> err <n>` to
 * stderr every half second (with `mark` in each line, to tell versions apart), in host
 * networking, without the Connect service, templates and volume; health is task states. A
 * group named in `failing` exits 1 at once, so its allocations never become healthy, and the
 * job does not revert (AutoRevert off), so that the failure stays to be seen. The image
 * stays in the task's Meta (raw_exec refuses an `image` key), where no command reads it.
 */
export function runnableJob(job: Job, options: { mark?: string; failing?: readonly string[]; minHealthy?: string } = {}): JobDocument {
  const seconds = (s: string) => Number(s.replace(/s$/, '')) * 1e9;
  const groups = job.TaskGroups.map((g) => {
    const group: Record<string, unknown> = {
      ...g,
      Networks: [{ Mode: 'host' }],
      Update: { ...g.Update, ...(options.failing?.length ? { AutoRevert: false } : {}), HealthCheck: 'task_states', MinHealthyTime: seconds(options.minHealthy ?? '1s'), HealthyDeadline: seconds('20s'), ProgressDeadline: seconds('60s') },
      // A failing group is given up on at once: no restarts, no reschedules.
      ...(options.failing?.includes(g.Name) ? { RestartPolicy: { Attempts: 0, Mode: 'fail', Interval: seconds('60s'), Delay: seconds('1s') }, ReschedulePolicy: { Attempts: 0, Unlimited: false } } : {}),
    };
    delete group.Services;
    delete group.Volumes;
    group.Tasks = g.Tasks.map((t) => {
      const fail = options.failing?.includes(g.Name);
      const line = `${g.Name}${options.mark ? ` ${options.mark}` : ''}`;
      const script = fail ? `echo '${line} out starting'; echo '${line} err cannot start' >&2; exit 1` : `i=0; while :; do echo "${line} out $i"; echo "${line} err $i" >&2; i=$((i+1)); sleep 0.5; done`;
      const task: Record<string, unknown> = {
        ...t,
        Driver: 'raw_exec',
        Config: { command: '/bin/sh', args: ['-c', script] },
        Meta: { ...(t.Meta ?? {}), image: String((t.Config as { image?: string }).image) },
        KillTimeout: 1e9,
      };
      delete task.Templates;
      delete task.VolumeMounts;
      return task;
    });
    return group;
  });
  return { Job: { ...job, TaskGroups: groups as unknown as Job["TaskGroups"] } };
}

/** Polls until `check` returns a value (not undefined), or fails after `seconds`, naming what `seen` last said it saw. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined>, seconds = 60, seen?: () => string): Promise<T> {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not in ${seconds}s${seen ? ` (last seen: ${seen()})` : ''}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}
