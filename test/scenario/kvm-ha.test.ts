// The KVM HA pair end to end (issue 15; docs/kvm-ha.md): a guest that Pacemaker runs through
// ocf:heartbeat:VirtualDomain on one of two hosts, its volume on a SAN served over NBD, fencing from
// `fencekit export cib`, and a witness of "never twice" (both hosts' process tables every 50 ms and the
// guest's own O_DIRECT records on its volume). Each scenario fails with the witness's story.
//
// CI runs power-loss, split-brain (FK_SCENARIO_SPLIT_ROUNDS rounds, 2 by default), storage cut and the negative control;
// `npm run scenario` (FK_SCENARIO_ALL=1) adds hung and 10 split-brain rounds. FK_SCENARIO_RESULTS=FILE
// collects one JSON line per scenario for scripts/scenario.mjs.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NODE_POWER } from '../pacemaker/cluster.js';
import { splitBrainRound } from '../pacemaker/failover.js';
import { isAlive, procStat, run, signal, sleep, waitFor } from '../pacemaker/proc.js';
import { splitFromLog, startKvmHaLab, type FailoverSplit, type KvmHaLab } from './kvm-ha.js';
import { DEVICES, expectNeverTwice, fmt, guestRunningOnNode2, node2Back, report } from './results.js';
import type { Witness, WitnessVerdict } from './witness.js';
import { ROOT } from '../support/run-agent.js';

const ALL = process.env.FK_SCENARIO_ALL === '1';
const SPLIT_ROUNDS = Math.max(1, Number(process.env.FK_SCENARIO_SPLIT_ROUNDS ?? (ALL ? 10 : 2)) || 1);

let lab: KvmHaLab | undefined;

beforeAll(async () => {
  lab = await startKvmHaLab(DEVICES);
}, 600_000);

afterAll(async () => {
  lab?.failover.setBmc('answering');
  await lab?.stop();
  lab = undefined;
}, 120_000);

