// `fencekit lab` and `fencekit demo`: the built-in lab on loopback, for trying fencekit on a fresh machine.
// `lab up` leaves a small supervisor running (it owns the simulators and stops them on SIGTERM);
// `lab down` stops it by the PID it recorded. `demo` runs its own lab and stops it when done.
// The simulators (lab/) are loaded with import() by the two commands that start them, so that `lab down`
// and `lab status` never need the lab's files.
import { spawn } from 'node:child_process';
import { mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Lab } from '../lab/lab.js';
import { sleep } from '../lib/timing.js';
import { checkCommand, fenceCommand, openTopology, statusCommand } from './commands.js';
import { Printer } from './output.js';
import { auditCommand, planCommand, verifyWiringCommand } from './audit.js';
import type { Topology } from '../lib/topology/file.js';
import { FenceError } from '../lib/errors.js';

export function labDirectory(env: NodeJS.ProcessEnv = process.env): string {
  return env.FENCEKIT_LAB_DIR ?? '/run/fencekit-lab';
}

interface LabRecord {
  supervisorPid: number;
  topology: string;
  /** The BMCs run inside the supervisor; nodePid is each node's own process when the lab came up. */
  nodes: { name: string; bmcPort: number; nodePid: number | null }[];
  pdus: { name: string; port: number; snmpdPid: number }[];
}

const recordPath = (dir: string) => join(dir, 'lab.json');

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function readRecord(dir: string): LabRecord | undefined {
  try {
    const r = JSON.parse(readFileSync(recordPath(dir), 'utf8')) as LabRecord;
    return alive(r.supervisorPid) ? r : undefined;
  } catch {
    return undefined;
  }
}

/** The supervisor: start the lab, record it, stop it on SIGTERM/SIGINT. */
export async function labServe(dir: string, nodes: number, miswire = false): Promise<void> {
  const { startLab } = await import('../lab/lab.js');
  const lab = await startLab({ dir, nodes, miswire });
  const record: LabRecord = {
    supervisorPid: process.pid,
    topology: lab.topologyPath,
    nodes: lab.nodes.map((n) => ({ name: n.name, bmcPort: n.bmc.port, nodePid: n.pid() ?? null })),
    pdus: lab.pdus.map((p, i) => ({ name: `pdu-${'ab'[i]}`, port: p.port, snmpdPid: p.snmpdPid })),
  };
  writeFileSync(recordPath(dir), JSON.stringify(record, null, 2));
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await lab.stop();
    rmSync(dir, { recursive: true, force: true });
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  setInterval(() => undefined, 1 << 30);
}

export async function labUp(dir: string, nodes: number, cliPath: string, miswire = false, p = new Printer()): Promise<number> {
  if (miswire && nodes < 2) throw new FenceError('bad-input', '--miswire swaps two nodes\' pdu-b outlets: it needs --nodes 2 or more');
  const existing = readRecord(dir);
  if (existing) {
    p.line(`the lab is already up (supervisor PID ${existing.supervisorPid}); topology: ${existing.topology}`);
    return 0;
  }
  mkdirSync(dir, { recursive: true });
  const logFile = join(dir, '..', `${dir.split('/').pop()}.log`);
  const log = openSync(logFile, 'w');
  const child = spawn(process.execPath, [cliPath, 'lab', 'serve', '--nodes', String(nodes), ...(miswire ? ['--miswire'] : [])], {
    detached: true,
    stdio: ['ignore', log, log],
    env: { ...process.env, FENCEKIT_LAB_DIR: dir },
  });
  child.unref();
  const until = Date.now() + 30_000;
  while (Date.now() < until) {
    const r = readRecord(dir);
    if (r) {
      p.line(p.style('green', `lab up: ${r.nodes.length} nodes, 2 PDUs (supervisor PID ${r.supervisorPid})`));
      if (miswire) p.line(p.style('yellow', "miswired: node1's and node2's pdu-b outlets are swapped against the topology; try: fencekit verify-wiring node1 --yes"));
      p.line(`topology: ${r.topology}`);
      p.line(`try: fencekit -t ${r.topology} status`);
      return 0;
    }
    if (child.exitCode !== null || !alive(child.pid!)) break;
    await sleep(100);
  }
  p.line(p.style('red', `the lab did not come up; see ${logFile}`));
  return 1;
}

export async function labDown(dir: string, p = new Printer()): Promise<number> {
  const r = readRecord(dir);
  if (!r) {
    p.line('the lab is not running');
    return 0;
  }
  process.kill(r.supervisorPid, 'SIGTERM');
  const until = Date.now() + 20_000;
  while (alive(r.supervisorPid) && Date.now() < until) await sleep(100);
  if (alive(r.supervisorPid)) {
    p.line(p.style('red', `the lab supervisor (PID ${r.supervisorPid}) did not stop`));
    return 1;
  }
  p.line('lab down');
  return 0;
}

