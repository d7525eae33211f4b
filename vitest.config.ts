import { defineConfig } from 'vitest/config';

// Test tiers. `npm test` runs every tier; each can be run alone with `vitest run --project NAME`.
//  unit         pure parsing/encoding, no processes, no network
//  conformance  every built agent binary through the fence-agents protocol (stdin, argv, exit codes, metadata)
//  integration  agents against real protocol peers (ipmi_sim, snmpd, ...) started on loopback / in namespaces
export default defineConfig({
  test: {
    projects: [
      { test: { name: 'unit', include: ['test/unit/**/*.test.ts'] } },
      { test: { name: 'conformance', include: ['test/conformance/**/*.test.ts'], testTimeout: 30_000 } },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 60_000,
          // Real peers bind ports and spawn processes: keep files sequential on 2 cores.
          fileParallelism: false,
        },
      },
    ],
  },
});
