// fencekit at scale on the lab: wall time of fencing 50 nodes at once vs one (target <= 2x), `check` over
// every device, and the peak RSS of one agent process (target <= 60 MB). Each device call is an agent
// process, as under Pacemaker.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLab } from '../lab/lab.js';
import { median, timeCommand } from './harness.js';

const ROOT = join(import.meta.dirname ?? '.', '..');
const NODES = Number(process.env.BENCH_NODES ?? 50);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const work = mkdtempSync(join(tmpdir(), 'fk-bench-scale-'));
const fencekit = join(ROOT, 'bin', 'fencekit');

function peakRss(file: string, stdin: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = execFile('/usr/bin/time', ['-f', '%M', file], { env: { ...process.env, NODE_EXTRA_CA_CERTS: '' } }, (err, _out, stderr) => {
      const kb = Number(stderr.trim().split('\n').pop());
      if (!Number.isFinite(kb)) reject(err ?? new Error(stderr));
      else resolve(kb / 1024);
    });
    child.stdin!.end(stdin);
  });
}

const lab = await startLab({ dir: join(work, 'lab'), nodes: NODES });
try {
  const env = ['-t', lab.topologyPath];
  const lockDir = join(work, 'locks');
  process.env.FENCEKIT_LOCK_DIR = lockDir;
  const run = async (args: string[]) => {
    const t = await timeCommand(fencekit, [...env, ...args]);
    if (t.code !== 0) throw new Error(`fencekit ${args.join(' ')}: exit ${t.code}\n${t.stdout}\n${t.stderr}`);
    return t.ms;
  };
  const all = lab.nodes.map((n) => n.name);
  const one: number[] = [];
  const many: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    one.push(await run(['fence', all[0]!, '--action', 'reboot']));
    many.push(await run(['fence', ...all, '--action', 'reboot', '--timeout', '300']));
    for (const n of lab.nodes) if (!n.isRunning()) throw new Error(`${n.name} did not come back`);
  }
  const check = await run(['check']);
  const bmc = lab.nodes[0]!.bmc;
  const rssStatus = await peakRss(join(ROOT, 'bin', 'fence_kit_ipmi'), `action=status\nip=${bmc.host}\nipport=${bmc.port}\nusername=${bmc.users.admin.name}\npassword=${bmc.users.admin.password}\nlanplus=1\n`);
  const pdu = lab.pdus[0];
  const rssApc = await peakRss(join(ROOT, 'bin', 'fence_kit_apc_snmp'), `action=list-status\nip=${pdu.host}\nipport=${pdu.port}\ncommunity=${pdu.communities.rw}\nsnmp_version=2c\n`);
  const ratio = median(many) / median(one);
  console.log(`fencekit at scale on the lab (${NODES} nodes, median of ${RUNS})`);
  console.log(`reboot 1 node:             ${median(one).toFixed(0)} ms`);
  console.log(`reboot ${NODES} nodes at once:   ${median(many).toFixed(0)} ms   ratio ${ratio.toFixed(2)}x   target <= 2x: ${ratio <= 2 ? 'met' : 'MISSED'}`);
  console.log(`check ${lab.nodes.length + 2} devices:          ${check.toFixed(0)} ms`);
  console.log(`peak RSS fence_kit_ipmi status: ${rssStatus.toFixed(1)} MB, fence_kit_apc_snmp list-status: ${rssApc.toFixed(1)} MB   target <= 60 MB: ${Math.max(rssStatus, rssApc) <= 60 ? 'met' : 'MISSED'}`);
} finally {
  await lab.stop();
  rmSync(work, { recursive: true, force: true });
}
