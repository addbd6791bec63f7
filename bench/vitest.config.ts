// `npm run bench`: one run of bench/bench.test.ts (real CLI, real PM2, real Nginx on loopback, under load).
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  root: fileURLToPath(new URL('..', import.meta.url)),
  test: {
    include: ['bench/**/*.test.ts'],
    fileParallelism: false,
    // The table is printed with console.log: let it reach stdout as is, not prefixed by vitest.
    disableConsoleIntercept: true,
    testTimeout: 240_000,
    hookTimeout: 180_000,
  },
});
