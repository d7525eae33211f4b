import { defineConfig } from 'vitest/config';

// Test tiers. `npm test` runs every tier; each can be run alone: `npm test -- --project NAME`.
//  unit         pure parsing, encoding and sequencing; no processes, no network
//  conformance  every built agent binary through the fence-agents protocol (stdin, argv, exit codes, metadata)
//  integration  agents and the CLI against real peers on loopback or in namespaces (ipmi_sim, snmpd,
//               an SSH server, the namespace switch, sanlock daemons)
//  faults       the reduced fault matrix: loss, blackholes, frozen, lying and slow devices
//  guest        real kernels in qemu guests (TCG): LIO iSCSI persistent reservations, softdog + wdmd + sanlock
//  pacemaker    pacemaker-fenced and stonith_admin, and a two-node corosync + pacemaker cluster in namespaces
//  package      the .deb built, installed with dpkg -i and used as an admin would (pacemaker-fenced, man,
//               fencekit demo), lintian and rpmlint, then purged
//  scenario     the KVM HA pair end to end: libvirt + VirtualDomain guests on a namespaced cluster, an NBD SAN,
//               and a witness that the guest never runs twice (docs/kvm-ha.md)
// Real peers bind ports, spawn processes and build guests: every tier but unit runs its files one at a time
// on these 2 cores.
const sequential = { fileParallelism: false } as const;
export default defineConfig({
  test: {
    projects: [
      { test: { name: 'unit', include: ['test/unit/**/*.test.ts'] } },
      { test: { name: 'conformance', include: ['test/conformance/**/*.test.ts'], testTimeout: 30_000, ...sequential } },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          exclude: ['test/integration/**/*-guest.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 60_000,
          ...sequential,
        },
      },
      { test: { name: 'faults', include: ['test/faults/**/*.test.ts'], testTimeout: 600_000, hookTimeout: 120_000, ...sequential } },
      { test: { name: 'guest', include: ['test/integration/**/*-guest.test.ts'], testTimeout: 900_000, hookTimeout: 600_000, ...sequential } },
      { test: { name: 'pacemaker', include: ['test/pacemaker/**/*.test.ts'], testTimeout: 600_000, hookTimeout: 300_000, ...sequential } },
      { test: { name: 'package', include: ['test/package/**/*.test.ts'], testTimeout: 120_000, hookTimeout: 180_000, ...sequential } },
      { test: { name: 'scenario', include: ['test/scenario/**/*.test.ts'], testTimeout: 900_000, hookTimeout: 600_000, ...sequential } },
    ],
  },
});
