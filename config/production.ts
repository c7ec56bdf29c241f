import type { EnvironmentInput } from './schema';
import type { EdgeInputs } from './edge';
import { DASHBOARD_DOCKERFILE, imageSource, nomadConnection, runtimeConfigSource } from './operator-inputs';

/**
 * Production: the `rails` job that runs today, group for group. Its job ID, group names and
 * Consul service names are what the cluster's Consul intentions allow to reach redis,
 * memcache and mariadb: a rename cuts a group off its database.
 */
const NOT_ON_WEB_NODE = { notOnNodes: ['node-railsweb'] };
const SMALL_WORKER = { cpu: 1500, memoryMB: 1024 };
const WORKER = { cpu: 1500, memoryMB: 2048 };
const RAILS_SYSTEM = { volume: 'rails', path: '/workspace/public/system' };

export function production(edge: EdgeInputs): EnvironmentInput {
  return {
    name: 'production',
    nomad: { datacenters: ['dc1'], ...nomadConnection(edge) },
    // A deploy waits for the deployment: web's two allocations (boot + 30s healthy each, 10m progress deadline) fit well inside.
    job: { id: 'rails', preventDestroy: true, deployTimeout: '30m' },
    // A file on the deploying machine until the team moves it to the cluster's Consul (or a
    // PostgreSQL): README, "Shared state", says how.
    state: { backend: 'local', lockTimeout: '5m' },
    image: imageSource(edge, { defaultContext: '../WikiEduDashboard', defaultDockerfile: DASHBOARD_DOCKERFILE }),
    registry: { address: 'docker.wikiedu.org', repository: 'wikiedu-web', pullAuth: true },
    consul: {
      upstreams: [
        { service: 'redis-sidekiq', localPort: 6379 },
        { service: 'memcache', localPort: 11211 },
        { service: 'mariadb', localPort: 3306 },
      ],
    },
    volumes: { rails: { source: 'rails', readOnly: false } },
    // Group, task and service names, port, puma's workers and threads, the rest of the rolling
    // update and the health check's timing are PumaGroup's defaults (PUMA_DEFAULTS).
    web: {
      count: 2,
      // Pinned to node-railsweb by the rails volume, with sidekiq-default, redis and a sidecar each (cluster, below).
      resources: { cpu: 4400, memoryMB: 2800 },
      // Canary 0: the railsweb node has no room for a third puma beside two (README, "Safe rollouts").
      update: { canary: 0 },
      // The Dashboard has no /up route yet (README, "Safe rollouts"): until it does, the public home
      // page, which the routes send every request without a signed-in session to (home#index).
      healthCheck: { path: '/' },
      mounts: [RAILS_SYSTEM],
    },
    workers: [
      { name: 'sidekiq-constant', queues: ['constant_update'], resources: SMALL_WORKER, placement: NOT_ON_WEB_NODE },
      { name: 'sidekiq-daily', queues: ['daily_update'], resources: SMALL_WORKER, placement: NOT_ON_WEB_NODE },
      // Runs beside puma: its jobs write to the rails volume.
      { name: 'sidekiq-default', queues: ['default'], resources: { cpu: 1200, memoryMB: 1500 }, mounts: [RAILS_SYSTEM] },
      { name: 'sidekiq-long', queues: ['long_update', 'medium_update'], resources: WORKER, placement: NOT_ON_WEB_NODE },
      { name: 'sidekiq-medium', queues: ['medium_update', 'short_update'], resources: WORKER, placement: NOT_ON_WEB_NODE },
      { name: 'sidekiq-short', queues: ['short_update', 'medium_update'], resources: WORKER, placement: NOT_ON_WEB_NODE },
    ],
    // Migrations run before the rollout, in sidekiq-default's shape (it mounts the rails volume); README, "Release step".
    release: { command: ['rails', 'db:migrate'], group: 'sidekiq-default', timeout: '30m' },
    // From the cluster's infrastructure repository. Only the railsweb node's capacity is known; the
    // groups kept off it run on other nodes whose capacity is not declared here (not checked).
    cluster: {
      nodes: [
        {
          name: 'node-railsweb',
          cpu: 11596,
          memoryMB: 7978,
          hostVolumes: ['rails', 'redis'],
          otherJobs: [{ name: 'redis', cpu: 500, memoryMB: 256 }],
        },
      ],
      otherNodes: true,
    },
    // What Waypoint's build baked into the image, now supplied at deploy time (README, "Runtime configuration").
    runtimeConfig: {
      source: runtimeConfigSource(edge),
      appRoot: '/workspace',
      files: ['config/application.yml', 'config/database.yml', 'config/secrets.yml'],
      env: ['SECRET_KEY_BASE'],
      onChange: 'rollout',
    },
    env: {
      RAILS_ENV: 'production',
      RAILS_LOG_TO_STDOUT: 'true',
    },
  };
}
