import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { issueWords } from '../../config/issues';
import { ConfigError, loadEnvironment } from '../../config/load';
import { production } from '../../config/production';
import { environmentSchema } from '../../config/schema';
import { isSecretName } from '../../config/secret-names';
import { Redactor } from '../../commands/secrets';
import { BuiltImage, checkContextHash } from '../../constructs/image/built-image';
import { ContainerImage } from '../../constructs/image/container-image';
import { checkDigestReference } from '../../constructs/image/image-reference';
import { ImageRuntime } from '../../constructs/image/runtime';
import { checkHttpCheck, checkServiceName, checkUpstreams, ConnectService } from '../../constructs/nomad/connect';
import { checkDuration, Duration } from '../../constructs/nomad/duration';
import { checkEnvName } from '../../constructs/nomad/env-name';
import { checkCanary, checkConnectGroupName, checkCount, checkGroupName, checkMaxParallel, checkRollingUpdate, TaskGroup } from '../../constructs/nomad/group';
import { checkDatacenters, checkJobId, NomadJob } from '../../constructs/nomad/job';
import { checkAbsolutePath, checkPort } from '../../constructs/core/rule';
import { checkChangeAction, checkSignal, RuntimeConfig } from '../../constructs/nomad/runtime-config';
import { checkCpu, checkMemoryMB, checkTaskName, DockerTask } from '../../constructs/nomad/task';
import { NomadVariable } from '../../constructs/nomad/variable';
import { checkHostVolumeSource, checkVolumeName, Volume } from '../../constructs/nomad/volume';
import { checkPumaThreads, checkPumaWorkers, PUMA_DEFAULTS, PumaGroup } from '../../constructs/rails/puma';
import {
  checkConcurrency, checkKillTimeout, checkQueueName, checkQueues, checkShutdownTimeout,
  SIDEKIQ_DEFAULT_SHUTDOWN, SIDEKIQ_KILL_MARGIN, SIDEKIQ_UPDATE, SidekiqGroup,
} from '../../constructs/rails/sidekiq';
import { DeployCheck } from '../../constructs/terraform/deploy-check';
import { fixtureEdge, REPO_ROOT } from '../support/synth';
import { IMAGE, newJob } from '../support/tree';

/**
 * Each value rule has one home, in the construct that needs it; the schema reuses it. A rule is
 * an exported `check…` function of a module under constructs/, found by walking them: each must
 * be exercised by a case below, or this test fails naming it. A case holds values on both sides
 * of its rule, and for each the rule itself, the schema and the construct must give one verdict,
 * the two copies in the rule's words.
 */
const HEX = 'a'.repeat(64);
const resources = { cpu: 100, memoryMB: 128 };

type Verdict = string | undefined;

/** The schema's message at exactly this path, or undefined when it accepts the value there. */
function schemaSays(path: string, change: (e: any) => void): Verdict {
  const input = structuredClone(production(fixtureEdge())) as any;
  change(input);
  const result = environmentSchema.safeParse(input, { error: issueWords });
  if (result.success) return undefined;
  const issue = result.error.issues.find((i) => i.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '') === path);
  return issue?.message;
}

