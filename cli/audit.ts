// `fencekit audit`, `plan` and `verify-wiring`: knowing that fencing works before a node fails.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { FenceError } from '../lib/errors.js';
import { auditExitCode, auditTopology, deviceOptions, deviceRole, networkList, RULES, sortFindings, type AuditInput, type Finding, type LiveFacts } from '../lib/topology/audit.js';
import { defaultStatePath, describeProtocol, driftFindings, nextAuditState, readAuditState, writeAuditState, type AuditState, type DeviceFingerprint, type Identity, type ProtocolFingerprint } from '../lib/topology/drift.js';
import { silentLogger } from '../lib/log.js';
import type { Options } from '../lib/options/values.js';
import { parseCib, type Cib } from '../lib/topology/cib.js';
import { agentEnvironment, agentStdin, runAgentCall } from '../lib/topology/device-runner.js';
import { readOptions } from '../lib/agent/run.js';
import { parseStdin } from '../lib/options/parse.js';
import type { IpmiClient } from '../lib/ipmi/client.js';
import { isHealthy, readSensorRecords, readSupplies, type SupplyState } from '../lib/ipmi/sensors.js';
import { outletName, verifyWiring, type Outlet, type WiringIo } from '../lib/topology/verify-wiring.js';
import { SYS_DESCR, SYS_OBJECT_ID } from '../lib/snmp/oid.js';
import { sleep } from '../lib/timing.js';
import type { DeviceConfig, Topology } from '../lib/topology/file.js';
import type { TopologyAction } from '../lib/topology/levels.js';
import { planFence, protocolOf, type Plan, type PlanSources } from '../lib/topology/plan.js';
import { deadlineIn } from '../lib/timing.js';
import { agentByName, bmcSettingsOf, snmpOptionsOf } from '../agents/registry.js';
import { BIN_DIR, levelsOf, readCibXml } from './commands.js';
import { Printer } from './output.js';

/** Where Pacemaker keeps the CIB on a cluster node: its presence says "this is a cluster node". */
const CIB_ON_DISK = '/var/lib/pacemaker/cib/cib.xml';

/** The CIB to compare: --cib FILE, else the running cluster's (cibadmin --query) on a cluster node, else none. */
/** The CIB audit reads: --cib FILE (or live), else the running cluster's when this is a cluster node, else none. */
export async function readCib(source: string | undefined): Promise<Cib | undefined> {
  if (source === undefined && !existsSync(CIB_ON_DISK)) return undefined;
  const from = source ?? 'live';
  return parseCib(await readCibXml(from), from === 'live' ? 'cibadmin --query' : from);
}

export interface AuditOptions {
  readonly cib?: string;
  readonly clusterNetworks: readonly string[];
  readonly json: boolean;
  /** --live: facts read from the devices (monitor, latency, identity, power supplies). */
  readonly live?: (topology: Topology) => Promise<LiveResult>;
  /** --state: where --live keeps the fingerprints drift is found against (default: defaultStatePath). */
  readonly state?: string;
}

export interface LiveDeviceReport {
  readonly device: string;
  readonly ok: boolean;
  readonly message: string;
  readonly ms: number;
  readonly identity?: Readonly<Record<string, string>>;
}

