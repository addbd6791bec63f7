import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // End-to-end files run real PM2 daemons and Nginx; on two cores they run one file at a time.
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 180_000,
    include: ['test/**/*.test.ts'],
  },
});
