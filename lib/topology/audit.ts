// `fencekit audit`: what in a fencing configuration will make a fence fail, or hit the wrong machine, before a
// node fails. Pure: a topology (and optionally the CIB Pacemaker runs, facts read live from the devices, the
// cluster's networks) in, findings out. Each rule is one function below with its one-line statement and fix
// in RULES; the reasons come from Pacemaker Explained ("Fence Devices", "Fencing Topologies", "Unfencing")
// and the field reports collected in docs/audit.md.
import { BlockList, isIPv4, isIPv6 } from 'node:net';
import { advertisedActions, effectiveDefaults, type AgentDeclaration } from '../agent/declaration.js';
import { parseBoolean, type RawInput } from '../options/parse.js';
import { resolveValues, type Options } from '../options/values.js';
import { checkTimeouts, pacemakerSeconds as pacemakerTime, topologyTimeouts } from './budget.js';
import { delayBaseFor, pacemakerSettings, type Cib, type CibPrimitive } from './cib.js';
import { racePolicy } from './race.js';
import type { DeviceConfig, NodeConfig, Topology } from './file.js';
import { parseHostMap } from './host-map.js';

/** info: worth knowing, changes no exit code. */
export type Severity = 'error' | 'warning' | 'info';

export type RuleId =
  | 'shared-power-only'
  | 'single-level'
  | 'power-supplies'
  | 'cluster-network'
  | 'two-node-race'
  | 'timeout-budget'
  | 'method-cycle'
  | 'fabric-unfencing'
  | 'fabric-without-watchdog'
  | 'device-timeout-floor'
  | 'host-map-syntax'
  | 'cib-disagrees'
  | 'device-identity'
  | 'protocol-downgrade'
  | 'latency-drift'
  | 'audit-state';

export interface Rule {
  readonly severity: Severity;
  /** The rule, in one line. */
  readonly rule: string;
  /** The usual fix, in one line. */
  readonly fix: string;
}

export const RULES: Readonly<Record<RuleId, Rule>> = {
  'shared-power-only': {
    severity: 'error',
    rule: 'every node needs a level that does not share its power: a BMC dies with its node, and fencing then blocks until someone intervenes',
    fix: 'add a level through the PDU outlets that feed the node (or a switch port / watchdog level)',
  },
  'single-level': {
    severity: 'warning',
    rule: 'a node with one level has no fallback when that device is unreachable',
    fix: 'add a second level through an independent path (PDU outlets behind a BMC)',
  },
  'power-supplies': {
    severity: 'error',
    rule: 'a power level must switch every power supply of the node, or the node keeps running on the others',
    fix: 'list one outlet per power supply in the level, e.g. - [pdu-a:3, pdu-b:3]; prove the wiring with fencekit verify-wiring',
  },
  'cluster-network': {
    severity: 'warning',
    rule: 'a fence device reached over the cluster network is unreachable exactly when the network has split the cluster',
    fix: 'put the device on a management network of its own, or add a level through a device that is',
  },
  'two-node-race': {
    severity: 'warning',
    rule: 'in a two-node cluster both nodes may fence each other at once unless one of them waits',
    fix: 'give the devices that fence one node a delay (pcmk_delay_base, or delay=), or set priority-fencing-delay',
  },
  'timeout-budget': {
    severity: 'error',
    rule: 'the fencing timeout must cover every level in order, each device at its worst, or the last levels never run',
    fix: 'raise the timeout (fencing-timeout / pcmk_off_timeout, fencekit --timeout) or shorten the devices\' own timeouts',
  },
  'method-cycle': {
    severity: 'error',
    rule: 'method=cycle reports success when the BMC accepts the cycle, not when the node was seen off',
    fix: 'remove method=cycle (the default, onoff, confirms the node off before powering it on)',
  },
  'fabric-unfencing': {
    severity: 'error',
    rule: 'a fabric device (SCSI reservation, switch port) must unfence a node before it may use the fabric again',
    fix: 'set meta provides=unfencing on the stonith resource, or use an agent whose on action is automatic',
  },
  'fabric-without-watchdog': {
    severity: 'warning',
    rule: 'fabric fencing cuts a node off but does not stop it; a watchdog must reset it',
    fix: 'add a watchdog-based level (fence_kit_sanlock, sbd) or run fence_kit_scsi_check as the watchdog script',
  },
  'device-timeout-floor': {
    severity: 'error',
    rule: 'a device timeout below the least time the device needs to confirm an off fails every fence',
    fix: 'raise power_timeout (and pcmk_off_timeout) to at least what the agent says it needs',
  },
  'host-map-syntax': {
    severity: 'error',
    rule: 'pcmk_host_map must mean what it seems to: Pacemaker drops or remaps what it cannot parse, silently',
    fix: 'write node:plug[,plug] entries separated by ";", one per node',
  },
  'cib-disagrees': {
    severity: 'error',
    rule: 'the configuration Pacemaker runs must be the one that was reviewed: the CIB and the topology must agree',
    fix: 'load the topology into the cluster again (fencekit export cib | cibadmin --modify ...) or fix the topology',
  },
  // Drift (lib/topology/drift.ts): what changed since the last `audit --live`.
  'device-identity': {
    severity: 'warning',
    rule: 'the device that fences must be the one that was audited: another model or firmware at its address has not been tested',
    fix: 'check what answers at that address (a replaced card, a moved IP, new firmware), then run audit --live again to record it',
  },
  'protocol-downgrade': {
    severity: 'warning',
    rule: 'a device must not be reached with a weaker cipher suite or SNMP version than before: a forged or read answer becomes easier',
    fix: 'restore the stronger setting on the device (cipher suite 17 or 3, SNMPv3 authPriv) or pin it in the topology (cipher=, snmp_version=)',
  },
  'latency-drift': {
    severity: 'info',
    rule: 'a device that answers much slower than before eats into the fence timeout',
    fix: 'look at the device and its network path; if it stays slow, raise its timeouts (fencekit audit checks the budget)',
  },
  'audit-state': {
    severity: 'warning',
    rule: 'the record of the last live audit must be readable and writable, or drift goes unseen',
    fix: 'fix the file or its directory (a file that is not a state is left alone: remove it, and the next live audit writes it anew), or name another with --state',
  },
};

