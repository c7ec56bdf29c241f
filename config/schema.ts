import { z } from 'zod';
import { checkContextHash } from '../constructs/image/built-image';
import { checkDigestReference } from '../constructs/image/image-reference';
import { DEFAULT_DOCKERFILE } from '../constructs/image/dockerfile';
import { checkHttpCheck, checkServiceName, checkUpstreams, type HttpCheck } from '../constructs/nomad/connect';
import { Constraint } from '../constructs/nomad/constraint';
import { checkDuration, Duration } from '../constructs/nomad/duration';
import { checkConnectGroupName, checkCount, checkGroupName, checkRollingUpdate, type RollingUpdate } from '../constructs/nomad/group';
import { type ChangeAction, checkChangeAction } from '../constructs/nomad/runtime-config';
import { checkDatacenters, checkJobId } from '../constructs/nomad/job';
import { type Check, checkAbsolutePath, checkPort } from '../constructs/core/rule';
import { checkSignal } from '../constructs/nomad/runtime-config';
import { checkEnvName } from '../constructs/nomad/env-name';
import { checkCpu, checkMemoryMB, checkTaskName } from '../constructs/nomad/task';
import { checkHostVolumeSource, checkVolumeName, Volume, type VolumeMountOptions } from '../constructs/nomad/volume';
import { checkPumaThreads, checkPumaWorkers, PUMA_DEFAULTS } from '../constructs/rails/puma';
import { checkConcurrency, checkKillTimeout, checkQueues, checkShutdownTimeout, SIDEKIQ_DEFAULT_SHUTDOWN, SIDEKIQ_KILL_MARGIN, SIDEKIQ_UPDATE } from '../constructs/rails/sidekiq';
import { obeys } from './obeys';
import { isSecretName } from './secret-names';

/**
 * What an environment of the Dashboard is: validated once, at the edge, before any construct
 * sees it. The schema keeps the shape, the keys and the cross-references only config sees;
 * a value rule (what a queue name or a digest may be) is the construct's, reused here.
 */

const dnsLabel = z.string().superRefine(obeys(checkServiceName));
const port = z.number().superRefine(obeys(checkPort));
const count = z.number().superRefine(obeys(checkCount));

const resources = z
  .object({
    cpu: z.number().superRefine(obeys(checkCpu)).describe('MHz'),
    memoryMB: z.number().superRefine(obeys(checkMemoryMB)),
  })
  .strict();

/**
 * Nomad's notation ("30s", "1m30s"), parsed into the constructs' `Duration`. A construct's rule
 * for the value (`rule`) is said with the text as written. A duration its field refuses stays
 * text (zod transforms only what is valid so far): see `parsed`.
 */
const duration = (rule?: Check<Duration>) =>
  z
    .string()
    .superRefine(obeys((text: string) => checkDuration(text) ?? rule?.(Duration.parse(text))))
    .transform((text) => Duration.parse(text));

/** A rule across fields checks only durations their fields accepted: a refused one is said at its field. */
const parsed = (...durations: (Duration | undefined)[]) => durations.every((d) => d === undefined || d instanceof Duration);

/**
 * Where a group may run, as the constraints its construct takes. Left out, it is parsed as `{}`
 * (`.prefault({})`: zod 4's `.default` would skip the transform and hand `{}` out as it is).
 */
const placement = z
  .object({
    /** Unique names of nodes the group must not run on (`${node.unique.name} != …`). */
    notOnNodes: z.array(z.string().min(1)).default([]),
  })
  .strict()
  .transform(({ notOnNodes }) => notOnNodes.map((n) => Constraint.notOnNode(n)));

const mount = z
  .object({
    volume: z.string().min(1),
    path: z.string().superRefine(obeys(checkAbsolutePath)),
  })
  .strict();

const imageRuntime = z.enum(['buildpacks', 'direct']);

const daemon = z.object({ socket: z.string().superRefine(obeys(checkAbsolutePath)), notRunning: z.string().min(1) }).strict();

/**
 * A rollback (`npm run rollback`, DASHBOARD_ROLLBACK_IMAGE): the job runs this earlier image,
 * while what the source made (the build and push in state, the release trigger) stays as it is,
 * so the next deploy without it rolls forward. @default - the job runs the source's image
 */
const rollbackImage = z.string().superRefine(obeys(checkDigestReference)).optional();