export async function auditCommand(topology: Topology, opts: AuditOptions, p = new Printer()): Promise<number> {
  try {
    networkList(opts.clusterNetworks);
  } catch (err) {
    throw new FenceError('bad-input', `--cluster-network: ${(err as Error).message}`);
  }
  const cib = await readCib(opts.cib);
  const live = opts.live ? await opts.live(topology) : undefined;
  const input: AuditInput = { topology, cib, clusterNetworks: opts.clusterNetworks, lookupAgent: agentByName, ...(live ? { live: live.facts } : {}) };
  const drift = live ? recordDrift(topology, opts.state ?? defaultStatePath(topology.path), live.fingerprints) : undefined;
  const findings = sortFindings([...auditTopology(input), ...(drift?.findings ?? [])]);
  // A device that does not answer is a finding of its own under --live: it cannot fence today.
  const down = (live?.report ?? []).filter((r) => !r.ok);
  const code = down.length > 0 ? 1 : auditExitCode(findings);
  if (opts.json) {
    p.line(JSON.stringify({ topology: topology.path, cib: cib ? (opts.cib ?? 'cibadmin --query') : null, exitCode: code, findings: findings.map(withRule), ...(live ? { live: live.report.map((r) => ({ ...r, ...(live.fingerprints.has(r.device) ? { fingerprint: live.fingerprints.get(r.device) } : {}) })) } : {}), ...(drift ? { drift: drift.summary } : {}) }));
    return code;
  }
  for (const f of findings) printFinding(p, f);
  for (const r of live?.report ?? []) {
    const id = r.identity ? `  ${Object.entries(r.identity).map(([k, v]) => `${k}=${v}`).join(' ')}` : '';
    p.line(`${r.ok ? p.style('green', 'live   ') : p.style('red', 'DOWN   ')} device ${r.device}: ${r.message} (${r.ms} ms)${id}`);
  }
  if (drift) {
    const d = drift.summary;
    p.line(p.style('dim', `drift: ${d.comparedWith ? `compared with the live audit of ${d.comparedWith}` : 'nothing to compare with (first live audit)'}; ${d.written ? 'recorded in' : 'NOT recorded in'} ${d.state}`));
  }
  const errors = findings.filter((f) => f.severity === 'error').length + down.length;
  const warnings = findings.filter((f) => f.severity === 'warning').length;
  const infos = findings.filter((f) => f.severity === 'info').length;
  const summary = `${errors} error${errors === 1 ? '' : 's'}, ${warnings} warning${warnings === 1 ? '' : 's'}${infos ? `, ${infos} info` : ''} (${topology.nodes.size} nodes, ${topology.devices.size} devices${cib ? ', compared with the CIB' : ''})`;
  p.line(errors ? p.style('red', summary) : warnings ? p.style('yellow', summary) : p.style('green', summary));
  return code;
}

const withRule = (f: Finding) => ({ ...f, statement: RULES[f.rule].rule, fix: RULES[f.rule].fix });

/**
 * Drift against the last live run's state file, and this run recorded in it. A state that cannot be read,
 * is not one this code wrote, or belongs to another topology file is a finding of its own (drift would go
 * unseen) and is left as it is: --state may name a file by mistake, and nothing but a state is overwritten.
 */
function recordDrift(topology: Topology, statePath: string, fingerprints: ReadonlyMap<string, DeviceFingerprint>): { findings: Finding[]; summary: { state: string; comparedWith: string | null; written: boolean } } {
  const findings: Finding[] = [];
  const problem = (message: string) => findings.push({ rule: 'audit-state', severity: RULES['audit-state'].severity, subject: `state ${statePath}`, message });
  const untouched = { findings, summary: { state: statePath, comparedWith: null, written: false } };
  const topologyPath = resolve(topology.path);
  let previous: AuditState | undefined;
  try {
    previous = readAuditState(statePath);
  } catch (err) {
    problem(`${(err as Error).message}; nothing compared or written (remove it, and the next live audit writes it anew, or name another file with --state)`);
    return untouched;
  }
  if (previous && previous.topology !== topologyPath) {
    problem(`it records the devices of ${previous.topology}, not ${topologyPath}; nothing compared or written (name another file with --state)`);
    return untouched;
  }
  findings.push(...driftFindings(previous, fingerprints));
  let written = false;
  try {
    writeAuditState(statePath, nextAuditState(topologyPath, [...topology.devices.keys()], previous, fingerprints));
    written = true;
  } catch (err) {
    problem(`cannot write it: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}; the next live audit cannot find drift`);
  }
  return { findings, summary: { state: statePath, comparedWith: previous?.at ?? null, written } };
}

function printFinding(p: Printer, f: Finding): void {
  const tag = f.severity === 'error' ? p.style('red', 'ERROR  ') : f.severity === 'warning' ? p.style('yellow', 'WARNING') : p.style('dim', 'INFO   ');
  p.line(`${tag} ${f.subject}: ${f.message}`);
  p.line(p.style('dim', `        rule ${f.rule}: ${RULES[f.rule].rule}`));
  p.line(p.style('dim', `        fix: ${RULES[f.rule].fix}`));
}

