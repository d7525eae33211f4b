// Pacemaker's fencer (pacemaker-fenced -s) as the client of the installed fence_kit agents. Real peers:
// ipmi_sim (a BMC whose chassis is a real process), snmpd serving APC's PowerNet-MIB (outlets powering
// real processes) and snmpd managing a Linux bridge in network namespaces (fabric fencing, proven by the
// kernel's link state). Every effect is checked on the peer, never on the agent's word.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startIpmiSim, type IpmiSim } from '../peers/ipmi-sim.js';
import { startPdu, type PduPeer } from '../peers/snmpd-pdu.js';
import { startSwitchLab, type SwitchLab } from '../peers/netns-switch.js';
import { AGENTS } from '../../agents/registry.js';
import { AGENT_NAMES, installLaunchers, stdinRecorder, uninstallLaunchers, type StdinRecorder } from './agents.js';
import { FENCED, registerArgs, startFencer, STONITH_ADMIN, type Fencer } from './fencer.js';
import { missingPrograms } from '../support/programs.js';
import { explain, run, waitFor } from './proc.js';

let fencer: Fencer;
const recorders: StdinRecorder[] = [];

/** stonith_admin, failing with the fencer's log on a non-zero exit. */
async function admin(args: readonly string[], f: Fencer = fencer): Promise<string> {
  const r = await f.admin(args);
  if (r.code !== 0) throw new Error(`${explain(['stonith_admin', ...args], r)}\n--- fencer log (tail):\n${f.log().slice(-4000)}`);
  return r.stdout;
}

beforeAll(async () => {
  const r = await installLaunchers();
  if (r.code !== 0) throw new Error(explain(['fencekit', 'install'], r));
  fencer = await startFencer();
});

afterAll(async () => {
  await fencer?.stop();
  for (const rec of recorders) rec.remove();
  await uninstallLaunchers();
});

describe('Pacemaker reads every fence_kit agent', () => {
  it('has what this file runs (pacemaker-fenced, stonith_admin, crm_resource, pcs)', () => {
    expect(missingPrograms([FENCED, STONITH_ADMIN, 'crm_resource', 'pcs'])).toEqual([]);
  });

  it('stonith_admin --list-installed lists every agent and alias', async () => {
    const out = await admin(['--list-installed']);
    for (const name of AGENT_NAMES) expect(out).toMatch(new RegExp(`^\\s*${name}$`, 'm'));
  });

  it('stonith_admin --metadata --agent X: the agent\'s metadata under its own name, with list and reboot as declared', async () => {
    for (const agent of Object.values(AGENTS)) {
      for (const name of [agent.name, ...(agent.symlinks ?? []).map((l) => l.name)]) {
        const xml = await admin(['--metadata', '--agent', name]);
        expect(xml, name).toContain(`<resource-agent name="${name}"`);
        expect(xml, name).toMatch(/<action name="on"/);
        expect(xml, name).toMatch(/<action name="off"/);
        // What the fencer reads to pick its own behaviour: reboot (else it sends off) and list (else no
        // dynamic host list).
        expect(/<action name="reboot"/.test(xml), `${name}: reboot declared iff the agent has one`).toBe(!agent.fabric);
        expect(/<action name="list"/.test(xml), `${name}: list declared iff the agent has plugs`).toBe(agent.target === 'plugs');
      }
    }
  });

  it('crm_resource --show-metadata stonith:X for every agent', async () => {
    for (const name of AGENT_NAMES) {
      const r = await run(['crm_resource', '--show-metadata', `stonith:${name}`]);
      expect(r.code, explain(['crm_resource', name], r)).toBe(0);
      expect(r.stdout).toContain(`<resource-agent name="${name}"`);
    }
  });

  it('pcs stonith describe X for every agent (pcs without a cluster)', async () => {
    // pcs is a Python program (~1 s of CPU a call): one at a time, running them side by side gains nothing on 2 cores.
    for (const name of AGENT_NAMES) {
      const r = await run(['pcs', 'stonith', 'describe', name]);
      expect(r.code, explain(['pcs', 'stonith', 'describe', name], r)).toBe(0);
      expect(r.stdout.split('\n')[0]).toMatch(new RegExp(`^${name} - \\S`));
      // pcs appends the fencer's own parameters to the agent's: proof it parsed ours.
      expect(r.stdout).toContain('pcmk_host_map');
    }
  }, 120_000);
});

