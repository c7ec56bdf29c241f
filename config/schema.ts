import { z } from 'zod';

/**
 * What an environment of the Dashboard is: validated once, at the edge, before any construct
 * sees it. Every fact of a deployment lives here, in one place.
 */

const dnsLabel = z
  .string()
  .regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, 'must be a DNS label: lower-case letters, digits and "-", at most 63 characters');
const duration = z.string().regex(/^(\d+(ms|s|m|h))+$/, 'must be a duration such as "30s", "5m" or "1m30s"');
const wholeAtLeast = (min: number) => z.number().int(`must be a whole number`).min(min, `must be at least ${min}`);
const port = wholeAtLeast(1).max(65535, 'must be at most 65535');

const resources = z
  .object({
    cpu: wholeAtLeast(1).describe('MHz'),
    memoryMB: wholeAtLeast(10).describe('MB; Nomad refuses less than 10'),
  })
  .strict();

const placement = z
  .object({
    /** Unique names of nodes the group must not run on (`${node.unique.name} != …`). */
    notOnNodes: z.array(z.string().min(1)).default([]),
  })
  .strict();

const mount = z
  .object({
    volume: z.string().min(1),
    path: z.string().startsWith('/', 'must be an absolute path'),
  })
  .strict();

const imageRuntime = z.enum(['buildpacks', 'direct']);