export interface Finding {
  readonly rule: RuleId;
  readonly severity: Severity;
  /** What the finding is about: `node NAME`, `device NAME`, `cluster`. */
  readonly subject: string;
  /** What is wrong here, in one line. */
  readonly message: string;
}

/** What `--live` learned from the devices. */
export interface LiveFacts {
  /** Power-supply sensors each node's BMC reports (IPMI SDR, sensor type 0x08), by node. */
  readonly powerSupplies?: ReadonlyMap<string, number>;
}

export interface AuditInput {
  readonly topology: Topology;
  readonly cib?: Cib;
  /** Networks (CIDR) the cluster's own traffic runs on. */
  readonly clusterNetworks?: readonly string[];
  readonly live?: LiveFacts;
  /** Agent declarations by name, for CIB primitives of fencekit agents. */
  readonly lookupAgent?: (name: string) => AgentDeclaration | undefined;
}

/** Agents whose fence is a watchdog reset (the partner of fabric fencing). */
const WATCHDOG_AGENTS = new Set(['fence_kit_sanlock', 'fence_sbd', 'fence_watchdog']);
/** Fabric agents of fence-agents, for CIB primitives that are not fencekit's. Their `on` is automatic only where listed. */
const FOREIGN_FABRIC_AGENTS: Readonly<Record<string, { automaticOn: boolean }>> = {
  fence_scsi: { automaticOn: true },
  fence_mpath: { automaticOn: true },
  fence_ifmib: { automaticOn: false },
  fence_brocade: { automaticOn: false },
  fence_cisco_mds: { automaticOn: false },
};

/** What a device needs to work when its node has lost power. */
export type DeviceRole = 'node-power' | 'power-switch' | 'fabric' | 'watchdog';

export function deviceRole(agent: AgentDeclaration): DeviceRole {
  if (WATCHDOG_AGENTS.has(agent.name)) return 'watchdog';
  if (agent.fabric) return 'fabric';
  // A device that fences exactly one node and is not a fabric is that node's own controller (a BMC): it is
  // powered by the node's own supplies.
  return agent.target === 'device' ? 'node-power' : 'power-switch';
}

