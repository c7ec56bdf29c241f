import { Construct } from 'constructs';
import type { GroupDemand } from './capacity';
import type { NetworkResource, Port, TaskGroup as TaskGroupJson, UpdateStrategy, VolumeRequest } from './api';
import type { ConnectService } from './connect';
import type { Constraint } from './constraint';
import { constructError } from '../core/construct-error';
import { duplicates } from '../core/duplicates';
import { Duration } from './duration';
import { DockerTask } from './task';
import type { Volume } from './volume';
import { checkPort, rule, wholeNumber } from '../core/rule';
import { isUnresolved } from '../core/tokens';

export interface GroupPort {
  /** The label tasks and services use. */
  readonly label: string;
  /** @default - the same port number inside the network namespace as on the host */
  readonly to?: number;
  /** A fixed host port. @default - a dynamic host port */
  readonly static?: number;
}

export interface RollingUpdate {
  /** How many allocations are replaced at once. @default 1 */
  readonly maxParallel?: number;
  /** How long an allocation must be healthy before the next is replaced. @default - Nomad's 10s */
  readonly minHealthyTime?: Duration;
  /** @default - Nomad's, NOMAD_UPDATE_DEFAULTS.healthyDeadline (5m) */
  readonly healthyDeadline?: Duration;
  /** @default - Nomad's, NOMAD_UPDATE_DEFAULTS.progressDeadline (10m) */
  readonly progressDeadline?: Duration;
  /** Go back to the last stable version when the deployment fails. @default - Nomad's false */
  readonly autoRevert?: boolean;
  /**
   * New allocations started beside the old ones before any old one is stopped. Needs the room
   * for them on the nodes. @default - Nomad's 0: each old allocation is stopped before its replacement starts
   */
  readonly canary?: number;
  /** Promote the canaries once all are healthy. Required with canaries: a deploy cannot wait for a person. @default - Nomad's false */
  readonly autoPromote?: boolean;
  /**
   * What makes an allocation healthy: its services' checks (and its tasks running), only its
   * tasks running, or an operator. @default - Nomad's 'checks'
   */
  readonly healthCheck?: 'checks' | 'task_states' | 'manual';
}

export interface TaskGroupProps {
  /** The group name, unique in its job. Nomad tracks allocations by it: renaming it replaces them. */
  readonly name: string;
  /** @default 1 */
  readonly count?: number;
  /** @default 'bridge' - what Consul Connect needs */
  readonly networkMode?: 'bridge' | 'host';
  /** @default [] */
  readonly ports?: readonly GroupPort[];
  /** @default - Nomad's update strategy of the job */
  readonly update?: RollingUpdate;
  /** @default [] */
  readonly constraints?: readonly Constraint[];
  /** @default [] */
  readonly services?: readonly ConnectService[];
  /**
   * Time between deregistering the group's services and stopping its tasks (Nomad's
   * `shutdown_delay`), so that Consul stops sending traffic before the process goes.
   * @default - none (Nomad's 0)
   */
  readonly shutdownDelay?: Duration;
}

/** What Nomad takes for a rolling update's times that the jobspec leaves out. */
export const NOMAD_UPDATE_DEFAULTS = { minHealthyTime: Duration.seconds(10), healthyDeadline: Duration.minutes(5), progressDeadline: Duration.minutes(10) } as const;

export const checkGroupName = rule((name: string) => /^[^\s/]+$/.test(name), "must not be empty or hold '/' or spaces");
/**
 * A group with a Connect service: Nomad refuses upper case in its name ("Consul Connect group … with
 * service … must not contain uppercase characters"; Consul assumes lower case without checking).
 */
export const checkConnectGroupName = rule((name: string) => name === name.toLowerCase(), 'must not hold upper-case letters (the group has a Consul Connect service)');
export const checkCount = wholeNumber({ min: 0 });
export const checkMaxParallel = wholeNumber({ min: 1 });
export const checkCanary = wholeNumber({ min: 0 });

