import { describe, expect, it } from 'vitest';
import { ImageRuntime } from '../../constructs/image/runtime';
import { ContainerImage } from '../../constructs/image/container-image';
import { Duration } from '../../constructs/nomad/duration';
import { PumaGroup } from '../../constructs/rails/puma';
import { SidekiqGroup } from '../../constructs/rails/sidekiq';
import { IMAGE, newJob } from '../support/tree';

const base = { image: IMAGE, resources: { cpu: 500, memoryMB: 512 } };
const argv = (config: Record<string, unknown>) => [config.command, ...(config.args as string[])].join(' ');

describe('PumaGroup', () => {
  it('defaults: group web, task rails_server, service puma on 5000, rolled one at a time with 30s healthy', () => {
    const { job } = newJob();
    const g = new PumaGroup(job, 'web', base).render();
    expect(g).toMatchObject({ Name: 'web', Count: 1, Update: { MaxParallel: 1, MinHealthyTime: 30_000_000_000 } });
    expect(g.Services![0]).toMatchObject({ Name: 'puma', PortLabel: '5000', Tags: ['app'] });
    expect(g.Tasks[0]!.Name).toBe('rails_server');
    expect(argv(g.Tasks[0]!.Config)).toBe('puma -b tcp://0.0.0.0 -p 5000 --preload -w 2 -t 1:1');
  });

  it('Consul deregisters puma 10s before Nomad stops it, or as long as shutdownDelay says', () => {
    const { job } = newJob();
    expect(new PumaGroup(job, 'web', base).render().ShutdownDelay).toBe(10_000_000_000);
    expect(new PumaGroup(job, 'front', { ...base, groupName: 'front', serviceName: 'front', shutdownDelay: Duration.seconds(3) }).render().ShutdownDelay).toBe(3_000_000_000);
  });

  it('builds the puma command line from port, workers, threads and preload', () => {
    const { job } = newJob();
    const g = new PumaGroup(job, 'web', { ...base, port: 3000, workers: 4, threads: { min: 2, max: 5 }, preload: false }).render();
    expect(argv(g.Tasks[0]!.Config)).toBe('puma -b tcp://0.0.0.0 -p 3000 -w 4 -t 2:5');
    expect(g.Services![0]!.PortLabel).toBe('3000');
  });

  it('a buildpacks image runs puma through the launcher', () => {
    const { job } = newJob();
    const image = ContainerImage.fromDigest(IMAGE.reference, ImageRuntime.buildpacks());
    expect(new PumaGroup(job, 'web', { ...base, image }).render().Tasks[0]!.Config.entrypoint).toEqual(['launcher']);
  });

  it.each([
    [{ threads: { min: 3, max: 2 } }, "group 'web': puma threads.min 3 must not exceed threads.max 2"],
    [{ port: 0 }, "group 'web': puma port must be a whole number of at least 1 and at most 65535, got 0"],
    [{ workers: -1 }, "group 'web': puma workers must be a whole number of at least 0, got -1"],
  ])('refuses %j', (props, message) => {
    const { job } = newJob();
    expect(() => new PumaGroup(job, 'web', { ...base, ...props })).toThrow(message);
  });
});