/** A device's options as the agent types them, defaults applied (no secret is read: secrets stay unset). */
export function deviceOptions(device: DeviceConfig): Options {
  const values = new Map<string, string | boolean>();
  for (const [k, v] of Object.entries(device.options)) {
    const spec = device.agent.options.find((s) => s.name === k);
    values.set(k, spec?.type === 'boolean' ? (parseBoolean(v) ?? v) : v);
  }
  const raw: RawInput = { source: 'stdin', values, counts: new Map(), warnings: [], errors: [] };
  return resolveValues(raw, device.agent.options, effectiveDefaults(device.agent, device.agent.name)).options;
}

/** A Pacemaker duration in seconds (budget.ts reads it; the smaller of the readings old and new fencers make). */
function pacemakerSeconds(text: string | undefined): number | undefined {
  const t = text === undefined ? undefined : pacemakerTime(text);
  return t === undefined ? undefined : Math.min(t.seconds, t.legacySeconds);
}

export function auditTopology(input: AuditInput): Finding[] {
  const findings: Finding[] = [];
  const add = (rule: RuleId, subject: string, message: string, severity: Severity = RULES[rule].severity) => findings.push({ rule, severity, subject, message });
  const { topology } = input;
  const devicesOf = (node: NodeConfig) => node.levels.flatMap((l) => l.devices.map((d) => topology.devices.get(d.device)!));
  const used = new Set([...topology.nodes.values()].flatMap((n) => devicesOf(n).map((d) => d.name)));

  for (const node of topology.nodes.values()) {
    const subject = `node ${node.name}`;
    const roles = node.levels.map((l) => l.devices.map((d) => deviceRole(topology.devices.get(d.device)!.agent)));

    if (!roles.some((levelRoles) => levelRoles.every((r) => r !== 'node-power'))) {
      add('shared-power-only', subject, `every level goes through a device powered by ${node.name} itself (${node.levels.map((l) => l.devices.map((d) => d.device).join('+')).join(', ')})`);
    }
    if (node.levels.length === 1) add('single-level', subject, `one level only (${node.levels[0]!.devices.map((d) => d.device).join(', ')})`);

    for (const [i, level] of node.levels.entries()) {
      if (!roles[i]!.every((r) => r === 'power-switch')) continue;
      const outlets = level.devices.reduce((n, d) => n + d.plugs.length, 0);
      const supplies = input.live?.powerSupplies?.get(node.name);
      if (supplies !== undefined) {
        if (outlets < supplies) add('power-supplies', subject, `level ${level.index} switches ${outlets} outlet${outlets === 1 ? '' : 's'}, but the BMC reports ${supplies} power supplies`);
      } else if (outlets === 1) {
        add('power-supplies', subject, `level ${level.index} switches one outlet: right only for a server with a single power supply (audit --live counts the supplies from the BMC)`, 'warning');
      }
    }

    const fabric = roles.flat().includes('fabric');
    const watchdog = roles.flat().includes('watchdog') || cibHasWatchdogFor(input.cib, node.name);
    if (fabric && !watchdog) {
      const names = devicesOf(node).filter((d) => deviceRole(d.agent) === 'fabric').map((d) => d.name);
      add('fabric-without-watchdog', subject, `${names.join(', ')} cut${names.length === 1 ? 's' : ''} ${node.name} off, and no level resets it by watchdog`);
    }

  }

  for (const device of topology.devices.values()) {
    if (!used.has(device.name)) continue;
    const subject = `device ${device.name}`;
    const options = deviceOptions(device);
    if (options.string('method') === 'cycle') add('method-cycle', subject, `${device.agent.name} is set to method=cycle`);
    const powerTimeout = options.number('power_timeout');
    for (const advice of device.agent.advise?.(options, { powerTimeoutMs: powerTimeout * 1000 }) ?? []) {
      add('device-timeout-floor', subject, advice);
    }
    // fencekit's fabric agents advertise an automatic on (lib/agent/declaration.ts), so fabric-unfencing
    // concerns only what the CIB runs (cibUnfencingFindings).
  }

  findings.push(...budgetFindings(topology, input.cib));
  findings.push(...clusterNetworkFindings(topology, input.clusterNetworks ?? []));
  findings.push(...twoNodeRaceFindings(topology, input.cib));
  if (input.cib) findings.push(...cibFindings(topology, input.cib, input.lookupAgent ?? (() => undefined)));
  return findings;
}

