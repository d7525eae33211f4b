// `-o metadata` wall time of every fence_kit agent beside its Debian peer, in one run: what Pacemaker pays
// each time it registers a device or (re)reads an agent. Target: <= 1.0x.
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { report, sample, timeCommand, type Comparison } from './harness.js';

const ROOT = join(import.meta.dirname ?? '.', '..');
const RUNS = Number(process.env.BENCH_RUNS ?? 15);
const PAIRS: [string, string][] = [
  ['fence_kit_ipmi', 'fence_ipmilan'],
  ['fence_kit_apc', 'fence_apc'],
  ['fence_kit_apc_snmp', 'fence_apc_snmp'],
  ['fence_kit_switch', 'fence_ifmib'],
  ['fence_kit_scsi', 'fence_scsi'],
  // fence_sanlock is not packaged in Debian 12; fence_sbd is the nearest shared-storage peer there.
  ['fence_kit_sanlock', 'fence_sbd'],
];
const nothing = async () => undefined;
const rows: Comparison[] = [];
for (const [ours, peer] of PAIRS) {
  const peerPath = `/usr/sbin/${peer}`;
  if (!existsSync(peerPath)) throw new Error(`${peerPath} is missing (apt-get install fence-agents)`);
  rows.push({
    name: `${ours} / ${peer}`,
    oursMs: await sample(RUNS, nothing, () => timeCommand(join(ROOT, 'bin', ours), ['-o', 'metadata']), `fencekit ${ours} metadata`),
    peerMs: await sample(RUNS, nothing, () => timeCommand(peerPath, ['-o', 'metadata']), `${peer} metadata`),
    target: 1.0,
  });
}
console.log(report(`-o metadata, median of ${RUNS}`, rows));