describe('the KVM HA pair: a guest never runs on two hosts', () => {
  it('power-loss: node2 loses both supplies and its BMC; level 1 fails, level 2 cuts both outlets, the guest writes again on node1', async () => {
    const l = lab!;
    const w: Witness = l.witness();
    let verdict: WitnessVerdict | undefined;
    try {
      const { node2, corosync, logFrom } = await guestRunningOnNode2(l, w);
      l.failover.setBmc('powered-off');
      const failedAt = Date.now();
      w.mark('node2 loses all power: psu-a, psu-b, its BMC with them');
      for (const psu of ['psu-a', 'psu-b']) {
        const r = await run([NODE_POWER, node2.dir, 'set', psu, '0']);
        expect(r.code, r.stderr).toBe(0);
      }
      const writingAt = await l.waitNewBoot(w, 'node1', failedAt, 180_000);
      w.mark('the guest writes on node1', writingAt);
      const split = splitFromLog(l.node1Log(logFrom), 'node2', failedAt, writingAt);
      console.log(`power-loss: ${fmt(split)}`);
      // Level 1 (the dead BMC) failed, then level 2 switched both outlets off and confirmed them.
      const order = split.steps.map((s) => `${s.action}@${s.device}=${s.ok}`);
      expect(order.slice(0, 3)).toEqual(['reboot@node2-bmc=false', 'off@pdu-a=true', 'off@pdu-b=true']);
      l.failover.setBmc('answering');
      await node2Back(l, corosync);
      // node2 back (its probe of the guest included): the guest stays where it runs, one instance.
      await sleep(5000);
      expect(await l.guestHost()).toBe('node1');
      expect([...w.running().values()]).toEqual(['node1']);
      verdict = w.stop();
      report('power-loss', verdict.ok, split.totalS, verdict, split);
      expectNeverTwice(verdict);
      expect(verdict.boots.length).toBeGreaterThanOrEqual(2);
    } finally {
      l.failover.setBmc('answering');
      if (!verdict) w.stop();
    }
  }, 600_000);

  it(`split-brain: the cluster link goes down while node2 runs the guest; exactly node1 survives and the guest runs on one host at every instant (${SPLIT_ROUNDS} rounds)`, async () => {
    const l = lab!;
    const w = l.witness();
    let verdict: WitnessVerdict | undefined;
    const splits: FailoverSplit[] = [];
    try {
      for (let round = 1; round <= SPLIT_ROUNDS; round++) {
        await l.placeGuest(w, 'node2');
        await sleep(2000);
        const logFrom = l.node1Log().length;
        const cutAt = Date.now();
        w.mark(`round ${round}: node1's cluster link goes down`);
        const result = await splitBrainRound(l.failover);
        w.mark(`round ${round}: fenced ${result.fenced.join(', ') || 'nobody'}; survivors ${result.survivors.join(', ')}`);
        expect(result.fenced, `round ${round}`).toEqual(['node2']);
        expect(result.survivors, `round ${round}`).toEqual(['node1']);
        const writingAt = await l.waitNewBoot(w, 'node1', cutAt, 120_000);
        const split = splitFromLog(l.node1Log(logFrom), 'node2', cutAt, writingAt);
        splits.push(split);
        console.log(`split-brain round ${round}: ${fmt(split)}`);
      }
      await sleep(1000);
      verdict = w.stop();
      const median = [...splits.map((s) => s.totalS)].sort((a, b) => a - b)[Math.floor(splits.length / 2)]!;
      report('split-brain', verdict.ok, median, verdict, splits);
      expectNeverTwice(verdict);
    } finally {
      if (!verdict) w.stop();
    }
  }, 60_000 + SPLIT_ROUNDS * 300_000);

  it.runIf(ALL)('hung: every process of node2 frozen; node1 fences it through its BMC and starts the guest; thawed, the old guest is already gone', async () => {
    const l = lab!;
    const w = l.witness();
    let verdict: WitnessVerdict | undefined;
    try {
      const { node2, corosync, logFrom } = await guestRunningOnNode2(l, w);
      const frozen = node2.pids().map((pid) => ({ pid, start: procStat(pid)?.startTime }));
      const failedAt = Date.now();
      for (const p of frozen) signal(p.pid, 'SIGSTOP');
      w.mark(`node2 hangs: ${frozen.length} processes stopped (the guest's qemu among them)`);
      const writingAt = await l.waitNewBoot(w, 'node1', failedAt, 180_000);
      const split = splitFromLog(l.node1Log(logFrom), 'node2', failedAt, writingAt);
      console.log(`hung: ${fmt(split)}`);
      for (const p of frozen) if (isAlive(p.pid, p.start)) signal(p.pid, 'SIGCONT');
      w.mark('node2 thawed');
      // The BMC powered node2 off before the guest started elsewhere: nothing frozen is left to wake up.
      expect(frozen.filter((p) => isAlive(p.pid, p.start)).map((p) => p.pid)).toEqual([]);
      expect(split.steps.filter((s) => s.ok).map((s) => s.device)).toEqual(['node2-bmc']);
      await node2Back(l, corosync);
      await sleep(2000);
      verdict = w.stop();
      report('hung', verdict.ok, split.totalS, verdict, split);
      expectNeverTwice(verdict);
    } finally {
      if (!verdict) w.stop();
    }
  }, 600_000);

  // The SAN is really behind the switch: fencekit's fabric agent cutting node2's storage port cuts its guest off
  // the disk (a fabric fence leaves the guest's qemu running). Re-enabled, the same boot writes on: the writer
  // retries, so the records show no gap, and nothing else ran meanwhile.
  it("storage cut: fence_kit_switch switches node2's storage port off and its guest's writes stop; on again, the same boot writes on", async () => {
    const l = lab!;
    const w = l.witness();
    let verdict: WitnessVerdict | undefined;
    const sw = l.switchLab;
    // As Pacemaker runs an agent: options on stdin (the community never in argv), from the switch's management network.
    const env = { ...process.env };
    delete env.NODE_EXTRA_CA_CERTS;
    const agent = (action: string) =>
      sw.inManager([join(ROOT, 'bin', 'fence_kit_switch')], { input: `action=${action}\nip=${sw.mgmtAddress}\ncommunity=${sw.community.rw}\nplug=${sw.ports.node2.ifIndex}\n`, env, timeoutMs: 30_000 });
    try {
      await l.placeGuest(w, 'node2');
      await sleep(2000);
      const boots = w.bootsSeen().length;
      const off = await agent('off');
      expect(off.code, off.stderr).toBe(0);
      w.mark("node2's storage port off (fence_kit_switch)");
      expect(sw.kernelAdminUp(sw.ports.node2)).toBe(false);
      await sleep(1000); // a write already on the wire may still land
      const atCut = w.recordsSeen();
      await sleep(5000);
      expect(w.recordsSeen(), 'records written while the storage port was down').toBe(atCut);
      expect([...w.running().values()]).toEqual(['node2']);
      const on = await agent('on');
      expect(on.code, on.stderr).toBe(0);
      w.mark("node2's storage port on (fence_kit_switch)");
      await waitFor('the guest writing again', () => w.recordsSeen() > atCut, 120_000, 100);
      await sleep(2000);
      verdict = w.stop();
      expectNeverTwice(verdict);
      expect(w.bootsSeen().length).toBe(boots);
    } finally {
      if (!verdict) w.stop();
      await sw.restorePorts();
    }
  }, 300_000);

  // Last: it leaves node2 running a guest the cluster believes dead.
  it.runIf(DEVICES === 'fencekit')('negative control: a fence device that reports success without cutting power makes the witness fail', async () => {
    const l = lab!;
    const w = l.witness();
    let verdict: WitnessVerdict | undefined;
    try {
      await l.placeGuest(w, 'node2');
      await sleep(2000);
      const node1 = l.node('node1');
      const node2 = l.node('node2');
      // node2's level 1 becomes fence_dummy: "off" writes a status file and reports success.
      const status = `${l.volume}.dummy-status`;
      const dummy = `<primitive id="broken" class="stonith" type="fence_dummy"><instance_attributes id="broken-ia"><nvpair id="broken-type" name="type" value="file"/><nvpair id="broken-status" name="status_file" value="${status}"/><nvpair id="broken-hosts" name="pcmk_host_list" value="node2"/></instance_attributes></primitive>`;
      const add = await node1.exec(['cibadmin', '--create', '--scope', 'resources', '--xml-text', dummy]);
      expect(add.code, add.stderr).toBe(0);
      const topo = await node1.exec(['cibadmin', '--query', '--scope', 'fencing-topology']);
      const broken = topo.stdout.replace(/(<fencing-level [^>]*target="node2"[^>]*index="1"[^>]*devices=")[^"]*"/, '$1broken"').replace(/(<fencing-level [^>]*index="1"[^>]*target="node2"[^>]*devices=")[^"]*"/, '$1broken"');
      expect(broken).not.toBe(topo.stdout);
      const rep = await node1.exec(['cibadmin', '--replace', '--scope', 'fencing-topology', '--xml-text', broken]);
      expect(rep.code, rep.stderr).toBe(0);
      await waitFor('the broken device registered on node1', async () => (await node1.exec(['stonith_admin', '--list-registered'])).stdout.includes('broken'), 60_000, 500);
      const corosync = node2.corosyncPid();
      expect(corosync).toBeDefined();
      const failedAt = Date.now();
      process.kill(corosync!, 'SIGKILL');
      w.mark(`node2's corosync killed (pid ${corosync}); its guest keeps running`);
      await waitFor('a second guest instance, on node1', () => [...w.running().values()].includes('node1'), 180_000, 50);
      // Long enough for the second instance to boot and write.
      await waitFor('a second boot on the volume', () => w.bootsSeen().some((b) => b.at >= failedAt), 120_000, 100).catch(() => undefined);
      await sleep(3000);
      verdict = w.stop();
      console.log(`negative control:\n${verdict.story}`);
      report('negative-control', !verdict.ok, null, verdict);
      expect(verdict.ok).toBe(false);
      expect(verdict.secondWriterSeen).toBe(true);
      expect(verdict.problems.join('\n')).toMatch(/two guest instances at one instant/);
    } finally {
      if (!verdict) w.stop();
    }
  }, 600_000);
});