/**
 * Timeouts, by budget.ts (the arithmetic export writes with): against the CIB's timeouts when there is one.
 * Without a CIB, export will write timeouts that cover the levels, provided every device has bounds of its
 * own: a device without any (a limit of 0, disable_timeout) is the finding.
 */
function budgetFindings(topology: Topology, cib: Cib | undefined): Finding[] {
  try {
    topologyTimeouts(topology);
  } catch (err) {
    return [finding('timeout-budget', 'cluster', (err as Error).message)];
  }
  if (cib === undefined) return [];
  return checkTimeouts(topology, pacemakerSettings(cib).settings).map((p) => finding('timeout-budget', `node ${p.node}`, p.message));
}

function finding(rule: RuleId, subject: string, message: string, severity: Severity = RULES[rule].severity): Finding {
  return { rule, severity, subject, message };
}

/** Parses CIDRs into a BlockList; throws on the first that is not one (the CLI reports it as bad input). */
export function networkList(cidrs: readonly string[]): BlockList {
  const list = new BlockList();
  for (const cidr of cidrs) {
    const m = /^([^/]+)\/(\d{1,3})$/.exec(cidr);
    const family = m && isIPv4(m[1]!) ? 'ipv4' : m && isIPv6(m[1]!) ? 'ipv6' : undefined;
    const prefix = m ? Number(m[2]) : NaN;
    if (!family || prefix > (family === 'ipv4' ? 32 : 128)) throw new Error(`"${cidr}" is not a network in CIDR form, like 10.0.0.0/24`);
    list.addSubnet(m![1]!, prefix, family);
  }
  return list;
}

function clusterNetworkFindings(topology: Topology, cidrs: readonly string[]): Finding[] {
  if (cidrs.length === 0) return [];
  const networks = networkList(cidrs);
  const out: Finding[] = [];
  for (const device of topology.devices.values()) {
    const ip = device.options.ip;
    if (ip === undefined) continue;
    const family = isIPv4(ip) ? 'ipv4' : isIPv6(ip) ? 'ipv6' : undefined;
    if (family && networks.check(ip, family)) out.push(finding('cluster-network', `device ${device.name}`, `its address ${ip} is on the cluster network (${cidrs.join(', ')})`));
  }
  return out;
}

/** Static delay (seconds) and whether a random delay applies, for the devices that fence `node`. */
function delaysFor(topology: Topology, node: NodeConfig, cib: Cib | undefined): { fixed: number; random: boolean } {
  let fixed = 0;
  let random = false;
  for (const level of node.levels) {
    for (const d of level.devices) {
      fixed = Math.max(fixed, deviceOptions(topology.devices.get(d.device)!).number('delay'));
      const p = cib?.primitives.get(d.device);
      if (p) {
        fixed = Math.max(fixed, delayBaseFor(p.params.pcmk_delay_base, node.name));
        if ((pacemakerSeconds(p.params.pcmk_delay_max) ?? 0) > 0) random = true;
      }
    }
  }
  return { fixed, random };
}

function twoNodeRaceFindings(topology: Topology, cib: Cib | undefined): Finding[] {
  const nodes = [...topology.nodes.values()];
  if (nodes.length !== 2) return [];
  // Without a CIB, judge what `fencekit export` will write: it protects two nodes unless told not to.
  if (!cib) {
    const policy = racePolicy(topology);
    return policy.kind === 'none' ? [finding('two-node-race', 'cluster', policy.why)] : [];
  }
  if ((pacemakerSeconds(cib.properties['priority-fencing-delay'] ?? cib.properties['fencing-priority-delay']) ?? 0) > 0) return [];
  const [a, b] = nodes.map((n) => delaysFor(topology, n, cib)) as [ReturnType<typeof delaysFor>, ReturnType<typeof delaysFor>];
  if (a.random || b.random) return [];
  if (a.fixed === b.fixed) {
    const why = a.fixed === 0 ? 'no device that fences either node has a delay' : `the devices that fence both nodes wait the same ${a.fixed} s`;
    return [finding('two-node-race', 'cluster', `two nodes (${nodes.map((n) => n.name).join(', ')}) and ${why}: both may be fenced at once`)];
  }
  return [];
}

