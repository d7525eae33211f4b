// fence_kit_apc_snmp over SNMP against a real peer: net-snmp's snmpd with the PowerNet-MIB pass_persist
// emulator (test/peers/snmpd-pdu.ts), whose outlets power real processes, so "off" is checked through
// /proc and never through the agent's own reading. Debian's fence_apc_snmp runs against the same snmpd
// where the comparison is the point (its two-plug defect, its list-status): what it does is recorded
// (test/support/peer-report.ts), never asserted, so these tests do not go red the day Debian fixes it.
import { existsSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { APC_SYS_OBJECT_ID, startPdu, type PduPeer } from '../peers/snmpd-pdu.js';
import { injectLoss } from '../support/net-faults.js';
import { recordPeer } from '../support/peer-report.js';
import { runAgentBinary } from '../support/run-agent.js';

const PEER = '/usr/sbin/fence_apc_snmp';
const NAMES = ['web1', 'node1-psu-a', 'node1-psu-b', 'node2-psu-a', 'node2-psu-b', 'db1', 'spare', 'Outlet 8'];

type Cfg = Record<string, string | number>;
const stdinOf = (cfg: Cfg) => Object.entries(cfg).map(([k, v]) => `${k}=${v}`).join('\n') + '\n';
const agent = (cfg: Cfg, timeoutMs = 60_000) => runAgentBinary('fence_kit_apc_snmp', { stdin: stdinOf(cfg), timeoutMs });
const peerAgent = (cfg: Cfg) => runAgentBinary(PEER, { stdin: stdinOf(cfg), timeoutMs: 60_000 });

function v1(pdu: PduPeer, extra: Cfg = {}): Cfg {
  return { ip: pdu.host, ipport: pdu.port, community: pdu.communities.rw, ...extra };
}

const CREDENTIALS: [string, (pdu: PduPeer) => Cfg][] = [
  ['v1 (fence_apc_snmp defaults: version 1, community private)', (pdu) => ({ ip: pdu.host, ipport: pdu.port })],
  ['v2c', (pdu) => ({ ip: pdu.host, ipport: pdu.port, snmp_version: '2c', community: pdu.communities.rw })],
  ['v3 authPriv SHA/AES', (pdu) => ({
    ip: pdu.host, ipport: pdu.port, snmp_version: '3', username: pdu.v3.rw.username, password: pdu.v3.rw.authPassword,
    snmp_auth_prot: 'SHA', snmp_sec_level: 'authPriv', snmp_priv_prot: 'AES', snmp_priv_passwd: pdu.v3.rw.privPassword,
  })],
  ['v3 authPriv SHA-256/AES', (pdu) => ({
    ip: pdu.host, ipport: pdu.port, snmp_version: '3', username: pdu.v3.rwSha256.username, password: pdu.v3.rwSha256.authPassword,
    snmp_auth_prot: 'SHA256', snmp_priv_prot: 'AES', snmp_priv_passwd: pdu.v3.rwSha256.privPassword,
  })],
];

describe('fence_kit_apc_snmp against snmpd + PowerNet emulator (rack PDU, rPDU tables)', () => {
  let pdu: PduPeer;
  beforeAll(async () => {
    pdu = await startPdu({ outlets: 8, names: NAMES });
  });
  afterAll(async () => {
    await pdu?.stop();
  });
  afterEach(() => {
    for (let n = 1; n <= 8; n++) {
      pdu.setFault(n, null);
      if (!pdu.isOutletPowered(n)) pdu.setOutletState(n, true);
    }
  });

  describe.each(CREDENTIALS)('%s', (_label, creds) => {
    it('status, off, status, on, reboot: each reported state is the outlet process\'s real state', async () => {
      const cfg = { ...creds(pdu), plug: 6 };
      const s1 = await agent({ ...cfg, action: 'status' });
      expect(s1.stdout.trim(), s1.stderr).toBe('Status: ON');
      expect(s1.code).toBe(0);
      const monitor = await agent({ ...creds(pdu), action: 'monitor' });
      expect(monitor.code, monitor.stderr).toBe(0);

      const off = await agent({ ...cfg, action: 'off' });
      expect(off.code, off.stderr).toBe(0);
      expect(off.stdout).toContain('Success: Powered OFF');
      expect(pdu.isOutletPowered(6)).toBe(false);

      const s2 = await agent({ ...cfg, action: 'status' });
      expect(s2.code).toBe(2);
      expect(s2.stdout.trim()).toBe('Status: OFF');

      const on = await agent({ ...cfg, action: 'on' });
      expect(on.code, on.stderr).toBe(0);
      expect(pdu.isOutletPowered(6)).toBe(true);

      const before = pdu.outletPids()[5];
      const reboot = await agent({ ...cfg, action: 'reboot' });
      expect(reboot.code, reboot.stderr).toBe(0);
      expect(pdu.isOutletPowered(6)).toBe(true);
      expect(pdu.outletPids()[5], 'reboot = off (process killed) then on (a new process)').not.toBe(before);
    });

    it('list and list-status read names and real states from the tables', async () => {
      pdu.setOutletState(7, false);
      const list = await agent({ ...creds(pdu), action: 'list' });
      expect(list.code, list.stderr).toBe(0);
      expect(list.stdout.trim().split('\n')).toEqual(NAMES.map((n, i) => `${i + 1},${n}`));
      const ls = await agent({ ...creds(pdu), action: 'list-status' });
      expect(ls.code, ls.stderr).toBe(0);
      expect(ls.stdout.trim().split('\n')).toEqual(NAMES.map((n, i) => `${i + 1},${n},${i === 6 ? 'OFF' : 'ON'}`));
    });
  });

  it('two-plug off: both outlets\' processes are dead before success (fence_apc_snmp\'s run on the same PDU recorded beside it)', async () => {
    const ours = await agent({ ...v1(pdu), plug: '2,3', action: 'off' });
    expect(ours.code, ours.stderr).toBe(0);
    expect(pdu.isOutletPowered(2)).toBe(false);
    expect(pdu.isOutletPowered(3)).toBe(false);
    const s = await agent({ ...v1(pdu), plug: '2,3', action: 'status' });
    expect(s.stdout.trim()).toBe('Status: OFF');

    // The peer, on the same snmpd: node2's two supplies are outlets 4 and 5. Debian's fence_apc_snmp switched
    // only the first and reported success when this was written; recorded, not asserted (it is Debian's to fix).
    expect(existsSync(PEER), `${PEER} (Debian fence-agents) is needed`).toBe(true);
    const peer = await peerAgent({ ...v1(pdu), plug: '4,5', action: 'off' });
    recordPeer('fence_apc_snmp plug=4,5 off', { exit: peer.code, stdout: peer.stdout.trim(), outlet4Powered: pdu.isOutletPowered(4), outlet5Powered: pdu.isOutletPowered(5) });
  });

  it('two-plug off by name (a node whose two supplies are on two outlets)', async () => {
    const r = await agent({ ...v1(pdu), plug: 'node1-psu-a,node1-psu-b', action: 'off' });
    expect(r.code, r.stderr).toBe(0);
    expect(pdu.isOutletPowered(2)).toBe(false);
    expect(pdu.isOutletPowered(3)).toBe(false);
    expect(pdu.isOutletPowered(1)).toBe(true);
  });

  it('switch=2 plug=5 on a rack PDU (no switches) is refused naming switch, and outlet 5 of unit 1 keeps powering its process; switch=1 is the one switch there is', async () => {
    const pid = pdu.outletPids()[4];
    const sets = pdu.readState().setCount;
    for (const action of ['off', 'status', 'list']) {
      const r = await agent({ ...v1(pdu), switch: 2, plug: 5, action });
      expect(r.code, `${action}: ${r.stderr}`).toBe(1);
      expect(r.stdout).not.toContain('Success');
      expect(r.stderr).toMatch(/option 'switch'.*has no switches/);
    }
    expect(pdu.isOutletPowered(5)).toBe(true);
    expect(pdu.outletPids()[4]).toBe(pid);
    expect(pdu.readState().setCount).toBe(sets);
    // A switch written as part of the plug and a different switch option contradict each other.
    const both = await agent({ ...v1(pdu), switch: 2, plug: '1:5', action: 'off' });
    expect(both.code).toBe(1);
    expect(pdu.isOutletPowered(5)).toBe(true);
    const one = await agent({ ...v1(pdu), switch: 1, plug: 5, action: 'status' });
    expect(one.stdout.trim(), one.stderr).toBe('Status: ON');
  });

  it('username and password without community or snmp_version: refused before any packet (fence_apc_snmp: SNMP v1 with community "private"), validate-all too', async () => {
    const cfg = { ip: pdu.host, ipport: pdu.port, username: pdu.v3.rw.username, password: pdu.v3.rw.authPassword, plug: 5 };
    const sets = pdu.readState().setCount;
    const off = await agent({ ...cfg, action: 'off' });
    expect(off.code).toBe(1);
    expect(off.stdout).not.toContain('Success');
    const lines = off.stderr.trim().split('\n');
    expect(lines, off.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(/'username'.*given without 'community' or 'snmp_version'/);
    expect(lines[0]).toMatch(/snmp_version=3.*community=/);
    expect(pdu.isOutletPowered(5)).toBe(true);
    expect(pdu.readState().setCount).toBe(sets);
    const validate = await agent({ ...cfg, action: 'validate-all' });
    expect(validate.code).toBe(1);
    // Saying which protocol is meant makes the same credentials work.
    const v3 = await agent({ ...cfg, snmp_version: 3, snmp_auth_prot: 'SHA', snmp_priv_prot: 'AES', snmp_priv_passwd: pdu.v3.rw.privPassword, action: 'status', verbose: 1 });
    expect(v3.stdout.trim(), v3.stderr).toBe('Status: ON');
    expect(v3.stderr).toContain('SNMP v3');
    const v1Explicit = await agent({ ...cfg, community: pdu.communities.rw, action: 'status' });
    expect(v1Explicit.stdout.trim(), v1Explicit.stderr).toBe('Status: ON');
  });

  it('a lying outlet among the two: failure (timed out), never success, and the honest outlet is off', async () => {
    pdu.setFault(5, { kind: 'lying' });
    const r = await agent({ ...v1(pdu), plug: '4,5', action: 'off', power_timeout: 3 });
    expect(r.code).toBe(1);
    expect(r.stdout).not.toContain('Success');
    expect(r.stderr).toContain('timed out');
    expect(pdu.isOutletPowered(5)).toBe(true);
    expect(pdu.isOutletPowered(4)).toBe(false);
  });

  it('an outlet value that is neither on nor off is an error for status and off, and UNKNOWN in list-status', async () => {
    pdu.setFault(6, { kind: 'unknown-value', value: 4 });
    const s = await agent({ ...v1(pdu), plug: 6, action: 'status' });
    expect(s.code).toBe(1);
    expect(s.stdout).not.toContain('Status:');
    expect(s.stderr).toMatch(/reads 4.*neither on \(1\) nor off \(2\)/);
    const off = await agent({ ...v1(pdu), plug: 6, action: 'off', power_timeout: 2 });
    expect(off.code).toBe(1);
    const ls = await agent({ ...v1(pdu), action: 'list-status' });
    expect(ls.stdout).toContain('6,db1,UNKNOWN');
    expect(ls.stdout).toContain('5,node2-psu-b,ON');
  });

  it('wrong community: a bounded failure (snmpd stays silent)', async () => {
    const r = await agent({ ...v1(pdu, { community: 'not-the-community' }), plug: 1, action: 'status' });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.ms).toBeLessThan(8_000);
    const monitor = await agent({ ...v1(pdu, { community: 'not-the-community' }), action: 'monitor' });
    expect(monitor.code).toBe(1);
    const off = await agent({ ...v1(pdu, { community: 'not-the-community' }), plug: 1, action: 'off', power_timeout: 3 });
    expect(off.code).toBe(1);
    expect(off.ms).toBeLessThan(5_000 + 3_000 + 3_000);
    expect(pdu.isOutletPowered(1)).toBe(true);
  });

  it('read-only community: a privilege error at once, the outlet untouched', async () => {
    const r = await agent({ ...v1(pdu, { community: pdu.communities.ro }), plug: 1, action: 'off' });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Insufficient privileges');
    expect(r.ms).toBeLessThan(2_000);
    expect(pdu.isOutletPowered(1)).toBe(true);
    const v3ro = await agent({
      ip: pdu.host, ipport: pdu.port, snmp_version: '3', username: pdu.v3.ro.username, password: pdu.v3.ro.authPassword,
      snmp_auth_prot: 'SHA', snmp_priv_prot: 'AES', snmp_priv_passwd: pdu.v3.ro.privPassword, plug: 1, action: 'off',
    });
    expect(v3ro.code).toBe(1);
    expect(v3ro.stderr).toContain('Insufficient privileges');
    expect(pdu.isOutletPowered(1)).toBe(true);
  });

  it('no such outlet (by number or by name): "plug is not available" at once, never OFF', async () => {
    for (const plug of ['99', 'no-such-server']) {
      for (const action of ['status', 'off']) {
        const r = await agent({ ...v1(pdu), plug, action });
        expect(r.code, `${action} ${plug}`).toBe(1);
        expect(r.stdout).toBe('');
        expect(r.stderr).toContain('plug is not available');
        expect(r.ms).toBeLessThan(2_000);
      }
    }
    const two = await agent({ ...v1(pdu), plug: '1,99', action: 'off' });
    expect(two.code).toBe(1);
  });

  it('a slow outlet is waited for within power_timeout; slower than power_timeout is a "timed out" failure', async () => {
    pdu.setFault(7, { kind: 'slow', seconds: 2 });
    const ok = await agent({ ...v1(pdu), plug: 7, action: 'off', power_timeout: 10 });
    expect(ok.code, ok.stderr).toBe(0);
    expect(pdu.isOutletPowered(7)).toBe(false);
    expect(ok.ms).toBeGreaterThan(1_900);

    pdu.setOutletState(7, true);
    pdu.setFault(7, { kind: 'slow', seconds: 8 });
    const late = await agent({ ...v1(pdu), plug: 7, action: 'off', power_timeout: 3 });
    expect(late.code).toBe(1);
    expect(late.stderr).toContain('timed out');
    expect(pdu.isOutletPowered(7)).toBe(true);
    expect(late.ms).toBeLessThan(3_000 + 3_000);
  });

  it('a PDU that answers nothing (frozen snmpd, or no snmpd at the port) fails within its bounds', async () => {
    pdu.freeze();
    try {
      const r = await agent({ ...v1(pdu), plug: 1, action: 'status' });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/Unable to connect|timed out/);
      expect(r.ms).toBeLessThan(8_000);
    } finally {
      pdu.thaw();
    }
    const closed = await agent({ ip: '127.0.0.1', ipport: 9, plug: 1, action: 'off', power_timeout: 2, login_timeout: 2 });
    expect(closed.code).toBe(1);
    expect(closed.ms).toBeLessThan(2_000 + 2_000 + 3_000);
  });

  it('30 % loss both ways on the snmpd port: most offs succeed, and no success while the outlet still powers its process', async () => {
    const runs = Number(process.env.FK_LOSS_RUNS ?? 10);
    const loss = injectLoss({ ports: [pdu.port], percent: 30 });
    let ok = 0;
    try {
      for (let i = 0; i < runs; i++) {
        if (!pdu.isOutletPowered(8)) pdu.setOutletState(8, true);
        const r = await agent({ ...v1(pdu), plug: 8, action: 'off' });
        if (r.code === 0) {
          expect(pdu.isOutletPowered(8), `run ${i} reported off while outlet 8 still powers its process`).toBe(false);
          ok++;
        }
        expect(r.ms).toBeLessThan(5_000 + 20_000 + 3_000);
      }
    } finally {
      loss.remove();
    }
    console.log(`apc off under 30 % loss: ${ok}/${runs} succeeded`);
    expect(ok / runs).toBeGreaterThanOrEqual(0.9);
  }, 600_000);

  it('list-status reports each outlet\'s real state, read from its process (fence_apc_snmp\'s list-status recorded beside it)', async () => {
    pdu.setOutletState(7, false);
    const ours = await agent({ ...v1(pdu), action: 'list-status' });
    expect(ours.code, ours.stderr).toBe(0);
    const truth = NAMES.map((n, i) => `${i + 1},${n},${pdu.isOutletPowered(i + 1) ? 'ON' : 'OFF'}`);
    expect(truth[6]).toBe('7,spare,OFF');
    expect(ours.stdout.trim().split('\n')).toEqual(truth);
    // When this was written the peer printed UNKNOWN for every outlet.
    const peer = await peerAgent({ ...v1(pdu), action: 'list-status' });
    recordPeer('fence_apc_snmp list-status', { exit: peer.code, lines: peer.stdout.trim().split('\n'), truth });
  });
});

