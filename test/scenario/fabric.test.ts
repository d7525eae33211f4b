// Scenario 4 of the KVM HA pair (issue 15; docs/kvm-ha.md "The fabric variant" and "Getting back after a fabric
// fence"): node2 is fenced at the switch, its storage and cluster ports, instead of by power. A fabric fence
// leaves node2 and its guest running, cut off: the witness must see the guest write again only on node1. Then
// the two ways back:
//  - fencekit's: an unfence that does not run on node2 itself, after node2's reboot, leaves both ports down:
//    from node1 (the switch's on is on_target: Pacemaker has nowhere to run it) and on node2 before its
//    reboot (unfence_after_reboot refuses it);
//  - an admin's at the switch console, without a reboot: the old guest's writes reach the volume again, and the
//    witness must see the second writer (the thread's "all hell can break loose").
// After node2's reboot the unfence on node2 succeeds, node2 rejoins the cluster and the guest stays on node1.
// Its own lab: the deliberate second writer leaves the volume unusable for any scenario after it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FENCEKIT } from '../pacemaker/agents.js';
import { NODE_POWER } from '../pacemaker/cluster.js';
import { run, sleep, waitFor } from '../pacemaker/proc.js';
import { splitFromLog, startKvmHaLab, type KvmHaLab } from './kvm-ha.js';
import { DEVICES, expectNeverTwice, fmt, guestRunningOnNode2, report } from './results.js';
import { judgeVolume, readVolume, type WitnessVerdict } from './witness.js';

let lab: KvmHaLab | undefined;
/** The fabric topology.yaml (node2's one level: the switch), as the hosts read it. */
let topology = '';