describe('fence_kit_ipmi registered with pacemaker-fenced, against ipmi_sim', () => {
  let bmc: IpmiSim;
  let rec: StdinRecorder;
  const params = () => ({ ip: bmc.host, ipport: String(bmc.port), username: bmc.users.admin.name, password: bmc.users.admin.password, lanplus: '1' });
  beforeAll(async () => {
    bmc = await startIpmiSim({ hostOn: true });
    rec = stdinRecorder('fence_kit_ipmi');
    recorders.push(rec);
  });
  afterAll(async () => {
    await admin(['--deregister', 'kit-ipmi']).catch(() => undefined);
    await admin(['--deregister', 'rec-ipmi']).catch(() => undefined);
    await bmc?.stop();
  });

  it('--register, then --query runs monitor against the BMC', async () => {
    await admin(registerArgs('kit-ipmi', 'fence_kit_ipmi', { ...params(), pcmk_host_list: 'node-a' }));
    expect(await admin(['--list-registered'])).toContain('kit-ipmi');
    await admin(['--query', 'kit-ipmi']);
    expect(await admin(['--list', 'node-a'])).toContain('kit-ipmi');
  });

  it('--fence kills the host process; --unfence starts it; --reboot replaces it with a new one', async () => {
    expect(bmc.isHostRunning()).toBe(true);
    await admin(['--fence', 'node-a']);
    expect(bmc.isHostRunning()).toBe(false);
    await admin(['--unfence', 'node-a']);
    expect(bmc.isHostRunning()).toBe(true);
    const before = bmc.hostPid();
    await admin(['--reboot', 'node-a']);
    expect(bmc.isHostRunning()).toBe(true);
    expect(bmc.hostPid()).not.toBe(before);
  });

  // Pacemaker 2.1.5 names the host argument `port` when the metadata has both plug and port (as every
  // fence-agents agent's has, port being plug's deprecated name); the agents read either.
  it('the agent gets what Pacemaker writes: nodename, port from pcmk_host_map, action, no pcmk_* key; pcmk_reboot_action=off turns reboot into off', async () => {
    await admin(registerArgs('rec-ipmi', rec.name, { ...params(), pcmk_host_map: 'node-r:bmc-of-node-r', pcmk_reboot_action: 'off', pcmk_off_retries: '1' }));
    await admin(['--reboot', 'node-r']);
    const call = rec.deviceCalls().at(-1)!;
    expect(call.params).toMatchObject({ action: 'off', nodename: 'node-r', port: 'bmc-of-node-r', ip: bmc.host, ipport: String(bmc.port), lanplus: '1' });
    expect(call.lines.filter((l) => l.startsWith('pcmk_'))).toEqual([]);
    expect(bmc.isHostRunning()).toBe(false);
    await admin(['--unfence', 'node-r']);
    expect(rec.deviceCalls().at(-1)!.params.action).toBe('on');
    expect(bmc.isHostRunning()).toBe(true);
  });

  // Under the fencer an agent lifts its own timeouts (Pacemaker owns the deadline), except one: a device that
  // has answered nothing within login_timeout fails "Unable to connect" (the next level runs in seconds).
  // The monitor's pcmk timeout (4 s) is shorter than login_timeout (5 s): Pacemaker ends that one.
  it('a frozen BMC: --query and --fence fail within the device\'s pcmk_*_timeout, and the host keeps running', async () => {
    await admin(registerArgs('kit-ipmi-frozen', 'fence_kit_ipmi', {
      ...params(),
      pcmk_host_list: 'node-f',
      pcmk_monitor_timeout: '4s',
      pcmk_monitor_retries: '1',
      pcmk_off_timeout: '6s',
      pcmk_off_retries: '1',
    }));
    bmc.freeze();
    try {
      const q = await fencer.admin(['--query', 'kit-ipmi-frozen', '--timeout', '20']);
      expect(q.code).not.toBe(0);
      expect(q.ms).toBeLessThan(15_000);
      const f = await fencer.admin(['--fence', 'node-f', '--timeout', '20']);
      expect(f.code).not.toBe(0);
      expect(f.ms).toBeLessThan(15_000);
      expect(bmc.isHostRunning()).toBe(true);
    } finally {
      bmc.thaw();
      await admin(['--deregister', 'kit-ipmi-frozen']).catch(() => undefined);
    }
    // The monitor ran into Pacemaker's 4 s; the off ended itself at login_timeout, inside the 6 s, naming the silence.
    expect(fencer.log()).toMatch(/Operation 'monitor' \[\d+\] using kit-ipmi-frozen could not be executed: Timed Out/);
    expect(fencer.log()).toMatch(/fence_kit_ipmi\[\d+\] stderr: \[ .*Unable to connect to fencing device: nothing answered within login_timeout \(5 s\)/);
    expect(fencer.log()).toMatch(/Operation 'off' \[\d+\] targeting node-f using kit-ipmi-frozen returned 1/);
  });
});

describe('fence_kit_apc_snmp registered with pacemaker-fenced, against snmpd serving PowerNet-MIB', () => {
  let pdu: PduPeer;
  let rec: StdinRecorder;
  const params = () => ({ ip: pdu.host, ipport: String(pdu.port), snmp_version: '2c', community: pdu.communities.rw });
  beforeAll(async () => {
    pdu = await startPdu({ outlets: 4, names: ['alpha', 'bravo', 'charlie', 'delta'] });
    rec = stdinRecorder('fence_kit_apc_snmp');
    recorders.push(rec);
  });
  afterAll(async () => {
    for (const d of ['kit-apc', 'rec-apc', 'rec-apc-plug']) await admin(['--deregister', d]).catch(() => undefined);
    await pdu?.stop();
  });

  it('--query runs monitor; --list-targets runs list and names every outlet', async () => {
    await admin(registerArgs('kit-apc', 'fence_kit_apc_snmp', { ...params(), pcmk_host_map: 'node-a:1;node-b:3' }));
    await admin(['--query', 'kit-apc']);
    const targets = await admin(['--list-targets', 'kit-apc']);
    for (const name of ['alpha', 'bravo', 'charlie', 'delta']) expect(targets).toContain(name);
  });

  it('pcmk_host_map picks the outlet: --fence node-b switches outlet 3 off and nothing else; --unfence restores it; --reboot replaces its process', async () => {
    await admin(['--fence', 'node-b']);
    expect([1, 2, 3, 4].map((n) => pdu.isOutletPowered(n))).toEqual([true, true, false, true]);
    await admin(['--unfence', 'node-b']);
    expect(pdu.isOutletPowered(3)).toBe(true);
    const before = pdu.outletPids()[0];
    await admin(['--reboot', 'node-a']);
    expect(pdu.isOutletPowered(1)).toBe(true);
    expect(pdu.outletPids()[0]).not.toBe(before);
  });

  it('the agent receives port=<mapped outlet> by default, plug= with pcmk_host_argument=plug, no pcmk_* key, and switches that outlet either way', async () => {
    await admin(registerArgs('rec-apc', rec.name, { ...params(), pcmk_host_map: 'node-m:2' }));
    await admin(['--fence', 'node-m']);
    const byDefault = rec.deviceCalls().at(-1)!;
    expect(byDefault.params).toMatchObject({ action: 'off', nodename: 'node-m', port: '2' });
    expect(byDefault.params.plug).toBeUndefined();
    expect(pdu.isOutletPowered(2)).toBe(false);
    await admin(['--unfence', 'node-m']);
    expect(rec.deviceCalls().at(-1)!.params).toMatchObject({ action: 'on', port: '2' });
    expect(pdu.isOutletPowered(2)).toBe(true);

    await admin(registerArgs('rec-apc-plug', rec.name, { ...params(), pcmk_host_map: 'node-p:4', pcmk_host_argument: 'plug' }));
    await admin(['--fence', 'node-p']);
    const call = rec.deviceCalls().at(-1)!;
    expect(call.params).toMatchObject({ action: 'off', nodename: 'node-p', plug: '4' });
    expect(call.params.port).toBeUndefined();
    expect(call.lines.filter((l) => l.startsWith('pcmk_'))).toEqual([]);
    expect(pdu.isOutletPowered(4)).toBe(false);
    expect([1, 2, 3].map((n) => pdu.isOutletPowered(n))).toEqual([true, true, true]);
    await admin(['--unfence', 'node-p']);
    expect(pdu.isOutletPowered(4)).toBe(true);
  });

  it('pcmk_reboot_action=off: --reboot leaves the outlet off', async () => {
    await admin(registerArgs('kit-apc-off', 'fence_kit_apc_snmp', { ...params(), pcmk_host_map: 'node-o:1', pcmk_reboot_action: 'off' }));
    try {
      await admin(['--reboot', 'node-o']);
      expect(pdu.isOutletPowered(1)).toBe(false);
      await waitFor('outlet 1 to stay off', () => !pdu.isOutletPowered(1), 500);
      await admin(['--unfence', 'node-o']);
      expect(pdu.isOutletPowered(1)).toBe(true);
    } finally {
      await admin(['--deregister', 'kit-apc-off']).catch(() => undefined);
    }
  });
});

describe('fence_kit_switch registered with a pacemaker-fenced in the switch\'s management namespace', () => {
  let lab: SwitchLab;
  let nsFencer: Fencer;
  beforeAll(async () => {
    lab = await startSwitchLab();
    nsFencer = await startFencer({ netns: lab.ns.manager });
  });
  afterAll(async () => {
    await nsFencer?.stop();
    await lab?.stop();
  });

  // fence_kit_switch's on is on_target: pacemaker-fenced runs an unfence only on the node being unfenced, and this
  // fencer is not node2, so its --unfence of node2 finds no device (105) and the port stays down. The unfence that
  // works, run by node2's own Pacemaker at its join, is in the KVM HA pair's fabric scenario.
  it('--list-targets names the ports; --fence node2 downs its port (no traffic); --reboot is remapped to off; --unfence from another node is refused', async () => {
    const port = lab.ports.node2;
    await admin(registerArgs('kit-switch', 'fence_kit_switch', { ip: lab.mgmtAddress, community: lab.community.rw, pcmk_host_map: `node2:${port.ifIndex}` }), nsFencer);
    await admin(['--query', 'kit-switch'], nsFencer);
    expect(await admin(['--list-targets', 'kit-switch'], nsFencer)).toContain(port.name);
    expect(await lab.nodesTalk({ withinS: 5 })).toBe(true);
    await admin(['--fence', 'node2'], nsFencer);
    expect(lab.kernelAdminUp(port)).toBe(false);
    expect(await lab.nodesTalk({ count: 2, waitS: 1 })).toBe(false);
    const refused = await nsFencer.admin(['--unfence', 'node2']);
    expect(refused.code, refused.stdout + refused.stderr).toBe(105);
    expect(lab.kernelAdminUp(port)).toBe(false);
    await lab.restorePorts();
    expect(await lab.nodesTalk({ withinS: 5 })).toBe(true);
    // Fabric agents advertise no reboot: the fencer sends off.
    await admin(['--reboot', 'node2'], nsFencer);
    expect(lab.kernelAdminUp(port)).toBe(false);
    expect((await nsFencer.admin(['--unfence', 'node2'])).code).toBe(105);
    expect(lab.kernelAdminUp(port)).toBe(false);
    await lab.restorePorts();
    expect(await lab.nodesTalk({ withinS: 5 })).toBe(true);
  });
});
