import { describe, expect, it } from 'vitest';
import { ConfigError, loadEnvironment } from '../../config/load';
import { production } from '../../config/production';
import { environmentSchema } from '../../config/schema';
import { ContainerImage } from '../../constructs/image/container-image';
import { ConnectService } from '../../constructs/nomad/connect';
import { Duration } from '../../constructs/nomad/duration';
import { TaskGroup } from '../../constructs/nomad/group';
import { NomadJob } from '../../constructs/nomad/job';
import { DockerTask } from '../../constructs/nomad/task';
import { Volume } from '../../constructs/nomad/volume';
import { PumaGroup } from '../../constructs/rails/puma';
import { SidekiqGroup } from '../../constructs/rails/sidekiq';
import { fixtureEdge } from '../support/synth';
import { IMAGE, newJob } from '../support/tree';

/**
 * Each value rule has one home, in the construct that needs it; the schema reuses it. These
 * tables hold values on both sides of each rule: the schema refuses a value exactly when the
 * construct does, and says it in the construct's words.
 */
const HEX = 'a'.repeat(64);
const resources = { cpu: 100, memoryMB: 128 };

/** The schema's message at exactly this path, or undefined when it accepts the value there. */
function schemaSays(path: string, change: (e: any) => void): string | undefined {
  const input = structuredClone(production(fixtureEdge())) as any;
  change(input);
  const result = environmentSchema.safeParse(input);
  if (result.success) return undefined;
  const issue = result.error.issues.find((i) => i.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${p}`)).join('').replace(/^\./, '') === path);
  return issue?.message;
}

/** The construct's message, or undefined when it accepts the value. */
function constructSays(build: () => unknown): string | undefined {
  try {
    build();
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

interface Rule<T> {
  /** Where the schema says it: a record key is its own path. */
  readonly path: string | ((value: T) => string);
  readonly set: (e: any, value: T) => void;
  readonly build: (value: T) => unknown;
  readonly values: readonly T[];
}

/** Config's text in the constructs' terms, written out here so the construct's verdict owes nothing to the schema: durations parsed, canaries promoted by Nomad. */
const durations = (fields: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, typeof v === 'string' && k !== 'path' ? Duration.parse(v) : v]));
const asUpdate = ({ canary, ...u }: { canary?: number }) => ({ ...durations(u), ...(canary === undefined ? {} : { canary, autoPromote: canary > 0 }) });

const task = (props: object) => {
  const { job } = newJob();
  return new DockerTask(new TaskGroup(job, 'g', { name: 'g' }), 't', { name: 't', image: IMAGE, command: ['x'], resources, ...props });
};

const RULES: Record<string, Rule<any>> = {
  'image digest reference': {
    path: 'image.reference',
    set: (e, v) => (e.image = { source: 'prebuilt', reference: v }),
    build: (v) => ContainerImage.fromDigest(v),
    values: [
      `docker.wikiedu.org/wikiedu-web@sha256:${HEX}`,
      `Docker.WikiEdu.org/wikiedu-web@sha256:${HEX}`,
      `docker.wikiedu.org/WikiEdu-Web@sha256:${HEX}`,
      `127.0.0.1:5000/wikiedu-web@sha256:${HEX}`,
      'docker.wikiedu.org/wikiedu-web:latest',
      `docker.wikiedu.org/wikiedu-web@sha256:${HEX.toUpperCase()}`,
    ],
  },
  'service name (DNS label)': {
    path: 'web.service',
    set: (e, v) => (e.web.service = v),
    build: (v) => new ConnectService({ name: v }),
    values: ['puma', 'Puma', 'sidekiq_default', '-puma', 'a'.repeat(63), 'a'.repeat(64)],
  },
  'queue name': {
    path: 'workers[0].queues',
    set: (e, v) => (e.workers[0].queues = [v]),
    build: (v) => new SidekiqGroup(newJob().job, 'w', { groupName: 'w', image: IMAGE, resources, queues: [v] }),
    values: ['default', 'long_update', 'a:b.c-d', 'bad queue', 'é', ''],
  },
  'queue list': {
    path: 'workers[0].queues',
    set: (e, v) => (e.workers[0].queues = v),
    build: (v) => new SidekiqGroup(newJob().job, 'w', { groupName: 'w', image: IMAGE, resources, queues: v }),
    values: [['a', 'b'], [], ['a', 'a']],
  },
  'job ID': {
    path: 'job.id',
    set: (e, v) => (e.job.id = v),
    build: (v) => new NomadJob(newJob().stack, 'other', { jobId: v, datacenters: ['dc1'] }),
    values: ['rails', 'rails-staging', 'Rails.2', 'my job', '_rails', ''],
  },
  'volume name': {
    path: (v) => `volumes.${v}`,
    set: (e, v) => {
      e.volumes = { [v]: { source: 'rails' } };
      e.web.mounts = [];
      for (const w of e.workers) w.mounts = [];
    },
    build: (v) => Volume.host(v),
    values: ['rails', 'rails_system-2', 'rails system', 'a/b'],
  },
  'env key': {
    path: (v) => `env.${v}`,
    set: (e, v) => (e.env = { [v]: 'x' }),
    build: (v) => task({ env: { [v]: 'x' } }),
    values: ['RAILS_ENV', '_X', 'BAD-KEY', '1X', 'a b'],
  },
  'puma threads': {
    path: 'web.threads',
    set: (e, v) => (e.web.threads = v),
    build: (v) => new PumaGroup(newJob().job, 'web', { image: IMAGE, resources, threads: v }),
    values: [{ min: 1, max: 1 }, { min: 0, max: 5 }, { min: 3, max: 2 }, { min: 0, max: 0 }, { min: 1.5, max: 2 }, { min: -1, max: 2 }],
  },
  'puma workers': {
    path: 'web.workers',
    set: (e, v) => (e.web.workers = v),
    build: (v) => new PumaGroup(newJob().job, 'web', { image: IMAGE, resources, workers: v }),
    values: [0, 2, -1, 1.5],
  },
  'port range': {
    path: 'web.port',
    set: (e, v) => (e.web.port = v),
    build: (v) => new PumaGroup(newJob().job, 'web', { image: IMAGE, resources, port: v }),
    values: [1, 5000, 65535, 0, 65536, 80.5],
  },
  'upstream local ports': {
    path: 'consul.upstreams',
    set: (e, v) => (e.consul.upstreams = v),
    build: (v) => new ConnectService({ name: 'puma', upstreams: v }),
    values: [
      [{ service: 'redis', localPort: 6379 }, { service: 'mariadb', localPort: 3306 }],
      [{ service: 'redis', localPort: 6379 }, { service: 'mariadb', localPort: 6379 }],
      // Consul: "upstreams cannot contain duplicates of …".
      [{ service: 'redis', localPort: 6379 }, { service: 'redis', localPort: 6380 }],
    ],
  },
  'duration syntax': {
    path: 'web.update.minHealthyTime',
    set: (e, v) => (e.web.update.minHealthyTime = v),
    build: (v) => Duration.parse(v),
    values: ['30s', '1m30s', '250ms', '30', '1.5s', 's30', '30sec'],
  },
  'rolling update': {
    path: 'web.update',
    set: (e, v) => (e.web.update = v),
    build: (v) => new PumaGroup(newJob().job, 'web', { image: IMAGE, resources, update: { maxParallel: v.maxParallel, minHealthyTime: Duration.parse(v.minHealthyTime) } }),
    values: [{ maxParallel: 1, minHealthyTime: '30s' }, { maxParallel: 0, minHealthyTime: '30s' }, { maxParallel: 1, minHealthyTime: '5m' }, { maxParallel: 2.5, minHealthyTime: '10s' }],
  },
  'memory minimum': {
    path: 'web.resources.memoryMB',
    set: (e, v) => (e.web.resources.memoryMB = v),
    build: (v) => task({ resources: { cpu: 100, memoryMB: v } }),
    values: [10, 2800, 9, 0, 100.5],
  },
  cpu: {
    path: 'workers[0].resources.cpu',
    set: (e, v) => (e.workers[0].resources = { cpu: v, memoryMB: 512 }),
    build: (v) => task({ resources: { cpu: v, memoryMB: 128 } }),
    values: [1, 1500, 0, -5, 1.5],
  },
  'group count': {
    path: 'web.count',
    set: (e, v) => (e.web.count = v),
    build: (v) => new TaskGroup(newJob().job, 'g', { name: 'g', count: v }),
    values: [0, 2, -1, 1.5],
  },
  'sidekiq concurrency': {
    path: 'workers[0].concurrency',
    set: (e, v) => (e.workers[0].concurrency = v),
    build: (v) => new SidekiqGroup(newJob().job, 'w', { groupName: 'w', image: IMAGE, resources, queues: ['q'], concurrency: v }),
    values: [1, 10, 0, 2.5],
  },
  'task name': {
    path: 'web.task',
    set: (e, v) => (e.web.task = v),
    build: (v) => task({ name: v }),
    // Nomad: "Task name cannot include slashes", either kind.
    values: ['rails_server', 'rails server', 'a/b', 'a\\b', ''],
  },
  'group name': {
    path: 'web.group',
    set: (e, v) => (e.web.group = v),
    build: (v) => new TaskGroup(newJob().job, 'g', { name: v }),
    values: ['web', 'web server', 'a/b', ''],
  },
  'web group name (its group has a Connect service)': {
    path: 'web.group',
    set: (e, v) => (e.web.group = v),
    build: (v) => new PumaGroup(newJob().job, 'web', { image: IMAGE, resources, groupName: v }),
    // Nomad: "Consul Connect group … with service … must not contain uppercase characters".
    values: ['web', 'Web', 'web server'],
  },
  'host volume source': {
    path: 'volumes.rails.source',
    set: (e, v) => (e.volumes = { rails: { source: v } }),
    build: (v) => Volume.host('rails', { source: v }),
    // Nomad: "volume has an empty source".
    values: ['rails', ''],
  },
  'mount path': {
    path: 'web.mounts[0].path',
    set: (e, v) => (e.web.mounts = [{ volume: 'rails', path: v }]),
    build: (v) => task({ mounts: [{ volume: Volume.host('rails'), path: v }] }),
    values: ['/workspace/public/system', 'public/system', ''],
  },
  'rolling update with deadlines and canaries': {
    path: 'web.update',
    set: (e, v) => (e.web.update = v),
    build: (v) => new PumaGroup(newJob().job, 'web', { image: IMAGE, resources, update: asUpdate(v) }),
    values: [
      { healthyDeadline: '2m', progressDeadline: '3m' },
      { progressDeadline: '4m' },
      { canary: 1 },
      { canary: -1 },
      { minHealthyTime: '1s', healthyDeadline: '15s', progressDeadline: '40s' },
    ],
  },
  'sidekiq update over its defaults': {
    path: 'workers[0].update',
    set: (e, v) => (e.workers[0].update = v),
    build: (v) => new SidekiqGroup(newJob().job, 'w', { groupName: 'w', image: IMAGE, resources, queues: ['q'], update: asUpdate(v) }),
    values: [{ progressDeadline: '10m' }, { progressDeadline: '2m' }, { healthyDeadline: '6m' }],
  },
  'puma health check': {
    path: 'web.healthCheck',
    set: (e, v) => (e.web.healthCheck = v),
    build: (v) => new PumaGroup(newJob().job, 'web', { image: IMAGE, resources, healthCheck: durations(v) }),
    values: [{ path: '/' }, { path: 'up' }, { interval: '5s', timeout: '6s' }, { timeout: '500ms' }],
  },
  'sidekiq stop timings': {
    path: (v: { killTimeout?: string }) => (v.killTimeout !== undefined && v.killTimeout !== '1s' ? 'workers[0].killTimeout' : 'workers[0].shutdownTimeout'),
    set: (e, v) => Object.assign(e.workers[0], v),
    build: (v) =>
      new SidekiqGroup(newJob().job, 'w', {
        groupName: 'w', image: IMAGE, resources, queues: ['q'],
        ...durations(v),
      }),
    values: [{ shutdownTimeout: '10s' }, { killTimeout: '25s' }, { killTimeout: '26s' }, { shutdownTimeout: '1500ms' }, { shutdownTimeout: '40s', killTimeout: '45s' }],
  },
  datacenters: {
    path: 'nomad.datacenters',
    set: (e, v) => (e.nomad.datacenters = v),
    build: (v) => new NomadJob(newJob().stack, 'other', { jobId: 'other', datacenters: v }),
    // Nomad: "Missing job datacenters", "Job datacenter must be non-empty string".
    values: [['dc1'], [], ['dc1', '']],
  },
};

describe.each(Object.entries(RULES))('%s: schema and construct agree', (_, rule) => {
  it.each(rule.values.map((v) => [JSON.stringify(v), v]))('on %s', (_, value) => {
    const path = typeof rule.path === 'string' ? rule.path : rule.path(value);
    const schema = schemaSays(path, (e) => rule.set(e, value));
    const construct = constructSays(() => rule.build(value));
    expect(schema === undefined, `schema: ${schema ?? 'accepts'}; construct: ${construct ?? 'accepts'}`).toBe(construct === undefined);
    // Refused in the construct's words: the rule's text, past the construct's own "where".
    if (schema !== undefined) expect(construct).toContain(schema.replace(/, got .*$/s, ''));
  });
});

describe('a prebuilt image with an upper-case registry', () => {
  it('is a config error naming image.reference, not a failed synth', () => {
    const reference = `Docker.WikiEdu.org/wikiedu-web@sha256:${HEX}`;
    let error: unknown;
    try {
      loadEnvironment('production', fixtureEdge({ DASHBOARD_IMAGE: reference }));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain(`image.reference: must be pinned by digest: 'registry.example.org/name@sha256:<64 hex digits>', registry and name in lower case, got '${reference}'`);
  });
});
