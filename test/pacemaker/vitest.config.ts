// The Pacemaker tier alone: `npx vitest run --config test/pacemaker/vitest.config.ts`. The same project
// belongs in the root vitest.config.ts (see test/pacemaker/README.md).
import { defineConfig } from 'vitest/config';
import { fileURLToPath } from 'node:url';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'pacemaker',
          root: fileURLToPath(new URL('../..', import.meta.url)),
          include: ['test/pacemaker/**/*.test.ts'],
          testTimeout: 300_000,
          hookTimeout: 180_000,
          // One fencer per namespace, launchers in /usr/sbin, two cores: one file at a time.
          fileParallelism: false,
        },
      },
    ],
  },
});
