import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    environment: 'node',
    pool: 'forks',
    // Most files wait on I/O (PostgreSQL, Redis, child processes), so on a 2-core machine three forks finish the
    // suite far sooner than vitest's default of cores - 1 (= one fork, serial). SVU_TEST_WORKERS overrides.
    maxWorkers: Number(process.env.SVU_TEST_WORKERS ?? 3),
    testTimeout: 30_000,
    hookTimeout: 60_000,
    env: { LOG_LEVEL: 'error', NODE_ENV: 'test' },
  },
});
