import { isConnectSidecar, type Job, type JobDocument, type RestartPolicy, type Task, type TaskGroup } from '../constructs/nomad/api';
import { BUILDPACKS_LAUNCHER } from '../constructs/image/runtime';

/**
 * A batch job that runs one command line once in the shape of one group of a service job:
 * the group's task as it is (image, entrypoint, env, runtime-config templates, volume mounts,
 * resources), its network and Connect service (so the command reaches the group's upstreams
 * under the name Consul's intentions allow), its volumes and constraints; one allocation, no
 * restart, no reschedule. The release step (`commands/release.ts`) and `npm run task` both
 * build theirs here: the first from the jobspec Terraform is about to register, the second
 * from the job Nomad runs now.
 */
export interface OneOffOptions {
  /** The batch job's ID. */
  readonly id: string;
  /** The group whose shape the job takes. */
  readonly group: string;
  /** The command line, program first: `["rails", "db:migrate"]`. Started as the group's own command is (the image's entrypoint stays). */
  readonly command: readonly string[];
  /**
   * The Nomad Variable the group's templates read, and the one the batch job's templates read
   * instead: a task reads `nomad/jobs/<its own job ID>` through its workload identity, so the
   * items are copied there for the run (see `variablePathOf` in constructs/nomad/api.ts).
   * @default - the templates are left as they are
   */
  readonly variable?: { readonly from: string; readonly to: string };
  /**
   * Replace the container by Nomad's raw_exec driver running the command line on the client
   * itself, and drop what needs a container runtime, CNI, Consul or a host volume (network,
   * Connect service and the Consul constraints Nomad adds for it, volumes). Only for the local environment's dev agent, which has none of
   * them (the end-to-end tests): everything else (the batch job, its templates and variable,
   * the waiting, the logs, the files) is the real path. The image the job would have run is
   * kept in the task's `Meta.standin_for_image`.
   * @default false
   */
  readonly standIn?: boolean;
}

/**
 * The job ID of one `npm run task` run: `<job>-task-<suffix>`. The token's policy names them all
 * with one glob (`nomad/jobs/<job>-task-*`, README "Registry credentials").
 */
export function taskJobId(serviceJobId: string, suffix: string): string {
  return `${serviceJobId}-task-${suffix}`;
}

export function oneOffJob(service: Job, options: OneOffOptions): JobDocument {
  const group = service.TaskGroups.find((g) => g.Name === options.group);
  if (!group) {
    throw new Error(`job '${service.ID}' has no group '${options.group}' (it has: ${service.TaskGroups.map((g) => g.Name).join(', ')})`);
  }
  const tasks = group.Tasks.filter((t) => !isConnectSidecar(t));
  if (tasks.length !== 1) {
    throw new Error(`group '${group.Name}' of job '${service.ID}' has ${tasks.length} tasks (${tasks.map((t) => t.Name).join(', ')}): a one-off run takes the shape of a group of one task`);
  }
  const [program, ...args] = options.command;
  if (program === undefined || program === '') throw new Error('a one-off command line needs at least the program to run');
  const task = tasks[0]!;
  const templates = options.variable ? task.Templates?.map((t) => ({ ...t, EmbeddedTmpl: rereadVariable(t.EmbeddedTmpl, options.variable!) })) : task.Templates;

  // A finished command is finished: no restart, no second allocation. Set on the task too, where
  // Nomad's stored job holds a copy of the service's policy, which would win over the group's.
  const noRestart: RestartPolicy = { Attempts: 0, Interval: 24 * 3600e9, Delay: 15e9, Mode: 'fail' };
  let runTask: Task = {
    ...task,
    Config: { ...task.Config, command: program, args },
    RestartPolicy: noRestart,
    ...(templates ? { Templates: templates } : {}),
  };
  let runGroup: TaskGroup & Record<string, unknown> = {
    ...group,
    Count: 1,
    RestartPolicy: noRestart,
    ReschedulePolicy: { Attempts: 0, Unlimited: false },
    Tasks: [runTask],
  };
  // Rolling updates, migration and scaling are a service's; Nomad refuses them on a batch job.
  for (const key of ['Update', 'Migrate', 'Scaling', 'StopAfterClientDisconnect', 'MaxClientDisconnect']) delete runGroup[key];

  if (options.standIn) {
    const image = typeof task.Config.image === 'string' ? task.Config.image : '';
    const { VolumeMounts: _mounts, ...rest } = runTask;
    runTask = {
      ...rest,
      Driver: 'raw_exec',
      Config: { command: program, args },
      Meta: { ...(task.Meta ?? {}), standin_for_image: image },
    };
    const { Networks: _networks, Services: _services, Volumes: _volumes, Constraints: constraints, ...bare } = runGroup;
    // Nomad adds `${attr.consul.version}` constraints to a group with a Connect service: no Consul, no service, no constraint.
    const kept = (constraints ?? []).filter((c) => !c.LTarget.startsWith('${attr.consul.'));
    runGroup = { ...bare, ...(kept.length > 0 ? { Constraints: kept } : {}), Tasks: [runTask] };
  }

  return {
    Job: {
      ID: options.id,
      Name: options.id,
      Type: 'batch',
      ...(service.Region ? { Region: service.Region } : {}),
      ...(service.Namespace ? { Namespace: service.Namespace } : {}),
      Datacenters: [...service.Datacenters],
      ...(service.Constraints?.length ? { Constraints: service.Constraints } : {}),
      TaskGroups: [runGroup],
    },
  };
}

/** Points a template's `nomadVar "<from>"` at `<to>`; a template that reads no variable is left alone. */
function rereadVariable(template: string, variable: { from: string; to: string }): string {
  return template.split(`nomadVar "${variable.from}"`).join(`nomadVar "${variable.to}"`);
}

/**
 * The command that opens a console in a running allocation of the group: `nomad alloc exec`
 * does not go through the image's entrypoint, so a buildpacks image's command goes through the
 * launcher's full path.
 */
export function consoleCommand(task: Pick<Task, 'Name' | 'Config'>, allocId: string, command: readonly string[] = DEFAULT_CONSOLE): string {
  return ['nomad', ...consoleArgs(task, allocId, command, { tty: true })].join(' ');
}

/** What a console runs when not told: the Rails console. */
export const DEFAULT_CONSOLE: readonly string[] = ['rails', 'console'];

/**
 * The `nomad` CLI's arguments for a session in the task (`alloc exec -i [-t] -task <task> <alloc> …`):
 * through the launcher's full path for a buildpacks image. `tty: false` for a command fed from a pipe.
 */
export function consoleArgs(task: Pick<Task, 'Name' | 'Config'>, allocId: string, command: readonly string[], { tty }: { tty: boolean }): string[] {
  const entrypoint = task.Config.entrypoint as string[] | undefined;
  const launcher = entrypoint?.[0] === BUILDPACKS_LAUNCHER.entrypoint ? [BUILDPACKS_LAUNCHER.path] : [];
  return ['alloc', 'exec', '-i', tty ? '-t' : '-t=false', '-task', task.Name, allocId, ...launcher, ...command];
}