function cibHasWatchdogFor(cib: Cib | undefined, node: string): boolean {
  if (!cib) return false;
  if ((pacemakerSeconds(cib.properties['stonith-watchdog-timeout'] ?? cib.properties['fencing-watchdog-timeout']) ?? 0) !== 0) return true;
  return cib.levels.some(
    (l) => l.target.kind === 'name' && l.target.name.toLowerCase() === node.toLowerCase() && l.devices.some((d) => WATCHDOG_AGENTS.has(cib.primitives.get(d)?.type ?? '')),
  );
}

/** Pacemaker parameters that the topology does not carry; compared separately or not at all. */
const PACEMAKER_PARAM = /^pcmk_|^priority$/;

function cibFindings(topology: Topology, cib: Cib, lookupAgent: (name: string) => AgentDeclaration | undefined): Finding[] {
  const out: Finding[] = [];
  const disagree = (subject: string, message: string) => out.push(finding('cib-disagrees', subject, message));

  for (const p of cib.primitives.values()) {
    const subject = `CIB device ${p.id}`;
    if (p.params.pcmk_host_map !== undefined) {
      for (const problem of parseHostMap(p.params.pcmk_host_map).problems) out.push(finding('host-map-syntax', subject, `pcmk_host_map: ${problem}`));
    }
    if (p.params.method === 'cycle') out.push(finding('method-cycle', subject, `${p.type} is set to method=cycle`));
    out.push(...cibUnfencingFindings(p, lookupAgent));
    const agent = lookupAgent(p.type);
    const offTimeout = pacemakerSeconds(p.params.pcmk_off_timeout ?? cib.properties['fencing-timeout'] ?? cib.properties['stonith-timeout'] ?? '60s');
    if (agent?.advise && offTimeout !== undefined) {
      const typed = deviceOptions({ name: p.id, agent, options: Object.fromEntries(Object.entries(p.params).filter(([k]) => agent.options.some((s) => s.name === k))), secrets: {}, line: 0 });
      for (const advice of agent.advise(typed, { powerTimeoutMs: offTimeout * 1000 })) {
        out.push(finding('device-timeout-floor', subject, `with an off timeout of ${offTimeout} s (pcmk_off_timeout or fencing-timeout): ${advice}`));
      }
    }
    if (!topology.devices.has(p.id)) disagree(subject, `the CIB has stonith device ${p.id} (${p.type}), the topology does not`);
  }

  for (const device of topology.devices.values()) {
    const subject = `device ${device.name}`;
    const p = cib.primitives.get(device.name);
    if (!p) {
      disagree(subject, `the topology has ${device.name}, the CIB has no stonith device of that id`);
      continue;
    }
    if (p.type !== device.agent.name) disagree(subject, `agent ${device.agent.name} in the topology, ${p.type} in the CIB`);
    for (const [k, v] of Object.entries(device.options)) {
      if (p.params[k] === undefined) disagree(subject, `${k} is set in the topology, not in the CIB`);
      else if (p.params[k] !== v) disagree(subject, `${k} is "${v}" in the topology, "${p.params[k]}" in the CIB`);
    }
    for (const k of Object.keys(p.params)) {
      const secret = device.agent.options.find((s) => s.name === k)?.secret || k.endsWith('_script') || device.secrets[k] !== undefined;
      if (!PACEMAKER_PARAM.test(k) && !secret && device.options[k] === undefined) disagree(subject, `${k} is set in the CIB, not in the topology`);
    }
    out.push(...targetFindings(topology, device, p));
  }

  for (const node of topology.nodes.values()) {
    const inCib = cib.levels.filter((l) => l.target.kind === 'name' && l.target.name.toLowerCase() === node.name.toLowerCase()).sort((a, b) => a.index - b.index);
    const want = node.levels.map((l) => `${l.index}:${l.devices.map((d) => d.device).join(',')}`).join(' ');
    const have = inCib.map((l) => `${l.index}:${l.devices.join(',')}`).join(' ');
    if (want !== have) disagree(`node ${node.name}`, `levels ${want || '(none)'} in the topology, ${have || '(none)'} in the CIB`);
  }
  for (const l of cib.levels) {
    if (l.target.kind === 'name' && ![...topology.nodes.keys()].some((n) => n.toLowerCase() === (l.target as { name: string }).name.toLowerCase())) {
      disagree(`CIB level ${l.id}`, `fences ${l.target.name}, which the topology does not know`);
    } else if (l.target.kind !== 'name') {
      out.push(finding('cib-disagrees', `CIB level ${l.id}`, `targets ${l.target.kind} "${l.target.text}", which the topology cannot express; not compared`, 'warning'));
    }
  }
  return out;
}