describe('SidekiqGroup', () => {
  it('works its queues in order, names its service after the group, and stops gracefully', () => {
    const { job } = newJob();
    const g = new SidekiqGroup(job, 'w', { ...base, groupName: 'sidekiq-long', queues: ['long_update', 'medium_update'] }).render();
    expect(argv(g.Tasks[0]!.Config)).toBe('sidekiq -q long_update -q medium_update -c 1 -t 25');
    expect(g.Services![0]).toMatchObject({ Name: 'sidekiq-long', Tags: ['app', 'sidekiq'] });
    expect(g.Services![0]!.PortLabel).toBeUndefined();
    expect(g.Tasks[0]!.KillTimeout).toBe(30_000_000_000);
    expect(g.Tasks[0]!.KillSignal).toBe('SIGTERM');
  });

  it('a longer shutdown timeout is sidekiq\'s -t, and Nomad\'s kill timeout is 5s more', () => {
    const { job } = newJob();
    const g = new SidekiqGroup(job, 'w', { ...base, groupName: 'w', queues: ['q'], shutdownTimeout: Duration.seconds(60), concurrency: 5 }).render();
    expect(g.Tasks[0]!.KillTimeout).toBe(65_000_000_000);
    expect(argv(g.Tasks[0]!.Config)).toBe('sidekiq -q q -c 5 -t 60');
  });

  it('an explicit kill timeout longer than the shutdown timeout is kept', () => {
    const { job } = newJob();
    const g = new SidekiqGroup(job, 'w', { ...base, groupName: 'w', queues: ['q'], shutdownTimeout: Duration.seconds(8), killTimeout: Duration.seconds(9) }).render();
    expect(g.Tasks[0]!.KillTimeout).toBe(9_000_000_000);
  });

  it.each([
    [{ shutdownTimeout: Duration.seconds(25), killTimeout: Duration.seconds(25) }, "group 'w': kill timeout 25s must be longer than sidekiq's shutdown timeout 25s"],
    [{ killTimeout: Duration.seconds(20) }, "group 'w': kill timeout 20s must be longer than sidekiq's shutdown timeout 25s"],
    [{ shutdownTimeout: Duration.millis(1500) }, "group 'w': sidekiq shutdown timeout must be a whole number of seconds, at least 1s (sidekiq -t takes seconds), got 1s500ms"],
    [{ shutdownTimeout: Duration.seconds(0) }, "group 'w': sidekiq shutdown timeout must be a whole number of seconds, at least 1s (sidekiq -t takes seconds), got 0s"],
  ])('refuses the stop timings %j', (props, message) => {
    const { job } = newJob();
    expect(() => new SidekiqGroup(job, 'w', { ...base, groupName: 'w', queues: ['q'], ...props })).toThrow(message);
  });

  it.each([
    [{ queues: [] }, "group 'w': sidekiq needs at least one queue, got an empty list"],
    [{ queues: ['a', 'a'] }, "group 'w': queue 'a' is listed twice"],
    [{ queues: ['bad queue'] }, "group 'w': queue name 'bad queue' may hold only"],
    [{ queues: ['a'], concurrency: 0 }, "group 'w': sidekiq concurrency must be a whole number of at least 1, got 0"],
  ])('refuses %j', (props, message) => {
    const { job } = newJob();
    expect(() => new SidekiqGroup(job, 'w', { ...base, groupName: 'w', ...props })).toThrow(message);
  });
});

describe('errors while a Rails group is built', () => {
  it.each<[string, (job: ReturnType<typeof newJob>['job']) => unknown, string]>([
    ['puma', (job) => new PumaGroup(job, 'web', { ...base, port: 0 }), "[test/job/web] group 'web': puma port must be a whole number of at least 1 and at most 65535, got 0"],
    ['puma threads', (job) => new PumaGroup(job, 'front', { ...base, groupName: 'front', threads: { min: 3, max: 2 } }), "[test/job/front] group 'front': puma threads.min 3 must not exceed threads.max 2"],
    ['sidekiq', (job) => new SidekiqGroup(job, 'w', { ...base, groupName: 'w', queues: ['a', 'a'] }), "[test/job/w] group 'w': queue 'a' is listed twice"],
    ['its service', (job) => new SidekiqGroup(job, 'w', { ...base, groupName: 'Sidekiq_Long', queues: ['a'] }), "[test/job/w] group 'Sidekiq_Long': service name 'Sidekiq_Long' must be a DNS label"],
    ['its task', (job) => new SidekiqGroup(job, 'w', { ...base, groupName: 'w', queues: ['a'], resources: { cpu: 500, memoryMB: 5 } }), "[test/job/w/task] task 'sidekiq': memoryMB must be a whole number of at least 10 (Nomad's minimum), got 5"],
  ])('%s: name the construct path, the group, the field, the value and the rule', (_, build, message) => {
    const { job } = newJob();
    expect(() => build(job)).toThrow(message);
  });
});
