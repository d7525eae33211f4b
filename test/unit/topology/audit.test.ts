// fencekit audit's rules: each one against a topology (or CIB) that breaks it and one that does not. Pure:
// topologies are parsed from text, CIBs from XML strings; nothing is contacted.
import { describe, expect, it } from 'vitest';
import { agentByName } from '../../../agents/registry.js';
import { auditExitCode, auditTopology, type AuditInput, type Finding, type RuleId } from '../../../lib/topology/audit.js';
import { parseCib, pacemakerSettings, pacemakerSettingsFromCib } from '../../../lib/topology/cib.js';
import { exportCib } from '../../../lib/topology/export.js';
import { parseTopology, type Topology } from '../../../lib/topology/file.js';
import { parseHostMap } from '../../../lib/topology/host-map.js';

const DEVICES = `devices:
  node1-bmc: { agent: fence_kit_ipmi, ip: 10.1.0.11, username: admin, password: { file: /etc/fk/bmc.pw }, lanplus: 1 }
  node2-bmc: { agent: fence_kit_ipmi, ip: 10.1.0.12, username: admin, password: { file: /etc/fk/bmc.pw }, lanplus: 1 }
  node3-bmc: { agent: fence_kit_ipmi, ip: 10.1.0.13, username: admin, password: { file: /etc/fk/bmc.pw }, lanplus: 1 }
  pdu-a: { agent: fence_kit_apc_snmp, ip: 10.1.0.50, snmp_version: 2c, community: { env: PDU_COMMUNITY } }
  pdu-b: { agent: fence_kit_apc_snmp, ip: 10.1.0.51, snmp_version: 2c, community: { env: PDU_COMMUNITY } }
`;

/** Three nodes, each: its BMC, then both of its PDU outlets. Breaks no rule. */
const GOOD = `${DEVICES}nodes:
  node1: [[node1-bmc], [pdu-a:1, pdu-b:1]]
  node2: [[node2-bmc], [pdu-a:2, pdu-b:2]]
  node3: [[node3-bmc], [pdu-a:3, pdu-b:3]]
`;

const topo = (text: string): Promise<Topology> => parseTopology(text, 'test.yaml', agentByName);
const rulesOf = (findings: readonly Finding[]) => [...new Set(findings.map((f) => f.rule))].sort();
const audit = async (text: string, extra: Omit<AuditInput, 'topology'> = {}) => auditTopology({ topology: await topo(text), lookupAgent: agentByName, ...extra });
const only = (findings: readonly Finding[], rule: RuleId) => findings.filter((f) => f.rule === rule);