/** The rolling update's own rules: how many at once, and deadlines in the order Nomad needs them. */
export function checkRollingUpdate(update: RollingUpdate): string | undefined {
  const maxParallel = update.maxParallel ?? 1;
  const badParallel = checkMaxParallel(maxParallel);
  if (badParallel) return `update max_parallel ${badParallel}, got ${maxParallel}`;
  const healthy = update.healthyDeadline ?? NOMAD_UPDATE_DEFAULTS.healthyDeadline;
  const progress = update.progressDeadline ?? NOMAD_UPDATE_DEFAULTS.progressDeadline;
  // Nomad fills in its default before it compares ("Minimum healthy time must be less than healthy deadline").
  const minHealthy = update.minHealthyTime ?? NOMAD_UPDATE_DEFAULTS.minHealthyTime;
  if (minHealthy.toNanoseconds() >= healthy.toNanoseconds()) {
    return `update min_healthy_time ${minHealthy}${update.minHealthyTime ? '' : " (Nomad's default)"} must be shorter than healthy_deadline ${healthy}`;
  }
  if (progress.toNanoseconds() !== 0 && progress.toNanoseconds() <= healthy.toNanoseconds()) {
    return `update progress_deadline ${progress} must be longer than healthy_deadline ${healthy}`;
  }
  const canary = update.canary ?? 0;
  const badCanary = checkCanary(canary);
  if (badCanary) return `update canary ${badCanary}, got ${canary}`;
  if (canary === 0 && update.autoPromote) {
    // Nomad: "Auto Promote requires a Canary count greater than zero".
    return 'update auto_promote needs canaries (a canary count greater than zero)';
  }
  if (canary > 0 && !update.autoPromote) {
    return `update canary ${canary} needs auto_promote: without it the deployment waits for 'nomad deployment promote', and a deploy with it`;
  }
  if (update.autoRevert && update.healthCheck === 'manual') {
    return "update auto_revert needs a health check Nomad runs ('checks' or 'task_states'), not 'manual'";
  }
  return undefined;
}

/**
 * A Nomad task group. Its tasks are the `DockerTask`s created inside it; the volumes it
 * requests are the ones those tasks mount. Both are collected when the job renders.
 */
export class TaskGroup extends Construct {
  readonly groupName: string;
  private readonly constraints: Constraint[];
  private readonly services: ConnectService[];

  constructor(scope: Construct, id: string, private readonly props: TaskGroupProps) {
    super(scope, id);
    const where = `group '${props.name}'`;
    const badName = checkGroupName(props.name);
    if (badName) throw constructError(this, `${where}: a group name ${badName}`);
    const count = props.count ?? 1;
    const badCount = checkCount(count);
    if (badCount) throw constructError(this, `${where}: count ${badCount}, got ${count}`);
    const badUpdate = props.update && checkRollingUpdate(props.update);
    if (badUpdate) throw constructError(this, `${where}: ${badUpdate}`);
    const badPorts = checkPorts(props.ports ?? []);
    if (badPorts) throw constructError(this, `${where}: ${badPorts}`);
    this.groupName = props.name;
    this.constraints = [...(props.constraints ?? [])];
    this.services = [];
    for (const service of props.services ?? []) this.addService(service);
    this.node.addValidation({ validate: () => this.validateChildren() });
  }

  addConstraint(constraint: Constraint): void {
    this.constraints.push(constraint);
  }

  addService(service: ConnectService): void {
    const badName = checkConnectGroupName(this.groupName);
    if (badName) throw constructError(this, `group '${this.groupName}': a group name ${badName}`);
    this.services.push(service);
  }

  get tasks(): DockerTask[] {
    return this.node.children.filter((c): c is DockerTask => c instanceof DockerTask);
  }

  get serviceNames(): string[] {
    return this.services.map((s) => s.name);
  }

  /** The volumes the tasks mount, by name. Throws when two tasks mean different volumes by one name. */
  get volumes(): Map<string, Volume> {
    const byName = new Map<string, Volume>();
    for (const task of this.tasks) {
      for (const { volume } of task.mounts) {
        const known = byName.get(volume.name);
        if (known && !known.sameAs(volume)) {
          throw new Error(
            `group '${this.groupName}': two different volumes are named '${volume.name}' (${JSON.stringify(known.render())} and ${JSON.stringify(volume.render())})`,
          );
        }
        byName.set(volume.name, volume);
      }
    }
    return byName;
  }