/** Which nodes a device may fence, and through which plugs, as the CIB says and as the topology says. */
function targetFindings(topology: Topology, device: DeviceConfig, p: CibPrimitive): Finding[] {
  const out: Finding[] = [];
  const subject = `device ${device.name}`;
  const want = new Map<string, string>();
  for (const node of topology.nodes.values()) {
    for (const level of node.levels) for (const d of level.devices) if (d.device === device.name) want.set(node.name.toLowerCase(), d.plugs.join(','));
  }
  if (device.agent.target === 'plugs') {
    const map = parseHostMap(p.params.pcmk_host_map ?? '').entries;
    for (const [node, plugs] of want) {
      const have = map.get(node);
      if (!have) out.push(finding('cib-disagrees', subject, `the topology fences ${node} through plug ${plugs}; the CIB's pcmk_host_map does not map ${node}`));
      else if (have.plugs !== plugs) out.push(finding('cib-disagrees', subject, `${node} is plug ${plugs} in the topology, plug ${have.plugs} in the CIB's pcmk_host_map`));
    }
    for (const [node, entry] of map) if (!want.has(node)) out.push(finding('cib-disagrees', subject, `the CIB maps ${entry.node} to plug ${entry.plugs}; the topology does not fence ${entry.node} with ${device.name}`));
  } else {
    const list = new Set((p.params.pcmk_host_list ?? '').split(/[\s,;]+/).filter(Boolean).map((n) => n.toLowerCase()));
    for (const node of want.keys()) if (!list.has(node)) out.push(finding('cib-disagrees', subject, `the topology fences ${node} with ${device.name}; the CIB's pcmk_host_list does not name it`));
    for (const node of list) if (!want.has(node)) out.push(finding('cib-disagrees', subject, `the CIB's pcmk_host_list names ${node}; the topology does not fence it with ${device.name}`));
  }
  return out;
}

function cibUnfencingFindings(p: CibPrimitive, lookupAgent: (name: string) => AgentDeclaration | undefined): Finding[] {
  const agent = lookupAgent(p.type);
  const fabric = agent ? !!agent.fabric : p.type in FOREIGN_FABRIC_AGENTS;
  if (!fabric) return [];
  const automatic = agent ? advertisedActions(agent).some((a) => a.name === 'on' && a.automatic) : FOREIGN_FABRIC_AGENTS[p.type]!.automaticOn;
  if (automatic || p.meta.provides === 'unfencing') return [];
  return [finding('fabric-unfencing', `CIB device ${p.id}`, `${p.type} is fabric fencing, its on is not automatic, and the resource lacks meta provides=unfencing`)];
}

const SEVERITY_ORDER: Readonly<Record<Severity, number>> = { error: 0, warning: 1, info: 2 };

/** Errors first, then warnings, then info; within each, by subject. */
export function sortFindings(findings: readonly Finding[]): Finding[] {
  return [...findings].sort((a, b) => SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity] || a.subject.localeCompare(b.subject));
}

/** 0 clean (info only), 1 errors found, 2 warnings and no error. */
export function auditExitCode(findings: readonly Finding[]): 0 | 1 | 2 {
  if (findings.some((f) => f.severity === 'error')) return 1;
  return findings.some((f) => f.severity === 'warning') ? 2 : 0;
}