describe('fencekit audit: the rules', () => {
  it('a topology that breaks no rule has no findings and exits 0', async () => {
    const findings = await audit(GOOD);
    expect(findings).toEqual([]);
    expect(auditExitCode(findings)).toBe(0);
  });

  it('shared-power-only: a node fenced only through its own BMC is an error', async () => {
    const bad = await audit(GOOD.replace('node1: [[node1-bmc], [pdu-a:1, pdu-b:1]]', 'node1: [[node1-bmc]]'));
    expect(only(bad, 'shared-power-only')).toEqual([expect.objectContaining({ severity: 'error', subject: 'node node1' })]);
    expect(auditExitCode(bad)).toBe(1);
    expect(only(await audit(GOOD), 'shared-power-only')).toEqual([]);
  });

  it('single-level: a node with one level (even an independent one) is a warning, exit 2', async () => {
    const findings = await audit(GOOD.replace('node1: [[node1-bmc], [pdu-a:1, pdu-b:1]]', 'node1: [[pdu-a:1, pdu-b:1]]'));
    expect(rulesOf(findings)).toEqual(['single-level']);
    expect(findings[0]).toMatchObject({ severity: 'warning', subject: 'node node1' });
    expect(auditExitCode(findings)).toBe(2);
  });

  it('power-supplies: one outlet is a warning without --live, an error when the BMC reports two supplies', async () => {
    const oneOutlet = GOOD.replace('[pdu-a:2, pdu-b:2]', '[pdu-a:2]');
    expect(only(await audit(oneOutlet), 'power-supplies')).toEqual([expect.objectContaining({ severity: 'warning', subject: 'node node2' })]);
    const live = { powerSupplies: new Map([['node1', 2], ['node2', 2], ['node3', 2]]) };
    const withLive = only(await audit(oneOutlet, { live }), 'power-supplies');
    expect(withLive).toEqual([expect.objectContaining({ severity: 'error', subject: 'node node2' })]);
    expect(withLive[0]!.message).toContain('1 outlet, but the BMC reports 2 power supplies');
    expect(only(await audit(GOOD, { live }), 'power-supplies')).toEqual([]);
    // Two outlets for a three-supply server is short too.
    expect(only(await audit(GOOD, { live: { powerSupplies: new Map([['node3', 3]]) } }), 'power-supplies').map((f) => f.subject)).toEqual(['node node3']);
  });

  it('cluster-network: a device address inside a cluster network is a warning', async () => {
    const on = await audit(GOOD, { clusterNetworks: ['10.1.0.48/28'] });
    expect(only(on, 'cluster-network').map((f) => f.subject).sort()).toEqual(['device pdu-a', 'device pdu-b']);
    expect(only(await audit(GOOD, { clusterNetworks: ['10.2.0.0/16', 'fd00::/64'] }), 'cluster-network')).toEqual([]);
    await expect(audit(GOOD, { clusterNetworks: ['10.1.0.0'] })).rejects.toThrow(/CIDR/);
  });

  it('two-node-race: two nodes with fence_race none, or a CIB without delays (or with equal ones), are a warning', async () => {
    const two = `${DEVICES}nodes:\n  node1: [[node1-bmc], [pdu-a:1, pdu-b:1]]\n  node2: [[node2-bmc], [pdu-a:2, pdu-b:2]]\n`;
    // Without a CIB, what export writes counts: a static delay on the first node's devices by default.
    expect(only(await audit(two), 'two-node-race')).toEqual([]);
    expect(only(await audit(`${two}cluster:\n  fence_race: none\n`), 'two-node-race')).toEqual([expect.objectContaining({ severity: 'warning', subject: 'cluster' })]);
    const cib = (extra: string, props = '') =>
      parseCib(`<cib><configuration><crm_config><cluster_property_set id="p">${props}</cluster_property_set></crm_config><resources>${extra}</resources></configuration></cib>`, 'cib');
    expect(only(await audit(two, { cib: cib('') }), 'two-node-race')).toEqual([expect.objectContaining({ subject: 'cluster' })]);
    const delayed = '<primitive id="node1-bmc" class="stonith" type="fence_kit_ipmi"><instance_attributes id="i"><nvpair id="d" name="pcmk_delay_base" value="5s"/></instance_attributes></primitive>';
    expect(only(await audit(two, { cib: cib(delayed) }), 'two-node-race')).toEqual([]);
    const both = two.replace('node1-bmc: { agent: fence_kit_ipmi,', 'node1-bmc: { agent: fence_kit_ipmi, delay: 10,').replace('node2-bmc: { agent: fence_kit_ipmi,', 'node2-bmc: { agent: fence_kit_ipmi, delay: 10,');
    expect(only(await audit(both, { cib: cib('') }), 'two-node-race')[0]!.message).toContain('wait the same 10 s');
    expect(only(await audit(two, { cib: cib('', '<nvpair id="x" name="priority-fencing-delay" value="15s"/>') }), 'two-node-race')).toEqual([]);
  });

  it('method-cycle: a device set to method=cycle is an error', async () => {
    const cycle = await audit(GOOD.replace('ip: 10.1.0.12,', 'ip: 10.1.0.12, method: cycle,'));
    expect(only(cycle, 'method-cycle')).toEqual([expect.objectContaining({ severity: 'error', subject: 'device node2-bmc' })]);
    expect(only(await audit(GOOD.replace('ip: 10.1.0.12,', 'ip: 10.1.0.12, method: onoff,')), 'method-cycle')).toEqual([]);
  });

  const SWITCH = `  sw: { agent: fence_kit_switch, ip: 10.1.0.60, snmp_version: 2c, community: { env: SW_COMMUNITY } }\n`;
  const SANLOCK = (timeout?: number) => `  lease1: { agent: fence_kit_sanlock, path: /dev/shared/leases, host_id: 1${timeout ? `, power_timeout: ${timeout}` : ''} }\n`;

  it('fabric-without-watchdog: a switch-port level with no watchdog level is a warning; a sanlock level answers it', async () => {
    const fabric = GOOD.replace('nodes:', `${SWITCH}nodes:`).replace('node1: [[node1-bmc], [pdu-a:1, pdu-b:1]]', 'node1: [[node1-bmc], [pdu-a:1, pdu-b:1], [sw:7]]');
    expect(only(await audit(fabric), 'fabric-without-watchdog')).toEqual([expect.objectContaining({ severity: 'warning', subject: 'node node1' })]);
    const partnered = fabric.replace('nodes:', `${SANLOCK()}nodes:`).replace('[sw:7]]', '[sw:7], [lease1]]');
    expect(only(await audit(partnered), 'fabric-without-watchdog')).toEqual([]);
  });

  it('device-timeout-floor: a sanlock power_timeout below the lease expiry floor is an error', async () => {
    const short = GOOD.replace('nodes:', `${SANLOCK(60)}nodes:`).replace('[pdu-a:1, pdu-b:1]]', '[pdu-a:1, pdu-b:1], [lease1]]');
    const f = only(await audit(short), 'device-timeout-floor');
    expect(f).toEqual([expect.objectContaining({ severity: 'error', subject: 'device lease1' })]);
    expect(f[0]!.message).toMatch(/power_timeout 60 s cannot cover a sanlock fence/);
    const enough = short.replace(`${SANLOCK(60)}`, SANLOCK());
    expect(only(await audit(enough), 'device-timeout-floor')).toEqual([]);
  });

  it('timeout-budget without a CIB: a device with no bound of its own (power_timeout 0) is an error', async () => {
    const unbounded = await audit(GOOD.replace('pdu-a: { agent: fence_kit_apc_snmp,', 'pdu-a: { agent: fence_kit_apc_snmp, power_timeout: 0,'));
    expect(only(unbounded, 'timeout-budget')).toEqual([expect.objectContaining({ severity: 'error', subject: 'cluster' })]);
    expect(only(unbounded, 'timeout-budget')[0]!.message).toContain('power_timeout 0 means no limit');
    expect(only(await audit(GOOD), 'timeout-budget')).toEqual([]);
  });
});