/** The construct's message, or undefined when it accepts the value. */
function constructSays(build: () => unknown): Verdict {
  try {
    build();
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

interface Case<T> {
  /** The exported rules the case's values exercise (a composite rule and the rules it is made of). */
  readonly rules: readonly Function[];
  /** The verdict both copies must give: the rule itself, on the value as the construct sees it. */
  readonly rule: (value: T) => Verdict;
  /** Where the schema says it (a record key is its own path). @default - the schema has no copy of the rule here */
  readonly path?: string | ((value: T) => string);
  readonly set?: (e: any, value: T) => void;
  readonly build: (value: T) => unknown;
  readonly values: readonly T[];
}

/** What disagrees about one value, or undefined when the rule, the schema and the construct agree. */
function disagreement(c: Case<any>, value: unknown, said: { rule: Verdict; schema?: Verdict; construct: Verdict }): string | undefined {
  const copies: [string, Verdict][] = [['construct', said.construct], ...(c.path !== undefined ? [['schema', said.schema] as [string, Verdict]] : [])];
  for (const [where, verdict] of copies) {
    if ((verdict === undefined) !== (said.rule === undefined)) return `${where}: ${verdict ?? 'accepts'}; rule: ${said.rule ?? 'accepts'} (${JSON.stringify(value)})`;
    // Refused in the rule's words, past the copy's own "where".
    if (said.rule !== undefined && !verdict!.includes(said.rule)) return `${where} says '${verdict}', not the rule's '${said.rule}'`;
  }
  return undefined;
}

function verdicts(c: Case<any>, value: unknown) {
  const path = typeof c.path === 'function' ? c.path(value) : c.path;
  return {
    rule: c.rule(value),
    ...(path !== undefined ? { schema: schemaSays(path, (e) => c.set!(e, value)) } : {}),
    construct: constructSays(() => c.build(value)),
  };
}

/** Config's text in the constructs' terms, written out here so the construct's verdict owes nothing to the schema: durations parsed, canaries promoted by Nomad. */
const durations = (fields: Record<string, unknown>): any =>
  Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, typeof v === 'string' && k !== 'path' ? Duration.parse(v) : v]));
const asUpdate = ({ canary, ...u }: { canary?: number }) => ({ ...durations(u), ...(canary === undefined ? {} : { canary, autoPromote: canary > 0 }) });

const task = (props: object) => {
  const { job } = newJob();
  return new DockerTask(new TaskGroup(job, 'g', { name: 'g' }), 't', { name: 't', image: IMAGE, command: ['x'], resources, ...props });
};
const runtimeConfig = (props: object) => new RuntimeConfig(newJob().stack, 'rc', { variablePath: 'nomad/jobs/app', missingSource: 'Put it there.', ...props });
const sidekiqStop = (v: { shutdownTimeout?: string; killTimeout?: string }) => {
  const shutdown = v.shutdownTimeout ? Duration.parse(v.shutdownTimeout) : SIDEKIQ_DEFAULT_SHUTDOWN;
  return { shutdown, kill: v.killTimeout ? Duration.parse(v.killTimeout) : shutdown.plus(SIDEKIQ_KILL_MARGIN) };
};

