// Failover time in a real two-node Pacemaker cluster (namespaces; test/pacemaker/failover.ts): from
// SIGKILL of node2's corosync to node1's `stonith_admin --history node2` showing the successful fence.
//   level 1: the BMC answers (fence_kit_ipmi vs fence_ipmilan, reboot through ipmi_sim)
//   level 2: the BMC is frozen; level 1 fails at the cluster's fencing timeout, then both PDU outlets
//            (fence_kit_apc vs fence_apc_snmp) reboot node2
// Same CIB for both (fencekit export cib, agent types swapped), same machine, same run.
// `npm run bench failover` (root, Pacemaker and corosync installed); FK_FAILOVER_ROUNDS=N (default 2).
import { median } from './harness.js';
import { killAndMeasure, startFailoverLab, STONITH_TIMEOUT_S, waitNode2Back, type DeviceFamily, type FailoverResult } from '../test/pacemaker/failover.js';

const ROUNDS = Number(process.env.FK_FAILOVER_ROUNDS ?? 2);
const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const path = (r: FailoverResult) => r.steps.map((x) => `${x.action}@${x.device}${x.ok ? '' : '(failed)'}`).join(' ');

interface Sample {
  level1: FailoverResult[];
  level2: FailoverResult[];
}

async function measure(devices: DeviceFamily): Promise<Sample> {
  const out: Sample = { level1: [], level2: [] };
  for (let round = 1; round <= ROUNDS; round++) {
    const lab = await startFailoverLab(devices);
    try {
      const a = await killAndMeasure(lab);
      console.log(`  ${devices} round ${round} level 1: ${s(a.killToRecordedMs)}  ${path(a)}`);
      out.level1.push(a);
      await waitNode2Back(lab, a);
      lab.bmc.freeze();
      const b = await killAndMeasure(lab);
      console.log(`  ${devices} round ${round} level 2: ${s(b.killToRecordedMs)}  ${path(b)}`);
      out.level2.push(b);
    } finally {
      lab.bmc.thaw();
      await lab.stop();
    }
  }
  return out;
}

const usedLevel1 = (r: FailoverResult) => r.steps.some((x) => x.device === 'node2-bmc' && x.ok);
const ours = await measure('fencekit');
const peer = await measure('fence-agents');
const row = (name: string, o: FailoverResult[], p: FailoverResult[]) =>
  `${name.padEnd(48)} ${s(median(o.map((r) => r.killToRecordedMs))).padStart(9)} ${s(median(p.map((r) => r.killToRecordedMs))).padStart(9)}`;
console.log(`\nkill node2's corosync → fence recorded on node1 (median of ${ROUNDS}; stonith-timeout ${STONITH_TIMEOUT_S}s)`);
console.log(`${'case'.padEnd(48)} ${'fencekit'.padStart(9)} ${'peer'.padStart(9)}`);
console.log(row('level 1 (BMC answers)', ours.level1, peer.level1));
console.log(row('level 2 (BMC frozen: level 1 fails, 2 outlets)', ours.level2, peer.level2));
console.log(`level 2 includes level 1's wait for the frozen BMC, which Pacemaker ends at its fencing timeout (${STONITH_TIMEOUT_S} s) for both`);
for (const [who, sample] of [['fencekit', ours], ['fence-agents', peer]] as const) {
  const fellThrough = sample.level1.filter((r) => !usedLevel1(r)).length;
  if (fellThrough > 0) console.log(`note: ${who}: in ${fellThrough} of ${ROUNDS} level-1 runs the BMC device failed and level 2 fenced node2`);
}
