import { Construct } from 'constructs';
import { type ITerraformDependable, Lazy } from 'cdktf';
import { Job as NomadJobResource } from '@cdktf/provider-nomad/lib/job';
import { type Job, type JobDocument, RENDERED_JOB_KEY } from './api';
import { type CapacityPlan, type Cluster, planCapacity } from './capacity';
import { constructError } from '../core/construct-error';
import { duplicates } from '../core/duplicates';
import type { Duration } from './duration';
import { TaskGroup } from './group';
import { referenceMarkedJson, terraformText } from './terraform-escape';
import { rule } from '../core/rule';
import { isUnresolved } from '../core/tokens';

export const checkJobId = rule(
  (id: string) => /^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(id),
  "must start with a letter or digit and hold only letters, digits, '_', '.' and '-'",
);
/** Nomad: "Missing job datacenters", "Job datacenter must be non-empty string". */
export const checkDatacenters = rule((dcs: readonly string[]) => dcs.length > 0 && dcs.every((dc) => dc !== ''), 'must name at least one datacenter, and no empty one');

export interface NomadJobProps {
  /** The job ID. Changing it registers a second job beside the first. */
  readonly jobId: string;
  readonly datacenters: readonly string[];
  /** @default - the agent's region */
  readonly region?: string;
  /** @default - the `default` namespace */
  readonly namespace?: string;
  /** @default 'service' */
  readonly type?: 'service' | 'batch';
  /**
   * Refuse `terraform destroy` (and any plan that would replace the job).
   * @default false
   */
  readonly preventDestroy?: boolean;
  /**
   * Resources that must exist before the job is registered (and go after it), such as the
   * Nomad Variable its tasks read when they start.
   * @default []
   */
  readonly dependsOn?: readonly ITerraformDependable[];
  /**
   * The nodes the job can land on, as far as they are known: synth refuses groups that cannot
   * fit them (Connect sidecars included, and canaries beside the old allocations in a rollout).
   * @default - nothing known, nothing checked
   */
  readonly cluster?: Cluster;
  /**
   * Wait, in `terraform apply`, for the deployment Nomad starts to end (the provider's
   * `detach = false`), for at most this long: a failed or reverted deployment fails the apply.
   * Must be longer than every group's progress deadline, or Terraform gives up before Nomad decides.
   * @default - Terraform returns as soon as Nomad has registered the job
   */
  readonly waitForDeployment?: Duration;
}

/**
 * A Nomad job registered through the Terraform provider as API JSON (`json = true`).
 * Its groups are the `TaskGroup`s created inside it; the jobspec is rendered at synth,
 * so groups added after construction are part of it.
 */
export class NomadJob extends Construct {
  readonly jobId: string;
  readonly resource: NomadJobResource;

  constructor(scope: Construct, id: string, private readonly props: NomadJobProps) {
    super(scope, id);
    if (isUnresolved(props.jobId)) {
      throw constructError(this, `job ID '${props.jobId}' must be known at synth, not a Terraform reference: it is the resource's address, nomad_job.<job ID>`);
    }
    const badId = checkJobId(props.jobId);
    if (badId) throw constructError(this, `job ID '${props.jobId}' ${badId}`);
    const badDatacenters = checkDatacenters(props.datacenters);
    if (badDatacenters) throw constructError(this, `job '${props.jobId}': datacenters ${badDatacenters}`);
    this.jobId = props.jobId;
    this.resource = new NomadJobResource(this, 'job', {
      jobspec: Lazy.stringValue({ produce: (context) => terraformText(this.jobspecJson(), context) }),
      json: true,
      ...(props.waitForDeployment
        ? { detach: false, timeouts: { create: props.waitForDeployment.toString(), update: props.waitForDeployment.toString() } }
        : {}),
      ...(props.preventDestroy ? { lifecycle: { preventDestroy: true } } : {}),
      ...(props.dependsOn?.length ? { dependsOn: [...props.dependsOn] } : {}),
    });
    // The job once more, for `npm run plan` (api.ts, RENDERED_JOB_KEY): Terraform ignores `//`.
    this.resource.addOverride(`//.${RENDERED_JOB_KEY}`, Lazy.stringValue({ produce: (context) => referenceMarkedJson({ Job: this.render() } satisfies JobDocument, context) }));
    // The Terraform address is `nomad_job.<job ID>`, whatever the construct tree looks like.
    this.resource.overrideLogicalId(props.jobId.replace(/[^A-Za-z0-9_-]/g, '_'));
    this.node.addValidation({ validate: () => this.validateGroups() });
  }

  /** Where each group can run and what that leaves on each declared node; undefined when no cluster is declared. */
  capacityPlan(): CapacityPlan | undefined {
    return this.props.cluster ? planCapacity(this.props.cluster, this.groups.map((g) => g.demand())) : undefined;
  }

  get groups(): TaskGroup[] {
    return this.node.children.filter((c): c is TaskGroup => c instanceof TaskGroup);
  }

  render(): Job {
    const { jobId, datacenters, region, namespace, type = 'service' } = this.props;
    return {
      ID: jobId,
      Name: jobId,
      Type: type,
      ...(region ? { Region: region } : {}),
      ...(namespace ? { Namespace: namespace } : {}),
      Datacenters: [...datacenters],
      TaskGroups: this.groups.map((g) => g.render()),
    };
  }

  /**
   * The jobspec as the provider receives it (once `terraformText` has escaped Nomad's
   * interpolations and put in the Terraform references): compact JSON. Terraform's plan shows a
   * JSON string as a structural diff whatever its layout, and the provider compares jobspecs
   * parsed, so layout never shows as a change; pretty, it was twice the text to synthesize.
   */
  private jobspecJson(): string {
    const document: JobDocument = { Job: this.render() };
    return JSON.stringify(document);
  }

  private validateGroups(): string[] {
    const where = `job '${this.jobId}'`;
    const groups = this.groups;
    const errors: string[] = [];
    if (groups.length === 0) errors.push(`${where} has no task group`);
    for (const name of duplicates(groups.map((g) => g.groupName))) errors.push(`${where}: group name '${name}' is used twice`);
    for (const name of duplicates(groups.flatMap((g) => [...new Set(g.serviceNames)]))) {
      errors.push(`${where}: service name '${name}' is registered by two groups (Consul would merge them)`);
    }
    // Nomad: "Job type \"batch\" does not allow update block".
    for (const g of this.props.type === 'batch' ? groups.filter((g) => g.hasUpdate) : []) {
      errors.push(`${where}: group '${g.groupName}' has an update strategy, which a batch job cannot have (it has no deployments)`);
    }
    const wait = this.props.waitForDeployment;
    for (const g of wait ? groups : []) {
      if (g.progressDeadline.toNanoseconds() === 0 || g.progressDeadline.toNanoseconds() >= wait!.toNanoseconds()) {
        errors.push(
          `${where}: waiting ${wait} for a deployment is not longer than group '${g.groupName}''s progress deadline ${g.progressDeadline}${g.progressDeadline.toNanoseconds() === 0 ? ' (none)' : ''}: Terraform would give up before Nomad decides`,
        );
      }
    }
    if (errors.length > 0) return errors;
    for (const error of this.capacityPlan()?.errors ?? []) errors.push(`${where} does not fit: ${error}`);
    return errors;
  }
}
