// The failover scenario, shared by test/pacemaker/failover.test.ts and bench/failover.ts: a two-node
// cluster in namespaces whose node2 is powered by a BMC (ipmi_sim; its chassis is node2) and by two PDU
// outlets (snmpd + PowerNet-MIB; one per power supply). The fencing configuration is `fencekit export
// cib` of a topology: level 1 the BMC, level 2 both outlets. Killing node2's corosync must make node1
// fence node2 by itself, and `stonith_admin --history node2` must record it.
//
// With devices: 'fence-agents' the same CIB runs Debian's fence_ipmilan and fence_apc_snmp instead of
// fence_kit_ipmi and fence_kit_apc (fencekit is their drop-in peer: same parameters), for comparison.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startIpmiSim, type IpmiSim } from '../peers/ipmi-sim.js';
import { startPdu, type PduPeer } from '../peers/snmpd-pdu.js';
import { FENCEKIT, installLaunchers, uninstallLaunchers } from './agents.js';
import { MGMT_HOST, NODE_POWER, startCluster, type Cluster, type ClusterNode } from './cluster.js';
import { explain, run, sleep, waitFor } from './proc.js';

export type DeviceFamily = 'fencekit' | 'fence-agents';

/** The cluster's fencing timeout: bounds level 1 against a frozen BMC (Pacemaker lifts the agents' own). */
export const STONITH_TIMEOUT_S = 20;

export interface FailoverLab {
  readonly cluster: Cluster;
  readonly bmc: IpmiSim;
  readonly pdus: readonly [PduPeer, PduPeer];
  readonly cib: string;
  readonly devices: DeviceFamily;
  stop(): Promise<void>;
}

export interface FenceStep {
  readonly action: string;
  readonly device: string;
  readonly ok: boolean;
  readonly line: string;
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
}

function topologyYaml(bmcPort: number, pduPorts: readonly [number, number], passwordFile: string): string {
  return [
    '# Written by test/pacemaker/failover.ts: node2 is powered by its BMC (level 1) and two PDU outlets (level 2).',
    'devices:',
    '  node2-bmc:',
    '    agent: fence_kit_ipmi',
    `    ip: ${MGMT_HOST}`,
    `    ipport: ${bmcPort}`,
    '    username: admin',
    `    password: { file: ${passwordFile} }`,
    '    lanplus: 1',
    // ipmi_sim never answers ipmitool's cipher-suite probe (10 s lost per fence_ipmilan call): both get 3.
    '    cipher: 3',
    ...(['a', 'b'] as const).flatMap((x, i) => [
      `  pdu-${x}:`,
      '    agent: fence_kit_apc',
      `    ip: ${MGMT_HOST}`,
      `    ipport: ${pduPorts[i]}`,
      '    snmp_version: 2c',
      '    community: { env: FK_PDU_COMMUNITY }',
    ]),
    'nodes:',
    '  node2:',
    '    - [node2-bmc]',
    '    - [pdu-a:2, pdu-b:2]',
    '',
  ].join('\n');
}

/** fencekit's agents are drop-in peers: the fence-agents run of the scenario changes only the types. */
export function asFenceAgents(cib: string): string {
  return cib.replace(/type="fence_kit_ipmi"/g, 'type="fence_ipmilan"').replace(/type="fence_kit_apc"/g, 'type="fence_apc_snmp"');
}

async function must(what: string, r: ReturnType<typeof run> | Awaited<ReturnType<typeof run>>, argv: readonly string[] = [what]): Promise<string> {
  const res = await r;
  if (res.code !== 0) throw new Error(explain(argv, res));
  return res.stdout;
}

