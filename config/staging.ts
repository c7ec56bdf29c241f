import type { EnvironmentInput } from './schema';
import type { EdgeInputs } from './edge';
import { production } from './production';

/**
 * Staging: production's job in miniature, so a change is tried on the same shape first.
 * Same groups, queues and commands; one allocation each, about half the resources; its own
 * registry, datacenter and job ID; Consul services suffixed `-staging` (and so its upstreams),
 * so staging can never reach production's databases. Not protected from destroy.
 */
export function staging(edge: EdgeInputs): EnvironmentInput {
  const prod = production(edge);
  return {
    ...prod,
    name: 'staging',
    nomad: { ...prod.nomad, datacenters: ['staging'] },
    job: { ...prod.job, id: 'rails-staging', preventDestroy: false },
    // Production's nodes are not this environment's: nothing is declared, nothing checked.
    cluster: undefined,
    registry: { ...prod.registry, address: 'registry.staging.wikiedu.org' },
    // Every Consul name gets the suffix, its own services' and the ones it reaches (its upstreams).
    consul: { ...prod.consul, serviceSuffix: '-staging' },
    web: { ...prod.web, count: 1, resources: { cpu: 2000, memoryMB: 1500 }, placement: {} },
    workers: prod.workers.map((w) => ({ ...w, count: 1, resources: { cpu: 500, memoryMB: 768 }, placement: {} })),
  };
}