describe('fencekit audit: against the CIB', () => {
  /** The CIB `fencekit export cib` writes for GOOD (with the env secret resolved), then edited by `edit`. */
  const cibFor = async (edit: (xml: string) => string = (x) => x) => {
    const xml = exportCib(await topo(GOOD), true, { PDU_COMMUNITY: 'private' });
    return parseCib(`<cib><configuration>${edit(xml).replace(/<\/?configuration>/g, '')}</configuration></cib>`, 'cib.xml');
  };

  it('the CIB that export writes agrees with its topology', async () => {
    const cib = await cibFor();
    expect(cib.primitives.size).toBe(5);
    expect(cib.levels).toHaveLength(6);
    expect(await audit(GOOD, { cib })).toEqual([]);
  });

  it('cib-disagrees: a swapped plug, a missing level, an extra option and a device the topology lacks are errors', async () => {
    const cib = await cibFor((x) =>
      x
        .replace('node1:1;node2:2', 'node1:2;node2:1')
        .replace(/\s*<fencing-level id="fl-node3-2"[^>]*\/>/, '')
        .replace('name="lanplus" value="1"/>', 'name="lanplus" value="1"/><nvpair id="extra" name="cipher" value="17"/>')
        .replace('</resources>', '<primitive id="old-pdu" class="stonith" type="fence_apc_snmp"/></resources>'),
    );
    const f = only(await audit(GOOD, { cib }), 'cib-disagrees');
    const text = f.map((x) => `${x.subject}: ${x.message}`).join('\n');
    expect(text).toContain('device pdu-a: node1 is plug 1 in the topology, plug 2 in the CIB');
    expect(text).toContain('node node3: levels 1:node3-bmc 2:pdu-a,pdu-b in the topology, 1:node3-bmc in the CIB');
    expect(text).toContain('device node1-bmc: cipher is set in the CIB, not in the topology');
    expect(text).toContain('CIB device old-pdu: the CIB has stonith device old-pdu');
    expect(f.every((x) => x.severity === 'error')).toBe(true);
  });

  it('host-map-syntax: a "," between entries is an error; ";" is not', async () => {
    const bad = only(await audit(GOOD, { cib: await cibFor((x) => x.replace('node1:1;node2:2;node3:3', 'node1:1,node2:2;node3:3')) }), 'host-map-syntax');
    expect(bad.length).toBeGreaterThan(0);
    expect(bad[0]!.message).toContain('maps "1,node2" to "2"');
    expect(only(await audit(GOOD, { cib: await cibFor() }), 'host-map-syntax')).toEqual([]);
  });

  it('fabric-unfencing: fence_ifmib without provides=unfencing is an error; with it, or fence_scsi, is not', async () => {
    const prim = (type: string, meta = '') =>
      `<primitive id="fab" class="stonith" type="${type}">${meta}<instance_attributes id="i"><nvpair id="m" name="pcmk_host_map" value="node1:7"/></instance_attributes></primitive>`;
    const withPrim = (p: string) => cibFor((x) => x.replace('</resources>', `${p}</resources>`));
    expect(only(await audit(GOOD, { cib: await withPrim(prim('fence_ifmib')) }), 'fabric-unfencing')).toEqual([expect.objectContaining({ severity: 'error', subject: 'CIB device fab' })]);
    const meta = '<meta_attributes id="ma"><nvpair id="pu" name="provides" value="unfencing"/></meta_attributes>';
    expect(only(await audit(GOOD, { cib: await withPrim(prim('fence_ifmib', meta)) }), 'fabric-unfencing')).toEqual([]);
    expect(only(await audit(GOOD, { cib: await withPrim(prim('fence_scsi')) }), 'fabric-unfencing')).toEqual([]);
    expect(only(await audit(GOOD, { cib: await withPrim(prim('fence_kit_switch')) }), 'fabric-unfencing')).toEqual([]);
  });

  it('device-timeout-floor from the CIB: a sanlock device under the default 60 s fencing-timeout is an error', async () => {
    const p = (extra: string) => `<primitive id="lease" class="stonith" type="fence_kit_sanlock"><instance_attributes id="i"><nvpair id="a" name="path" value="/dev/x"/><nvpair id="b" name="host_id" value="1"/>${extra}</instance_attributes></primitive>`;
    const at = async (extra: string) => only(await audit(GOOD, { cib: await cibFor((x) => x.replace('</resources>', `${p(extra)}</resources>`)) }), 'device-timeout-floor');
    expect(await at('')).toEqual([expect.objectContaining({ subject: 'CIB device lease' })]);
    expect(await at('<nvpair id="c" name="pcmk_off_timeout" value="240s"/>')).toEqual([]);
    // Pacemaker up to 2.1.7 reads pcmk_*_timeout with atoi: "4min" is 4 s there (lib/topology/budget.ts).
    expect(await at('<nvpair id="c" name="pcmk_off_timeout" value="4min"/>')).toHaveLength(1);
  });

  it('timeout-budget against the CIB: a stonith-timeout that cannot cover a device is an error; what export writes is not', async () => {
    const xml = exportCib(await topo(GOOD), true, { PDU_COMMUNITY: 'private' });
    expect(only(await audit(GOOD, { cib: parseCib(xml, 'export.xml') }), 'timeout-budget')).toEqual([]);
    const stripped = xml.replace(/\s*<nvpair [^>]*name="pcmk_(off|reboot)_timeout"[^>]*\/>/g, '');
    const short = `<cib><configuration><crm_config><cluster_property_set id="p"><nvpair id="t" name="stonith-timeout" value="10s"/></cluster_property_set></crm_config>${stripped.replace(/<\/?configuration>/g, '')}</configuration></cib>`;
    const f = only(await audit(GOOD, { cib: parseCib(short, 'short.xml') }), 'timeout-budget');
    expect(f.length).toBeGreaterThan(0);
    expect(f.every((x) => x.severity === 'error')).toBe(true);
    expect(f[0]!.message).toMatch(/stonith-timeout 10 s cannot cover/);
  });

  it('refuses a CIB that is not well-formed XML or not a CIB', () => {
    expect(() => parseCib('<cib><configuration></cib>', 'x.xml')).toThrow(/does not close|never closed/);
    expect(() => parseCib('<html/>', 'x.xml')).toThrow(/not a CIB/);
    expect(() => parseCib('<cib><status/></cib>', 'x.xml')).toThrow('x.xml: not a CIB (<cib> has no <configuration>)');
  });

  it('one reader for audit and the timeout check: a truncated CIB is refused by both, never read as far as it goes', async () => {
    const whole = exportCib(await topo(GOOD), true, { PDU_COMMUNITY: 'private' });
    const cut = whole.slice(0, whole.indexOf('<fencing-topology'));
    expect(() => parseCib(cut, 'cut.xml')).toThrow(/^cut\.xml: <.*> is never closed$/);
    expect(() => pacemakerSettingsFromCib(cut, 'cut.xml')).toThrow(/^cut\.xml: <.*> is never closed$/);
  });

  it('a name set twice counts with its first value, as Pacemaker reads nvpair sets, for the rules and the timeouts alike', async () => {
    const two = `${DEVICES}nodes:\n  node1: [[node1-bmc], [pdu-a:1, pdu-b:1]]\n  node2: [[node2-bmc], [pdu-a:2, pdu-b:2]]\n`;
    const set = (id: string, value: string) => `<cluster_property_set id="${id}"><nvpair id="${id}-d" name="priority-fencing-delay" value="${value}"/></cluster_property_set>`;
    const cib = parseCib(`<cib><configuration><crm_config>${set('a', '15s')}${set('b', '0')}</crm_config><resources/></configuration></cib>`, 'cib');
    expect(cib.properties['priority-fencing-delay']).toBe('15s');
    expect(cib.notes).toEqual(['priority-fencing-delay is set more than once; the first value, 15s, is used']);
    expect(pacemakerSettings(cib).settings.priorityFencingDelay).toBe(15);
    expect(pacemakerSettings(cib).notes).toEqual(cib.notes);
    // Protected by the first set's 15 s: no race.
    expect(only(await audit(two, { cib }), 'two-node-race')).toEqual([]);
    // The same for a device's parameters across two instance_attributes sets.
    const p = parseCib(
      '<configuration><resources><primitive id="d" class="stonith" type="fence_kit_ipmi"><instance_attributes id="i1"><nvpair id="a" name="pcmk_off_timeout" value="30s"/></instance_attributes>' +
        '<instance_attributes id="i2"><nvpair id="b" name="pcmk_off_timeout" value="90s"/><nvpair id="c" name="constructor" value="x"/></instance_attributes></primitive></resources></configuration>',
      'cib',
    );
    expect(p.primitives.get('d')!.params).toEqual({ pcmk_off_timeout: '30s', constructor: 'x' });
    expect(pacemakerSettings(p).settings.devices.get('d')!.timeouts.off).toBe(30);
  });
});