export async function startFailoverLab(devices: DeviceFamily): Promise<FailoverLab> {
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
    const cluster = await startCluster();
    stops.push(() => cluster.stop());
    const node2 = cluster.node('node2');
    const chassisScript = `#!/bin/bash\n# ipmi_sim chassis_control: this BMC's chassis is cluster node2\n[[ $1 == 0x* ]] && shift\ncase "$1 $2" in\n  "get power") exec ${NODE_POWER} ${node2.dir} get chassis ;;\n  "set power") exec ${NODE_POWER} ${node2.dir} set chassis "$3" ;;\n  "set reset") ${NODE_POWER} ${node2.dir} set chassis 0; exec ${NODE_POWER} ${node2.dir} set chassis 1 ;;\n  "set shutdown") exec ${NODE_POWER} ${node2.dir} set chassis 0 ;;\nesac\n`;
    const bmc = await startIpmiSim({ hostOn: false, chassisScript });
    stops.push(() => bmc.stop());
    const pdu = async (psu: 'psu-a' | 'psu-b') => {
      const p = await startPdu({ outlets: 2, names: ['node1', 'node2'], outletHooks: [null, [NODE_POWER, node2.dir, 'set', psu]] });
      stops.push(() => p.stop());
      return p;
    };
    const pdus = [await pdu('psu-a'), await pdu('psu-b')] as const;
    const bmcRelay = await cluster.relay({ host: bmc.host, port: bmc.port });
    const pduRelays = [await cluster.relay({ host: pdus[0].host, port: pdus[0].port }), await cluster.relay({ host: pdus[1].host, port: pdus[1].port })] as const;

    const passwordFile = join(scratch, 'bmc.pw');
    writeFileSync(passwordFile, `${bmc.users.admin.password}\n`, { mode: 0o600 });
    const topology = join(scratch, 'topology.yaml');
    writeFileSync(topology, topologyYaml(bmcRelay.port, [pduRelays[0].port, pduRelays[1].port], passwordFile));
    // The community must land in the CIB as a value (fence_apc_snmp has no community_script).
    const exported = await must('fencekit export cib', run([FENCEKIT, '--topology', topology, 'export', 'cib', '--with-secrets'], { env: { ...process.env, FK_PDU_COMMUNITY: pdus[0].communities.rw } }));
    const cib = devices === 'fencekit' ? exported : asFenceAgents(exported);
    const cibFile = join(scratch, 'fencing.xml');
    writeFileSync(cibFile, cib);

    await cluster.waitOnline(['node1', 'node2'], 90_000);
    const node1 = cluster.node('node1');
    const inNode1 = (argv: string[]) => must(argv[0]!, node1.exec(argv), argv);
    await inNode1(['cibadmin', '--modify', '--scope', 'configuration', '--xml-file', cibFile]);
    await inNode1(['crm_attribute', '--type', 'crm_config', '--name', 'stonith-timeout', '--update', `${STONITH_TIMEOUT_S}s`]);
    await inNode1(['crm_attribute', '--type', 'crm_config', '--name', 'stonith-enabled', '--update', 'true']);
    // Ready when node1's fencer has every device and they all run (start = register + monitor).
    await waitFor('fencing devices registered on node1 and started', async () => {
      const reg = await node1.exec(['stonith_admin', '--list-registered']);
      const mon = await node1.exec(['crm_mon', '-1', '--output-as', 'xml']);
      const started = (mon.stdout.match(/<resource id="(node2-bmc|pdu-a|pdu-b)"[^>]* role="Started"[^>]* failed="false"/g) ?? []).length;
      return ['node2-bmc', 'pdu-a', 'pdu-b'].every((d) => reg.stdout.includes(d)) && started === 3;
    }, 60_000, 500);
    return { cluster, bmc, pdus, cib, devices, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** The successful fencing events recorded for node2 (Pacemaker 2.1.5 keeps one entry per action and updates its time). */
const successes = (historyXml: string) => (historyXml.match(/<fence_event [^>]*status="success"[^>]*>/g) ?? []);

function fenceSteps(log: string): FenceStep[] {
  const steps: FenceStep[] = [];
  for (const line of log.split('\n')) {
    if (!line.includes('(log_async_result)')) continue;
    const m = line.match(/Operation '(\w+)' (?:\[\d+\] )?targeting node2 using (\S+) (.*)$/);
    if (m) steps.push({ action: m[1]!, device: m[2]!, ok: /^returned 0\b/.test(m[3]!), line: line.trim() });
  }
  return steps;
}

/** Kill node2's corosync (by PID, found among node2's own processes) and time node1's fencing of node2. */
export async function killAndMeasure(lab: FailoverLab, timeoutMs = 150_000): Promise<FailoverResult> {
  const node1 = lab.cluster.node('node1');
  const node2 = lab.cluster.node('node2');
  const history = async () => (await node1.exec(['stonith_admin', '--history', 'node2', '--verbose', '--output-as', 'xml'], { timeoutMs: 10_000 })).stdout;
  const before = successes(await history()).join('\n');
  const logFile = join(node1.dir, 'var/log/pacemaker/pacemaker.log');
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
  const completed = successes(last).at(-1)!.match(/completed="([^"]+)"/)?.[1];
  const completedMs = completed ? Date.parse(completed) - killedAt : undefined;
  // The fencer logs its last result just before the history update; give the log a moment.
  await sleep(300);
  return {
    killToRecordedMs: recordedMs,
    killToCompletedMs: completedMs !== undefined && Number.isFinite(completedMs) ? completedMs : undefined,
    steps: fenceSteps(readFileSync(logFile, 'utf8').slice(logOffset)),
    powerEvents: node2.events().slice(eventsOffset).split('\n').filter(Boolean),
    history: last,
    killedCorosync: corosync,
  };
}

/**
 * node2 back in the cluster (it rebooted after the fence) before the next round. node1's own view is not
 * enough: right after the recorded fence its CIB can still say node2 is online, and a round started then
 * kills the corosync node2 is just booting, before it ever rejoins, so nothing is fenced. Wait for a new
 * corosync on node2 and for node2's own Pacemaker to see both nodes and a DC (it can only after joining).
 */
export async function waitNode2Back(lab: FailoverLab, after: FailoverResult, timeoutMs = 90_000): Promise<void> {
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
