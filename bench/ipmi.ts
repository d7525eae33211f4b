// fence_kit_ipmi vs Debian's fence_ipmilan on the same ipmi_sim, in one run: metadata, status, off, on,
// reboot, each with power_wait=0 and at each agent's defaults. fence_ipmilan gets cipher 3 (-C 3): without
// it ipmitool probes cipher suites, which ipmi_sim never answers, and every call costs 10 s more.
import { join } from 'node:path';
import { startIpmiSim } from '../test/peers/ipmi-sim.js';
import { report, sample, timeCommand, type Comparison } from './harness.js';

const ROOT = join(import.meta.dirname ?? '.', '..');
const OURS = join(ROOT, 'bin', 'fence_kit_ipmi');
const RUNS = Number(process.env.BENCH_RUNS ?? 7);

const bmc = await startIpmiSim({ hostOn: true });
try {
  const creds = (a: string) => [`ip=${bmc.host}`, `ipport=${bmc.port}`, `username=${bmc.users.admin.name}`, `password=${bmc.users.admin.password}`, 'lanplus=1', 'cipher=3', `action=${a}`];
  const ours = (action: string, extra: string[] = []) => () => timeCommand(OURS, [], [...creds(action), ...extra].join('\n') + '\n');
  const peer = (action: string, extra: string[] = []) => () => timeCommand('/usr/sbin/fence_ipmilan', [], [...creds(action), ...extra].join('\n') + '\n');
  const hostOn = async () => {
    if (!bmc.isHostRunning()) await bmc.powerOnHost();
  };
  const hostOff = async () => {
    if (bmc.isHostRunning()) await bmc.powerOffHost();
  };
  const nothing = async () => undefined;
  const rows: Comparison[] = [];
  const both = async (name: string, prepare: () => Promise<void>, action: string, extra: string[], target?: number, codes = [0]) => {
    rows.push({
      name,
      oursMs: await sample(RUNS, prepare, ours(action, extra), `fencekit ${name}`, codes),
      peerMs: await sample(RUNS, prepare, peer(action, extra), `fence_ipmilan ${name}`, codes),
      ...(target !== undefined ? { target } : {}),
    });
  };
  rows.push({
    name: 'metadata',
    oursMs: await sample(RUNS, nothing, () => timeCommand(OURS, ['-o', 'metadata']), 'fencekit metadata'),
    peerMs: await sample(RUNS, nothing, () => timeCommand('/usr/sbin/fence_ipmilan', ['-o', 'metadata']), 'fence_ipmilan metadata'),
    target: 1.0,
  });
  await both('status', hostOn, 'status', [], 0.5);
  await both('off (power_wait=0)', hostOn, 'off', ['power_wait=0'], 0.25);
  await both('on (power_wait=0)', hostOff, 'on', ['power_wait=0']);
  await both('reboot (power_wait=0)', hostOn, 'reboot', ['power_wait=0']);
  await both('off (defaults)', hostOn, 'off', [], 0.1);
  await both('reboot (defaults)', hostOn, 'reboot', []);
  console.log(report(`fence_kit_ipmi vs fence_ipmilan on ipmi_sim (median of ${RUNS})`, rows));
} finally {
  await bmc.stop();
}
