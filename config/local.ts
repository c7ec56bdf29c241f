import { resolve } from 'node:path';
import type { EnvironmentInput } from './schema';
import type { EdgeInputs } from './edge';
import { production } from './production';
import { localEnvironmentState } from './state';
import { LOCAL_PORTS, LOCAL_STATE } from './tools';
import { DEFAULT_DOCKERFILE } from '../constructs/image/dockerfile';

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
    // A file, unless DASHBOARD_STATE_BACKEND=pg (README, "Shared state").
    state: localEnvironmentState(edge),
    // No waiting for the deployment: on a dev agent without Docker and Consul the allocations never start.
    job: { ...prod.job, preventDestroy: false, deployTimeout: undefined },
    // Production's nodes are not this environment's: nothing is declared, nothing checked.
    cluster: undefined,
    registry: { ...prod.registry, address: env.LOCAL_REGISTRY_ADDRESS ?? `127.0.0.1:${LOCAL_PORTS.registry}`, plainHttp: true },
    // The checkout's own Dockerfile (a laptop's quick build; the fixture app's in the tests), unless
    // DASHBOARD_DOCKERFILE names another: production and staging build config/dashboard.Dockerfile.
    image:
      prod.image.source === 'build'
        ? { ...prod.image, dockerfile: env.DASHBOARD_DOCKERFILE ?? DEFAULT_DOCKERFILE, daemon: localDaemon(edge) }
        : { ...prod.image, daemon: localDaemon(edge) },
    web: { ...prod.web, count: 1, resources: { cpu: 500, memoryMB: 1024 } },
    workers: prod.workers.map((w) => ({ ...w, resources: { cpu: 200, memoryMB: 512 } })),
    env: { ...prod.env, RAILS_ENV: 'development' },
    // Off: no allocation starts on the dev agent (no Docker engine), so a release would never end.
    // On a laptop with Docker, set it back to prod.release's command.
    release: prod.release && { ...prod.release, command: false },
  };
}

/**
 * The Docker API the local environment's podman serves (`.local/podman.sock`, as
 * `.ci/local/common.sh` places it), or the unix socket DOCKER_HOST names. A deploy checks it is
 * there before planning, and says how to start it.
 */
function localDaemon({ env, cwd }: EdgeInputs): { socket: string; notRunning: string } | undefined {
  const host = env.DOCKER_HOST;
  if (host && !host.startsWith('unix://')) return undefined;
  const socket = host ? host.slice('unix://'.length) : resolve(cwd, env.LOCAL_STATE_DIR ?? LOCAL_STATE.dirname, LOCAL_STATE.dockerSocket);
  return { socket, notRunning: `The local environment is not running (no Docker API at ${socket}): start it with npm run local:up.` };
}
