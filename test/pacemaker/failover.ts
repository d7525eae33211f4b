// The failover scenario, shared by test/pacemaker/failover.test.ts and bench/failover.ts: a two-node
// cluster in namespaces where each node is powered by a BMC of its own (ipmi_sim; its chassis is that
// node) and by two PDU outlets (snmpd + PowerNet-MIB; outlet N of each PDU feeds one power supply of
// nodeN). The fencing configuration, timeouts and fence-race delay included, is `fencekit export cib` of
// a topology: level 1 the node's BMC, level 2 both its outlets. Killing node2's corosync must make node1
// fence node2 by itself, and `stonith_admin --history node2` must record it. Cutting the cluster link
// (split brain) makes both fence each other: the exported delay must leave exactly one survivor.
//
// With devices: 'fence-agents' the same CIB runs Debian's fence_ipmilan and fence_apc_snmp instead of
// fence_kit_ipmi and fence_kit_apc_snmp (fencekit is their drop-in peer: same parameters), for comparison.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startIpmiSim, type IpmiSim } from '../peers/ipmi-sim.js';
import { startPdu, type PduPeer } from '../peers/snmpd-pdu.js';
import { injectLoss, type NetFault } from '../support/net-faults.js';
import { FENCEKIT, installLaunchers, uninstallLaunchers } from './agents.js';
import { MGMT_HOST, NODE_POWER, pacemakerLogFile, startCluster, type Cluster, type ClusterNode, type ClusterOptions } from './cluster.js';
import { explain, run, sleep, waitFor } from './proc.js';

export type DeviceFamily = 'fencekit' | 'fence-agents';

/** How export is asked to protect the two nodes against a fence race: its default, or none (the control). */
export type RaceOption = 'default' | 'none';

/** node2's BMC: answering, frozen (SIGSTOP: the port is open, nothing answers), or powered off with its node (every packet to it dropped: no answer, no ICMP). */
export type BmcState = 'answering' | 'frozen' | 'powered-off';

export interface FailoverLab {
  readonly cluster: Cluster;
  /** node2's BMC. */
  readonly bmc: IpmiSim;
  /** node1's BMC. */
  readonly bmc1: IpmiSim;
  readonly pdus: readonly [PduPeer, PduPeer];
  readonly cib: string;
  /** The topology.yaml the CIB was exported from (its password file and FK_PDU_COMMUNITY stay valid until stop()). */
  readonly topology: string;
  /** What `fencekit export cib` said on stderr (the fence-race choice). */
  readonly exportNotice: string;
  readonly devices: DeviceFamily;
  /** The stonith-timeout export wrote, in seconds. */
  readonly stonithTimeoutS: number;
  /** Put node2's BMC in `state` (undoing the previous one). */
  setBmc(state: BmcState): void;
  stop(): Promise<void>;
}

export interface FenceStep {
  readonly action: string;
  readonly device: string;
  readonly ok: boolean;
  readonly line: string;
  /** Milliseconds from node1's request to this device to its result, from the fencer's log. */
  readonly ms: number | undefined;
}

export interface FailoverResult {
  /** Kill of node2's corosync → success first visible in node1's `stonith_admin --history node2`. */
  readonly killToRecordedMs: number;
  /** The same, from the `completed` time Pacemaker recorded. */
  readonly killToCompletedMs: number | undefined;
  /** What node1's fencer ran, in order, from its log. */
  readonly steps: readonly FenceStep[];
  /** node2's power changes as its power model saw them. */
  readonly powerEvents: readonly string[];
  readonly history: string;
  /** The corosync killed (node2's, by PID). */
  readonly killedCorosync: number;
  /** When it was killed (epoch ms). */
  readonly killedAtMs: number;
}

