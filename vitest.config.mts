import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['__tests__/**/*.test.ts'],
          exclude: ['__tests__/e2e/**', 'node_modules/**'],
          // Synthesizing loads cdktf and the provider bindings: give the first test in a file room.
          testTimeout: 30_000,
          pool: 'forks',
          // Temporary directories go under one per run, removed at its end.
          globalSetup: ['__tests__/support/temp-root.ts'],
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['__tests__/e2e/**/*.e2e.test.ts'],
          // Real processes: a Nomad agent, a registry, podman, terraform, cdktf.
          testTimeout: 600_000,
          hookTimeout: 300_000,
          // One file at a time: two cores, and each file runs its own agents. Each file still gets
          // a fresh process (vitest 4's isolate default); its singleFork meant one shared process.
          pool: 'forks',
          maxWorkers: 1,
        },
      },
    ],
  },
});
