import { Testing } from 'cdktf';
import { describe, expect, it } from 'vitest';
import { type Cluster, formatCapacity, type GroupDemand, planCapacity } from '../../constructs/nomad/capacity';
import { Constraint } from '../../constructs/nomad/constraint';
import { Volume } from '../../constructs/nomad/volume';
import { PumaGroup } from '../../constructs/rails/puma';
import { SidekiqGroup } from '../../constructs/rails/sidekiq';
import { DashboardStack } from '../../stacks/dashboard-stack';
import { fixtureEnvironment, REPO_ROOT } from '../support/synth';
import { IMAGE, newJob, validationErrors } from '../support/tree';

const node = (over: Partial<Cluster['nodes'][number]> = {}) => ({ name: 'n1', cpu: 4000, memoryMB: 4000, hostVolumes: [], ...over });
const group = (over: Partial<GroupDemand> = {}): GroupDemand => ({
  name: 'g', count: 1, canary: 0, tasks: { cpu: 1000, memoryMB: 1000 }, sidecars: 1, hostVolumes: [], notOnNodes: [], ...over,
});

describe('planCapacity', () => {
  it('counts a sidecar of 250 MHz / 128 MB per Connect service and allocation, and other jobs, against the one node a group can run on', () => {
    const plan = planCapacity({ nodes: [node({ otherJobs: [{ name: 'redis', cpu: 500, memoryMB: 256 }] })], otherNodes: false }, [group({ count: 2 })]);
    expect(plan.errors).toEqual([]);
    expect(plan.groups[0]).toMatchObject({ perAllocation: { cpu: 1250, memoryMB: 1128 }, where: ['n1'], countedOn: 'n1' });
    expect(plan.nodes[0]).toMatchObject({ steady: { cpu: 2500, memoryMB: 2256 }, headroom: { cpu: 1000, memoryMB: 1488 } });
  });

  it('refuses groups that do not fit their node, naming the node, each group and the numbers', () => {
    const plan = planCapacity({ nodes: [node({ otherJobs: [{ name: 'redis', cpu: 500, memoryMB: 256 }] })], otherNodes: false }, [group({ count: 3 })]);
    expect(plan.errors).toEqual([
      "node 'n1': g 3 × 1250 MHz / 1128 MB, redis 500 MHz / 256 MB need 4250 MHz / 3640 MB (sidecars 250 MHz / 128 MB each included), the node has 4000 MHz / 4000 MB: 250 MHz short",
    ]);
  });

  it('refuses a rollout whose canaries do not fit beside the old allocations, though the steady state does', () => {
    const plan = planCapacity({ nodes: [node()], otherNodes: false }, [group({ count: 2, canary: 1 })]);
    expect(plan.nodes[0]!.headroom).toEqual({ cpu: 1500, memoryMB: 1744 });
    expect(plan.nodes[0]!.rolloutHeadroom).toEqual({ cpu: 250, memoryMB: 616 });
    expect(plan.errors).toEqual([]);
    const tight = planCapacity({ nodes: [node({ cpu: 3000 })], otherNodes: false }, [group({ count: 2, canary: 1 })]);
    expect(tight.errors).toEqual([
      "node 'n1' during a rollout (canaries beside the old allocations): g 2 + 1 canary × 1250 MHz / 1128 MB need 3750 MHz / 3384 MB (sidecars 250 MHz / 128 MB each included), the node has 3000 MHz / 4000 MB: 750 MHz short",
    ]);
  });

  it('places a group by its host volumes and not-on-node constraints', () => {
    const cluster: Cluster = { nodes: [node({ name: 'web', hostVolumes: ['rails'] }), node({ name: 'w2' })], otherNodes: true };
    const plan = planCapacity(cluster, [
      group({ name: 'pinned', hostVolumes: ['rails'] }),
      group({ name: 'off-web', notOnNodes: ['web'] }),
      group({ name: 'anywhere' }),
    ]);
    expect(plan.groups.map((g) => [g.name, g.where, g.countedOn])).toEqual([
      ['pinned', ['web'], 'web'],
      ['off-web', ['w2', 'other nodes'], undefined],
      ['anywhere', ['web', 'w2', 'other nodes'], undefined],
    ]);
  });

  it('refuses a group that can run nowhere, saying what it needs and what each node has', () => {
    const plan = planCapacity({ nodes: [node({ name: 'web', hostVolumes: ['rails'] })], otherNodes: true }, [group({ name: 'g', hostVolumes: ['rails'], notOnNodes: ['web'] })]);
    expect(plan.errors).toEqual([
      "group 'g' can run on no node: it needs host volume rails and it must not run on web; declared nodes: web (host volumes: rails) (undeclared nodes hold no declared host volume)",
    ]);
  });

  it('prints a table of groups and of each node\'s headroom', () => {
    const text = formatCapacity(planCapacity({ nodes: [node()], otherNodes: true }, [group({ name: 'w', hostVolumes: [] })]));
    expect(text.split('\n')[0]).toMatch(/^group\s+count\s+MHz\/alloc\s+MB\/alloc\s+can run on\s+counted on$/);
    expect(text).toContain('n1    4000 MHz / 4000 MB');
    expect(text).toContain('other nodes: capacity not declared, not checked');
  });
});

