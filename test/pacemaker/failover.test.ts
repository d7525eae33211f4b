// A real two-node corosync + Pacemaker cluster (network namespaces) fencing with fence_kit agents,
// configured only from `fencekit export cib` (devices, levels, timeouts, fence-race delay). Real peers:
// an ipmi_sim per node whose chassis is that node, and two snmpd PowerNet-MIB PDUs whose outlet N each
// feed one of nodeN's power supplies. Nobody asks for the fence: Pacemaker decides it when node2's
// corosync dies, or when the cluster link is cut. One cluster serves every scenario (~3 min with
// fail-fast agents); FK_FAILOVER_ROUNDS=3 runs three in a row. The 3x medians against fence-agents and
// the 10-round split brain with its control are bench/failover.ts's.
import { afterEach, describe, expect, it } from 'vitest';
import { killAndMeasure, splitBrainRound, startFailoverLab, waitNode2Back, type BmcState, type FailoverLab, type FailoverResult } from './failover.js';

let lab: FailoverLab | undefined;

afterEach(async () => {
  lab?.setBmc('answering');
  await lab?.stop();
  lab = undefined;
});

/** login_timeout of the BMC device: the topology leaves the agent's default. */
const LOGIN_TIMEOUT_S = 5;

/** node1's `stonith_admin --history node2 --verbose --output-as xml`: a successful fencing of node2. */
const recordedSuccess = /<fence_event [^>]*action="reboot"[^>]*target="node2"[^>]*status="success"|<fence_event [^>]*status="success"[^>]*target="node2"/;

const summary = (r: FailoverResult) =>
  `kill→recorded ${(r.killToRecordedMs / 1000).toFixed(1)} s; steps: ${r.steps.map((s) => `${s.action}@${s.device}=${s.ok ? 'ok' : 'FAIL'}${s.ms !== undefined ? `(${(s.ms / 1000).toFixed(1)} s)` : ''}`).join(', ')}`;

/** Epoch ms of the first event matching `re` in node2's power log. */
const eventAt = (events: readonly string[], re: RegExp) => {
  const line = events.find((e) => re.test(e));
  return line ? Number(line.split(' ')[0]) * 1000 : undefined;
};

/** The BMC is dead (`state`): level 1 fails within login_timeout + 1 s, then both outlets go off, node2 dies, and only then is the fence recorded. */
async function levelTwoInOrder(l: FailoverLab, state: BmcState, round: number): Promise<void> {
  l.setBmc(state);
  const r = await killAndMeasure(l);
  console.log(`round ${round} BMC ${state}: ${summary(r)}`);
  const bmcSteps = r.steps.filter((s) => s.device === 'node2-bmc');
  expect(bmcSteps).toHaveLength(1);
  expect(bmcSteps[0]!.ok).toBe(false);
  expect(bmcSteps[0]!.ms).toBeDefined();
  expect(bmcSteps[0]!.ms!).toBeLessThanOrEqual((LOGIN_TIMEOUT_S + 1) * 1000);
  // Level 2 ran after level 1 failed: both outlets off, in the level's order.
  expect(r.steps.map((s) => `${s.action}@${s.device}=${s.ok}`).slice(0, 3)).toEqual(['reboot@node2-bmc=false', 'off@pdu-a=true', 'off@pdu-b=true']);
  const power = r.powerEvents.join('\n');
  expect(power).toMatch(/set psu-a=0 powered=1[\s\S]*set psu-b=0 powered=0[\s\S]*power-lost killed=[1-9]/);
  expect(power).not.toMatch(/set chassis=/);
  // node2 was dead before Pacemaker recorded it fenced.
  const dead = eventAt(r.powerEvents, / power-lost killed=/)!;
  expect(r.killToCompletedMs).toBeDefined();
  expect(dead - r.killedAtMs).toBeLessThanOrEqual(r.killToCompletedMs! + 1000);
  expect(r.history).toMatch(recordedSuccess);
  l.setBmc('answering');
  await waitNode2Back(l, r);
}

describe('two-node cluster in namespaces: node1 fences node2 through the levels of `fencekit export cib`', () => {
  const rounds = Math.max(1, Number(process.env.FK_FAILOVER_ROUNDS ?? 1) || 1);
  for (let round = 1; round <= rounds; round++) {
    it(`round ${round}: BMC answers → level 1 reboots node2; BMC frozen, then powered off → level 1 fails in seconds and both outlets reboot it; a cut link leaves exactly node1`, async () => {
      lab = await startFailoverLab('fencekit');
      const node2 = lab.cluster.node('node2');
      // Export chose the fence-race protection and said so.
      expect(lab.exportNotice).toMatch(/pcmk_delay_base=5s on the devices that fence node1, so node1 fences node2 first/);
      expect(lab.cib).toMatch(/<primitive id="node1-bmc"[\s\S]*?name="pcmk_delay_base" value="5s"/);

      // Level 1: the BMC answers. Its chassis going off kills node2's processes; on boots them again.
      const pidsBefore = new Set(node2.pids());
      const viaBmc = await killAndMeasure(lab);
      console.log(`round ${round} level 1: ${summary(viaBmc)}`);
      expect(viaBmc.steps.filter((s) => s.ok).map((s) => s.device)).toEqual(['node2-bmc']);
      expect(viaBmc.steps.some((s) => s.device.startsWith('pdu-'))).toBe(false);
      expect(viaBmc.powerEvents.some((e) => / set chassis=0 powered=0/.test(e))).toBe(true);
      expect(viaBmc.powerEvents.some((e) => / power-lost killed=[1-9]\d* left=0/.test(e))).toBe(true);
      expect(viaBmc.powerEvents.some((e) => / set chassis=1 powered=1/.test(e))).toBe(true);
      expect(viaBmc.history).toMatch(recordedSuccess);
      await waitNode2Back(lab, viaBmc);
      // Every process node2 had before the fence is gone: it really lost power.
      expect(node2.pids().filter((p) => pidsBefore.has(p))).toEqual([]);

      // The BMC hangs (SIGSTOP), then is powered off with its node (no answer, no ICMP).
      await levelTwoInOrder(lab, 'frozen', round);
      await levelTwoInOrder(lab, 'powered-off', round);

      // Split brain: both alive, link cut. node2's fence of node1 waits 5 s; node1's of node2 does not.
      const split = await splitBrainRound(lab);
      console.log(`round ${round} split brain: fenced ${split.fenced.join(', ') || 'nobody'} (first ${split.cutToFirstFenceMs} ms after the cut)`);
      expect(split.fenced).toEqual(['node2']);
      expect(split.survivors).toEqual(['node1']);
    }, 600_000);
  }
});
