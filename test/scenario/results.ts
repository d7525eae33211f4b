// What every scenario file of the KVM HA pair shares (docs/kvm-ha.md): which agents run, the guest placed on node2
// before a failure, the witness's verdict as a test assertion, and the one JSON line per scenario that
// scripts/scenario.mjs collects (FK_SCENARIO_RESULTS=FILE).
import { appendFileSync } from 'node:fs';
import { expect } from 'vitest';
import { waitNode2Back } from '../pacemaker/failover.js';
import { sleep } from '../pacemaker/proc.js';
import type { FailoverSplit, KvmHaLab } from './kvm-ha.js';
import type { Witness, WitnessVerdict } from './witness.js';

/** fence-agents runs the same exported topology with fence_ipmilan and fence_apc_snmp (scripts/scenario.mjs's comparison). */
export const DEVICES = process.env.FK_SCENARIO_DEVICES === 'fence-agents' ? 'fence-agents' : 'fencekit';

export function report(name: string, ok: boolean, seconds: number | null, verdict: WitnessVerdict | undefined, split?: FailoverSplit | FailoverSplit[]): void {
  const line = { name, devices: DEVICES, ok, seconds, second_writer_seen: verdict?.secondWriterSeen ?? false, split };
  console.log(`scenario ${JSON.stringify(line)}`);
  if (process.env.FK_SCENARIO_RESULTS) appendFileSync(process.env.FK_SCENARIO_RESULTS, `${JSON.stringify(line)}\n`);
}

export const fmt = (s: FailoverSplit) =>
  `total ${s.totalS.toFixed(1)} s (detection ${s.detectionS?.toFixed(1)}, level 1 ${s.level1S?.toFixed(1)}, level 2 ${s.level2S?.toFixed(1)}, guest start ${s.guestStartS?.toFixed(1)}); steps ${s.steps.map((x) => `${x.action}@${x.device}=${x.ok ? 'ok' : 'FAIL'}`).join(', ')}`;

/** The witness must find nothing; otherwise the failure message is its whole story. */
export function expectNeverTwice(verdict: WitnessVerdict): void {
  if (!verdict.ok) console.log(verdict.story);
  expect(verdict.problems, verdict.story).toEqual([]);
}

/** node2 back in the cluster after its fence (a new corosync and both nodes online from both). */
export async function node2Back(l: KvmHaLab, corosyncBefore: number | undefined): Promise<void> {
  await waitNode2Back(l.failover, { killedCorosync: corosyncBefore ?? -1 }, 150_000);
}

/**
 * The guest placed on node2 and settled, and what node2's failure is measured from: node2, its corosync (a new
 * one means it came back) and where node1's log stands (the fence steps are read from there on).
 */
export async function guestRunningOnNode2(l: KvmHaLab, w: Witness) {
  await l.placeGuest(w, 'node2');
  await sleep(2000);
  const node2 = l.node('node2');
  return { node2, corosync: node2.corosyncPid(), logFrom: l.node1Log().length };
}