/** --live plug resolution: the device's own read-only `list-status`, as `id,alias,STATE` lines. */
export function listThroughAgent(topology: Topology, timeoutSeconds: number): (device: DeviceConfig) => Promise<{ id: string; alias: string }[]> {
  const environment = agentEnvironment(topology.devices.values());
  return async (device) => {
    const r = await runAgentCall(BIN_DIR, { device, action: 'list-status', plugs: [], deadline: deadlineIn(timeoutSeconds * 1000) }, environment);
    if (!r.ok) throw new Error(r.message);
    return r.stdout
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean)
      .map((l) => {
        const [id, alias] = l.split(',');
        return { id: id ?? '', alias: alias ?? '' };
      });
  };
}

export interface PlanCommandOptions {
  readonly action: TopologyAction;
  readonly json: boolean;
  readonly live: boolean;
  readonly bound?: PlanSources['bound'];
}

export async function planCommand(topology: Topology, node: string, opts: PlanCommandOptions, p = new Printer()): Promise<number> {
  const plan = await planFence(node, levelsOf(topology, node), opts.action, {
    devices: topology.devices,
    ...(opts.live ? { listPlugs: listThroughAgent(topology, 20) } : {}),
    ...(opts.bound ? { bound: opts.bound } : {}),
  });
  const unresolved = plan.levels.flatMap((l) => l.devices.flatMap((d) => d.plugs.filter((x) => x.problem !== undefined)));
  if (opts.json) p.line(JSON.stringify(plan));
  else printPlan(p, plan, opts.live);
  return unresolved.length > 0 ? 1 : 0;
}

function printPlan(p: Printer, plan: Plan, live: boolean): void {
  p.line(p.style('bold', `plan: ${plan.action} ${plan.node}`) + p.style('dim', ` (${plan.levels.length} level${plan.levels.length === 1 ? '' : 's'}; nothing is changed${live ? '; plugs read from the devices' : ''})`));
  for (const level of plan.levels) {
    p.line(p.style('bold', `level ${level.index}`) + (level.boundSeconds !== undefined ? p.style('dim', ` (at most ${level.boundSeconds} s)`) : '') + (level.index > 1 ? p.style('dim', ' — only if every level before it failed') : ''));
    for (const d of level.devices) {
      const plugs = d.plugs
        .map((x) => (x.problem ? p.style('red', `${x.plug} (${x.problem})`) : x.id !== undefined ? `${x.plug} → ${x.id}${x.alias && x.alias !== x.plug ? ` "${x.alias}"` : ''}` : x.plug))
        .join(', ');
      p.line(`  ${d.device} (${d.agent}): ${d.protocol}${plugs ? `; plug ${plugs}` : ''}`);
      p.line(p.style('dim', `    ${Object.entries(d.timeouts).map(([k, v]) => `${k} ${v}`).join(', ')}${d.bound ? `; bound ${d.bound}` : ''}`));
    }
    for (const [i, s] of level.steps.entries()) {
      p.line(`  ${i + 1}. ${s.skipped ? p.style('yellow', `skip ${s.action}`) : s.action} ${s.device}${s.plugs.length ? `:${s.plugs.join(',')}` : ''}${s.skipped ? ` (${s.skipped})` : ''}`);
    }
  }
  if (plan.totalSeconds !== undefined) p.line(`total bound: ${plan.totalSeconds} s (every level in order, each at its worst)`);
}

/** The IPMI session to a node's BMC, opened from its device's options exactly as the agent would read them. */
async function openBmc(device: DeviceConfig, deadline: number): Promise<IpmiClient> {
  const { IpmiClient } = await import('../lib/ipmi/client.js');
  return IpmiClient.open(bmcSettingsOf(device.agent, agentOptions(device, deadline)).target, { deadline });
}