describe('fence_kit_apc_snmp chooses the outlet tables by sysObjectID', () => {
  const FAMILY_CASES: { label: string; sysObjectID: string; tables?: ('rpdu2' | 'msp')[]; plug: string; list: string }[] = [
    { label: 'rack PDU with rPDU2 tables (status off(1)/on(2))', sysObjectID: APC_SYS_OBJECT_ID.rackPdu, tables: ['rpdu2'], plug: '3', list: '3,Outlet 3,OFF' },
    { label: 'MasterSwitch Plus (switch:outlet, off = 3)', sysObjectID: APC_SYS_OBJECT_ID.masterSwitchPlus, tables: ['msp'], plug: '1:3', list: '1:3,Outlet 3,OFF' },
    { label: 'MasterSwitch fw 6 (status sPDUOutletCtl, control rPDU)', sysObjectID: APC_SYS_OBJECT_ID.masterSwitchV6, plug: '3', list: '3,Outlet 3,OFF' },
    { label: 'MasterSwitch fallback (sPDUOutletCtl read/write)', sysObjectID: APC_SYS_OBJECT_ID.masterSwitch, plug: '3', list: '3,Outlet 3,OFF' },
  ];
  describe.each(FAMILY_CASES)('$label', ({ sysObjectID, tables, plug, list }) => {
    let pdu: PduPeer;
    beforeAll(async () => {
      pdu = await startPdu({ outlets: 4, sysObjectID, ...(tables ? { tables } : {}) });
    });
    afterAll(async () => {
      await pdu?.stop();
    });

    it('off, list-status, on through that family\'s OIDs', async () => {
      const before = pdu.readState().setCount;
      const off = await agent({ ...v1(pdu), plug, action: 'off', verbose: 1 });
      expect(off.code, off.stderr).toBe(0);
      expect(pdu.isOutletPowered(3)).toBe(false);
      expect(pdu.isOutletPowered(2)).toBe(true);
      expect(pdu.readState().setCount).toBe(before + 1);
      const ls = await agent({ ...v1(pdu), action: 'list-status' });
      expect(ls.stdout.trim().split('\n')).toContain(list);
      const on = await agent({ ...v1(pdu), plug, action: 'on' });
      expect(on.code, on.stderr).toBe(0);
      expect(pdu.isOutletPowered(3)).toBe(true);
    });

    it('an unknown outlet value is refused, not read as off', async () => {
      pdu.setFault(2, { kind: 'unknown-value', value: 4 });
      try {
        const s = await agent({ ...v1(pdu), plug: plug.replace(/3$/, '2'), action: 'status' });
        expect(s.code).toBe(1);
        expect(s.stderr).toContain('neither on');
      } finally {
        pdu.setFault(2, null);
      }
    });
  });

  it.each([
    ['rPDU2 tables', APC_SYS_OBJECT_ID.rackPdu, ['rpdu2' as const]],
    ['MasterSwitch fw 6', APC_SYS_OBJECT_ID.masterSwitchV6, []],
  ])('switch=2 plug=3 on a %s PDU (no switches) is refused naming switch, outlet 3 untouched', async (_label, sysObjectID, tables) => {
    const pdu = await startPdu({ outlets: 4, sysObjectID, tables });
    try {
      const pid = pdu.outletPids()[2];
      const r = await agent({ ...v1(pdu), switch: 2, plug: 3, action: 'off' });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/option 'switch'.*has no switches/);
      expect(pdu.isOutletPowered(3)).toBe(true);
      expect(pdu.outletPids()[2]).toBe(pid);
      expect(pdu.readState().setCount).toBe(0);
    } finally {
      await pdu.stop();
    }
  });

  // The emulator serves the MasterSwitch table whatever its sysObjectID, so the old fallback would have
  // switched its outlet 3 and reported success: on a real Tripp Lite that OID names nothing of its own.
  it.each([
    ['a Tripp Lite PDU', '.1.3.6.1.4.1.850.1', 'sysObjectID 1.3.6.1.4.1.850.1, a Tripp Lite PDU'],
    ["net-snmp's own agent", '.1.3.6.1.4.1.8072.3.2.10', 'sysObjectID 1.3.6.1.4.1.8072.3.2.10, which is not an APC switched PDU'],
  ])('%s (not an APC switched PDU) is refused naming its sysObjectID, off and status, no outlet switched', async (_label, sysObjectID, message) => {
    const pdu = await startPdu({ outlets: 4, sysObjectID });
    try {
      const pid = pdu.outletPids()[2];
      for (const action of ['off', 'status'] as const) {
        const r = await agent({ ...v1(pdu), plug: 3, action });
        expect(r.code, r.stderr).toBe(1);
        expect(r.stderr).toContain(message);
      }
      expect(pdu.isOutletPowered(3)).toBe(true);
      expect(pdu.outletPids()[2]).toBe(pid);
      expect(pdu.readState().setCount).toBe(0);
    } finally {
      await pdu.stop();
    }
  });

  it('a plug naming switch 2 on a PDU without switches is refused (fence_apc_snmp would switch outlet 3 of switch 1)', async () => {
    const pdu = await startPdu({ outlets: 4 });
    try {
      const r = await agent({ ...v1(pdu), plug: '2:3', action: 'off' });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('has no switches');
      expect(pdu.isOutletPowered(3)).toBe(true);
    } finally {
      await pdu.stop();
    }
  });
});