export async function labStatus(dir: string, json: boolean, p = new Printer()): Promise<number> {
  const r = readRecord(dir);
  if (!r) {
    p.line(json ? JSON.stringify({ up: false }) : 'the lab is not running');
    return 1;
  }
  if (json) {
    p.line(JSON.stringify({ up: true, ...r }));
    return 0;
  }
  p.line(`lab up (supervisor PID ${r.supervisorPid}); topology ${r.topology}`);
  for (const n of r.nodes) p.line(`  ${n.name}: BMC 127.0.0.1:${n.bmcPort} (IPMI 2.0, cipher suites 3 and 17)`);
  for (const d of r.pdus) p.line(`  ${d.name}: SNMP 127.0.0.1:${d.port} (${alive(d.snmpdPid) ? 'answering' : p.style('red', 'dead')})`);
  return statusCommand(await openTopology(r.topology), [], false, 30, p);
}

/**
 * The demo: fence a node whose BMC has just died. Level 1 (the BMC) fails fast, level 2 switches both PDU
 * outlets off, confirms, and switches them on again. The power model's own log shows the order.
 */
export async function demo(dir: string, p = new Printer()): Promise<number> {
  p.line(p.style('bold', 'fencekit demo') + ': three simulated nodes on loopback, each a real process powered by a BMC (the fencekit BMC simulator) and two PDUs (snmpd).');
  let lab: Lab | undefined;
  try {
    const { startLab } = await import('../lab/lab.js');
    lab = await startLab({ dir, nodes: 3 });
    const topology = await openTopology(lab.topologyPath);
    p.line(`\n${p.style('bold', '1. every fence device answers')} (fencekit check)`);
    if ((await checkCommand(topology, false, 60, 8, p)) !== 0) return 1;
    const victim = lab.nodes[0]!;
    const before = victim.pid();
    p.line(`\n${p.style('bold', `2. ${victim.name} runs as PID ${before}; its BMC dies`)}`);
    await lab.killBmc(victim.name);
    p.line(`\n${p.style('bold', `3. fencekit fence ${victim.name}`)} (reboot through the topology)`);
    const code = await fenceCommand(topology, victim.name, { action: 'reboot', timeoutSeconds: 90, json: false }, p);
    const after = victim.pid();
    const events = victim.events().trim().split('\n').slice(-4).map((l) => l.replace(/^\S+ /, ''));
    p.line(`\n${p.style('bold', '4. what the node saw')} (its power model, newest last):`);
    for (const e of events) p.line(`   ${e}`);
    const rebooted = before !== undefined && after !== undefined && after !== before;
    const sawOff = victim.events().includes('psu-a=0 psu-b=0 running=0');
    if (code === 0 && rebooted && sawOff) {
      p.line(p.style('green', `\n${victim.name} was really powered off (both supplies cut, process ${before} gone) and came back as PID ${after}.`));
      return (await beforeYouNeedIt(lab, topology, p)) ? 0 : 1;
    }
    p.line(p.style('red', `\nthe demo did not go as expected (fence exit ${code}, rebooted ${rebooted}, off observed ${sawOff})`));
    return 1;
  } finally {
    if (lab) {
      await lab.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }
}

/** The demo's second half: what to run before a node fails. audit, plan, and verify-wiring on a survivor. */
async function beforeYouNeedIt(lab: Lab, topology: Topology, p: Printer): Promise<boolean> {
  const survivor = lab.nodes[1]!;
  p.line(`\n${p.style('bold', '5. before you need it: fencekit audit')} (what would make a fence fail; here: every node has a BMC and both PDU outlets)`);
  const audited = await auditCommand(topology, { clusterNetworks: [], json: false }, p);
  p.line(`\n${p.style('bold', `6. fencekit plan ${survivor.name} --live`)} (what a fence would do, touching nothing)`);
  const planned = await planCommand(topology, survivor.name, { action: 'reboot', json: false, live: true }, p);
  const pid = survivor.pid();
  p.line(`\n${p.style('bold', `7. fencekit verify-wiring ${survivor.name} --yes`)} (each outlet off and on in turn, watched through the BMC's power-supply sensors)`);
  const wired = await verifyWiringCommand(topology, survivor.name, { yes: true, json: false, timeoutSeconds: 120, settleSeconds: 10 }, p);
  const kept = survivor.pid() === pid;
  p.line(kept ? `${survivor.name} kept running as PID ${pid} throughout.` : p.style('red', `${survivor.name} lost power during verify-wiring!`));
  p.line('\nTo keep a lab running and try it yourself: fencekit lab up (add --miswire to see verify-wiring catch swapped cables)');
  return audited === 0 && planned === 0 && wired === 0 && kept;
}
