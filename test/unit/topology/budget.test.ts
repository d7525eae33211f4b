// The timeout budget (lib/topology/budget.ts), the fence-race policy (race.ts), the `cluster` section of the
// topology file and reading a CIB's timeouts back (cib.ts): pure arithmetic and parsing, with the
// agents' real declarations. That Pacemaker honours what export writes is test/pacemaker's to show.
import { describe, expect, it } from 'vitest';
import { agentByName } from '../../../agents/registry.js';
import { arithmetic, checkTimeouts, deviceBound, nodeBudget, pacemakerSeconds, topologyTimeouts, type PacemakerSettings } from '../../../lib/topology/budget.js';
import { delayBaseFor, pacemakerSettingsFromCib } from '../../../lib/topology/cib.js';
import { exportCib, exportNotice, exportPcs } from '../../../lib/topology/export.js';
import { parseTopology } from '../../../lib/topology/file.js';
import { racePolicy } from '../../../lib/topology/race.js';

const TWO_NODES = `devices:
  node1-bmc:
    agent: fence_kit_ipmi
    ip: 127.0.0.1
    username: admin
    password: { env: FK_PW }
  node2-bmc:
    agent: fence_kit_ipmi
    ip: 127.0.0.2
    username: admin
    password: { env: FK_PW }
    power_timeout: 30
    delay: 2
  pdu:
    agent: fence_kit_apc_snmp
    ip: 127.0.0.3
    community: { env: FK_PW }
nodes:
  node1:
    - [node1-bmc]
    - [pdu:1]
  node2:
    - [node2-bmc]
    - [pdu:2]
`;

const SANLOCK = `devices:
  lease:
    agent: fence_kit_sanlock
    path: /dev/shared
    host_id: 2
nodes:
  node2:
    - [lease]
`;

const load = (text: string) => parseTopology(text, 'topo.yaml', agentByName);
const env = { FK_PW: 'pw' };

describe('device bound: from the options and the defaults each agent declares', () => {
  it('off = delay + login_timeout + power_timeout + power_wait; reboot adds retry_on power-ons; monitor is a plug list', async () => {
    const t = await load(TWO_NODES);
    const bmc1 = deviceBound(t.devices.get('node1-bmc')!);
    // fence_kit_ipmi declares power_wait 2 (fence_ipmilan's); the common defaults are login 5, power 20, shell 3, retry_on 1.
    expect(arithmetic(bmc1.off)).toBe('delay 0 + login_timeout 5 + power_timeout 20 + power_wait 2 = 27 s');
    expect(bmc1.reboot!.seconds).toBe(5 + 2 * (20 + 2));
    expect(arithmetic(bmc1.monitor)).toBe('login_timeout 5 + 4 x shell_timeout 12 = 17 s');
    const bmc2 = deviceBound(t.devices.get('node2-bmc')!);
    expect(bmc2.off.seconds).toBe(2 + 5 + 30 + 2);
    expect(bmc2.reboot!.seconds).toBe(2 + 5 + 2 * (30 + 2));
  });

  it("fence_kit_sanlock: off needs the lease's expiry (8 x io_timeout + 60 s, a renewal, slack), not power_timeout; no reboot", async () => {
    const t = await load(SANLOCK);
    const b = deviceBound(t.devices.get('lease')!);
    // io_timeout 10: expiry 140 s + renewal 20 s + 5 s slack = 165 s; its declared power_timeout is 180 s.
    expect(b.off.seconds).toBe(5 + 180);
    expect(b.reboot).toBeUndefined();
    const short = await load(SANLOCK.replace('    path: /dev/shared\n', '    path: /dev/shared\n    power_timeout: 60\n'));
    const s = deviceBound(short.devices.get('lease')!);
    expect(arithmetic(s.off)).toBe('delay 0 + login_timeout 5 + fence_kit_sanlock off needs 165 + power_wait 0 = 170 s');
  });

  it('refuses a device with no bound of its own (a limit of 0, or disable_timeout)', async () => {
    const zero = await load(TWO_NODES.replace('    power_timeout: 30\n', '    power_timeout: 0\n'));
    expect(() => deviceBound(zero.devices.get('node2-bmc')!)).toThrow(/power_timeout 0 means no limit/);
    const off = await load(TWO_NODES.replace('    power_timeout: 30\n', '    disable_timeout: 1\n'));
    expect(() => deviceBound(off.devices.get('node2-bmc')!)).toThrow(/disable_timeout/);
  });
});