const image = z.discriminatedUnion('source', [
  z
    .object({
      source: z.literal('build'),
      /** The build context: the Rails checkout. Absolute once loaded. */
      context: z.string().min(1),
      /** Relative to the context. */
      dockerfile: z.string().min(1).default(DEFAULT_DOCKERFILE),
      runtime: imageRuntime.default('direct'),
      rollback: rollbackImage,
      /** Content hash of the context, computed by the loader; absent when the context is not on this machine. */
      contextHash: z.string().superRefine(obeys(checkContextHash)).optional(),
      platform: z.string().optional(),
      /** A Docker daemon on a unix socket that must be there when Terraform plans (the local environment's podman). */
      daemon: daemon.optional(),
    })
    .strict(),
  z
    .object({
      source: z.literal('prebuilt'),
      reference: z.string().superRefine(obeys(checkDigestReference)),
      /** One default for both sources: production's own image is a Dockerfile one; a buildpacks image says so. */
      runtime: imageRuntime.default('direct'),
      rollback: rollbackImage,
      /** The Docker daemon, as for a build: Terraform reads with it what state holds of an image built before. */
      daemon: daemon.optional(),
    })
    .strict(),
]);

const registry = z
  .object({
    /** Host (and port) of the registry: `docker.wikiedu.org`. */
    address: z.string().regex(/^[a-z0-9.-]+(:\d+)?$/, 'must be a registry host, optionally with :port, without scheme'),
    /** Repository path inside the registry: `wikiedu-web`. */
    repository: z.string().regex(/^[a-z0-9]+([._/-][a-z0-9]+)*$/, 'must be a lower-case repository path without tag'),
    /** Nomad pulls with credentials from the sensitive Terraform variables registry_pull_username/password. */
    pullAuth: z.boolean(),
    /** The registry speaks plain HTTP (a loopback test registry): the docker provider must be told, or it reads digests over HTTPS. */
    plainHttp: z.boolean().default(false),
  })
  .strict();

const updateFields = z
  .object({
    maxParallel: z.number().optional(),
    minHealthyTime: duration().optional(),
    healthyDeadline: duration().optional(),
    progressDeadline: duration().optional(),
    /** Allocations started beside the old ones; promoted automatically once healthy (a deploy waits for the outcome). */
    canary: z.number().optional(),
    autoRevert: z.boolean().optional(),
  })
  .strict();

/** Only the fields given: a field present but undefined would hide the construct's default when merged over it. */
const given = <T extends object>(fields: T): T => Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)) as T;

/**
 * The group's rolling update as its construct takes it (canaries are promoted by Nomad, never
 * by a person), checked over the construct's defaults.
 */
const update = (defaults: RollingUpdate) =>
  updateFields
    .transform(({ canary, ...u }): RollingUpdate => given({ ...u, canary, autoPromote: canary === undefined ? undefined : canary > 0 }))
    .superRefine((u, ctx) => {
      if (!parsed(u.minHealthyTime, u.healthyDeadline, u.progressDeadline)) return; // said at the field
      obeys(checkRollingUpdate)({ ...defaults, ...u }, ctx);
    });

/** Puma's HTTP health check as PumaGroup takes it; what is left out is PumaGroup's. */
const healthCheck = z
  .object({ path: z.string().optional(), interval: duration().optional(), timeout: duration().optional() })
  .strict()
  .transform((c): Partial<HttpCheck> => given(c))
  .superRefine((c, ctx) => {
    if (!parsed(c.interval, c.timeout)) return; // said at the field
    obeys(checkHttpCheck)({ ...PUMA_DEFAULTS.healthCheck, ...c }, ctx);
  });

/** The puma group. What is left out here is left to PumaGroup's own defaults (PUMA_DEFAULTS). */
const web = z
  .object({
    /** PumaGroup's group always has a Connect service. */
    group: z.string().superRefine(obeys((name: string) => checkGroupName(name) ?? checkConnectGroupName(name))).optional(),
    task: z.string().superRefine(obeys(checkTaskName)).optional(),
    /** With the environment's serviceSuffix, its Consul service name. */
    service: z.string().optional(),
    count,
    port: port.optional(),
    workers: z.number().superRefine(obeys(checkPumaWorkers)).optional(),
    threads: z.object({ min: z.number(), max: z.number() }).strict().superRefine(obeys(checkPumaThreads)).optional(),
    preload: z.boolean().optional(),
    resources,
    /** Fields left out are PumaGroup's (PUMA_DEFAULTS.update). */
    update: update(PUMA_DEFAULTS.update),
    /** @default - PumaGroup's: GET /up every 10s, 5s timeout */
    healthCheck: healthCheck.optional(),
    /** @default - PumaGroup's (10s): Consul deregisters puma this long before it is stopped */
    shutdownDelay: duration().optional(),
    placement: placement.prefault({}),
    mounts: z.array(mount).default([]),
  })
  .strict();