describe('a group\'s demand', () => {
  it('is its tasks, one sidecar per Connect service, its host volumes\' sources and the nodes it is kept off', () => {
    const { job } = newJob();
    const g = new SidekiqGroup(job, 'w', {
      image: IMAGE, groupName: 'w', queues: ['q'], resources: { cpu: 700, memoryMB: 300 },
      mounts: [{ volume: Volume.host('data', { source: 'rails' }), path: '/data' }], constraints: [Constraint.notOnNode('n9')],
    });
    expect(g.demand()).toEqual({ name: 'w', count: 1, canary: 0, tasks: { cpu: 700, memoryMB: 300 }, sidecars: 1, hostVolumes: ['rails'], notOnNodes: ['n9'] });
  });

  it('a job that does not fit its declared cluster fails synth, naming the node', () => {
    const { stack, job } = newJob({ cluster: { nodes: [node({ cpu: 1000 })], otherNodes: false } });
    new PumaGroup(job, 'web', { image: IMAGE, resources: { cpu: 900, memoryMB: 512 } });
    expect(validationErrors(stack)).toEqual([
      "job 'app' does not fit: node 'n1': web 1 × 1150 MHz / 640 MB need 1150 MHz / 640 MB (sidecars 250 MHz / 128 MB each included), the node has 1000 MHz / 4000 MB: 150 MHz short",
    ]);
  });
});

describe('production\'s capacity', () => {
  const environment = fixtureEnvironment('production');
  const stack = new DashboardStack(Testing.app(), 'production', { environment, projectDir: REPO_ROOT });
  const plan = stack.job.capacityPlan()!;

  it('declares the railsweb node as the infrastructure repository has it, with redis, and other nodes of unknown capacity', () => {
    expect(environment.cluster).toEqual({
      nodes: [{ name: 'node-railsweb', cpu: 11596, memoryMB: 7978, hostVolumes: ['rails', 'redis'], otherJobs: [{ name: 'redis', cpu: 500, memoryMB: 256 }] }],
      otherNodes: true,
    });
  });

  it('web (2 × 4400 / 2800) and sidekiq-default (1200 / 1500), each with a 250 / 128 sidecar, and redis leave 346 MHz / 238 MB on node-railsweb', () => {
    expect(plan.errors).toEqual([]);
    expect(plan.groups.map((g) => [g.name, g.count, g.perAllocation.cpu, g.perAllocation.memoryMB, g.where.join(', '), g.countedOn])).toEqual([
      ['web', 2, 4650, 2928, 'node-railsweb', 'node-railsweb'],
      ['sidekiq-constant', 1, 1750, 1152, 'other nodes', undefined],
      ['sidekiq-daily', 1, 1750, 1152, 'other nodes', undefined],
      ['sidekiq-default', 1, 1450, 1628, 'node-railsweb', 'node-railsweb'],
      ['sidekiq-long', 1, 1750, 2176, 'other nodes', undefined],
      ['sidekiq-medium', 1, 1750, 2176, 'other nodes', undefined],
      ['sidekiq-short', 1, 1750, 2176, 'other nodes', undefined],
    ]);
    expect(plan.nodes).toEqual([
      {
        name: 'node-railsweb',
        capacity: { cpu: 11596, memoryMB: 7978 },
        otherJobs: { cpu: 500, memoryMB: 256 },
        steady: { cpu: 10750, memoryMB: 7484 },
        rollout: { cpu: 10750, memoryMB: 7484 },
        headroom: { cpu: 346, memoryMB: 238 },
        rolloutHeadroom: { cpu: 346, memoryMB: 238 },
      },
    ]);
  });

  it('has no room for a web canary: one is refused at synth, naming node-railsweb', () => {
    const withCanary = { ...environment, web: { ...environment.web, update: { ...environment.web.update, canary: 1, autoPromote: true } } };
    const app = Testing.app();
    new DashboardStack(app, 'production', { environment: withCanary, projectDir: REPO_ROOT });
    expect(() => Testing.synth(app.node.findChild('production') as DashboardStack, true)).toThrow(
      /node 'node-railsweb' during a rollout \(canaries beside the old allocations\): web 2 \+ 1 canary × 4650 MHz \/ 2928 MB, sidekiq-default 1 \+ 0 canary × 1450 MHz \/ 1628 MB, redis 500 MHz \/ 256 MB need 15900 MHz \/ 10668 MB .* 4304 MHz and 2690 MB short/,
    );
  });
});
