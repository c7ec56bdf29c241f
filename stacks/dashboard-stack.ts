import { isAbsolute } from 'node:path';
import type { Construct } from 'constructs';
import { ConsulBackend, type ConsulBackendConfig, type ITerraformDependable, LocalBackend, PgBackend, type PgBackendConfig, TerraformStack, TerraformVariable } from 'cdktf';
import { NomadProvider } from '@cdktf/provider-nomad/lib/provider';
import { type Environment, webGroupOf } from '../config/schema';
import { encodeReleaseSettings, RELEASE_JOBSPEC_VARIABLE, RELEASE_SETTINGS_VARIABLE } from '../config/release-contract';
import { PROVIDER_VERSIONS } from '../config/tools';
import { configureDockerProvider } from '../constructs/image/built-image';
import { ContainerImage } from '../constructs/image/container-image';
import type { IContainerImage } from '../constructs/image/image-reference';
import { ImageRuntime } from '../constructs/image/runtime';
import { NomadJob } from '../constructs/nomad/job';
import { variablePathOf } from '../constructs/nomad/api';
import { RegistryPullAuth } from '../constructs/nomad/registry-auth';
import { NomadVariable } from '../constructs/nomad/variable';
import { NomadReachability } from '../constructs/nomad/reachability';
import { RuntimeConfig } from '../constructs/nomad/runtime-config';
import { PUMA_DEFAULTS, PumaGroup } from '../constructs/rails/puma';
import { SidekiqGroup } from '../constructs/rails/sidekiq';
import { ReleaseStep } from '../constructs/terraform/release-step';


export interface DashboardStackProps {
  readonly environment: Environment;
  /**
   * Where Terraform keeps this stack's state when the environment's backend is `local`: an
   * absolute path. Terraform runs in the stack's directory under cdktf.out, which synth
   * rewrites, so a relative path would put the state there.
   * @default - cdktf's own: `terraform.<stack>.tfstate` in the directory synth runs in
   */
  readonly statePath?: string;
  /**
   * This checkout, absolute: Terraform runs the release step's command (`commands/release.ts`)
   * there. Needed when the environment has a release command.
   * @default - none; an environment with a release command is refused
   */
  readonly projectDir?: string;
}

/** One environment of the Dashboard: its image and its `rails` job, wired to their providers. */
export class DashboardStack extends TerraformStack {
  readonly job: NomadJob;
  readonly image: IContainerImage;