const worker = z
  .object({
    /** The group name, and (with the environment's serviceSuffix) its Consul service name. */
    name: z.string().superRefine(obeys(checkGroupName)),
    /** In priority order. */
    queues: z.array(z.string()).superRefine(obeys(checkQueues)),
    /** @default - SidekiqGroup's (one thread) */
    concurrency: z.number().superRefine(obeys(checkConcurrency)).optional(),
    /** @default - SidekiqGroup's (one allocation) */
    count: count.optional(),
    resources,
    /** sidekiq's -t. @default - SidekiqGroup's (25s) */
    shutdownTimeout: duration(checkShutdownTimeout).optional(),
    /** Nomad's kill_timeout, longer than shutdownTimeout. @default - SidekiqGroup's (shutdownTimeout + 5s) */
    killTimeout: duration().optional(),
    /** Fields left out are SidekiqGroup's (SIDEKIQ_UPDATE). */
    update: update(SIDEKIQ_UPDATE).optional(),
    placement: placement.prefault({}),
    mounts: z.array(mount).default([]),
  })
  .strict()
  .superRefine((w, ctx) => {
    if (w.shutdownTimeout === undefined && w.killTimeout === undefined) return;
    if (!parsed(w.shutdownTimeout, w.killTimeout)) return; // said at the field
    const shutdown = w.shutdownTimeout ?? SIDEKIQ_DEFAULT_SHUTDOWN;
    const kill = w.killTimeout ?? shutdown.plus(SIDEKIQ_KILL_MARGIN);
    const badKill = checkKillTimeout(kill, shutdown);
    if (badKill) ctx.addIssue({ code: 'custom', path: ['killTimeout'], message: badKill });
  });

const runtimeConfig = z
  .object({
    /** The operator's config directory (DASHBOARD_CONFIG_DIR), absolute: read by Terraform at plan time, never by synth's output. */
    source: z.string().superRefine(obeys(checkAbsolutePath)),
    /** The app's directory in the container: the buildpacks image's /workspace, or the Dockerfile's WORKDIR. */
    appRoot: z.string().superRefine(obeys(checkAbsolutePath)),
    /** Files the app reads, relative to appRoot; the operator's copy is at the same relative path in `source`. */
    files: z.array(z.string().regex(/^[^/.][^\0]*$/, 'must be a path relative to appRoot, such as "config/application.yml"')).default([]),
    /** Environment variables the app reads; each value is the file `env/<NAME>` in `source`. */
    env: z.array(z.string().superRefine(obeys(checkEnvName))).default([]),
    /**
     * What a changed value does: `rollout`, a new job version rolled out group by group (update
     * strategy, health, auto-revert); `restart`, every task restarted at once; or a signal sent to
     * every task at once (README, "Runtime configuration").
     */
    onChange: z.union([z.literal('rollout'), z.literal('restart'), z.object({ signal: z.string().superRefine(obeys(checkSignal)) }).strict()]).default('rollout'),
  })
  .strict()
  .superRefine((c, ctx) => {
    const onChange: ChangeAction = typeof c.onChange === 'string' ? { mode: c.onChange } : { mode: 'signal', signal: c.onChange.signal };
    const bad = checkChangeAction({ onChange, envNames: c.env });
    if (bad) ctx.addIssue({ code: 'custom', path: ['onChange'], message: bad });
  });

/**
 * The release step and one-off runs (README, "Release step", "One-off tasks"): batch jobs in
 * the shape of one group of the job (its runtime configuration, env, volumes and upstreams).
 */
const release = z
  .object({
    /** Run once by each deploy that brings a new image, before any group is updated, program first; false: no release step. */
    command: z.union([z.array(z.string().min(1)).min(1, 'name at least the program to run'), z.literal(false)]),
    /** The group whose shape the release takes; also the group `npm run task` runs in unless told another. */
    group: z.string(),
    /** How long the release may run before the deploy stops. */
    timeout: duration(),
  })
  .strict();

