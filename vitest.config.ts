import { defineConfig } from 'vitest/config';

// Two projects: fast unit tests beside the code run in parallel; tests that
// boot real QEMU guests live in test/ and run one file at a time, because
// these machines have two cores and guests run under TCG.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['src/**/*.test.ts'],
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts'],
          fileParallelism: false,
          testTimeout: 180_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});
