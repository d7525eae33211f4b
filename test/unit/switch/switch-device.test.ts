// The switch device under the real power engine, over an in-memory IF-MIB table: the decisions that a real
// snmpd cannot be made to show (a port in testing(3), a switch whose ifOperStatus lags) and the order of
// SETs when several ports are fenced. What a real switch does is in test/integration/switch.test.ts.
import { describe, expect, it } from 'vitest';
import { fenceFailure } from '../../support/fence-errors.js';
import { PowerEngine, type EngineSettings } from '../../../lib/actions.js';
import { FenceError } from '../../../lib/errors.js';
import { silentLogger } from '../../../lib/log.js';
import { SnmpNoSuchObjectError, type SnmpSetVarbind, type SnmpValue } from '../../../lib/snmp/index.js';
import { OID } from '../../../agents/switch-port/if-mib.js';
import { SwitchPorts, type IfMibClient, type SwitchSettings } from '../../../agents/switch-port/device.js';

const FAST: EngineSettings = { powerTimeoutMs: 300, shellTimeoutMs: 200, powerWaitMs: 0, statusSleepMs: 20, retryOn: 0, method: 'onoff', forceOn: false };
const MGMT = '198.19.0.1';

/** An IF-MIB agent as a map of OID → value; SETs of ifAdminStatus also move ifOperStatus unless told not to. */
class FakeSwitch implements IfMibClient {
  readonly sets: string[] = [];
  /** TimeTicks objects (sysUpTime.0, ifLastChange.N), kept apart so GET answers them with their own type. */
  readonly ticks = new Map<string, number>();
  constructor(
    readonly table: Map<string, number | string>,
    private readonly operLags = false,
  ) {}
  async getInt(oid: string): Promise<number> {
    const v = this.table.get(oid);
    if (v === undefined) throw new SnmpNoSuchObjectError(oid, 'fake', 'noSuchInstance');
    if (typeof v !== 'number') throw new FenceError('unconfirmed', 'not an integer');
    return v;
  }
  async get(oids: readonly string[]): Promise<SnmpValue[]> {
    return oids.map((oid) => {
      const t = this.ticks.get(oid);
      if (t !== undefined) return { oid, type: 'timeticks', value: t };
      const v = this.table.get(oid);
      if (v === undefined) throw new SnmpNoSuchObjectError(oid, 'fake', 'noSuchInstance');
      return { oid, type: typeof v === 'number' ? 'integer' : 'octetString', value: v };
    });
  }
  async set(varbinds: readonly SnmpSetVarbind[]): Promise<void> {
    for (const vb of varbinds) {
      if (!this.table.has(vb.oid)) throw new SnmpNoSuchObjectError(vb.oid, 'fake', 'noCreation');
      this.sets.push(`${vb.oid}=${vb.value}`);
      this.table.set(vb.oid, vb.value);
      const ifIndex = vb.oid.split('.').pop();
      if (!this.operLags) this.table.set(`${OID.ifOperStatus}.${ifIndex}`, vb.value);
    }
  }
  async subtree(prefix: string): Promise<SnmpValue[]> {
    return [...this.table]
      .filter(([oid]) => oid.startsWith(`${prefix}.`))
      .map(([oid, value]) => ({ oid, type: typeof value === 'number' ? 'integer' : 'octetString', value }));
  }
  close(): void {}
}

function switchWith(ports: Record<number, { descr: string; admin: number; alias?: string }>, opts: { operLags?: boolean; mgmtOn?: number } = {}) {
  const table = new Map<string, number | string>();
  for (const [i, p] of Object.entries(ports)) {
    table.set(`${OID.ifDescr}.${i}`, p.descr);
    table.set(`${OID.ifName}.${i}`, p.descr);
    table.set(`${OID.ifAlias}.${i}`, p.alias ?? '');
    table.set(`${OID.ifAdminStatus}.${i}`, p.admin);
    table.set(`${OID.ifOperStatus}.${i}`, p.admin);
  }
  if (opts.mgmtOn !== undefined) table.set(`${OID.ipAdEntIfIndex}.${MGMT}`, opts.mgmtOn);
  return new FakeSwitch(table, opts.operLags);
}

function engine(sw: FakeSwitch, plugs: string[], confirmOperStatus = false, host = MGMT, unfence: Pick<SwitchSettings, 'unfenceNode' | 'host'> = {}) {
  const device = new SwitchPorts(sw, { target: { host, auth: { version: '2c', community: 'x' } }, plugs, confirmOperStatus, ...unfence }, silentLogger);
  return new PowerEngine(device, plugs, FAST, silentLogger);
}

