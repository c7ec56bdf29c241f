/**
 * Whether a job's groups fit the nodes they can run on, worked out before anything is sent:
 * where each group can be placed (its host volumes, its not-on-node constraints), and what the
 * allocations pinned to one node add up to there, Connect sidecars and other jobs included.
 * Pure: plain numbers in, a plan out.
 */

/** What Nomad gives a Connect sidecar task (see `isConnectSidecar` in api.ts) unless the service says otherwise. */
export const CONNECT_SIDECAR_RESOURCES = { cpu: 250, memoryMB: 128 } as const;

export interface Usage {
  /** MHz */
  readonly cpu: number;
  readonly memoryMB: number;
}

/** Resources another job holds on a node (redis, run by its own job). */
export interface OtherJob extends Usage {
  readonly name: string;
}

/** A client node as the cluster's infrastructure declares it. */
export interface NodeCapacity extends Usage {
  /** The node's unique name (`${node.unique.name}`). */
  readonly name: string;
  /** Sources of the host volumes its client config declares. */
  readonly hostVolumes: readonly string[];
  /** @default [] */
  readonly otherJobs?: readonly OtherJob[];
}

export interface Cluster {
  readonly nodes: readonly NodeCapacity[];
  /**
   * There are more client nodes than `nodes`, of unknown capacity, holding none of the declared
   * host volumes: a group that may go there is placed by the scheduler and not counted here.
   */
  readonly otherNodes: boolean;
}

/** What one group asks for. */
export interface GroupDemand {
  readonly name: string;
  readonly count: number;
  /** Allocations started beside the old ones during an update. */
  readonly canary: number;
  /** Its tasks' resources, one allocation, sidecars not included. */
  readonly tasks: Usage;
  /** Connect sidecar tasks per allocation (one per Connect service). */
  readonly sidecars: number;
  /** Sources of the host volumes it requests. */
  readonly hostVolumes: readonly string[];
  /** Unique names of nodes it must not run on. */
  readonly notOnNodes: readonly string[];
}

export interface GroupPlacement {
  readonly name: string;
  readonly count: number;
  readonly canary: number;
  /** One allocation, sidecars included. */
  readonly perAllocation: Usage;
  /** Declared nodes it can run on, and 'other nodes' when undeclared ones may take it. */
  readonly where: readonly string[];
  /** The node its allocations are counted against: the only place it can run. */
  readonly countedOn: string | undefined;
}

export interface NodeLoad {
  readonly name: string;
  readonly capacity: Usage;
  readonly otherJobs: Usage;
  /** Our allocations while nothing changes. */
  readonly steady: Usage;
  /** Our allocations while an update runs: canaries beside the old allocations. */
  readonly rollout: Usage;
  /** capacity − other jobs − steady */
  readonly headroom: Usage;
  /** capacity − other jobs − rollout */
  readonly rolloutHeadroom: Usage;
}

export interface CapacityPlan {
  readonly groups: readonly GroupPlacement[];
  readonly nodes: readonly NodeLoad[];
  readonly otherNodes: boolean;
  /** Each sentence names the group or node and the numbers. */
  readonly errors: readonly string[];
}

const OTHER_NODES = 'other nodes';
const add = (a: Usage, b: Usage): Usage => ({ cpu: a.cpu + b.cpu, memoryMB: a.memoryMB + b.memoryMB });
const times = (n: number, u: Usage): Usage => ({ cpu: n * u.cpu, memoryMB: n * u.memoryMB });
const minus = (a: Usage, b: Usage): Usage => ({ cpu: a.cpu - b.cpu, memoryMB: a.memoryMB - b.memoryMB });
const ZERO: Usage = { cpu: 0, memoryMB: 0 };
const said = (u: Usage) => `${u.cpu} MHz / ${u.memoryMB} MB`;