const CASES: Record<string, Case<any>> = {
  'image digest reference': {
    rules: [checkDigestReference],
    rule: checkDigestReference,
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
  'build context hash': {
    rules: [checkContextHash],
    rule: checkContextHash,
    path: 'image.contextHash',
    set: (e, v) => (e.image.contextHash = v),
    build: (v) => new BuiltImage(newJob().stack, 'image', { repository: 'registry.example.org/app', context: '/app', contextHash: v, runtime: ImageRuntime.direct() }),
    values: ['b'.repeat(64), 'b'.repeat(12), 'B'.repeat(64), 'b'.repeat(65), 'latest'],
  },
  'service name (DNS label)': {
    rules: [checkServiceName],
    rule: checkServiceName,
    path: 'web.service',
    set: (e, v) => (e.web.service = v),
    build: (v) => new ConnectService({ name: v }),
    values: ['puma', 'Puma', 'sidekiq_default', '-puma', 'a'.repeat(63), 'a'.repeat(64)],
  },
  'queue name': {
    rules: [checkQueues, checkQueueName],
    rule: (v) => checkQueues([v]),
    path: 'workers[0].queues',
    set: (e, v) => (e.workers[0].queues = [v]),
    build: (v) => new SidekiqGroup(newJob().job, 'w', { groupName: 'w', image: IMAGE, resources, queues: [v] }),
    values: ['default', 'long_update', 'a:b.c-d', 'bad queue', 'é', ''],
  },
  'queue list': {
    rules: [checkQueues],
    rule: checkQueues,
    path: 'workers[0].queues',
    set: (e, v) => (e.workers[0].queues = v),
    build: (v) => new SidekiqGroup(newJob().job, 'w', { groupName: 'w', image: IMAGE, resources, queues: v }),
    values: [['a', 'b'], [], ['a', 'a']],
  },
  'job ID': {
    rules: [checkJobId],
    rule: checkJobId,
    path: 'job.id',
    set: (e, v) => (e.job.id = v),
    build: (v) => new NomadJob(newJob().stack, 'other', { jobId: v, datacenters: ['dc1'] }),
    values: ['rails', 'rails-staging', 'Rails.2', 'my job', '_rails', ''],
  },
  'volume name': {
    rules: [checkVolumeName],
    rule: checkVolumeName,
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
    rules: [checkEnvName],
    rule: checkEnvName,
    path: (v) => `env.${v}`,
    set: (e, v) => (e.env = { [v]: 'x' }),
    build: (v) => task({ env: { [v]: 'x' } }),
    values: ['RAILS_ENV', '_X', 'BAD-KEY', '1X', 'a b'],
  },
  'runtime config env name': {
    rules: [checkEnvName],
    rule: checkEnvName,
    path: 'runtimeConfig.env[0]',
    set: (e, v) => (e.runtimeConfig.env = [v]),
    build: (v) => runtimeConfig({ env: [{ name: v, source: '/config/env/x' }] }),
    values: ['SECRET_KEY_BASE', '_X', 'BAD-KEY', '1X'],
  },
  'variable item key (no copy in the schema: config names no item)': {
    rules: [checkEnvName],
    rule: checkEnvName,
    build: (v) => new NomadVariable(newJob().stack, 'v', { path: 'nomad/jobs/app', items: { [v]: 'x' } }),
    values: ['env_SECRET_KEY_BASE', 'file_database_yml', 'file.yml', '1X'],
  },
  'runtime config signal': {
    rules: [checkSignal],
    rule: checkSignal,
    path: 'runtimeConfig.onChange.signal',
    set: (e, v) => (e.runtimeConfig.onChange = { signal: v }),
    build: (v) => runtimeConfig({ onChange: { mode: 'signal', signal: v } }),
    values: ['SIGHUP', 'SIGUSR2', 'HUP', 'sighup'],
  },
  'group name of a group with a Connect service': {
    rules: [checkConnectGroupName],
    rule: checkConnectGroupName,
    path: 'web.group',
    set: (e, v) => (e.web.group = v),
    build: (v) => new PumaGroup(newJob().job, 'web', { image: IMAGE, resources, groupName: v }),
    // Nomad: "Consul Connect group … with service … must not contain uppercase characters".
    values: ['web', 'Web'],
  },
  'host volume source': {
    rules: [checkHostVolumeSource],
    rule: checkHostVolumeSource,
    path: 'volumes.rails.source',
    set: (e, v) => (e.volumes = { rails: { source: v } }),
    build: (v) => Volume.host('rails', { source: v }),
    // Nomad: "volume has an empty source".
    values: ['rails', ''],
  },
  'what a changed value does, with env vars': {
    rules: [checkChangeAction],
    rule: (v) => checkChangeAction({ onChange: v, envNames: ['SECRET_KEY_BASE'] }),
    path: 'runtimeConfig.onChange',
    set: (e, v) => (e.runtimeConfig.onChange = v.mode === 'signal' ? { signal: v.signal } : v.mode),
    build: (v) => runtimeConfig({ onChange: v, env: [{ name: 'SECRET_KEY_BASE', source: '/x/env/SECRET_KEY_BASE' }] }),
    // Nomad: "cannot use signals with env var templates".
    values: [{ mode: 'rollout' }, { mode: 'restart' }, { mode: 'signal', signal: 'SIGHUP' }],
  },
  'mount path': {
    rules: [checkAbsolutePath],
    rule: checkAbsolutePath,
    path: 'web.mounts[0].path',
    set: (e, v) => (e.web.mounts = [{ volume: 'rails', path: v }]),
    build: (v) => task({ mounts: [{ volume: Volume.host('rails'), path: v }] }),
    values: ['/workspace/public/system', 'public/system', ''],
  },
  'docker daemon socket': {
    rules: [checkAbsolutePath],
    rule: checkAbsolutePath,
    path: 'image.daemon.socket',
    set: (e, v) => (e.image.daemon = { socket: v, notRunning: 'Start it.' }),
    build: (v) => DeployCheck.pathExists(newJob().stack, 'docker_socket', { path: v, message: 'Start it.' }),
    values: ['/run/podman.sock', 'podman.sock'],
  },
  'puma threads': {
    rules: [checkPumaThreads],
    rule: checkPumaThreads,
    path: 'web.threads',
    set: (e, v) => (e.web.threads = v),
    build: (v) => new PumaGroup(newJob().job, 'web', { image: IMAGE, resources, threads: v }),
    values: [{ min: 1, max: 1 }, { min: 0, max: 5 }, { min: 3, max: 2 }, { min: 0, max: 0 }, { min: 1.5, max: 2 }, { min: -1, max: 2 }],
  },
  'puma workers': {
    rules: [checkPumaWorkers],
    rule: checkPumaWorkers,
    path: 'web.workers',
    set: (e, v) => (e.web.workers = v),
    build: (v) => new PumaGroup(newJob().job, 'web', { image: IMAGE, resources, workers: v }),
    values: [0, 2, -1, 1.5],
  },
  'port range': {
    rules: [checkPort],
    rule: checkPort,
    path: 'web.port',
    set: (e, v) => (e.web.port = v),
    build: (v) => new PumaGroup(newJob().job, 'web', { image: IMAGE, resources, port: v }),
    values: [1, 5000, 65535, 0, 65536, 80.5],
  },
  'upstream local ports': {
    rules: [checkUpstreams],
    rule: checkUpstreams,
    path: 'consul.upstreams',
    set: (e, v) => (e.consul.upstreams = v),
    build: (v) => new ConnectService({ name: 'puma', upstreams: v }),
    values: [
      [{ service: 'redis', localPort: 6379 }, { service: 'mariadb', localPort: 3306 }],
      [{ service: 'redis', localPort: 6379 }, { service: 'mariadb', localPort: 6379 }],
    ],
  },
  'duration syntax': {
    rules: [checkDuration],
    rule: checkDuration,
    path: 'web.update.minHealthyTime',
    set: (e, v) => (e.web.update.minHealthyTime = v),
    build: (v) => Duration.parse(v),
    values: ['30s', '1m30s', '250ms', '30', '1.5s', 's30', '30sec'],
  },
  'rolling update': {
    rules: [checkRollingUpdate, checkMaxParallel],
    rule: (v) => checkRollingUpdate({ ...PUMA_DEFAULTS.update, maxParallel: v.maxParallel, minHealthyTime: Duration.parse(v.minHealthyTime) }),
    path: 'web.update',
    set: (e, v) => (e.web.update = v),
    build: (v) => new PumaGroup(newJob().job, 'web', { image: IMAGE, resources, update: { maxParallel: v.maxParallel, minHealthyTime: Duration.parse(v.minHealthyTime) } }),
    values: [{ maxParallel: 1, minHealthyTime: '30s' }, { maxParallel: 0, minHealthyTime: '30s' }, { maxParallel: 1, minHealthyTime: '5m' }, { maxParallel: 2.5, minHealthyTime: '10s' }],
  },
  'rolling update with deadlines and canaries': {
    rules: [checkRollingUpdate, checkCanary],
    rule: (v) => checkRollingUpdate({ ...PUMA_DEFAULTS.update, ...asUpdate(v) }),
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
    rules: [checkRollingUpdate],
    rule: (v) => checkRollingUpdate({ ...SIDEKIQ_UPDATE, ...asUpdate(v) }),
    path: 'workers[0].update',
    set: (e, v) => (e.workers[0].update = v),
    build: (v) => new SidekiqGroup(newJob().job, 'w', { groupName: 'w', image: IMAGE, resources, queues: ['q'], update: asUpdate(v) }),
    values: [{ progressDeadline: '10m' }, { progressDeadline: '2m' }, { healthyDeadline: '6m' }],
  },
  'memory minimum': {
    rules: [checkMemoryMB],
    rule: checkMemoryMB,
    path: 'web.resources.memoryMB',
    set: (e, v) => (e.web.resources.memoryMB = v),
    build: (v) => task({ resources: { cpu: 100, memoryMB: v } }),
    values: [10, 2800, 9, 0, 100.5],
  },
  cpu: {
    rules: [checkCpu],
    rule: checkCpu,
    path: 'workers[0].resources.cpu',
    set: (e, v) => (e.workers[0].resources = { cpu: v, memoryMB: 512 }),
    build: (v) => task({ resources: { cpu: v, memoryMB: 128 } }),
    values: [1, 1500, 0, -5, 1.5],
  },
  'group count': {
    rules: [checkCount],
    rule: checkCount,
    path: 'web.count',
    set: (e, v) => (e.web.count = v),
    build: (v) => new TaskGroup(newJob().job, 'g', { name: 'g', count: v }),
    values: [0, 2, -1, 1.5],
  },
  'sidekiq concurrency': {
    rules: [checkConcurrency],
    rule: checkConcurrency,
    path: 'workers[0].concurrency',
    set: (e, v) => (e.workers[0].concurrency = v),
    build: (v) => new SidekiqGroup(newJob().job, 'w', { groupName: 'w', image: IMAGE, resources, queues: ['q'], concurrency: v }),
    values: [1, 10, 0, 2.5],
  },
  'task name': {
    rules: [checkTaskName],
    rule: checkTaskName,
    path: 'web.task',
    set: (e, v) => (e.web.task = v),
    build: (v) => task({ name: v }),
    values: ['rails_server', 'rails server', 'a/b', ''],
  },
  'group name': {
    rules: [checkGroupName],
    rule: checkGroupName,
    path: 'web.group',
    set: (e, v) => (e.web.group = v),
    build: (v) => new TaskGroup(newJob().job, 'g', { name: v }),
    values: ['web', 'web server', 'a/b', ''],
  },
  'puma health check': {
    rules: [checkHttpCheck],
    rule: (v) => checkHttpCheck({ ...PUMA_DEFAULTS.healthCheck, ...durations(v) }),
    path: 'web.healthCheck',
    set: (e, v) => (e.web.healthCheck = v),
    build: (v) => new PumaGroup(newJob().job, 'web', { image: IMAGE, resources, healthCheck: durations(v) }),
    values: [{ path: '/' }, { path: 'up' }, { interval: '5s', timeout: '6s' }, { timeout: '500ms' }],
  },
  'sidekiq stop timings': {
    rules: [checkShutdownTimeout, checkKillTimeout],
    rule: (v) => {
      const { shutdown, kill } = sidekiqStop(v);
      return checkShutdownTimeout(shutdown) ?? checkKillTimeout(kill, shutdown);
    },
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
    rules: [checkDatacenters],
    rule: checkDatacenters,
    path: 'nomad.datacenters',
    set: (e, v) => (e.nomad.datacenters = v),
    build: (v) => new NomadJob(newJob().stack, 'other', { jobId: 'other', datacenters: v }),
    values: [['dc1'], []],
  },
};

/** Every exported rule of the constructs: `check…` functions of the modules under constructs/, by where they live. */
async function exportedRules(): Promise<Map<Function, string>> {
  const walk = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
  const rules = new Map<Function, string>();
  for (const file of walk(join(REPO_ROOT, 'constructs'))) {
    const module = (await import(file)) as Record<string, unknown>;
    for (const [name, value] of Object.entries(module)) {
      if (/^check[A-Z]/.test(name) && typeof value === 'function') rules.set(value, `${relative(REPO_ROOT, file)}: ${name}`);
    }
  }
  return rules;
}

describe('every exported rule of the constructs', () => {
  it('is exercised by a case here, found by walking constructs/ (a new rule cannot be left out)', async () => {
    const rules = await exportedRules();
    expect(rules.size).toBeGreaterThan(25);
    const covered = new Set(Object.values(CASES).flatMap((c) => c.rules));
    expect([...rules].filter(([fn]) => !covered.has(fn)).map(([, where]) => where)).toEqual([]);
    // A case names rules by the function itself: one the walk did not find is not exported from constructs/.
    expect([...covered].filter((fn) => !rules.has(fn)).map((fn) => fn.name)).toEqual([]);
  });
});

describe.each(Object.entries(CASES))('%s', (_, c) => {
  it('would catch a copy that disagrees: its values hold one the rule accepts and one it refuses', () => {
    const said = c.values.map((v) => c.rule(v));
    expect(said.some((s) => s === undefined), 'a value the rule accepts').toBe(true);
    expect(said.some((s) => s !== undefined), 'a value the rule refuses').toBe(true);
  });

  it.each(c.values.map((v) => [JSON.stringify(v), v]))('the rule, the schema and the construct agree on %s', (_, value) => {
    expect(disagreement(c, value, verdicts(c, value))).toBeUndefined();
  });
});

describe('the copies the rules replaced would be caught', () => {
  const caught = (name: string, copy: (value: any) => Verdict) => {
    const c = CASES[name]!;
    return c.values.filter((v) => disagreement(c, v, { ...verdicts(c, v), schema: copy(v) }) !== undefined);
  };

  it("the schema's old env-name pattern, its words not the construct's", () => {
    const old = (v: string) => (/^[A-Za-z_][A-Za-z0-9_]*$/.test(v) ? undefined : 'env names are letters, digits and "_"');
    expect(caught('runtime config env name', old)).toEqual(['BAD-KEY', '1X']);
  });

  it("BuiltImage's old context-hash rule (12 hex digits or more)", () => {
    const c = CASES['build context hash']!;
    const old = (v: string) => (/^[a-f0-9]{12,}$/.test(v) ? undefined : 'contextHash must be a hex digest');
    expect(c.values.filter((v) => disagreement(c, v, { ...verdicts(c, v), construct: old(v) }) !== undefined)).toEqual(['b'.repeat(12), 'B'.repeat(64), 'b'.repeat(65), 'latest']);
  });
});

describe('secret-looking names', () => {
  const names = ['DB_PASS', 'DB_PASSWORD', 'NOMAD_TOKEN', 'AWS_SECRET_ACCESS_KEY', 'API_KEY', 'RAILS_ENV', 'PASSENGER_MODE', 'RAILS_LOG_TO_STDOUT'];

  it.each(names)('%s: the schema refuses it in env exactly when the redactor masks its value', (name) => {
    const refused = schemaSays(`env.${name}`, (e) => (e.env = { [name]: 'some-value' })) !== undefined;
    const masked = Redactor.fromEnvironment({ [name]: 'some-value' }).redact('some-value') !== 'some-value';
    expect(refused).toBe(masked);
    expect(refused).toBe(isSecretName(name));
  });

  it("catches what the schema's old pattern let through (a name ending in PASS)", () => {
    const old = /(PASSWORD|PASSWD|SECRET|TOKEN|PRIVATE|CREDENTIAL|API_?KEY)/i;
    expect(names.filter((n) => old.test(n) !== isSecretName(n))).toEqual(['DB_PASS']);
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