function topologyYaml(bmcPorts: readonly [number, number], pduPorts: readonly [number, number], passwordFile: string, race: RaceOption): string {
  return [
    '# Written by test/pacemaker/failover.ts: each node is powered by its BMC (level 1) and two PDU outlets (level 2).',
    'devices:',
    ...([1, 2] as const).flatMap((n, i) => [
      `  node${n}-bmc:`,
      '    agent: fence_kit_ipmi',
      `    ip: ${MGMT_HOST}`,
      `    ipport: ${bmcPorts[i]}`,
      '    username: admin',
      `    password: { file: ${passwordFile} }`,
      '    lanplus: 1',
      // ipmi_sim never answers ipmitool's cipher-suite probe (10 s lost per fence_ipmilan call): both get 3.
      '    cipher: 3',
    ]),
    ...(['a', 'b'] as const).flatMap((x, i) => [
      `  pdu-${x}:`,
      '    agent: fence_kit_apc_snmp',
      `    ip: ${MGMT_HOST}`,
      `    ipport: ${pduPorts[i]}`,
      '    snmp_version: 2c',
      '    community: { env: FK_PDU_COMMUNITY }',
    ]),
    // node1 first: with two nodes export's default fence-race protection makes the first node the survivor.
    'nodes:',
    '  node1:',
    '    - [node1-bmc]',
    '    - [pdu-a:1, pdu-b:1]',
    '  node2:',
    '    - [node2-bmc]',
    '    - [pdu-a:2, pdu-b:2]',
    ...(race === 'none' ? ['cluster:', '  fence_race: none'] : []),
    '',
  ].join('\n');
}

/** fencekit's agents are drop-in peers: the fence-agents run of the scenario changes only the types. */
export function asFenceAgents(cib: string): string {
  return cib.replace(/type="fence_kit_ipmi"/g, 'type="fence_ipmilan"').replace(/type="fence_kit_apc_snmp"/g, 'type="fence_apc_snmp"');
}

async function must(what: string, r: ReturnType<typeof run> | Awaited<ReturnType<typeof run>>, argv: readonly string[] = [what]): Promise<string> {
  const res = await r;
  if (res.code !== 0) throw new Error(explain(argv, res));
  return res.stdout;
}