/** What the cluster's infrastructure says about the nodes the job can land on: synth checks the groups fit. */
const cluster = z
  .object({
    nodes: z.array(
      z
        .object({
          /** The node's unique name, as constraints see it (`node-railsweb`). */
          name: z.string().min(1),
          cpu: z.number().superRefine(obeys(checkCpu)).describe('MHz'),
          memoryMB: z.number().superRefine(obeys(checkMemoryMB)),
          /** Host volumes its client config declares. */
          hostVolumes: z.array(z.string().superRefine(obeys(checkVolumeName))).default([]),
          /** What other jobs hold on it (redis). */
          otherJobs: z.array(z.object({ name: z.string().min(1), cpu: z.number().min(0), memoryMB: z.number().min(0) }).strict()).default([]),
        })
        .strict(),
    ),
    /** There are more nodes, of unknown capacity and without the declared host volumes. */
    otherNodes: z.boolean(),
  })
  .strict();

/**
 * Where Terraform keeps the environment's state, and how long a deploy waits for another's lock
 * (README, "Shared state"). No secret is written here: the pg backend reads PG_CONN_STR, the
 * consul backend CONSUL_HTTP_TOKEN, from the operator's environment at plan and apply time.
 */
// prefault: a default that, like a written value, goes through the parse (zod 4's default skips it).
const lockTimeout = duration().prefault('5m');
const state = z
  .discriminatedUnion('backend', [
    /** A file on this machine (main.ts places it): only this machine can deploy safely. */
    z.object({ backend: z.literal('local'), lockTimeout }).strict(),
    /** Terraform's pg backend: one row in `<schemaName>.states`, locked with advisory locks. */
    z
      .object({
        backend: z.literal('pg'),
        schemaName: z.string().regex(/^[a-z_][a-z0-9_]*$/, 'must be a lower-case SQL identifier, such as "dashboard_production"'),
        lockTimeout,
      })
      .strict(),
    /** Consul KV at `path`, locked with a Consul session. */
    z
      .object({
        backend: z.literal('consul'),
        /** host:port of Consul's HTTP API. */
        address: z.string().regex(/^[A-Za-z0-9.-]+(:\d+)?$/, 'must be host or host:port, without scheme'),
        scheme: z.enum(['http', 'https']).default('https'),
        path: z.string().regex(/^[^/\s][^\s]*$/, 'must be a KV path without a leading "/"'),
        datacenter: z.string().min(1).optional(),
        /** A CA certificate file for Consul's API. Not a secret. */
        caFile: z.string().superRefine(obeys(checkAbsolutePath)).optional(),
        lockTimeout,
      })
      .strict(),
  ])
  .prefault({ backend: 'local' });

