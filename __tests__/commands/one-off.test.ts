import { describe, expect, it } from 'vitest';
import type { Job } from '../../constructs/nomad/api';
import { variablePathOf } from '../../constructs/nomad/api';
import { consoleCommand, oneOffJob } from '../../commands/one-off-job';
import { failure, releaseJobId } from '../../commands/release';
import { exitCodeOf, Tail } from '../../commands/run-to-completion';
import { standInRequested } from '../../commands/stand-in';
import { fixtureEnvironment, jobOf, synthEnvironment } from '../support/synth';

const production = jobOf(synthEnvironment(fixtureEnvironment('production')));
const variable = { from: 'nomad/jobs/rails', to: 'nomad/jobs/rails-release' };
const release = (service: Job = production, standIn = false) =>
  oneOffJob(service, { id: 'rails-release', group: 'sidekiq-default', command: ['rails', 'db:migrate'], variable, standIn }).Job;

describe('a one-off job in the shape of a group', () => {
  const job = release();
  const group = job.TaskGroups[0]!;
  const task = group.Tasks[0]!;
  const worker = production.TaskGroups.find((g) => g.Name === 'sidekiq-default')!;

  it('is a batch job of that one group, one allocation, never restarted or rescheduled', () => {
    expect([job.ID, job.Name, job.Type]).toEqual(['rails-release', 'rails-release', 'batch']);
    expect(job.TaskGroups.map((g) => g.Name)).toEqual(['sidekiq-default']);
    expect(group.Count).toBe(1);
    expect(group.RestartPolicy).toMatchObject({ Attempts: 0, Mode: 'fail' });
    // A task's own policy wins over its group's, and Nomad stores a copy of the service's in each task.
    expect(task.RestartPolicy).toMatchObject({ Attempts: 0, Mode: 'fail' });
    expect(group.ReschedulePolicy).toEqual({ Attempts: 0, Unlimited: false });
  });

  it("keeps the worker's image, entrypoint, env, volumes, network and Connect upstreams; runs the command instead of sidekiq", () => {
    const workerTask = worker.Tasks[0]!;
    expect(task.Config).toEqual({ ...workerTask.Config, command: 'rails', args: ['db:migrate'] });
    expect(task.Env).toEqual(workerTask.Env);
    expect(task.VolumeMounts).toEqual(workerTask.VolumeMounts);
    expect(group.Volumes).toEqual(worker.Volumes);
    expect(group.Networks).toEqual(worker.Networks);
    // The same Consul service name: the intentions that let the worker reach mariadb let the release too.
    expect(group.Services).toEqual(worker.Services);
  });

  it('reads the runtime config and pull credentials from the copy at its own job path, and nothing from the service job path', () => {
    expect(task.Templates).toHaveLength(worker.Tasks[0]!.Templates!.length);
    for (const t of task.Templates!) {
      expect(t.EmbeddedTmpl).toContain('nomadVar "nomad/jobs/rails-release"');
      expect(t.EmbeddedTmpl).not.toContain('nomadVar "nomad/jobs/rails"');
    }
    expect(variablePathOf('rails-release')).toBe('nomad/jobs/rails-release');
    expect(releaseJobId('rails-staging')).toBe('rails-staging-release');
  });

  it("drops what Nomad refuses on a batch job (a service's update and migrate blocks) and the Connect sidecar task Nomad added", () => {
    const stored = structuredClone(production) as Job & { TaskGroups: Array<Record<string, unknown>> };
    const web = stored.TaskGroups.find((g) => g.Name === 'web')!;
    Object.assign(web, { Migrate: { MaxParallel: 1 } });
    (web.Tasks as unknown[]).push({ Name: 'connect-proxy-puma', Kind: 'connect-proxy:puma', Driver: 'docker', Config: {}, Resources: { CPU: 100, MemoryMB: 300 } });
    const run = oneOffJob(stored as Job, { id: 'rails-task-1', group: 'web', command: ['rails', 'runner', 'x.rb'] }).Job.TaskGroups[0]! as unknown as Record<string, unknown>;
    expect(run.Update).toBeUndefined();
    expect(run.Migrate).toBeUndefined();
    expect((run.Tasks as Array<{ Name: string }>).map((t) => t.Name)).toEqual(['rails_server']);
  });

  it('names the groups when asked for one the job lacks, and refuses an empty command line', () => {
    expect(() => oneOffJob(production, { id: 'x', group: 'sidekiq-nope', command: ['rails'] })).toThrow(
      "job 'rails' has no group 'sidekiq-nope' (it has: web, sidekiq-constant, sidekiq-daily, sidekiq-default, sidekiq-long, sidekiq-medium, sidekiq-short)",
    );
    expect(() => oneOffJob(production, { id: 'x', group: 'web', command: [] })).toThrow('needs at least the program');
  });

  it('as a raw_exec stand-in, runs the command line itself, keeps templates, env and the image it stands in for, and needs no CNI, Consul or host volume', () => {
    const standIn = release(production, true);
    const g = standIn.TaskGroups[0]!;
    const t = g.Tasks[0]!;
    expect(t.Driver).toBe('raw_exec');
    expect(t.Config).toEqual({ command: 'rails', args: ['db:migrate'] });
    expect(t.Meta!.standin_for_image).toBe(worker.Tasks[0]!.Config.image);
    expect(t.Templates).toEqual(task.Templates);
    expect(t.Env).toEqual(task.Env);
    expect([g.Networks, g.Services, g.Volumes, t.VolumeMounts]).toEqual([undefined, undefined, undefined, undefined]);
  });

  it("as a stand-in, drops the Consul constraints Nomad added for Connect and keeps the group's own", () => {
    const stored = structuredClone(production);
    const constant = stored.TaskGroups.find((g) => g.Name === 'sidekiq-constant')!;
    constant.Constraints!.push({ LTarget: '${attr.consul.version}', RTarget: '>= 1.7.0', Operand: 'semver' });
    const g = oneOffJob(stored, { id: 'x', group: 'sidekiq-constant', command: ['true'], standIn: true }).Job.TaskGroups[0]!;
    expect(g.Constraints).toEqual([{ LTarget: '${node.unique.name}', RTarget: 'node-railsweb', Operand: '!=' }]);
  });
});

