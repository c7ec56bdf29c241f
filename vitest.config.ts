import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['__tests__/**/*.test.ts'],
    exclude: ['__tests__/e2e/**', 'node_modules/**'],
    // Synthesizing loads cdktf and the provider bindings: give the first test in a file room.
    testTimeout: 30_000,
    pool: 'forks',
  },
});