  constructor(scope: Construct, id: string, props: DashboardStackProps) {
    super(scope, id);
    const env = props.environment;
    this.stateBackend(id, env.state, props.statePath);

    const { address, region, caFile, skipVerify } = env.nomad;
    new NomadProvider(this, 'nomad', {
      // Without an address in config, the provider reads NOMAD_ADDR at plan time.
      ...(address ? { address } : {}),
      ...(region ? { region } : {}),
      ...(caFile ? { caFile } : {}),
      ...(skipVerify ? { skipVerify } : {}),
    } as { address: string });
    this.addOverride('terraform.required_providers.nomad.version', PROVIDER_VERSIONS.nomad);

    // What the environment's source makes (built and pushed, or prebuilt) is what a release is
    // run for; a rollback points the job at an earlier digest and leaves that source as it is.
    const source = this.buildImage(env);
    this.image = env.image.rollback ? ContainerImage.fromDigest(env.image.rollback, source.runtime) : source;

    const reachable = new NomadReachability(this, 'nomad_reachable').probe;
    const variablePath = variablePathOf(env.job.id);
    const runtimeConfig = env.runtimeConfig ? this.runtimeConfig(variablePath, env.runtimeConfig) : undefined;
    const pullItems = env.registry.pullAuth ? this.pullCredentials(env) : {};
    const items = { ...pullItems, ...(runtimeConfig?.items ?? {}) };
    const variables =
      Object.keys(items).length > 0
        ? new NomadVariable(this, 'job_variables', {
            path: variablePath,
            ...(env.nomad.namespace ? { namespace: env.nomad.namespace } : {}),
            items,
            dependsOn: [reachable],
          })
        : undefined;
    const pullAuth = variables && env.registry.pullAuth ? RegistryPullAuth.fromNomadVariable(variables) : undefined;
    const release = this.releaseStep(env, source, props.projectDir, [reachable, ...(variables ? [variables.resource] : [])]);
    this.job = new NomadJob(this, 'rails', {
      jobId: env.job.id,
      datacenters: env.nomad.datacenters,
      ...(region ? { region } : {}),
      ...(env.nomad.namespace ? { namespace: env.nomad.namespace } : {}),
      preventDestroy: env.job.preventDestroy,
      ...(env.cluster ? { cluster: env.cluster } : {}),
      waitForDeployment: env.job.deployTimeout,
      // The tasks read the variable when they start: it exists before the job, and goes after it.
      // A new image is released (migrated) before the job is updated; a failed release stops the apply there.
      dependsOn: [reachable, ...(variables ? [variables.resource] : []), ...(release ? [release.resource] : [])],
    });

    // The suffix names this environment's Consul world: its own services and the ones it reaches.
    const suffix = env.consul.serviceSuffix;
    const shared = {
      image: this.image,
      env: env.env,
      upstreams: env.consul.upstreams.map((u) => ({ ...u, service: `${u.service}${suffix}` })),
      ...(pullAuth ? { pullAuth } : {}),
      ...(runtimeConfig ? { runtimeConfig } : {}),
    };

    const { web } = env;
    // Fields the environment leaves out are PumaGroup's defaults.
    new PumaGroup(this.job, webGroupOf(env), {
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
      update: web.update,
      healthCheck: web.healthCheck,
      shutdownDelay: web.shutdownDelay,
      mounts: web.mounts,
      constraints: web.placement,
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
        shutdownTimeout: worker.shutdownTimeout,
        killTimeout: worker.killTimeout,
        update: worker.update,
        mounts: worker.mounts,
        constraints: worker.placement,
      });
    }
  }

  /**
   * cdktf resolves every element of every stack once before it synthesizes them, only to find
   * references into other stacks (for which it adds outputs and remote state). An environment's
   * stack refers to nothing outside itself: each has its own state and shares no resource. That
   * pass was a third of synth's time, so it is skipped; the backend it would default is ensured.
   * (A reference into another stack would reach Terraform as an undeclared resource, which it
   * refuses at plan; stack-preparation.test.ts proves the output equals what the full pass gives.)
   */
  override prepareStack(): void {
    this.ensureBackendExists();
  }

  /**
   * The environment's state backend. The shared ones read their secret from the operator's
   * environment themselves (PG_CONN_STR, CONSUL_HTTP_TOKEN), so none is written here.
   */
  private stateBackend(id: string, state: Environment['state'], statePath: string | undefined): void {
    switch (state.backend) {
      case 'local':
        if (statePath === undefined) return;
        if (!isAbsolute(statePath)) throw new Error(`stack '${id}': statePath must be absolute, got '${statePath}'`);
        new LocalBackend(this, { path: statePath });
        return;
      case 'pg':
        new PgBackend(this, { schemaName: state.schemaName } as PgBackendConfig);
        return;
      case 'consul': {
        const { address, scheme, path, datacenter, caFile } = state;
        new ConsulBackend(this, { address, scheme, path, lock: true, ...(datacenter ? { datacenter } : {}), ...(caFile ? { caFile } : {}) } as ConsulBackendConfig);
        return;
      }
    }
  }

  /**
   * The release step: `commands/release.ts`, run by Terraform once per new image, before the
   * job (README, "Release step"). It gets the jobspec about to be registered and the release
   * settings through its environment; Nomad's address and token it inherits from the deploy's.
   */
  private releaseStep(env: Environment, source: IContainerImage, projectDir: string | undefined, dependsOn: ITerraformDependable[]): ReleaseStep | undefined {
    const config = env.release;
    if (!config || config.command === false) return undefined;
    if (projectDir === undefined || !isAbsolute(projectDir)) {
      throw new Error(`stack '${env.name}': release.command is set, so the stack needs projectDir (absolute: where commands/release.ts is), got '${projectDir}'`);
    }
    const { address, region, namespace, caFile, skipVerify } = env.nomad;
    const settings = encodeReleaseSettings({
      environment: env.name,
      group: config.group,
      command: [...config.command],
      timeoutSeconds: config.timeout.toSeconds(),
      nomad: { address, region, namespace, caFile, skipVerify },
    });
    return new ReleaseStep(this, 'release', {
      // The source's image, not a rollback's: a rollback releases nothing, and rolling forward releases nothing again.
      trigger: source.reference,
      command: 'node .ci/launch.cjs release',
      workingDir: projectDir,
      environment: {
        [RELEASE_SETTINGS_VARIABLE]: settings,
        // The job as it is about to be registered, with only the group the release takes the shape of.
        [RELEASE_JOBSPEC_VARIABLE]: () => {
          const job = this.job.render();
          return JSON.stringify({ Job: { ...job, TaskGroups: job.TaskGroups.filter((g) => g.Name === config.group) } });
        },
      },
      dependsOn,
    });
  }

  private buildImage(env: Environment): IContainerImage {
    const { image, registry } = env;
    const runtime = image.runtime === 'buildpacks' ? ImageRuntime.buildpacks() : ImageRuntime.direct();
    this.addOverride('terraform.required_providers.docker.version', PROVIDER_VERSIONS.docker);
    if (image.source === 'prebuilt') {
      // State may still hold the image an earlier deploy built and pushed: Terraform reads it with
      // the build's provider settings, then drops it (keep_locally/keep_remotely: nothing is deleted).
      configureDockerProvider(this, { registry, ...(image.daemon ? { daemon: image.daemon } : {}) });
      return ContainerImage.fromDigest(image.reference, runtime);
    }
    return ContainerImage.fromBuild(this, 'image', {
      ...(image.rollback ? { keepAsInState: true } : {}),
      repository: `${registry.address}/${registry.repository}`,
      registry,
      context: image.context,
      dockerfile: image.dockerfile,
      ...(image.contextHash ? { contextHash: image.contextHash } : {}),
      missingContext: 'Set DASHBOARD_SOURCE to the Rails checkout, or DASHBOARD_IMAGE to a prebuilt image by digest.',
      ...(image.daemon ? { daemon: image.daemon } : {}),
      runtime,
      ...(image.platform ? { platform: image.platform } : {}),
    });
  }

  /**
   * Credentials Nomad pulls the image with. They come from sensitive Terraform variables
   * (TF_VAR_registry_pull_username / _password), go to the Nomad Variable `nomad/jobs/<job>`,
   * which the tasks read through their workload identity, and never into the jobspec: a plan
   * shows the jobspec's changed lines, and a changed password as a change of the variable.
   */
  private pullCredentials(env: Environment): Record<string, string> {
    const input = (name: string, what: string, sensitive: boolean) =>
      new TerraformVariable(this, name, {
        type: 'string',
        // A default, so that Terraform never stops at a prompt; the validation names what is missing.
        default: '',
        sensitive,
        description: `${what[0]!.toUpperCase()}${what.slice(1)} (TF_VAR_${name}).`,
        validation: [{ condition: `\${var.${name} != ""}`, errorMessage: `Set TF_VAR_${name}: ${what}.` }],
      });
    const image = `${env.registry.address}/${env.registry.repository}`;
    const username = input('registry_pull_username', `the registry user the Nomad clients pull ${image} as`, false);
    const password = input('registry_pull_password', `the password of that user (kept in the Nomad Variable nomad/jobs/${env.job.id}, never in the jobspec)`, true);
    return { registry_pull_username: username.stringValue, registry_pull_password: password.stringValue };
  }

  /** The app's files and env vars: read from the operator's directory when Terraform plans. */
  private runtimeConfig(variablePath: string, config: NonNullable<Environment['runtimeConfig']>): RuntimeConfig {
    return new RuntimeConfig(this, 'runtime_config', {
      variablePath,
      files: config.files.map((f) => ({ source: `${config.source}/${f}`, target: `${config.appRoot}/${f}` })),
      env: config.env.map((name) => ({ name, source: `${config.source}/env/${name}` })),
      onChange: typeof config.onChange === 'string' ? { mode: config.onChange } : { mode: 'signal', signal: config.onChange.signal },
      missingSource: `Put it in ${config.source} (DASHBOARD_CONFIG_DIR; README, "Runtime configuration").`,
    });
  }
}