/** The node's BMC: the device of its levels that is its own IPMI controller. */
function bmcOf(topology: Topology, node: string): DeviceConfig | undefined {
  return topology.nodes
    .get(node)
    ?.levels.flatMap((l) => l.devices.map((d) => topology.devices.get(d.device)!))
    .find((d) => d.agent.name === 'fence_kit_ipmi' && deviceRole(d.agent) === 'node-power');
}

/** A node's power supplies through its BMC, SDR read once. */
export async function supplyReader(topology: Topology, node: string, deadline: number): Promise<{ read(): Promise<SupplyState[]>; power(): Promise<'on' | 'off'>; close(): Promise<void> }> {
  const device = bmcOf(topology, node);
  if (!device) throw new FenceError('bad-input', `node "${node}" has no fence_kit_ipmi device in its levels: its power supplies cannot be read`);
  const client = await openBmc(device, deadline);
  try {
    const records = await readSensorRecords(client);
    return { read: () => readSupplies(client, records), power: () => client.getChassisPower(), close: () => client.close() };
  } catch (err) {
    await client.close();
    throw err;
  }
}

async function confirm(question: string): Promise<boolean> {
  if (!process.stdin.isTTY) return false;
  const { createInterface } = await import('node:readline/promises');
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(`${question} [y/N] `)).trim());
  } finally {
    rl.close();
  }
}

export interface VerifyWiringOptions {
  readonly yes: boolean;
  readonly json: boolean;
  readonly timeoutSeconds: number;
  readonly settleSeconds: number;
}

export async function verifyWiringCommand(topology: Topology, node: string, opts: VerifyWiringOptions, p = new Printer()): Promise<number> {
  levelsOf(topology, node); // an unknown node fails here, before anything is opened
  const cfg = topology.nodes.get(node)!;
  const outlets: Outlet[] = [];
  for (const level of cfg.levels) {
    for (const d of level.devices) {
      if (deviceRole(topology.devices.get(d.device)!.agent) !== 'power-switch') continue;
      for (const plug of d.plugs) if (!outlets.some((o) => o.device === d.device && o.plug === plug)) outlets.push({ device: d.device, plug });
    }
  }
  if (outlets.length === 0) throw new FenceError('bad-input', `node "${node}" has no level with PDU outlets: nothing to verify`);
  if (!opts.yes && !(await confirm(`verify-wiring switches ${outlets.map(outletName).join(', ')} off and on again, one at a time, while ${node} runs. Go on?`))) {
    throw new FenceError('bad-input', 'verify-wiring switches outlets off: confirm on a terminal, or pass --yes');
  }
  const deadline = deadlineIn(opts.timeoutSeconds * 1000);
  const reader = await supplyReader(topology, node, deadline);
  const others: { name: string; reader?: Awaited<ReturnType<typeof supplyReader>> }[] = [...topology.nodes.keys()].filter((n) => n !== node && bmcOf(topology, n)).map((name) => ({ name }));
  const environment = agentEnvironment(topology.devices.values());
  const log = (line: string) => {
    if (!opts.json) p.line(line);
  };
  try {
    const io: WiringIo = {
      readSupplies: async () => (await reader.read()).map((s) => ({ name: s.name, healthy: isHealthy(s), inputLost: s.inputLost })),
      readPower: () => reader.power(),
      switchOutlet: async (o, state) => {
        const r = await runAgentCall(BIN_DIR, { device: topology.devices.get(o.device)!, action: state, plugs: [o.plug], nodename: node, deadline }, environment);
        if (!r.ok) throw new Error(r.message);
      },
      othersWithoutInput: async () => {
        const lost: string[] = [];
        for (const other of others) {
          try {
            other.reader ??= await supplyReader(topology, other.name, Math.min(deadline, Date.now() + 5000));
            if ((await other.reader.read()).some((s) => s.inputLost)) lost.push(other.name);
          } catch {
            // A BMC that does not answer cannot say where the outlet goes; the verdict stands without it.
          }
        }
        return lost;
      },
      sleep,
    };
    const result = await verifyWiring(node, outlets, io, { settleMs: opts.settleSeconds * 1000, pollMs: 250 }, (e) => {
      if (e.type === 'supplies') log(`${node}: ${e.supplies.map((s) => `${s.name} ${s.healthy ? 'healthy' : s.inputLost ? 'input lost' : 'not healthy'}`).join(', ')}`);
      if (e.type === 'outlet') log(`  ${e.state === 'off' ? 'off' : 'on '} ${e.outlet}`);
      if (e.type === 'verdict') log(e.verdict.ok ? p.style('green', `  ${e.verdict.outlet} feeds ${node} ${e.verdict.supply}`) : p.style('red', `  ${e.verdict.outlet}: ${e.verdict.problem}`));
    });
    if (opts.json) p.line(JSON.stringify(result));
    else {
      if (result.aborted) p.line(p.style('red', `not verified: ${result.aborted}`));
      for (const s of result.unfed) p.line(p.style('red', `${node} ${s} is fed by none of ${outlets.map(outletName).join(', ')}`));
      if (result.ok) p.line(p.style('green', `${node}: every outlet of its power level feeds it, one supply each (${result.outlets.length} proven)`));
      else if (!result.aborted) p.line(p.style('red', `${node}: the wiring does not match the topology (${result.outlets.filter((v) => !v.ok).map((v) => v.outlet).join(', ') || 'a supply left unfed'})`));
    }
    return result.ok ? 0 : 1;
  } finally {
    await reader.close();
    for (const o of others) await o.reader?.close();
  }
}