// fence-agents' run of `npm run scenario` is for the timings of scenarios 1–3: its fence_ifmib has no unfence check.
describe.runIf(DEVICES === 'fencekit')('the KVM HA pair, fabric fencing: a fenced host cut off at the switch never writes again until it rebooted', () => {
  beforeAll(async () => {
    lab = await startKvmHaLab('fencekit');
    topology = await lab.useFabricFencing();
  }, 600_000);

  afterAll(async () => {
    await lab?.stop();
    lab = undefined;
  }, 120_000);

  it("fabric: node1 cuts node2's storage and cluster ports; the guest writes on node1 only; unfence waits for node2's reboot", async () => {
    const l = lab!;
    const sw = l.switchLab;
    const { storage, cluster } = l.ports;
    const node1 = l.node('node1');
    const node2 = l.node('node2');
    const portsOfNode2Up = () => [sw.kernelAdminUp(storage.node2), sw.kernelAdminUp(cluster.node2)];
    // An admin on node2 unfencing it with fencekit: node2's levels with action on, run on node2 itself.
    const unfenceOnNode2 = () => node2.exec([FENCEKIT, '--topology', topology, 'fence', '--action', 'on', 'node2'], { timeoutMs: 60_000 });
    const w = l.witness();
    let verdict: WitnessVerdict | undefined;
    try {
      const { corosync, logFrom } = await guestRunningOnNode2(l, w);
      expect(corosync).toBeDefined();
      const failedAt = Date.now();
      process.kill(corosync!, 'SIGKILL');
      w.mark(`node2's corosync killed (pid ${corosync}): node2 leaves the cluster, its guest keeps running`);
      const writingAt = await l.waitNewBoot(w, 'node1', failedAt, 180_000);
      w.mark('the guest writes on node1', writingAt);
      const split = splitFromLog(l.node1Log(logFrom), 'node2', failedAt, writingAt, /^switch$/);
      console.log(`fabric: ${fmt(split)}`);
      expect(split.steps.map((s) => `${s.device}=${s.ok}`)).toEqual(['switch=true']);
      expect(portsOfNode2Up()).toEqual([false, false]);
      // A fabric fence powers nothing off: node2's guest still runs, cut off from its disk.
      expect([...w.running().values()].sort()).toEqual(['node1', 'node2']);

      // An unfence of node2 asked from node1: fence_kit_switch's on runs only on the node it unfences
      // (on_target), and node2 is not in the cluster to run it.
      const fromNode1 = await node1.exec(['stonith_admin', '--unfence', 'node2', '--timeout', '30'], { timeoutMs: 60_000 });
      w.mark(`stonith_admin --unfence node2 on node1: exit ${fromNode1.code}`);
      console.log(`fabric: stonith_admin --unfence node2 on node1: exit ${fromNode1.code}: ${(fromNode1.stdout + fromNode1.stderr).trim()}`);
      expect(fromNode1.code, fromNode1.stdout + fromNode1.stderr).not.toBe(0);
      expect(portsOfNode2Up()).toEqual([false, false]);
      // On node2 itself, before its reboot: node2 has been up since before its ports went down.
      const early = await unfenceOnNode2();
      w.mark(`fencekit fence --action on node2, on node2 before its reboot: exit ${early.code}`);
      expect(early.code, early.stdout + early.stderr).not.toBe(0);
      expect(early.stdout + early.stderr).toMatch(/unfence_after_reboot: node2 has been up \d+ s, since before port \d+ went down/);
      expect(portsOfNode2Up()).toEqual([false, false]);
      await sleep(2000);
      verdict = w.stop();
      report('fabric', verdict.ok, split.totalS, verdict, split);
      // One writer at every instant: node2's guest was cut off from the fence on.
      expectNeverTwice(verdict);
      expect(verdict.story).toMatch(/cut off from the volume \(storage port down\), not a writer: node2:\d+/);
    } finally {
      if (!verdict) w.stop();
    }

    // An admin re-enables node2's storage port at the switch without rebooting node2.
    const hazard = l.witness();
    let byHand: WitnessVerdict | undefined;
    try {
      await l.setPortByHand(storage.node2, true);
      hazard.mark("an admin re-enables node2's storage port at the switch; node2 was not rebooted");
      // The old guest's write, held since the cut, lands when its TCP retransmission gets through.
      await waitFor('the old guest on node2 writing to the volume again', () => judgeVolume(readVolume(l.volume)).problems.some((p) => p.startsWith('second writer')), 180_000, 1000);
      await sleep(1000);
      byHand = hazard.stop();
      console.log(`fabric, re-enabled by hand without a reboot:\n${byHand.story}`);
      report('fabric-reenabled-by-hand', !byHand.ok, null, byHand);
      expect(byHand.secondWriterSeen).toBe(true);
      expect(byHand.problems.join('\n')).toMatch(/second writer: boot/);
    } finally {
      if (!byHand) hazard.stop();
    }

    // node2 reboots (its old guest dies with it); then its own unfence succeeds and it rejoins the cluster.
    const after = l.witness();
    try {
      await l.setPortByHand(storage.node2, false);
      // The boot must come after the shut by more than the check's resolution (whole seconds of uptime on
      // the lab's nodes, the switch's 1/100 s): an admin's next step seconds later, not the same instant.
      await sleep(3000);
      after.mark("the admin shut node2's storage port again; now node2 is power-cycled");
      for (const chassis of ['0', '1']) {
        const r = await run([NODE_POWER, node2.dir, 'set', 'chassis', chassis]);
        expect(r.code, r.stderr).toBe(0);
      }
      await waitFor("node2's corosync after its reboot", () => node2.corosyncPid() !== undefined, 60_000, 200);
      expect([...after.running().values()]).toEqual(['node1']);
      const unfenced = await unfenceOnNode2();
      after.mark(`fencekit fence --action on node2, on node2 after its reboot: exit ${unfenced.code}`);
      expect(unfenced.code, unfenced.stdout + unfenced.stderr).toBe(0);
      expect(portsOfNode2Up()).toEqual([true, true]);
      await l.failover.cluster.waitOnline(['node1', 'node2'], 120_000);
      await l.failover.cluster.waitOnline(['node1', 'node2'], 60_000, node2);
      // Pacemaker's own unfencing of node2 at its join ran on node2 itself and found its ports up.
      await waitFor("Pacemaker's automatic unfence of node2, run by node2", async () => {
        const history = (await node1.exec(['stonith_admin', '--history', 'node2', '--verbose', '--output-as', 'xml'], { timeoutMs: 10_000 })).stdout;
        return /<fence_event (?=[^>]*action="on")(?=[^>]*delegate="node2")(?=[^>]*status="success")[^>]*>/.test(history);
      }, 60_000, 1000);
      await sleep(5000);
      expect(await l.guestHost()).toBe('node1');
      expect([...after.running().values()]).toEqual(['node1']);
    } finally {
      after.stop();
    }
  }, 900_000);
});
