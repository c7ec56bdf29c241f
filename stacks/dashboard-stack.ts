import { isAbsolute } from 'node:path';
import type { Construct } from 'constructs';
import { Annotations, LocalBackend, TerraformStack, TerraformVariable } from 'cdktf';
import { NomadProvider } from '@cdktf/provider-nomad/lib/provider';
import { DockerProvider } from '@cdktf/provider-docker/lib/provider';
import type { Environment } from '../config/schema';
import { BuiltImage } from '../constructs/image/built-image';
import { ContainerImage, type IContainerImage } from '../constructs/image/container-image';
import { ImageRuntime } from '../constructs/image/runtime';
import { Constraint } from '../constructs/nomad/constraint';
import { Duration } from '../constructs/nomad/duration';
import { NomadJob } from '../constructs/nomad/job';
import type { RegistryPullAuth } from '../constructs/nomad/task';
import { Volume, type VolumeMountOptions } from '../constructs/nomad/volume';
import { PUMA_DEFAULTS, PumaGroup } from '../constructs/rails/puma';
import { SidekiqGroup } from '../constructs/rails/sidekiq';

/** Exact provider versions: the ones the prebuilt bindings were generated from, and the ones the offline mirror holds. */
export const PROVIDER_VERSIONS = { nomad: '2.5.2', docker: '3.6.2' } as const;

export interface DashboardStackProps {
  readonly environment: Environment;
  /**
   * Where Terraform keeps this stack's state: an absolute path. Terraform runs in the stack's
   * directory under cdktf.out, which synth rewrites, so a relative path would put the state there.
   * @default - cdktf's own: `terraform.<stack>.tfstate` in the directory synth runs in
   */
  readonly statePath?: string;
}

/** One environment of the Dashboard: its image and its `rails` job, wired to their providers. */
export class DashboardStack extends TerraformStack {
  readonly job: NomadJob;
  readonly image: IContainerImage;

  constructor(scope: Construct, id: string, props: DashboardStackProps) {
    super(scope, id);
    const env = props.environment;
    if (props.statePath !== undefined) {
      if (!isAbsolute(props.statePath)) throw new Error(`stack '${id}': statePath must be absolute, got '${props.statePath}'`);
      new LocalBackend(this, { path: props.statePath });
    }

    const { address, region, caFile, skipVerify } = env.nomad;
    new NomadProvider(this, 'nomad', {
      // Without an address in config, the provider reads NOMAD_ADDR at plan time.
      ...(address ? { address } : {}),
      ...(region ? { region } : {}),
      ...(caFile ? { caFile } : {}),
      ...(skipVerify ? { skipVerify } : {}),
    } as { address: string });
    this.addOverride('terraform.required_providers.nomad.version', PROVIDER_VERSIONS.nomad);

    this.image = this.buildImage(env);
    const pullAuth = env.registry.pullAuth ? this.pullAuthVariables() : undefined;

    this.job = new NomadJob(this, 'rails', {
      jobId: env.job.id,
      datacenters: env.nomad.datacenters,
      ...(region ? { region } : {}),
      ...(env.nomad.namespace ? { namespace: env.nomad.namespace } : {}),
      preventDestroy: env.job.preventDestroy,
    });

    const volumes = new Map(Object.entries(env.volumes).map(([name, v]) => [name, Volume.host(name, v)]));
    const mountsOf = (mounts: readonly { volume: string; path: string }[]): VolumeMountOptions[] =>
      mounts.map((m) => ({ volume: volumes.get(m.volume)!, path: m.path }));
    const constraintsOf = (placement: { notOnNodes: readonly string[] }) => placement.notOnNodes.map((n) => Constraint.notOnNode(n));
    const suffix = env.consul.serviceSuffix;
    const shared = {
      image: this.image,
      env: env.env,
      upstreams: env.consul.upstreams,
      ...(pullAuth ? { pullAuth } : {}),
    };

    const { web } = env;
    // Fields the environment leaves out are PumaGroup's defaults.
    new PumaGroup(this.job, web.group ?? PUMA_DEFAULTS.groupName, {
      ...shared,
      groupName: web.group,
      taskName: web.task,
      serviceName: `${web.service ?? PUMA_DEFAULTS.serviceName}${suffix}`,
      count: web.count,
      port: web.port,
      workers: web.workers,
      threads: web.threads,
      preload: web.preload,
      resources: web.resources,
      update: { maxParallel: web.update.maxParallel, minHealthyTime: Duration.parse(web.update.minHealthyTime) },
      mounts: mountsOf(web.mounts),
      constraints: constraintsOf(web.placement),
    });
    for (const worker of env.workers) {
      new SidekiqGroup(this.job, worker.name, {
        ...shared,
        groupName: worker.name,
        serviceName: `${worker.name}${suffix}`,
        queues: worker.queues,
        concurrency: worker.concurrency,
        count: worker.count,
        resources: worker.resources,
        mounts: mountsOf(worker.mounts),
        constraints: constraintsOf(worker.placement),
      });
    }
  }

  private buildImage(env: Environment): IContainerImage {
    const { image, registry } = env;
    const runtime = image.runtime === 'buildpacks' ? ImageRuntime.buildpacks() : ImageRuntime.direct();
    if (image.source === 'prebuilt') return ContainerImage.fromDigest(image.reference, runtime);

    // Registry credentials for the push: the provider reads DOCKER_REGISTRY_USER / DOCKER_REGISTRY_PASS at plan time.
    new DockerProvider(this, 'docker', {
      registryAuth: [{ address: registry.plainHttp ? `http://${registry.address}` : registry.address }],
    });
    this.addOverride('terraform.required_providers.docker.version', PROVIDER_VERSIONS.docker);
    let contextHash = image.contextHash;
    if (!contextHash) {
      Annotations.of(this).addWarning(
        `build context '${image.context}' is not on this machine: synth goes on, but a deploy cannot build the image. ` +
          `Set DASHBOARD_SOURCE to the Rails checkout, or DASHBOARD_IMAGE to a prebuilt image digest.`,
      );
      contextHash = '0'.repeat(64);
    }
    return new BuiltImage(this, 'image', {
      repository: `${registry.address}/${registry.repository}`,
      context: image.context,
      dockerfile: image.dockerfile,
      contextHash,
      runtime,
      ...(image.platform ? { platform: image.platform } : {}),
    });
  }

  /** Credentials Nomad pulls the image with: sensitive Terraform variables, set as TF_VAR_registry_pull_username / _password. */
  private pullAuthVariables(): RegistryPullAuth {
    const username = new TerraformVariable(this, 'registry_pull_username', {
      type: 'string',
      nullable: false,
      description: 'Registry user the Nomad clients pull the image as (TF_VAR_registry_pull_username).',
    });
    const password = new TerraformVariable(this, 'registry_pull_password', {
      type: 'string',
      nullable: false,
      sensitive: true,
      description: 'Password of that user (TF_VAR_registry_pull_password). Never written to synth output.',
    });
    return { username: username.stringValue, password: password.stringValue };
  }
}
