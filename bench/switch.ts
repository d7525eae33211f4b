// fence_kit_switch vs Debian's fence_ifmib on the same switch in one run: snmpd managing a namespace
// bridge's veth ports (test/peers/netns-switch.ts). Both agents run inside the manager namespace through
// `ip netns exec`, on stdin, with NODE_EXTRA_CA_CERTS unset, v2c, each at its defaults (power_wait 0).
import { join } from 'node:path';
import { startSwitchLab } from '../test/peers/netns-switch.js';
import { report, sample, timeCommand, type Comparison } from './harness.js';

const ROOT = join(import.meta.dirname ?? '.', '..');
const OURS = join(ROOT, 'bin', 'fence_kit_switch');
const PEER = '/usr/sbin/fence_ifmib';
const RUNS = Number(process.env.BENCH_RUNS ?? 9);

const lab = await startSwitchLab();
try {
  const stdin = (action: string, plug: string) =>
    [`ip=${lab.mgmtAddress}`, `community=${lab.community.rw}`, `plug=${plug}`, `action=${action}`].join('\n') + '\n';
  const inManager = (agent: string, action: string, plug: string) => () =>
    timeCommand('/usr/sbin/ip', ['netns', 'exec', lab.ns.manager, agent], stdin(action, plug));
  const portUp = () => lab.restorePorts();
  const portDown = (plug: string) => async () => {
    const r = await inManager(OURS, 'off', plug)();
    if (r.code !== 0) throw new Error(`cannot prepare port ${plug} off: ${r.stderr}`);
  };
  const rows: Comparison[] = [];
  // Interleaved, one of ours then one of the peer's, so load from anything else on the machine falls on both.
  const both = async (name: string, prepare: () => Promise<void>, action: string, plug: string, target?: number, codes = [0]) => {
    const oursMs: number[] = [];
    const peerMs: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      oursMs.push(...(await sample(1, prepare, inManager(OURS, action, plug), `fencekit ${name}`, codes)));
      peerMs.push(...(await sample(1, prepare, inManager(PEER, action, plug), `fence_ifmib ${name}`, codes)));
    }
    rows.push({ name, oursMs, peerMs, ...(target !== undefined ? { target } : {}) });
  };
  await both('status (ifIndex)', portUp, 'status', '11');
  await both('off (ifIndex)', portUp, 'off', '11', 0.25);
  await both('on (ifIndex)', portDown('11'), 'on', '11');
  await both('off (by name, sw-p1)', portUp, 'off', 'sw-p1', 0.25);
  await lab.restorePorts();
  console.log(report(`fence_kit_switch vs fence_ifmib on snmpd in network namespaces (median of ${RUNS})`, rows));
} finally {
  await lab.stop();
}