  /** True when the group sets an update strategy (Nomad allows one in service jobs only). */
  get hasUpdate(): boolean {
    return this.props.update !== undefined;
  }

  /** How long Nomad lets the group's deployment go without an allocation turning healthy before it fails it. */
  get progressDeadline(): Duration {
    return this.props.update?.progressDeadline ?? NOMAD_UPDATE_DEFAULTS.progressDeadline;
  }

  /** What the group asks of a node, for the capacity plan: its tasks, one sidecar per Connect service, volumes and excluded nodes. */
  demand(): GroupDemand {
    const tasks = this.tasks.map((t) => t.resources);
    return {
      name: this.groupName,
      count: this.props.count ?? 1,
      canary: this.props.update?.canary ?? 0,
      tasks: { cpu: tasks.reduce((n, r) => n + r.cpu, 0), memoryMB: tasks.reduce((n, r) => n + r.memoryMB, 0) },
      sidecars: this.services.length,
      hostVolumes: [...this.volumes.values()].map((v) => v.hostSource).filter((s): s is string => s !== undefined),
      notOnNodes: this.constraints.map((c) => c.excludedNode).filter((n): n is string => n !== undefined),
    };
  }

  render(): TaskGroupJson {
    const { networkMode = 'bridge', ports = [], update } = this.props;
    const network: NetworkResource = { Mode: networkMode };
    const dynamic: Port[] = ports.filter((p) => p.static === undefined).map((p) => ({ Label: p.label, ...(p.to ? { To: p.to } : {}) }));
    const reserved: Port[] = ports.filter((p) => p.static !== undefined).map((p) => ({ Label: p.label, Value: p.static, ...(p.to ? { To: p.to } : {}) }));
    if (dynamic.length > 0) network.DynamicPorts = dynamic;
    if (reserved.length > 0) network.ReservedPorts = reserved;

    const volumes: Record<string, VolumeRequest> = {};
    for (const [name, volume] of [...this.volumes].sort(([a], [b]) => a.localeCompare(b))) volumes[name] = volume.render();

    return {
      Name: this.groupName,
      Count: this.props.count ?? 1,
      ...(this.constraints.length > 0 ? { Constraints: this.constraints.map((c) => c.render()) } : {}),
      ...(update ? { Update: renderUpdate(update) } : {}),
      ...(this.props.shutdownDelay ? { ShutdownDelay: this.props.shutdownDelay.toNanoseconds() } : {}),
      Networks: [network],
      ...(Object.keys(volumes).length > 0 ? { Volumes: volumes } : {}),
      ...(this.services.length > 0 ? { Services: this.services.map((s) => s.render()) } : {}),
      Tasks: this.tasks.map((t) => t.render()),
    };
  }

