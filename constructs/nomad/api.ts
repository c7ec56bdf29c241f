/**
 * Nomad's JSON job format, as the Go `api` package defines it (api/jobs.go, api/tasks.go,
 * api/services.go, api/consul.go, api/resources.go, api/constraint.go).
 *
 * Both the Terraform provider and Nomad drop keys they do not know without a word, so these
 * types are the only spell-checker the jobspec has: every key we send is declared here, once,
 * with the Go field name. Durations are nanoseconds (Go's time.Duration).
 */

/** Nanoseconds, as Go's time.Duration marshals to JSON. Build with `Duration`. */
export type Nanoseconds = number;

export interface Job {
  ID: string;
  Name: string;
  Type: 'service' | 'batch' | 'system' | 'sysbatch';
  Region?: string;
  Namespace?: string;
  Datacenters: string[];
  Meta?: Record<string, string>;
  Constraints?: Constraint[];
  Update?: UpdateStrategy;
  TaskGroups: TaskGroup[];
}

export interface TaskGroup {
  Name: string;
  Count: number;
  Constraints?: Constraint[];
  Update?: UpdateStrategy;
  Networks?: NetworkResource[];
  Services?: Service[];
  Volumes?: Record<string, VolumeRequest>;
  RestartPolicy?: RestartPolicy;
  ReschedulePolicy?: ReschedulePolicy;
  /** Time between deregistering the group's services and killing its tasks. */
  ShutdownDelay?: Nanoseconds;
  Meta?: Record<string, string>;
  Tasks: Task[];
}

export interface Task {
  Name: string;
  Driver: string;
  /** What Nomad added the task for: `connect-proxy:<service>` for a Connect sidecar. Absent on the tasks a jobspec declares. */
  Kind?: string;
  /**
   * Driver-specific configuration: its keys are the driver's own (lower snake case). What we
   * render for the docker driver is a `DockerDriverConfig`; what Nomad returns may hold more.
   */
  Config: Record<string, unknown>;
  Env?: Record<string, string>;
  Resources: Resources;
  Templates?: Template[];
  VolumeMounts?: VolumeMount[];
  KillTimeout?: Nanoseconds;
  KillSignal?: string;
  /** Overrides the group's for this task (Nomad copies the group's into every task it stores). */
  RestartPolicy?: RestartPolicy;
  Meta?: Record<string, string>;
}

/** The docker driver's task config, as far as we render it (the driver's own keys: drivers/docker/config.go). */
export interface DockerDriverConfig {
  image: string;
  /** @default - the image's own ENTRYPOINT */
  entrypoint?: string[];
  command: string;
  args: string[];
  /** Labels of group network ports the container publishes. */
  ports?: string[];
  /** Registry credentials; Nomad interpolates `${…}` in them from the task environment. */
  auth?: { username: string; password: string };
  mount?: DockerMount[];
}

/** A docker driver `mount` block; a relative bind source lies inside the task directory. */
export interface DockerMount {
  type: 'bind';
  source: string;
  target: string;
  readonly: boolean;
}

export interface Resources {
  /** MHz */
  CPU: number;
  MemoryMB: number;
  MemoryMaxMB?: number;
}

export interface Constraint {
  LTarget: string;
  RTarget: string;
  Operand: string;
}

export interface UpdateStrategy {
  MaxParallel?: number;
  MinHealthyTime?: Nanoseconds;
  HealthyDeadline?: Nanoseconds;
  ProgressDeadline?: Nanoseconds;
  AutoRevert?: boolean;
  Canary?: number;
  /** Promote canaries once they are all healthy; without it a deployment with canaries waits for `nomad deployment promote`. */
  AutoPromote?: boolean;
  HealthCheck?: 'checks' | 'task_states' | 'manual';
}

export interface NetworkResource {
  Mode: 'bridge' | 'host' | 'none';
  DynamicPorts?: Port[];
  ReservedPorts?: Port[];
}

export interface Port {
  Label: string;
  /** Static host port (ReservedPorts); 0 for dynamic ports. */
  Value?: number;
  /** Port inside the network namespace the host port maps to. */
  To?: number;
}

export interface Service {
  Name: string;
  /** A port label of the group network, or, for Connect services, a literal port number. */
  PortLabel?: string;
  Tags?: string[];
  Provider?: 'consul' | 'nomad';
  Checks?: ServiceCheck[];
  Connect?: ConsulConnect;
}