describe('pcmk_host_map as Pacemaker parses it', () => {
  it('reads node:plug entries separated by ";", spaces or tabs, several plugs with ","', () => {
    const m = parseHostMap('node1:1;node2:2,3 node3=4\tnode4:a\\;b');
    expect(m.problems).toEqual([]);
    expect([...m.entries.values()]).toEqual([
      { node: 'node1', plugs: '1' },
      { node: 'node2', plugs: '2,3' },
      { node: 'node3', plugs: '4' },
      { node: 'node4', plugs: 'a;b' },
    ]);
  });

  it('names each silent surprise: a dropped fragment, a "," separator, an empty plug, a node twice, a backslash in a name', () => {
    expect(parseHostMap('node1:1 2').problems).toEqual([expect.stringContaining('"2" has no ":" and is ignored')]);
    expect(parseHostMap('node1:1,node2:2').problems[0]).toContain('Pacemaker maps "1,node2" to "2"');
    expect(parseHostMap('node1:;node2:2').problems).toEqual([expect.stringContaining('maps "node1" to no plug')]);
    expect(parseHostMap('node1:1;NODE1:2').problems).toEqual([expect.stringContaining('mapped twice')]);
    expect(parseHostMap('no\\de1:1').problems).toEqual([expect.stringContaining('backslash stays in the node name')]);
  });
});