  private validateChildren(): string[] {
    const where = `group '${this.groupName}'`;
    const errors: string[] = [];
    const tasks = this.tasks;
    if (tasks.length === 0) errors.push(`${where} has no task`);
    for (const name of duplicates(tasks.map((t) => t.taskName))) errors.push(`${where}: task name '${name}' is used twice`);
    for (const name of duplicates(this.services.map((s) => s.name))) errors.push(`${where}: service name '${name}' is used twice`);

    const labels = new Set((this.props.ports ?? []).map((p) => p.label));
    const known = labels.size > 0 ? [...labels].join(', ') : 'none';
    for (const task of tasks) {
      for (const label of task.ports) {
        if (!labels.has(label)) {
          errors.push(`${where}: task '${task.taskName}' publishes port label '${label}', which the group network does not define (defined: ${known})`);
        }
      }
    }
    for (const service of this.services) {
      if (service.port !== undefined && !service.portIsNumber && !labels.has(service.port)) {
        errors.push(`${where}: service '${service.name}' uses port label '${service.port}', which the group network does not define (defined: ${known})`);
      }
    }
    // A check exposed past the sidecar needs the port the service listens on at registration: a
    // number, or the label of a static port. Nomad: "unable to determine local service port for
    // service check …" (job_endpoint_hook_expose_check.go).
    for (const service of this.services.filter((s) => s.hasChecks && s.port !== undefined && !s.portIsNumber)) {
      const port = (this.props.ports ?? []).find((p) => p.label === service.port);
      if (port && port.static === undefined) {
        errors.push(`${where}: service '${service.name}' has an HTTP check on port label '${service.port}', a dynamic port: Nomad exposes a check only on a port it knows at registration (a number, or a static port)`);
      }
    }
    // In bridge mode the group shares one network namespace: an upstream cannot bind the port a service listens on.
    for (const service of this.services.filter((s) => s.portIsNumber)) {
      for (const other of this.services) {
        const upstream = other.boundPorts.get(Number(service.port));
        if (upstream !== undefined) {
          errors.push(`${where}: upstream '${upstream}' of service '${other.name}' binds local port ${service.port}, which service '${service.name}' listens on`);
        }
      }
    }
    // Nomad refuses the job otherwise ("KillTimout … longer than the group's ProgressDeadline").
    const progress = this.progressDeadline;
    for (const task of this.props.update ? tasks : []) {
      const kill = task.killTimeout;
      if (kill && progress.toNanoseconds() !== 0 && kill.toNanoseconds() > progress.toNanoseconds()) {
        errors.push(`${where}: task '${task.taskName}' kill timeout ${kill} is longer than the update's progress_deadline ${progress}, which Nomad refuses`);
      }
    }
    const health = this.props.update?.healthCheck;
    if (this.props.update && (health ?? 'checks') === 'checks' && !this.services.some((s) => s.hasChecks)) {
      errors.push(`${where}: update health_check '${health ?? 'checks'}' (${health ? 'set' : "Nomad's default"}), but no service of the group has a check: use 'task_states' or add a check`);
    }
    // Nomad: "Consul Connect services … and … in group … using same address for upstreams".
    const listeners = new Map<number, string>();
    for (const service of this.services) {
      for (const [port, upstream] of service.boundPorts) {
        const other = listeners.get(port);
        if (other !== undefined) errors.push(`${where}: ${other} and upstream '${upstream}' of service '${service.name}' both bind local port ${port}`);
        else listeners.set(port, `upstream '${upstream}' of service '${service.name}'`);
      }
    }
    if (this.services.length > 0 && (this.props.networkMode ?? 'bridge') !== 'bridge') {
      errors.push(`${where}: Consul Connect services need network mode 'bridge', got '${this.props.networkMode}'`);
    }
    try {
      void this.volumes;
    } catch (e) {
      errors.push((e as Error).message);
    }
    return errors;
  }
}

function checkPorts(ports: readonly GroupPort[]): string | undefined {
  const [twice] = duplicates(ports.map((p) => p.label));
  if (twice !== undefined) return `port label '${twice}' is defined twice`;
  // Nomad: "Static port … already reserved by …".
  const [reserved] = duplicates(ports.flatMap((p) => (p.static === undefined || isUnresolved(p.static) ? [] : [String(p.static)])));
  if (reserved !== undefined) return `static port ${reserved} is reserved twice (${ports.filter((p) => String(p.static) === reserved).map((p) => `'${p.label}'`).join(' and ')})`;
  for (const p of ports) {
    for (const [key, value] of [['to', p.to], ['static', p.static]] as const) {
      const bad = value === undefined ? undefined : checkPort(value);
      if (bad) return `port '${p.label}' ${key} ${bad}, got ${value}`;
    }
  }
  return undefined;
}

function renderUpdate(update: RollingUpdate): UpdateStrategy {
  return {
    MaxParallel: update.maxParallel ?? 1,
    ...(update.minHealthyTime ? { MinHealthyTime: update.minHealthyTime.toNanoseconds() } : {}),
    ...(update.healthyDeadline ? { HealthyDeadline: update.healthyDeadline.toNanoseconds() } : {}),
    ...(update.progressDeadline ? { ProgressDeadline: update.progressDeadline.toNanoseconds() } : {}),
    ...(update.autoRevert !== undefined ? { AutoRevert: update.autoRevert } : {}),
    ...(update.canary !== undefined ? { Canary: update.canary } : {}),
    ...(update.autoPromote !== undefined ? { AutoPromote: update.autoPromote } : {}),
    ...(update.healthCheck ? { HealthCheck: update.healthCheck } : {}),
  };
}