describe('node budget: Pacemaker sums every device of every level', () => {
  it('total = sum of each level; a static delay is inside the delayed devices\' timeouts', async () => {
    const t = await load(TWO_NODES);
    const timeouts = topologyTimeouts(t, (d) => (d === 'node1-bmc' ? 5 : 0));
    const n1 = nodeBudget(t, 'node1', timeouts);
    expect(n1.levels.map((l) => l.seconds)).toEqual([49 + 5, 45]);
    expect(n1.total).toBe(99);
    expect(n1.levels[0]!.devices[0]!.parameter).toBe('pcmk_reboot_timeout');
    const off = nodeBudget(t, 'node2', timeouts, 'off');
    expect(off.levels.map((l) => l.seconds)).toEqual([39, 25]);
  });
});

describe('fence race policy', () => {
  it('two nodes and no cluster section: static delay on the devices that fence the first node, so it survives', async () => {
    const t = await load(TWO_NODES);
    expect(racePolicy(t)).toMatchObject({ kind: 'static-delay', survivor: 'node1', victim: 'node2', delay: 5 });
    const pcs = exportPcs(t);
    const create = (d: string) => pcs.split('pcs stonith create ').find((c) => c.startsWith(`${d} `))!;
    // Direction: node2 fencing node1 waits; node1 fencing node2 starts at once.
    expect(create('node1-bmc')).toContain('pcmk_delay_base=5s');
    expect(create('node2-bmc')).not.toContain('pcmk_delay_base');
    // The shared PDU delays only node1's outlet.
    expect(create('pdu')).toContain('pcmk_delay_base=node1:5s');
    expect(delayBaseFor('node1:5s', 'node1')).toBe(5);
    expect(delayBaseFor('node1:5s', 'node2')).toBe(0);
    expect(exportNotice(t)).toMatch(/pcmk_delay_base=5s on the devices that fence node1, so node1 fences node2 first/);
  });

  it('survivor and delay from the cluster section', async () => {
    const t = await load(`${TWO_NODES}cluster:\n  fence_race: static-delay\n  survivor: node2\n  delay: 12\n`);
    const pcs = exportPcs(t);
    const create = (d: string) => pcs.split('pcs stonith create ').find((c) => c.startsWith(`${d} `))!;
    expect(create('node2-bmc')).toContain('pcmk_delay_base=12s');
    expect(create('node1-bmc')).not.toContain('pcmk_delay_base');
    expect(create('pdu')).toContain('pcmk_delay_base=node2:12s');
    // node2-bmc's timeouts carry the 12 s: reboot 2 + 5 + 2 x (30 + 2) + 12.
    expect(pcs).toContain('pcmk_reboot_timeout=83s');
  });

  it('priority: priority-fencing-delay and the resource priority, no static delay', async () => {
    const t = await load(`${TWO_NODES}cluster:\n  fence_race: priority\n  resource: db\n  delay: 15\n`);
    const pcs = exportPcs(t);
    expect(pcs).not.toContain('pcmk_delay_base');
    expect(pcs).toContain('pcs property set priority-fencing-delay=15s');
    expect(pcs).toContain('pcs resource meta db priority=10');
    const cib = exportCib(t, true, env);
    expect(cib).toContain('name="priority-fencing-delay" value="15s"');
    expect(cib).toContain('also set meta attribute priority=10 on resource db');
  });

  it('none: nothing delayed, and it says both nodes can be fenced', async () => {
    const t = await load(`${TWO_NODES}cluster:\n  fence_race: none\n`);
    expect(exportPcs(t)).not.toContain('pcmk_delay_base');
    expect(exportNotice(t)).toMatch(/both nodes can be fenced/);
  });

  it('refuses a shared device whose node map would delay the victim too (Pacemaker matches by prefix)', async () => {
    const t = await load(TWO_NODES.replace(/node2/g, 'node10'));
    expect(() => exportPcs(t)).toThrow(/matches pcmk_delay_base's node map by prefix/);
  });

  it.each([
    ['an unknown policy', 'cluster:\n  fence_race: random\n', /topo.yaml:\d+: cluster: fence_race must be one of static-delay, priority, none/],
    ['a survivor that is not a node', 'cluster:\n  survivor: node3\n', /cluster: survivor "node3" is not a node/],
    ['a delay that is not whole seconds', 'cluster:\n  delay: 5s\n', /cluster: delay must be a whole number from 1 to 600 \(got "5s"\)/],
    ['priority without a resource', 'cluster:\n  fence_race: priority\n', /needs "resource"/],
    ['a survivor with priority', 'cluster:\n  fence_race: priority\n  resource: db\n  survivor: node1\n', /survivor applies to fence_race static-delay only/],
    ['an unknown setting', 'cluster:\n  qdevice: yes\n', /cluster: unknown setting "qdevice"/],
  ])('the cluster section refuses %s, naming the line', async (_what, extra, message) => {
    await expect(load(`${TWO_NODES}${extra}`)).rejects.toThrow(message);
  });

  it('a static delay needs two nodes', async () => {
    await expect(load(`${SANLOCK}cluster:\n  fence_race: static-delay\n`)).rejects.toThrow(/for a two-node cluster, and this topology has 1 node/);
    expect(racePolicy(await load(SANLOCK)).kind).toBe('none');
  });
});

describe('export writes the budget', () => {
  it('pcs: per-device timeouts, stonith-timeout = the largest node total, the arithmetic in comments', async () => {
    const t = await load(TWO_NODES);
    const pcs = exportPcs(t);
    expect(pcs).toContain('#     pcmk_reboot_timeout = delay 0 + login_timeout 5 + 2 x (power_timeout + power_wait) 44 + Pacemaker delay 5 = 54 s');
    expect(pcs).toContain('#   node1: level 1 node1-bmc 54; level 2 pdu 50; total 104 s');
    expect(pcs).toContain('#   node2: level 1 node2-bmc 71; level 2 pdu 50; total 121 s');
    expect(pcs).toContain('pcs property set stonith-timeout=121s');
    // A failed device hands over at once: Pacemaker does not run it a second time.
    expect(pcs).toMatch(/pcs stonith create node2-bmc [^]*?pcmk_reboot_retries=1/);
  });

  it('cib: the same numbers as nvpairs and the arithmetic as comments outside the root element', async () => {
    const t = await load(TWO_NODES);
    const cib = exportCib(t, true, env);
    expect(cib).toContain('<nvpair id="cib-bootstrap-options-stonith-timeout" name="stonith-timeout" value="121s"/>');
    expect(cib).toContain('name="pcmk_off_timeout" value="39s"');
    expect(cib).toMatch(/^<!-- generated by fencekit export cib/);
    expect(cib.slice(cib.indexOf('<configuration>'))).not.toContain('<!--');
    // Every comment is well-formed (no "--" inside).
    for (const c of cib.match(/<!--[\s\S]*?-->/g)!) expect(c.slice(4, -3)).not.toContain('--');
  });

  it('check: the exported CIB covers every level; a shorter timeout or a missing device is named', async () => {
    const t = await load(TWO_NODES);
    const cib = exportCib(t, true, env);
    const { settings, notes } = pacemakerSettingsFromCib(`<cib><configuration>${cib.slice(cib.indexOf('<configuration>') + 15)}</cib>`);
    expect(notes).toEqual([]);
    expect(settings.stonithTimeout).toBe(121);
    expect(checkTimeouts(t, settings)).toEqual([]);

    const short = cib.replace(/(node2-bmc-instance_attributes-pcmk_reboot_timeout" name="pcmk_reboot_timeout" value=")71s/, '$120s');
    const problems = checkTimeouts(t, pacemakerSettingsFromCib(short).settings);
    expect(problems.map((p) => p.message)).toEqual([
      'node2 level 1: node2-bmc: pcmk_reboot_timeout 20 s cannot cover its reboot: delay 2 + login_timeout 5 + 2 x (power_timeout + power_wait) 64 = 71 s',
    ]);
    // The static delay counts: without the delay in node1-bmc's timeout, level 1 of node1 is short.
    const noRoom = cib.replace(/(node1-bmc-instance_attributes-pcmk_reboot_timeout" name="pcmk_reboot_timeout" value=")54s/, '$150s');
    expect(checkTimeouts(t, pacemakerSettingsFromCib(noRoom).settings).map((p) => p.message)).toEqual([
      'node1 level 1: node1-bmc: pcmk_reboot_timeout 50 s cannot cover its reboot: delay 0 + login_timeout 5 + 2 x (power_timeout + power_wait) 44 + Pacemaker delay 5 = 54 s',
    ]);
    const missing = cib.replace(/<primitive id="pdu"[\s\S]*?<\/primitive>/, '');
    expect(checkTimeouts(t, pacemakerSettingsFromCib(missing).settings).map((p) => p.message)).toEqual([
      'node1 level 2: device pdu is not configured in Pacemaker',
      'node2 level 2: device pdu is not configured in Pacemaker',
    ]);
  });

  it('check: without device timeouts, stonith-timeout (default 60 s) is what each device gets; a two-device reboot level runs off', async () => {
    const t = await load(TWO_NODES.replace('  node2:\n    - [node2-bmc]\n    - [pdu:2]', '  node2:\n    - [node2-bmc, pdu:2]'));
    const settings: PacemakerSettings = {
      stonithTimeout: 60,
      action: 'reboot',
      priorityFencingDelay: 0,
      devices: new Map(['node1-bmc', 'node2-bmc', 'pdu'].map((d) => [d, { timeouts: {}, delayBase: () => 0, delayMax: 0 }])),
    };
    // node2's level splits the reboot: off timeouts (37, 25) fit 60; node1's single-device levels reboot in 45.
    expect(checkTimeouts(t, settings)).toEqual([]);
    expect(checkTimeouts(t, { ...settings, stonithTimeout: 30 }).map((p) => `${p.node} ${p.level} ${p.device}`)).toEqual(['node1 1 node1-bmc', 'node1 2 pdu', 'node2 1 node2-bmc']);
  });

  it('reads Pacemaker times as 2.1 and later versions do, and trusts the smaller reading', () => {
    expect(pacemakerSeconds('27s')).toEqual({ seconds: 27, legacySeconds: 27 });
    expect(pacemakerSeconds('90')).toEqual({ seconds: 90, legacySeconds: 90 });
    expect(pacemakerSeconds('2min')).toEqual({ seconds: 120, legacySeconds: 2 });
    expect(pacemakerSeconds('PT1M')).toBeUndefined();
    const { settings, notes } = pacemakerSettingsFromCib(
      '<cib><configuration><crm_config><cluster_property_set id="o"><nvpair id="a" name="stonith-timeout" value="2min"/></cluster_property_set></crm_config>' +
        '<resources><primitive id="x" class="stonith" type="fence_kit_ipmi"><instance_attributes id="i"><nvpair id="b" name="pcmk_off_timeout" value="1m"/></instance_attributes></primitive></resources></configuration></cib>',
    );
    expect(settings.stonithTimeout).toBe(120);
    expect(settings.devices.get('x')!.timeouts.off).toBe(1);
    expect(notes[0]).toMatch(/pcmk_off_timeout "1m" is 60 s for Pacemaker 2.1.8 and later but 1 s for 2.1.7 and earlier/);
  });
});