/** A health check of a service (api/services.go `ServiceCheck`). */
export interface ServiceCheck {
  /** Required when Expose is set. */
  Name: string;
  Type: 'http' | 'tcp' | 'grpc' | 'script';
  /** The HTTP path, for Type 'http'. */
  Path?: string;
  Method?: string;
  /** @default - the service's port */
  PortLabel?: string;
  /**
   * For a Connect service in bridge mode: Nomad opens a path on a host port that the Consul agent
   * reaches past the sidecar (which would otherwise require mTLS). Needs Type 'http' or 'grpc' and a Name.
   */
  Expose?: boolean;
  Interval: Nanoseconds;
  Timeout: Nanoseconds;
}

export interface ConsulConnect {
  SidecarService: ConsulSidecarService;
}

export interface ConsulSidecarService {
  Proxy: ConsulProxy;
}

export interface ConsulProxy {
  Upstreams: ConsulUpstream[];
}

export interface ConsulUpstream {
  DestinationName: string;
  LocalBindPort: number;
}

export interface VolumeRequest {
  Name: string;
  Type: 'host' | 'csi';
  Source: string;
  ReadOnly: boolean;
}

export interface VolumeMount {
  Volume: string;
  Destination: string;
  ReadOnly: boolean;
}

/** A consul-template file Nomad renders for a task before it starts (api/tasks.go `Template`). */
export interface Template {
  /** The template text: consul-template syntax (`{{ with nomadVar "nomad/jobs/rails" }}…{{ end }}`). */
  EmbeddedTmpl: string;
  /** Where it is written, relative to the task directory (`secrets/…` is private to the task). */
  DestPath: string;
  /** What Nomad does when the rendered text changes. */
  ChangeMode: 'restart' | 'signal' | 'noop';
  ChangeSignal?: string;
  /** The rendered file is `KEY=value` lines, exported to the task's environment. */
  Envvars?: boolean;
  /** Octal file mode of the rendered file, e.g. "0600". */
  Perms?: string;
}

export interface RestartPolicy {
  Attempts: number;
  Interval: Nanoseconds;
  Delay: Nanoseconds;
  Mode: 'delay' | 'fail';
}

/** Whether Nomad places a failed allocation again (api/jobs.go `ReschedulePolicy`). */
export interface ReschedulePolicy {
  Attempts: number;
  Unlimited: boolean;
}

/**
 * Where Nomad lets a job's tasks read variables with no policy (workload identity grants
 * `nomad/jobs/<job>`, and the group and task paths below it, to the job's own tasks only).
 */
export function variablePathOf(jobId: string): string {
  return `nomad/jobs/${jobId}`;
}

/**
 * True for the Connect sidecar task Nomad adds to a group with a Connect service
 * (`connect-proxy-<service>`, of kind `connect-proxy:<service>`): it is in the jobs Nomad returns, never in a jobspec.
 */
export function isConnectSidecar(task: Task): boolean {
  return (task.Kind ?? '').startsWith('connect-proxy:') || task.Name.startsWith('connect-proxy-');
}

/** The document `nomad job run -output` prints and the provider accepts with `json = true`. */
export interface JobDocument {
  Job: Job;
}

/**
 * The job as the stack rendered it, written at synth beside the jobspec of each `nomad_job`,
 * under the resource's `//` key (`{"//": {"rendered_job": …}}`), which Terraform ignores: read by
 * `npm run plan` when Terraform knows the jobspec only after apply (a new image's digest, a new
 * runtime config revision). It is the JSON of a `JobDocument` with no Terraform escapes, where
 * every Terraform reference (`docker_registry_image.image.sha256_digest`) stands as
 * `referenceMark(reference)` inside the string that holds it.
 */
export const RENDERED_JOB_KEY = 'rendered_job';

/** A Terraform reference in the rendered job: the address between NULs, which no job's string holds. */
export function referenceMark(reference: string): string {
  return `\u0000${reference}\u0000`;
}

/** Every `referenceMark` in a string: group 1 is the reference. */
export const REFERENCE_MARKS = /\u0000([^\u0000]+)\u0000/g;

/** The reference of a string that is one `referenceMark` and nothing else (a number from a variable stands so); else undefined. */
export function referenceAlone(text: string): string | undefined {
  const [whole, reference] = new RegExp(REFERENCE_MARKS.source).exec(text) ?? [];
  return whole === text ? reference : undefined;
}