/**
 * A device's options as its agent reads them for `monitor` (stdin built from the topology, secrets included),
 * for read-only queries beside the agent: monitor, because it names no plug.
 */
function agentOptions(device: DeviceConfig, deadline: number): Options {
  const raw = parseStdin(agentStdin({ device, action: 'monitor', plugs: [], deadline }), device.agent.options);
  const { options, errors } = readOptions(device.agent, raw, device.agent.name);
  if (errors.length > 0) throw new FenceError('bad-input', `device "${device.name}": ${errors[0]}`);
  return options;
}


/** What a device says it is and how it was spoken to: read-only queries with the agent's own settings. */
interface DeviceIdentityRead {
  readonly address: string;
  readonly protocol?: ProtocolFingerprint;
  readonly identity?: Identity;
}

/** IPMI: Get Device ID in a session opened as the agent opens it; what the session negotiated. */
async function readBmcIdentity(device: DeviceConfig, deadline: number): Promise<Required<DeviceIdentityRead>> {
  const target = bmcSettingsOf(device.agent, agentOptions(device, deadline)).target;
  const { IpmiClient } = await import('../lib/ipmi/client.js');
  const client = await IpmiClient.open(target, { deadline });
  try {
    const id = await client.getDeviceId();
    const n = client.negotiated();
    const protocol: ProtocolFingerprint = n.version === '2.0' ? { family: 'ipmi', version: '2.0', cipherSuite: n.cipherSuite ?? -1 } : { family: 'ipmi', version: '1.5', authType: n.authType ?? 'unknown' };
    return {
      address: `${target.host}:${target.port ?? 623}`,
      protocol,
      identity: { manufacturer: String(id.manufacturerId), product: String(id.productId), deviceId: String(id.deviceId), firmware: id.firmware, ipmiVersion: id.ipmiVersion },
    };
  } finally {
    await client.close();
  }
}

