// fence_kit_ipmi vs Debian's fence_ipmilan against a second BMC implementation, pyghmi's (the basis of
// virtualbmc; test/peers/pyghmi-bmc.py), in one run, beside a bare `node -e 0`: the floor any Node agent
// pays before its first byte, so the figures say how close the agent is to its runtime's limit. Neither
// agent is given a cipher: both ask the BMC (Get Channel Cipher Suites, which pyghmi answers) and get 3.
import { join } from 'node:path';
import { startPyghmiBmc } from '../test/peers/pyghmi-bmc.js';
import { median, report, sample, timeCommand, type Comparison } from './harness.js';

const ROOT = join(import.meta.dirname ?? '.', '..');
const OURS = join(ROOT, 'bin', 'fence_kit_ipmi');
const RUNS = Number(process.env.BENCH_RUNS ?? 7);

const bmc = await startPyghmiBmc({ hostOn: true, script: join(ROOT, 'test', 'peers', 'pyghmi-bmc.py') });
try {
  const creds = (a: string) => [`ip=${bmc.host}`, `ipport=${bmc.port}`, `username=${bmc.users.admin.name}`, `password=${bmc.users.admin.password}`, 'lanplus=1', 'power_wait=0', `action=${a}`];
  const run = (file: string, action: string) => () => timeCommand(file, [], creds(action).join('\n') + '\n');
  const hostOn = async () => {
    if (!bmc.isHostRunning()) await bmc.powerOnHost();
  };
  const nothing = async () => undefined;
  const floor = await sample(RUNS, nothing, () => timeCommand(process.execPath, ['-e', '0']), 'node -e 0');
  const rows: Comparison[] = [];
  for (const [name, action] of [
    ['status', 'status'],
    ['off (power_wait=0)', 'off'],
  ] as const) {
    rows.push({
      name,
      oursMs: await sample(RUNS, hostOn, run(OURS, action), `fencekit ${name}`),
      peerMs: await sample(RUNS, hostOn, run('/usr/sbin/fence_ipmilan', action), `fence_ipmilan ${name}`),
    });
  }
  console.log(report(`fence_kit_ipmi vs fence_ipmilan on the pyghmi BMC (median of ${RUNS})`, rows));
  const floorMs = median(floor);
  console.log(`node -e 0 (the Node start floor): ${floorMs.toFixed(1)} ms`);
  for (const r of rows) console.log(`${r.name}: fencekit ${(median(r.oursMs) - floorMs).toFixed(1)} ms above the floor`);
} finally {
  await bmc.stop();
}