/** Where each group can run, and whether what is pinned to each declared node fits it, in steady state and during a rollout. */
export function planCapacity(cluster: Cluster, groups: readonly GroupDemand[]): CapacityPlan {
  const errors: string[] = [];
  const placements = groups.map((g): GroupPlacement => {
    const perAllocation = add(g.tasks, times(g.sidecars, CONNECT_SIDECAR_RESOURCES));
    const nodes = cluster.nodes.filter((n) => !g.notOnNodes.includes(n.name) && g.hostVolumes.every((v) => n.hostVolumes.includes(v)));
    // Undeclared nodes hold none of the declared host volumes.
    const others = cluster.otherNodes && g.hostVolumes.length === 0;
    const where = [...nodes.map((n) => n.name), ...(others ? [OTHER_NODES] : [])];
    if (where.length === 0 && g.count > 0) errors.push(`group '${g.name}' can run on no node: ${whyNowhere(cluster, g)}`);
    const countedOn = nodes.length === 1 && !others ? nodes[0]!.name : undefined;
    return { name: g.name, count: g.count, canary: g.canary, perAllocation, where, countedOn };
  });

  const loads = cluster.nodes.map((node): NodeLoad => {
    const pinned = placements.filter((p) => p.countedOn === node.name);
    const otherJobs = (node.otherJobs ?? []).reduce<Usage>(add, ZERO);
    const steady = pinned.reduce((sum, p) => add(sum, times(p.count, p.perAllocation)), ZERO);
    const rollout = pinned.reduce((sum, p) => add(sum, times(p.count + p.canary, p.perAllocation)), ZERO);
    const capacity = { cpu: node.cpu, memoryMB: node.memoryMB };
    const load = { name: node.name, capacity, otherJobs, steady, rollout, headroom: minus(minus(capacity, otherJobs), steady), rolloutHeadroom: minus(minus(capacity, otherJobs), rollout) };
    const needs = (what: Usage, label: string, overlap: string) => {
      const short = minus(add(what, otherJobs), capacity);
      if (short.cpu <= 0 && short.memoryMB <= 0) return;
      const parts = pinned.map((p) => `${p.name} ${p.count}${overlap === '' ? '' : ` + ${p.canary} canary`} × ${said(p.perAllocation)}`);
      const jobs = (node.otherJobs ?? []).map((j) => `${j.name} ${said(j)}`);
      const over = [short.cpu > 0 ? `${short.cpu} MHz` : '', short.memoryMB > 0 ? `${short.memoryMB} MB` : ''].filter(Boolean).join(' and ');
      errors.push(
        `node '${node.name}'${label}: ${[...parts, ...jobs].join(', ')} need ${said(add(what, otherJobs))} (sidecars ${said(CONNECT_SIDECAR_RESOURCES)} each included), ` +
          `the node has ${said(capacity)}: ${over} short`,
      );
    };
    needs(steady, '', '');
    if (rollout.cpu !== steady.cpu || rollout.memoryMB !== steady.memoryMB) needs(rollout, ' during a rollout (canaries beside the old allocations)', 'canary');
    return load;
  });

  return { groups: placements, nodes: loads, otherNodes: cluster.otherNodes, errors };
}

function whyNowhere(cluster: Cluster, g: GroupDemand): string {
  const declared = cluster.nodes.map((n) => `${n.name} (host volumes: ${n.hostVolumes.join(', ') || 'none'})`).join('; ') || 'none';
  const parts = [
    g.hostVolumes.length > 0 ? `it needs host volume${g.hostVolumes.length > 1 ? 's' : ''} ${g.hostVolumes.join(', ')}` : '',
    g.notOnNodes.length > 0 ? `it must not run on ${g.notOnNodes.join(', ')}` : '',
  ].filter(Boolean);
  const others = cluster.otherNodes ? ' (undeclared nodes hold no declared host volume)' : ' (no other nodes are declared)';
  return `${parts.join(' and ')}; declared nodes: ${declared}${others}`;
}

/** The plan as a table a person reads at synth. */
export function formatCapacity(plan: CapacityPlan): string {
  const groupRows = plan.groups.map((g) => [
    g.name,
    `${g.count}${g.canary > 0 ? ` (+${g.canary} canary)` : ''}`,
    String(g.perAllocation.cpu),
    String(g.perAllocation.memoryMB),
    g.where.join(', ') || '(nowhere)',
    g.countedOn ?? '(not counted)',
  ]);
  const nodeRows = plan.nodes.map((n) => [
    n.name,
    said(n.capacity),
    said(n.otherJobs),
    said(n.steady),
    said(n.headroom),
    said(n.rolloutHeadroom),
  ]);
  const lines = [
    ...table(['group', 'count', 'MHz/alloc', 'MB/alloc', 'can run on', 'counted on'], groupRows),
    '',
    ...table(['node', 'capacity', 'other jobs', 'our allocations', 'headroom', 'headroom in a rollout'], nodeRows),
    '(per allocation: tasks + Connect sidecars; a group that can run in more than one place is placed by the scheduler and not counted)',
    ...(plan.otherNodes ? [`other nodes: capacity not declared, not checked`] : []),
  ];
  return lines.join('\n');
}

function table(head: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(head), ...rows.map(line)];
}