export const environmentSchema = z
  .object({
    name: dnsLabel,
    nomad: z
      .object({
        /** @default - NOMAD_ADDR at plan/apply time, read by the provider */
        address: z.url().optional(),
        region: z.string().min(1).optional(),
        namespace: z.string().min(1).optional(),
        datacenters: z.array(z.string()).superRefine(obeys(checkDatacenters)),
        /** A CA certificate file for the Nomad API (operators' NOMAD_CA_PATH). Not a secret. */
        caFile: z.string().min(1).optional(),
        skipVerify: z.boolean().optional(),
      })
      .strict(),
    job: z
      .object({
        id: z.string().superRefine(obeys(checkJobId)),
        /** Terraform refuses to destroy or replace the job. */
        preventDestroy: z.boolean(),
        /** How long a deploy waits for Nomad's deployment to succeed, fail or revert. @default - it does not wait */
        deployTimeout: duration().optional(),
      })
      .strict(),
    image,
    registry,
    consul: z
      .object({
        /**
         * Appended to every Consul service name, the environment's own and its upstreams': environments
         * sharing one Consul need distinct names. Upstreams are written without it.
         */
        serviceSuffix: z.string().regex(/^(-[a-z0-9]+)*$/, 'must be empty or like "-staging"').default(''),
        upstreams: z
          .array(z.object({ service: dnsLabel, localPort: port }).strict())
          // Ports out of range are said at their own path; two upstreams on one port only here.
          .superRefine((ups, ctx) => {
            if (ups.every((u) => !checkPort(u.localPort))) obeys(checkUpstreams)(ups, ctx);
          }),
      })
      .strict(),
    /** Host volumes, by the name mounts use. */
    volumes: z
      .record(
        z.string().superRefine(obeys(checkVolumeName)),
        z.object({ source: z.string().superRefine(obeys(checkHostVolumeSource)), readOnly: z.boolean().default(false) }).strict(),
      )
      .transform((volumes) => Object.fromEntries(Object.entries(volumes).map(([name, v]) => [name, Volume.host(name, v)]))),
    web,
    workers: z.array(worker).min(1, 'list at least one sidekiq worker'),
    /** The app's runtime configuration: files and env vars (secrets among them), supplied by the operator at deploy time. */
    runtimeConfig: runtimeConfig.optional(),
    /** @default - no release step; one-off tasks run in the first worker's shape */
    release: release.optional(),
    /** @default - no capacity check: nothing is known of the nodes */
    cluster: cluster.optional(),
    /** @default - a local file, with a 5m lock wait */
    state,
    /** The task environment of every process. Committed to git: never a secret. */
    env: z.record(z.string().superRefine(obeys(checkEnvName)), z.string()),
  })
  .strict()
  .superRefine((e, ctx) => {
    const webGroup = webGroupOf(e);
    const webService = e.web.service ?? PUMA_DEFAULTS.serviceName;
    const groups: [string, (string | number)[]][] = [
      [webGroup, ['web', 'group']],
      ...e.workers.map((w, i): [string, (string | number)[]] => [w.name, ['workers', i, 'name']]),
    ];
    const seen = new Set<string>();
    for (const [name, path] of groups) {
      if (seen.has(name)) ctx.addIssue({ code: 'custom', path, message: `group name '${name}' is used twice` });
      seen.add(name);
    }
    // Consul sees each service name with the suffix: that is the name the DNS-label rule applies to.
    const services: [string, (string | number)[]][] = [
      [webService, ['web', 'service']],
      ...e.workers.map((w, i): [string, (string | number)[]] => [w.name, ['workers', i, 'name']]),
    ];
    for (const [name, path] of services) {
      const full = `${name}${e.consul.serviceSuffix}`;
      const broken = checkServiceName(full);
      if (broken) ctx.addIssue({ code: 'custom', path, message: `${broken}, got '${full}'` });
    }
    if (e.release && !seen.has(e.release.group)) {
      ctx.addIssue({ code: 'custom', path: ['release', 'group'], message: `group '${e.release.group}' is not a group of the job (groups: ${[...seen].join(', ')})` });
    }
    if (seen.has(webService) && webService !== webGroup) {
      ctx.addIssue({ code: 'custom', path: ['web', 'service'], message: `service '${webService}' is also a worker's service name` });
    }
    const mounts = [
      ...e.web.mounts.map((m, i) => ({ m, path: ['web', 'mounts', i, 'volume'] })),
      ...e.workers.flatMap((w, wi) => w.mounts.map((m, i) => ({ m, path: ['workers', wi, 'mounts', i, 'volume'] }))),
    ];
    for (const { m, path } of mounts) {
      if (!(m.volume in e.volumes)) {
        const known = Object.keys(e.volumes).join(', ') || 'none';
        ctx.addIssue({ code: 'custom', path, message: `volume '${m.volume}' is not declared under volumes (declared: ${known})` });
      }
    }
    for (const key of Object.keys(e.env)) {
      if (isSecretName(key)) {
        ctx.addIssue({
          code: 'custom',
          path: ['env', key],
          message: `'${key}' looks like a secret; env is committed to git and rendered into the jobspec: keep secrets out of it`,
        });
      }
    }
  })
  // Each mount with the Volume it names, which the refinement above has found declared.
  .transform((e) => {
    const mounted = (mounts: readonly { volume: string; path: string }[]): VolumeMountOptions[] =>
      mounts.map(({ volume, path }) => ({ volume: e.volumes[volume]!, path }));
    return { ...e, web: { ...e.web, mounts: mounted(e.web.mounts) }, workers: e.workers.map((w) => ({ ...w, mounts: mounted(w.mounts) })) };
  });

/** An environment as written in config/*.ts. */
export type EnvironmentInput = z.input<typeof environmentSchema>;
/** An environment after validation and defaults. */
export type Environment = z.output<typeof environmentSchema>;

/** The puma group's name: the environment's `web.group`, else PumaGroup's default. */
export function webGroupOf(environment: { readonly web: { readonly group?: string } }): string {
  return environment.web.group ?? PUMA_DEFAULTS.groupName;
}