describe('the console hint', () => {
  it('goes through the buildpacks launcher by its full path, since alloc exec skips the entrypoint', () => {
    expect(consoleCommand({ Name: 'sidekiq', Config: { entrypoint: ['launcher'] } }, 'abcd')).toBe('nomad alloc exec -i -t -task sidekiq abcd /cnb/lifecycle/launcher rails console');
  });

  it('runs the command directly in a Dockerfile image', () => {
    expect(consoleCommand({ Name: 'rails_server', Config: {} }, 'abcd', ['bash'])).toBe('nomad alloc exec -i -t -task rails_server abcd bash');
  });
});

describe('the raw_exec stand-in switch', () => {
  it('is off unless set, on for local, refused for any other environment or value', () => {
    expect(standInRequested({}, 'production')).toBe(false);
    expect(standInRequested({ DASHBOARD_RUN_STANDIN: 'raw_exec' }, 'local')).toBe(true);
    expect(() => standInRequested({ DASHBOARD_RUN_STANDIN: 'raw_exec' }, 'production')).toThrow("environment 'production' is not 'local'");
    expect(() => standInRequested({ DASHBOARD_RUN_STANDIN: 'docker' }, 'local')).toThrow("the only stand-in is 'raw_exec'");
  });
});

describe('following a run', () => {
  it('keeps the last lines, joining a line cut between chunks', () => {
    const tail = new Tail(3);
    for (const chunk of ['one\ntw', 'o\nthree\n', 'four\nfi', 've']) tail.add(chunk);
    expect(tail.lines()).toEqual(['three', 'four', 'five']);
  });

  it("reads the exit code of the task's last Terminated event", () => {
    const events = [
      { Type: 'Started', Time: 1 },
      { Type: 'Terminated', Time: 2, ExitCode: 7 },
    ];
    expect(exitCodeOf({ State: 'dead', Failed: true, Events: events })).toBe(7);
    expect(exitCodeOf({ State: 'pending', Failed: false, Events: [] })).toBeUndefined();
  });

  it('a failed release says so with its exit code and last lines, and that the job is not updated', () => {
    const text = failure({ outcome: 'failed', exitCode: 1, allocId: '0123456789', tail: ['migrating', 'boom'] }, 'rails-release', '2.0');
    expect(text).toBe(
      "the command failed (exit 1) after 2.0s; the job is not updated\nits last lines:\n  | migrating\n  | boom\n(job 'rails-release' is kept: nomad alloc logs 01234567; nomad alloc status 01234567)",
    );
    expect(failure({ outcome: 'unplaced', tail: [], reason: "group 'g': missing drivers" }, 'rails-release', '0.1')).toContain("Nomad cannot place it:\ngroup 'g': missing drivers");
  });
});