const image = z.discriminatedUnion('source', [
  z
    .object({
      source: z.literal('build'),
      /** The build context: the Rails checkout. Absolute once loaded. */
      context: z.string().min(1),
      /** Relative to the context. */
      dockerfile: z.string().min(1).default('Dockerfile'),
      runtime: imageRuntime.default('direct'),
      /** Content hash of the context, computed by the loader; absent when the context is not on this machine. */
      contextHash: z.string().regex(/^[a-f0-9]{64}$/).optional(),
      platform: z.string().optional(),
      /** A Docker daemon on a unix socket that must be there when Terraform plans (the local environment's podman). */
      daemon: z.object({ socket: z.string().startsWith('/', 'must be an absolute path'), notRunning: z.string().min(1) }).strict().optional(),
    })
    .strict(),
  z
    .object({
      source: z.literal('prebuilt'),
      reference: z
        .string()
        .regex(/^[^@\s]+@sha256:[a-f0-9]{64}$/, 'must be pinned by digest: "registry/name@sha256:<64 hex digits>"'),
      runtime: imageRuntime.default('buildpacks'),
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

const web = z
  .object({
    group: z.string().min(1).default('web'),
    task: z.string().min(1).default('rails_server'),
    service: dnsLabel.default('puma'),
    count: wholeAtLeast(0),
    port: port.default(5000),
    workers: wholeAtLeast(0).default(2),
    threads: z.object({ min: wholeAtLeast(0), max: wholeAtLeast(1) }).strict().default({ min: 1, max: 1 }),
    preload: z.boolean().default(true),
    resources,
    update: z.object({ maxParallel: wholeAtLeast(1), minHealthyTime: duration }).strict(),
    placement: placement.default({}),
    mounts: z.array(mount).default([]),
  })
  .strict()
  .refine((w) => w.threads.min <= w.threads.max, { message: 'threads.min must not exceed threads.max', path: ['threads'] });

const queueName = z.string().regex(/^[A-Za-z0-9_.:-]+$/, 'must be a sidekiq queue name: letters, digits, "_", ".", ":", "-"');

const worker = z
  .object({
    /** The group name, and (with the environment's serviceSuffix) its Consul service name. */
    name: dnsLabel,
    /** In priority order. */
    queues: z.array(queueName).min(1, 'a sidekiq worker needs at least one queue'),
    concurrency: wholeAtLeast(1).default(1),
    count: wholeAtLeast(0).default(1),
    resources,
    placement: placement.default({}),
    mounts: z.array(mount).default([]),
  })
  .strict()
  .refine((w) => new Set(w.queues).size === w.queues.length, { message: 'a queue is listed twice', path: ['queues'] });

const runtimeConfig = z
  .object({
    /** The operator's config directory (DASHBOARD_CONFIG_DIR), absolute: read by Terraform at plan time, never by synth's output. */
    source: z.string().startsWith('/', 'must be an absolute path'),
    /** The app's directory in the container: the buildpacks image's /workspace, or the Dockerfile's WORKDIR. */
    appRoot: z.string().startsWith('/', 'must be an absolute path'),
    /** Files the app reads, relative to appRoot; the operator's copy is at the same relative path in `source`. */
    files: z.array(z.string().regex(/^[^/.][^\0]*$/, 'must be a path relative to appRoot, such as "config/application.yml"')).default([]),
    /** Environment variables the app reads; each value is the file `env/<NAME>` in `source`. */
    env: z.array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'env names are letters, digits and "_"')).default([]),
    /** What a changed value does to running tasks: restart them, or send them a signal. */
    onChange: z.union([z.literal('restart'), z.object({ signal: z.string().regex(/^SIG[A-Z0-9]+$/, 'must be a signal name such as "SIGHUP"') }).strict()]).default('restart'),
  })
  .strict();

const SECRET_LOOKING = /(PASSWORD|PASSWD|SECRET|TOKEN|PRIVATE|CREDENTIAL|API_?KEY)/i;

export const environmentSchema = z
  .object({
    name: dnsLabel,
    nomad: z
      .object({
        /** @default - NOMAD_ADDR at plan/apply time, read by the provider */
        address: z.string().url().optional(),
        region: z.string().min(1).optional(),
        namespace: z.string().min(1).optional(),
        datacenters: z.array(z.string().min(1)).min(1, 'name at least one datacenter'),
        /** A CA certificate file for the Nomad API (operators' NOMAD_CA_PATH). Not a secret. */
        caFile: z.string().min(1).optional(),
        skipVerify: z.boolean().optional(),
      })
      .strict(),
    job: z
      .object({
        id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'must be a Nomad job ID'),
        /** Terraform refuses to destroy or replace the job. */
        preventDestroy: z.boolean(),
      })
      .strict(),
    image,
    registry,
    consul: z
      .object({
        /** Appended to every service name: environments sharing one Consul need distinct names. */
        serviceSuffix: z.string().regex(/^(-[a-z0-9]+)*$/, 'must be empty or like "-staging"').default(''),
        upstreams: z.array(z.object({ service: dnsLabel, localPort: port }).strict()),
      })
      .strict(),
    volumes: z.record(
      z.string().regex(/^[A-Za-z0-9_-]+$/, 'volume names hold only letters, digits, "_" and "-"'),
      z.object({ source: z.string().min(1), readOnly: z.boolean().default(false) }).strict(),
    ),
    web,
    workers: z.array(worker).min(1, 'list at least one sidekiq worker'),
    /** The app's runtime configuration: files and env vars (secrets among them), supplied by the operator at deploy time. */
    runtimeConfig: runtimeConfig.optional(),
    /** The task environment of every process. Committed to git: never a secret. */
    env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'env keys are letters, digits and "_"'), z.string()),
  })
  .strict()
  .superRefine((e, ctx) => {
    const groups: [string, (string | number)[]][] = [
      [e.web.group, ['web', 'group']],
      ...e.workers.map((w, i): [string, (string | number)[]] => [w.name, ['workers', i, 'name']]),
    ];
    const seen = new Set<string>();
    for (const [name, path] of groups) {
      if (seen.has(name)) ctx.addIssue({ code: z.ZodIssueCode.custom, path, message: `group name '${name}' is used twice` });
      seen.add(name);
    }
    if (seen.has(e.web.service) && e.web.service !== e.web.group) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['web', 'service'], message: `service '${e.web.service}' is also a worker's service name` });
    }
    const mounts = [
      ...e.web.mounts.map((m, i) => ({ m, path: ['web', 'mounts', i, 'volume'] })),
      ...e.workers.flatMap((w, wi) => w.mounts.map((m, i) => ({ m, path: ['workers', wi, 'mounts', i, 'volume'] }))),
    ];
    for (const { m, path } of mounts) {
      if (!(m.volume in e.volumes)) {
        const known = Object.keys(e.volumes).join(', ') || 'none';
        ctx.addIssue({ code: z.ZodIssueCode.custom, path, message: `volume '${m.volume}' is not declared under volumes (declared: ${known})` });
      }
    }
    for (const key of Object.keys(e.env)) {
      if (SECRET_LOOKING.test(key)) {
        ctx.addIssue({
          code: z.ZodIssueCode.custom,
          path: ['env', key],
          message: `'${key}' looks like a secret; env is committed to git and rendered into the jobspec: keep secrets out of it`,
        });
      }
    }
  });

/** An environment as written in config/*.ts. */
export type EnvironmentInput = z.input<typeof environmentSchema>;
/** An environment after validation and defaults. */
export type Environment = z.output<typeof environmentSchema>;
