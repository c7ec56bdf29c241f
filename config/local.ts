import type { EnvironmentInput } from './schema';
import type { EdgeInputs } from './edge';
import { production } from './production';
import { LOCAL_PORTS } from './tools';

/**
 * Local: production's job on a laptop's Nomad dev agent and registry (`npm run local:up`).
 * The addresses are set here, never taken from NOMAD_ADDR: a shell that sourced production's
 * nomad.sh must not send the local job to production. LOCAL_NOMAD_ADDR and
 * LOCAL_REGISTRY_ADDRESS move it to other loopback ports (the end-to-end tests do).
 */
export function local(edge: EdgeInputs): EnvironmentInput {
  const prod = production(edge);
  const { env } = edge;
  return {
    ...prod,
    name: 'local',
    nomad: { address: env.LOCAL_NOMAD_ADDR ?? `http://127.0.0.1:${LOCAL_PORTS.nomadHttp}`, datacenters: ['dc1'] },
    job: { ...prod.job, preventDestroy: false },
    registry: { ...prod.registry, address: env.LOCAL_REGISTRY_ADDRESS ?? `127.0.0.1:${LOCAL_PORTS.registry}`, plainHttp: true },
    web: { ...prod.web, count: 1, resources: { cpu: 500, memoryMB: 1024 } },
    workers: prod.workers.map((w) => ({ ...w, resources: { cpu: 200, memoryMB: 512 } })),
    env: { ...prod.env, RAILS_ENV: 'development' },
  };
}