describe('fence_kit_switch device', () => {
  it('reports a port in testing(3) as an error, not Already OFF, and sends nothing', async () => {
    const sw = switchWith({ 11: { descr: 'p1', admin: 3 } });
    const err = await fenceFailure(engine(sw, ['11']).off());
    expect(err.kind).toBe('unconfirmed');
    expect(err.message).toMatch(/testing\(3\)/);
    expect(sw.sets).toEqual([]);
    expect((await fenceFailure(engine(sw, ['11']).status())).kind).toBe('unconfirmed');
  });

  it('reports a port the switch does not have as no-such-plug for status, off and on', async () => {
    const sw = switchWith({ 11: { descr: 'p1', admin: 1 } });
    for (const action of ['status', 'off', 'on'] as const) {
      const err = await fenceFailure(engine(sw, ['99'])[action]());
      expect(err.kind, action).toBe('no-such-plug');
    }
    expect((await fenceFailure(engine(sw, ['p9']).off())).kind).toBe('no-such-plug');
    expect(sw.sets).toEqual([]);
  });

  it('fences every port of a node, by ifIndex and by name, and reports off only when all read down', async () => {
    const sw = switchWith({ 11: { descr: 'p1', admin: 1 }, 12: { descr: 'p2', admin: 1, alias: 'node1-b' } });
    const r = await engine(sw, ['11', 'node1-b']).off();
    expect(r.stdout).toEqual(['Success: Powered OFF']);
    expect(sw.sets).toEqual([`${OID.ifAdminStatus}.11=2`, `${OID.ifAdminStatus}.12=2`]);
  });

  it('refuses a name that is one port\'s ifDescr and another port\'s ifAlias, and a name two ports carry, before any SET', async () => {
    const sw = switchWith({ 11: { descr: 'p1', admin: 1, alias: 'p2' }, 12: { descr: 'p2', admin: 1, alias: 'spare' }, 13: { descr: 'p3', admin: 1, alias: 'spare' } });
    const across = await fenceFailure(engine(sw, ['p2']).off());
    expect(across.kind).toBe('bad-input');
    expect(across.message).toMatch(/ambiguous.*ifIndex 12.*ifIndex 11.*ifIndex number/);
    expect(sw.sets).toEqual([]);
    await engine(sw, ['p3']).off();
    expect(sw.sets).toEqual([`${OID.ifAdminStatus}.13=2`]);
    const err = await fenceFailure(engine(sw, ['spare']).off());
    expect(err.kind).toBe('bad-input');
    expect(err.message).toMatch(/ambiguous/);
  });

  it('refuses the management port before any port of the node goes down', async () => {
    const sw = switchWith({ 10: { descr: 'mgmt', admin: 1 }, 11: { descr: 'p1', admin: 1 } }, { mgmtOn: 10 });
    const err = await fenceFailure(engine(sw, ['11', 'mgmt']).off());
    expect(err.kind).toBe('bad-input');
    expect(err.message).toMatch(/refusing to shut port mgmt \(ifIndex 10\).*management address 198\.19\.0\.1/);
    expect(sw.sets).toEqual([]);
  });

  it('places a switch named by host name through the address the name resolves to', async () => {
    const sw = switchWith({ 10: { descr: 'mgmt', admin: 1 } });
    sw.table.set(`${OID.ipAdEntIfIndex}.127.0.0.1`, 10);
    const err = await fenceFailure(engine(sw, ['mgmt'], false, 'localhost').off());
    expect(err.message).toMatch(/management address 127\.0\.0\.1/);
  });

  it('fences normally when the switch does not place its management address', async () => {
    const sw = switchWith({ 10: { descr: 'mgmt', admin: 1 } });
    expect((await engine(sw, ['10']).off()).stdout).toEqual(['Success: Powered OFF']);
  });

  it('with confirm_oper_status, waits for ifOperStatus down before reporting OFF', async () => {
    const sw = switchWith({ 11: { descr: 'p1', admin: 1 } }, { operLags: true });
    const lagging = engine(sw, ['11'], true);
    const err = await fenceFailure(lagging.off());
    expect(err.kind).toBe('timeout');
    sw.table.set(`${OID.ifOperStatus}.11`, 7); // lowerLayerDown
    expect((await engine(sw, ['11'], true).off()).stdout).toEqual(['Success: Already OFF']);
  });

  it('lists ifDescr, ifAlias and the real admin state, UNKNOWN for testing(3)', async () => {
    const sw = switchWith({ 11: { descr: 'p1', admin: 1, alias: 'node1' }, 12: { descr: 'p2', admin: 2 }, 13: { descr: 'p3', admin: 3 } });
    const r = await engine(sw, []).list(true, ',');
    expect(r.stdout).toEqual(['p1,node1,ON', 'p2,,OFF', 'p3,,UNKNOWN']);
  });

  describe('with unfence_after_reboot (the switch says how long each port has been down)', () => {
    /** node2, up `uptimeS` seconds; the switch up 1000 s, each port down since `downSince` (TimeTicks). */
    function guarded(sw: FakeSwitch, plugs: string[], uptimeS: number, hostname = 'node2', unfenceNode = 'node2') {
      sw.ticks.set(OID.sysUpTime, 100_000);
      return engine(sw, plugs, false, MGMT, { unfenceNode, host: { hostname: () => hostname, uptimeS: async () => uptimeS } });
    }
    const downSince = (sw: FakeSwitch, ifIndex: number, ticks: number) => sw.ticks.set(`${OID.ifLastChange}.${ifIndex}`, ticks);

    it('switches every port on when the host booted after all of them went down', async () => {
      const sw = switchWith({ 11: { descr: 'p1', admin: 2 }, 12: { descr: 'p2', admin: 2 } });
      downSince(sw, 11, 90_000); // down 100 s
      downSince(sw, 12, 95_000); // down 50 s
      expect((await guarded(sw, ['11', 'p2'], 49.99).on()).stdout).toEqual(['Success: Powered ON']);
      expect(sw.sets).toEqual([`${OID.ifAdminStatus}.11=1`, `${OID.ifAdminStatus}.12=1`]);
    });

    it('refuses before any SET when one port went down after the host booted, naming node and port', async () => {
      const sw = switchWith({ 11: { descr: 'p1', admin: 2 }, 12: { descr: 'p2', admin: 2 } });
      downSince(sw, 11, 90_000); // down 100 s
      downSince(sw, 12, 99_590); // down 4.1 s
      const err = await fenceFailure(guarded(sw, ['11', 'p2'], 3605.5).on());
      expect(err.kind).toBe('bad-input');
      expect(err.message).toBe('unfence_after_reboot: node2 has been up 3605 s, since before port 11 went down 100 s ago: reboot it, then unfence');
      const second = await fenceFailure(guarded(sw, ['11', 'p2'], 50).on());
      expect(second.message).toBe('unfence_after_reboot: node2 has been up 50 s, since before port p2 went down 4 s ago: reboot it, then unfence');
      expect(sw.sets).toEqual([]);
    });

    it('checks only the ports that are down: a port already up needs no ifLastChange', async () => {
      const sw = switchWith({ 11: { descr: 'p1', admin: 1 }, 12: { descr: 'p2', admin: 2 } });
      downSince(sw, 12, 99_000); // down 10 s
      expect((await guarded(sw, ['11', '12'], 5).on()).stdout).toEqual(['Success: Powered ON']);
      expect(sw.sets).toEqual([`${OID.ifAdminStatus}.12=1`]);
    });

    it('refuses, sending nothing, when the switch has no ifLastChange for a port that is down', async () => {
      const sw = switchWith({ 11: { descr: 'p1', admin: 2 } });
      const err = await fenceFailure(guarded(sw, ['11'], 1).on());
      expect(err.message).toBe('unfence_after_reboot: the switch gave no ifLastChange for port 11, so how long it has been down is unknown');
      expect(sw.sets).toEqual([]);
    });

    it('refuses, sending nothing, when the switch has no sysUpTime, naming that one of the objects it lacks', async () => {
      const sw = switchWith({ 11: { descr: 'p1', admin: 2 } });
      downSince(sw, 11, 0);
      const device = guarded(sw, ['11'], 1);
      sw.ticks.delete(OID.sysUpTime);
      const err = await fenceFailure(device.on());
      expect(err.message).toBe('unfence_after_reboot: the switch gave no sysUpTime with port 11, so how long it has been down is unknown');
      expect(sw.sets).toEqual([]);
    });

    it('refuses, sending nothing, when ifLastChange is an INTEGER rather than TimeTicks', async () => {
      const sw = switchWith({ 11: { descr: 'p1', admin: 2 } });
      sw.table.set(`${OID.ifLastChange}.11`, 0);
      const err = await fenceFailure(guarded(sw, ['11'], 1).on());
      expect(err.message).toMatch(/no ifLastChange for port 11/);
      expect(sw.sets).toEqual([]);
    });

    it('refuses on another host, and without nodename, sending nothing', async () => {
      const sw = switchWith({ 11: { descr: 'p1', admin: 2 } });
      downSince(sw, 11, 0);
      const other = await fenceFailure(guarded(sw, ['11'], 1, 'node1').on());
      expect(other.message).toBe('unfence_after_reboot: the unfence of node2 must run on node2 itself, after its reboot (this host is node1)');
      const unnamed = await fenceFailure(guarded(sw, ['11'], 1, 'node2', '').on());
      expect(unnamed.message).toBe('unfence_after_reboot needs nodename (the node being unfenced)');
      expect(sw.sets).toEqual([]);
    });

    it('refuses, sending nothing, while ifOperStatus still reads up after the fence (the switch has not stamped ifLastChange yet)', async () => {
      const sw = switchWith({ 12: { descr: 'p2', admin: 1 } }, { operLags: true });
      downSince(sw, 12, 0);
      await engine(sw, ['12']).off();
      sw.sets.length = 0;
      const err = await fenceFailure(guarded(sw, ['12'], 1).on());
      expect(err.message).toMatch(/^unfence_after_reboot: the switch does not show port 12's link down yet \(ifOperStatus up\(1\)\)/);
      expect(sw.sets).toEqual([]);
    });

    it('leaves off as it was: a fence needs no reboot proof', async () => {
      const sw = switchWith({ 11: { descr: 'p1', admin: 1 } });
      expect((await guarded(sw, ['11'], 1, 'node1').off()).stdout).toEqual(['Success: Powered OFF']);
    });
  });
});