/** SNMP: sysObjectID and sysDescr (SNMPv2-MIB system group), with the agent's version and credentials. */
async function readSnmpIdentity(device: DeviceConfig, deadline: number): Promise<Required<DeviceIdentityRead>> {
  const { snmpTargetFrom } = await import('../lib/options/snmp.js');
  const { SnmpClient, SnmpNoSuchObjectError } = await import('../lib/snmp/index.js');
  const options = snmpOptionsOf(device.agent, agentOptions(device, deadline));
  if (!options) throw new FenceError('internal', `device "${device.name}" does not speak SNMP`);
  const target = await snmpTargetFrom(options, silentLogger, deadline);
  const client = await SnmpClient.open(target, { deadline });
  try {
    const identity: Record<string, string> = {};
    for (const [key, oid] of [['sysObjectID', SYS_OBJECT_ID], ['sysDescr', SYS_DESCR]] as const) {
      try {
        const [v] = await client.get([oid]);
        if (v && v.value !== null) identity[key] = String(v.value);
      } catch (err) {
        if (!(err instanceof SnmpNoSuchObjectError)) throw err; // an agent without the object: nothing to compare
      }
    }
    const a = target.auth;
    const protocol: ProtocolFingerprint =
      a.version === '3'
        ? { family: 'snmp', version: '3', securityLevel: a.securityLevel, ...(a.authProtocol ? { authProtocol: a.authProtocol } : {}), ...(a.privProtocol ? { privProtocol: a.privProtocol } : {}) }
        : { family: 'snmp', version: a.version };
    return { address: `${target.host}:${target.port ?? 161}`, protocol, identity };
  } finally {
    client.close();
  }
}

/** Which read applies to a device: IPMI agents, SNMP agents (fence_kit_switch, fence_kit_apc_snmp); others have none. */
function identityReader(device: DeviceConfig): ((device: DeviceConfig, deadline: number) => Promise<Required<DeviceIdentityRead>>) | undefined {
  if (device.agent.name === 'fence_kit_ipmi') return readBmcIdentity;
  if (snmpOptionsOf(device.agent, deviceOptions(device))) return readSnmpIdentity;
  return undefined;
}

export interface LiveResult {
  readonly facts: LiveFacts;
  readonly report: readonly LiveDeviceReport[];
  /** Each answering device's fingerprint, for drift (lib/topology/drift.ts). */
  readonly fingerprints: ReadonlyMap<string, DeviceFingerprint>;
}

/**
 * `audit --live`: monitor on every device (as `check` does), with its latency; for IPMI and SNMP devices who
 * they say they are (Get Device ID; sysObjectID and sysDescr) and how they were spoken to (the negotiated
 * cipher suite, the SNMP version); each node's power-supply count from its BMC's sensor records.
 */
export function liveFacts(timeoutSeconds: number) {
  return async (topology: Topology): Promise<LiveResult> => {
    const deadline = deadlineIn(timeoutSeconds * 1000);
    const environment = agentEnvironment(topology.devices.values());
    const at = new Date().toISOString();
    const fingerprints = new Map<string, DeviceFingerprint>();
    const report = await Promise.all(
      [...topology.devices.values()].map(async (device): Promise<LiveDeviceReport> => {
        const r = await runAgentCall(BIN_DIR, { device, action: 'monitor', plugs: [], deadline }, environment);
        const identity: Record<string, string> = { protocol: protocolOf(device) };
        const reader = identityReader(device);
        let read: Partial<DeviceIdentityRead> = {};
        if (r.ok && reader) {
          try {
            read = await reader(device, Math.min(deadline, Date.now() + 10_000));
            Object.assign(identity, { negotiated: describeProtocol(read.protocol!) }, read.identity);
          } catch (err) {
            identity.identity = `unread: ${(err as Error).message}`;
          }
        }
        if (r.ok) {
          const o = device.options;
          const address = read.address ?? (o.ip !== undefined ? `${o.ip}${o.ipport !== undefined ? `:${o.ipport}` : ''}` : '');
          fingerprints.set(device.name, { agent: device.agent.name, address, ms: r.ms, ...(read.protocol ? { protocol: read.protocol } : {}), ...(read.identity ? { identity: read.identity } : {}), at });
        }
        return { device: device.name, ok: r.ok, message: r.ok ? 'answers' : r.message, ms: r.ms, identity };
      }),
    );
    const powerSupplies = new Map<string, number>();
    for (const node of topology.nodes.keys()) {
      if (!bmcOf(topology, node)) continue;
      try {
        const reader = await supplyReader(topology, node, Math.min(deadline, Date.now() + 10_000));
        try {
          powerSupplies.set(node, (await reader.read()).length);
        } finally {
          await reader.close();
        }
      } catch {
        // A BMC that does not answer is reported by its monitor above; the count then stays unknown.
      }
    }
    return { facts: { powerSupplies }, report, fingerprints };
  };
}
