// fence_kit_apc_snmp vs Debian's fence_apc_snmp on the same 24-outlet PDU in one run: net-snmp's snmpd with the
// PowerNet emulator (test/peers/snmpd-pdu.ts), outlets powering real processes. Both agents run on stdin
// with NODE_EXTRA_CA_CERTS unset, SNMP v1 and community private (fence_apc_snmp's defaults), each at its
// defaults otherwise (power_wait 0). Runs alternate between the two agents so drift hits both alike.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pduOutlets, startApcSsh } from '../test/peers/apc-ssh.js';
import { startPdu } from '../test/peers/snmpd-pdu.js';
import { median, report, timeCommand, failures, type Comparison } from './harness.js';

const ROOT = join(import.meta.dirname ?? '.', '..');
const OURS = join(ROOT, 'bin', 'fence_kit_apc_snmp');
const OURS_CLI = join(ROOT, 'bin', 'fence_kit_apc');
const PEER = '/usr/sbin/fence_apc_snmp';
const CLI_PEER = '/usr/sbin/fence_apc';
const RUNS = Number(process.env.BENCH_RUNS ?? 9);
const OUTLET = 7;
const TIME = '/usr/bin/time';

/**
 * Run under /usr/bin/time (for both agents alike) to also get the CPU time the whole process tree used:
 * on a shared 2-core machine wall time carries other people's load, CPU time is the agent's own cost.
 */
async function timed(agent: string, input: string) {
  const t = await timeCommand(TIME, ['-f', 'FKCPU %U %S', agent], input);
  const m = /FKCPU ([\d.]+) ([\d.]+)\s*$/.exec(t.stderr);
  const cpuMs = m ? (Number(m[1]) + Number(m[2])) * 1000 : NaN;
  return { ...t, stderr: t.stderr.replace(/FKCPU .*\s*$/, ''), cpuMs };
}
const cpuRows: { name: string; ours: number[]; peer: number[] }[] = [];

const pdu = await startPdu({ outlets: 24 });
try {
  const stdin = (action: string) => [`ip=${pdu.host}`, `ipport=${pdu.port}`, `plug=${OUTLET}`, `action=${action}`].join('\n') + '\n';
  const setOutlet = (on: boolean) => async () => {
    if (pdu.isOutletPowered(OUTLET) !== on) pdu.setOutletState(OUTLET, on);
  };
  const rows: Comparison[] = [];
  const both = async (name: string, action: string, prepare: () => Promise<void>, check: () => boolean, target?: number, codes = [0]) => {
    const oursMs: number[] = [];
    const peerMs: number[] = [];
    const cpu = { name, ours: [] as number[], peer: [] as number[] };
    for (let i = 0; i < RUNS; i++) {
      for (const [agent, into, label] of [[OURS, oursMs, 'fencekit'], [PEER, peerMs, 'fence_apc_snmp']] as const) {
        await prepare();
        const t = await timed(agent, stdin(action));
        (label === 'fencekit' ? cpu.ours : cpu.peer).push(t.cpuMs);
        if (!codes.includes(t.code ?? -1) || !check()) {
          if (label === 'fencekit') throw new Error(`fence_kit_apc_snmp ${name}: exit ${t.code}: ${t.stderr.trim().split('\n').pop()}`);
          failures.set(`${label} ${name}`, (failures.get(`${label} ${name}`) ?? 0) + 1);
        }
        into.push(t.ms);
      }
    }
    rows.push({ name, oursMs, peerMs, ...(target !== undefined ? { target } : {}) });
    cpuRows.push(cpu);
  };
  await both('status (outlet on)', 'status', setOutlet(true), () => true, 0.3);
  await both('off', 'off', setOutlet(true), () => !pdu.isOutletPowered(OUTLET), 0.2);
  await both('on', 'on', setOutlet(false), () => pdu.isOutletPowered(OUTLET));
  await both('reboot', 'reboot', setOutlet(true), () => pdu.isOutletPowered(OUTLET));
  await both('list-status (24 outlets)', 'list-status', async () => undefined, () => true);
  console.log(report(`fence_kit_apc_snmp vs fence_apc_snmp, SNMP v1, snmpd + PowerNet emulator, 24 outlets (median of ${RUNS})`, rows));
  console.log(`CPU time (user + sys of the whole process tree, median of ${RUNS}): the same cases, free of other load`);
  for (const r of cpuRows) {
    const o = median(r.ours);
    const p = median(r.peer);
    console.log(`${r.name.padEnd(34)} ${o.toFixed(0).padStart(12)} ${p.toFixed(0).padStart(10)} ${`${(o / p).toFixed(2)}x`.padStart(7)}`);
  }
  for (const r of rows) console.log(`${r.name}: fencekit min ${Math.min(...r.oursMs).toFixed(1)} / median ${median(r.oursMs).toFixed(1)} ms; fence_apc_snmp min ${Math.min(...r.peerMs).toFixed(1)} / median ${median(r.peerMs).toFixed(1)} ms`);

  // The card's SSH command line (ssh2 fixture over the same outlets): ours with ssh=1 vs fence_apc --ssh
  // (pexpect over OpenSSH), both with password auth and the same strict known_hosts file.
  const card = await startApcSsh({ outlets: pduOutlets(pdu) });
  const dir = mkdtempSync(join(tmpdir(), 'fk-bench-apc-'));
  try {
    const knownHosts = join(dir, 'known_hosts');
    writeFileSync(knownHosts, `${card.hostKey.knownHostsLine}\n`);
    const common = [`ip=${card.host}`, `ipport=${card.port}`, 'username=apc', 'password=apc-secret-pw', `plug=${OUTLET}`];
    const oursStdin = (action: string) => [...common, 'ssh=1', `ssh_known_hosts=${knownHosts}`, `action=${action}`].join('\n') + '\n';
    const peerStdin = (action: string) =>
      [...common, 'ssh=1', `ssh_options=-o UserKnownHostsFile=${knownHosts} -o StrictHostKeyChecking=yes -F /dev/null`, `action=${action}`].join('\n') + '\n';
    const cliRows: Comparison[] = [];
    const cli = async (name: string, action: string, prepare: () => Promise<void>, check: () => boolean) => {
      const oursMs: number[] = [];
      const peerMs: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        await prepare();
        const o = await timeCommand(OURS_CLI, [], oursStdin(action));
        if (o.code !== 0 || !check()) throw new Error(`fence_kit_apc ssh ${name}: exit ${o.code}: ${o.stderr.trim().split('\n').pop()}`);
        oursMs.push(o.ms);
        await prepare();
        const p = await timeCommand(CLI_PEER, [], peerStdin(action));
        if (p.code !== 0 || !check()) failures.set(`fence_apc ssh ${name}`, (failures.get(`fence_apc ssh ${name}`) ?? 0) + 1);
        peerMs.push(p.ms);
      }
      cliRows.push({ name, oursMs, peerMs });
    };
    await cli('ssh status', 'status', setOutlet(true), () => true);
    await cli('ssh off', 'off', setOutlet(true), () => !pdu.isOutletPowered(OUTLET));
    console.log(report(`fence_kit_apc ssh=1 vs fence_apc --ssh, APC CLI fixture (median of ${RUNS})`, cliRows));
  } finally {
    await card.stop();
    rmSync(dir, { recursive: true, force: true });
  }
} finally {
  await pdu.stop();
}
