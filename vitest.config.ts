import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'runtime/**/*.test.ts', 'pool/**/*.test.ts', 'core/**/*.test.ts', 'container-fallback/**/*.test.ts'],
    // isolated-vm must not share V8's read-only heap snapshot (see README).
    pool: 'forks',
    execArgv: ['--no-node-snapshot'],
    // Integration tests each start real Hearth processes; two files at a time fit two cores.
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