export async function startFailoverLab(devices: DeviceFamily, race: RaceOption = 'default', clusterOptions: ClusterOptions = {}): Promise<FailoverLab> {
  const scratch = mkdtempSync(join(tmpdir(), 'fk-failover-'));
  const stops: (() => Promise<unknown>)[] = [async () => rmSync(scratch, { recursive: true, force: true })];
  const stop = async () => {
    for (const s of stops.splice(0).reverse()) await s().catch(() => undefined);
  };
  try {
    if (devices === 'fencekit') {
      await must('fencekit install', installLaunchers());
      stops.push(() => uninstallLaunchers());
    }
    const cluster = await startCluster(clusterOptions);
    stops.push(() => cluster.stop());
    const [node1, node2] = [cluster.node('node1'), cluster.node('node2')];
    const chassisScript = (node: ClusterNode) =>
      `#!/bin/bash\n# ipmi_sim chassis_control: this BMC's chassis is cluster ${node.name}\n[[ $1 == 0x* ]] && shift\ncase "$1 $2" in\n  "get power") exec ${NODE_POWER} ${node.dir} get chassis ;;\n  "set power") exec ${NODE_POWER} ${node.dir} set chassis "$3" ;;\n  "set reset") ${NODE_POWER} ${node.dir} set chassis 0; exec ${NODE_POWER} ${node.dir} set chassis 1 ;;\n  "set shutdown") exec ${NODE_POWER} ${node.dir} set chassis 0 ;;\nesac\n`;
    const bmc1 = await startIpmiSim({ hostOn: false, chassisScript: chassisScript(node1) });
    stops.push(() => bmc1.stop());
    // Every ipmi_sim has the same accounts: one password file serves both devices.
    const bmc = await startIpmiSim({ hostOn: false, chassisScript: chassisScript(node2) });
    stops.push(() => bmc.stop());
    const pdu = async (psu: 'psu-a' | 'psu-b') => {
      const p = await startPdu({ outlets: 2, names: ['node1', 'node2'], outletHooks: [[NODE_POWER, node1.dir, 'set', psu], [NODE_POWER, node2.dir, 'set', psu]] });
      stops.push(() => p.stop());
      return p;
    };
    const pdus = [await pdu('psu-a'), await pdu('psu-b')] as const;
    const bmcRelays = [await cluster.relay({ host: bmc1.host, port: bmc1.port }), await cluster.relay({ host: bmc.host, port: bmc.port })] as const;
    const pduRelays = [await cluster.relay({ host: pdus[0].host, port: pdus[0].port }), await cluster.relay({ host: pdus[1].host, port: pdus[1].port })] as const;

    const passwordFile = join(scratch, 'bmc.pw');
    writeFileSync(passwordFile, `${bmc.users.admin.password}\n`, { mode: 0o600 });
    const topology = join(scratch, 'topology.yaml');
    const topologyText = topologyYaml([bmcRelays[0].port, bmcRelays[1].port], [pduRelays[0].port, pduRelays[1].port], passwordFile, race);
    writeFileSync(topology, topologyText);
    // The community must land in the CIB as a value (fence_apc_snmp has no community_script).
    const exportArgv = [FENCEKIT, '--topology', topology, 'export', 'cib', '--with-secrets'];
    const exportRun = await run(exportArgv, { env: { ...process.env, FK_PDU_COMMUNITY: pdus[0].communities.rw } });
    const exported = await must('fencekit export cib', exportRun, exportArgv);
    const cib = devices === 'fencekit' ? exported : asFenceAgents(exported);
    const stonithTimeoutS = Number(/name="stonith-timeout" value="(\d+)s"/.exec(exported)?.[1]);
    if (!(stonithTimeoutS > 0)) throw new Error(`export cib wrote no stonith-timeout:\n${exported}`);
    let fault: NetFault | undefined;
    stops.push(async () => fault?.remove());
    const setBmc = (state: BmcState) => {
      bmc.thaw();
      fault?.remove();
      fault = undefined;
      if (state === 'frozen') bmc.freeze();
      // Powered off: nothing reaches the BMC and nothing comes back, not even ICMP port unreachable
      // (which a stopped ipmi_sim with its port closed would give). The relay's packets to it are dropped.
      if (state === 'powered-off') fault = injectLoss({ ports: [bmc.port], percent: 100 });
    };
    const cibFile = join(scratch, 'fencing.xml');
    writeFileSync(cibFile, cib);

    await cluster.waitOnline(['node1', 'node2'], 90_000);
    const inNode1 = (argv: string[]) => must(argv[0]!, node1.exec(argv), argv);
    // Everything Pacemaker needs about fencing, stonith-timeout included, comes from the exported CIB.
    await inNode1(['cibadmin', '--modify', '--scope', 'configuration', '--xml-file', cibFile]);
    await inNode1(['crm_attribute', '--type', 'crm_config', '--name', 'stonith-enabled', '--update', 'true']);
    // Ready when both fencers have every device and they all run (start = register + monitor).
    const all = ['node1-bmc', 'node2-bmc', 'pdu-a', 'pdu-b'];
    await waitFor('fencing devices registered on both nodes and started', async () => {
      const mon = await node1.exec(['crm_mon', '-1', '--output-as', 'xml']);
      const started = (mon.stdout.match(/<resource id="(node[12]-bmc|pdu-a|pdu-b)"[^>]* role="Started"[^>]* failed="false"/g) ?? []).length;
      if (started !== all.length) return false;
      for (const n of [node1, node2]) {
        const reg = await n.exec(['stonith_admin', '--list-registered']);
        if (!all.every((d) => reg.stdout.includes(d))) return false;
      }
      return true;
    }, 60_000, 500);
    return { cluster, bmc, bmc1, pdus, cib, topology: topologyText, exportNotice: exportRun.stderr.trim(), devices, stonithTimeoutS, setBmc, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** The successful fencing events recorded for node2 (Pacemaker 2.1.5 keeps one entry per action and updates its time). */
const successes = (historyXml: string) => (historyXml.match(/<fence_event [^>]*status="success"[^>]*>/g) ?? []);

/** A pacemaker.log line's time of day in ms ("Nov 05 19:20:01.456 node1 ..."), or undefined. */
function logTimeMs(line: string): number | undefined {
  const m = /^\w{3} \d{1,2} (\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?/.exec(line);
  if (!m) return undefined;
  return ((Number(m[1]) * 60 + Number(m[2])) * 60 + Number(m[3])) * 1000 + (m[4] ? Math.round(Number(`0.${m[4]}`) * 1000) : 0);
}

/** What a fencer ran against `target`, in order, each with the time from its request to its result. */
export function fenceSteps(log: string, target = 'node2'): FenceStep[] {
  const steps: FenceStep[] = [];
  const requested = new Map<string, number>();
  for (const line of log.split('\n')) {
    const req = line.match(new RegExp(`Requesting that \\S+ perform '(\\w+)' action targeting ${target} using (\\S+)`));
    if (req) {
      const t = logTimeMs(line);
      if (t !== undefined) requested.set(`${req[1]} ${req[2]}`, t);
      continue;
    }
    if (!line.includes('(log_async_result)')) continue;
    const m = line.match(new RegExp(`Operation '(\\w+)' (?:\\[\\d+\\] )?targeting ${target} using (\\S+) (.*)$`));
    if (!m) continue;
    const start = requested.get(`${m[1]} ${m[2]}`);
    const end = logTimeMs(line);
    steps.push({ action: m[1]!, device: m[2]!, ok: /^returned 0\b/.test(m[3]!), line: line.trim(), ms: start !== undefined && end !== undefined ? end - start : undefined });
  }
  return steps;
}

/** Kill node2's corosync (by PID, found among node2's own processes) and time node1's fencing of node2. */
export async function killAndMeasure(lab: FailoverLab, timeoutMs = 150_000): Promise<FailoverResult> {
  const node1 = lab.cluster.node('node1');
  const node2 = lab.cluster.node('node2');
  const history = async () => (await node1.exec(['stonith_admin', '--history', 'node2', '--verbose', '--output-as', 'xml'], { timeoutMs: 10_000 })).stdout;
  const before = successes(await history()).join('\n');
  const logFile = pacemakerLogFile(node1);
  const logOffset = readFileSync(logFile).length;
  const eventsOffset = node2.events().length;
  const corosync = node2.corosyncPid();
  if (!corosync) throw new Error(`node2 has no corosync; its processes: ${node2.pids().join(' ')}`);
  const killedAt = Date.now();
  process.kill(corosync, 'SIGKILL');
  let last = '';
  await waitFor('node1 to record a successful fencing of node2', async () => {
    last = await history();
    const now = successes(last);
    return now.length > 0 && now.join('\n') !== before;
  }, timeoutMs, 100).catch((err: Error) => {
    throw new Error(`${err.message}\nhistory: ${last}\nnode1 log:\n${node1.pacemakerLog(6000)}\nnode2 power:\n${node2.events().slice(eventsOffset)}`);
  });
  const recordedMs = Date.now() - killedAt;
  // The newest success: stonith_admin lists the history newest first, and earlier rounds' fences are in it.
  const completedTimes = successes(last).map((s) => Date.parse(s.match(/completed="([^"]+)"/)?.[1] ?? '')).filter(Number.isFinite);
  const completedMs = completedTimes.length > 0 ? Math.max(...completedTimes) - killedAt : undefined;
  // The fencer logs its last result just before the history update; give the log a moment.
  await sleep(300);
  return {
    killToRecordedMs: recordedMs,
    killToCompletedMs: completedMs !== undefined && Number.isFinite(completedMs) ? completedMs : undefined,
    steps: fenceSteps(readFileSync(logFile, 'utf8').slice(logOffset)),
    powerEvents: node2.events().slice(eventsOffset).split('\n').filter(Boolean),
    history: last,
    killedCorosync: corosync,
    killedAtMs: killedAt,
  };
}

/**
 * node2 back in the cluster (it rebooted after the fence) before the next round. node1's own view is not
 * enough: right after the recorded fence its CIB can still say node2 is online, and a round started then
 * kills the corosync node2 is just booting, before it ever rejoins, so nothing is fenced. Wait for a new
 * corosync on node2 and for node2's own Pacemaker to see both nodes and a DC (it can only after joining).
 */
export async function waitNode2Back(lab: FailoverLab, after: Pick<FailoverResult, 'killedCorosync'>, timeoutMs = 90_000): Promise<void> {
  const node2 = lab.cluster.node('node2');
  const until = Date.now() + timeoutMs;
  await waitFor('a new corosync on node2', () => {
    const pid = node2.corosyncPid();
    return pid !== undefined && pid !== after.killedCorosync;
  }, timeoutMs, 100);
  await lab.cluster.waitOnline(['node1', 'node2'], Math.max(1000, until - Date.now()), node2);
  await lab.cluster.waitOnline(['node1', 'node2'], Math.max(1000, until - Date.now()));
}

export type { ClusterNode };

export interface SplitBrainResult {
  /** Nodes whose power was cut during the round, in the order their power went. */
  readonly fenced: readonly string[];
  readonly survivors: readonly string[];
  /** Link cut → the first node losing power. */
  readonly cutToFirstFenceMs: number | undefined;
  /** Each node's power changes during the round. */
  readonly powerEvents: Readonly<Record<string, readonly string[]>>;
}

const powerLostAt = (events: readonly string[]) => {
  const line = events.find((e) => / power-lost killed=/.test(e));
  return line ? Number(line.split(' ')[0]) * 1000 : undefined;
};

/**
 * Split brain: cut the cluster link (ring0 down on node1 takes the veth pair down for both) while both
 * nodes run, and see who loses power. Both nodes then think the other died and fence it; after the first
 * power loss the round waits `settleMs` for a second one, then restores the link, powers on whatever a
 * fence left off (a fencer that dies mid-reboot never powers its target back on) and waits until both
 * nodes are back in one cluster.
 */
export async function splitBrainRound(lab: FailoverLab, settleMs = 20_000, timeoutMs = 120_000): Promise<SplitBrainResult> {
  const nodes = lab.cluster.nodes;
  const offsets = nodes.map((n) => n.events().length);
  const corosyncs = nodes.map((n) => n.corosyncPid());
  const newEvents = () => nodes.map((n, i) => n.events().slice(offsets[i]).split('\n').filter(Boolean));
  const node1 = lab.cluster.node('node1');
  const cutAt = Date.now();
  await must('ip link set ring0 down', node1.exec(['ip', 'link', 'set', 'ring0', 'down']), ['ip', 'link', 'set', 'ring0', 'down']);
  try {
    await waitFor('a node to be fenced after the link cut', () => newEvents().some((e) => powerLostAt(e) !== undefined), timeoutMs, 100);
    await sleep(settleMs);
  } finally {
    await node1.exec(['ip', 'link', 'set', 'ring0', 'up']);
  }
  const events = newEvents();
  const lost = nodes.map((n, i) => ({ name: n.name, at: powerLostAt(events[i]!) })).filter((x) => x.at !== undefined);
  lost.sort((a, b) => a.at! - b.at!);
  // Power back whatever is still off, as an operator would after the round.
  for (const n of nodes) {
    const state = (f: string) => readFileSync(join(n.dir, f), 'utf8').trim();
    for (const f of ['psu-a', 'psu-b', 'chassis']) if (state(f) !== '1') await must(`power on ${n.name}`, run([NODE_POWER, n.dir, 'set', f, '1']), [NODE_POWER, n.dir, 'set', f, '1']);
  }
  const until = Date.now() + 150_000;
  for (const [i, n] of nodes.entries()) {
    if (!lost.some((x) => x.name === n.name)) continue;
    await waitFor(`a new corosync on ${n.name}`, () => {
      const pid = n.corosyncPid();
      return pid !== undefined && pid !== corosyncs[i];
    }, Math.max(1000, until - Date.now()), 100);
  }
  for (const n of nodes) await lab.cluster.waitOnline(['node1', 'node2'], Math.max(1000, until - Date.now()), n);
  return {
    fenced: lost.map((x) => x.name),
    survivors: nodes.map((n) => n.name).filter((name) => !lost.some((x) => x.name === name)),
    cutToFirstFenceMs: lost[0] ? lost[0].at! - cutAt : undefined,
    powerEvents: Object.fromEntries(nodes.map((n, i) => [n.name, events[i]!])),
  };
}
