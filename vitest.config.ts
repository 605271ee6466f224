import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    setupFiles: ['test/support/each-file.ts'],
    environment: 'node',
    pool: 'forks',
    // Most files wait on I/O (PostgreSQL, Redis, child processes), so on a 2-core machine three forks finish the
    // suite far sooner than vitest's default of cores - 1 (= one fork, serial). SVU_TEST_WORKERS overrides.
    maxWorkers: Number(process.env.SVU_TEST_WORKERS ?? 3),
    // Each fork runs many files with one module cache: the FHIR definitions, medplum and the gateway's modules are
    // loaded once per fork rather than once per file (measured on 2 cores: 10 min 15 s → 7 min 20 s wall, user CPU
    // 15.4 → 9.6 min). Files therefore must not leave global state behind (none mocks modules or changes env).
    isolate: false,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    env: { LOG_LEVEL: 'error', NODE_ENV: 'test' },
  },
});
