// The APC SNMP device under the real power engine, over an in-memory PowerNet MIB: family detection, the
// OIDs each family reads and writes, and the rule that every plug of a multi-plug fence is switched and
// confirmed. What a real snmpd does is in test/integration/apc-snmp.test.ts.
//
// The in-memory PDU is built from the MIB objects written out below, not from the agent's FAMILIES table:
// a wrong OID or value there makes these tests fail instead of agreeing with itself.
import { describe, expect, it } from 'vitest';
import { PowerEngine, type EngineSettings } from '../../../lib/actions.js';
import { FenceError } from '../../../lib/errors.js';
import { silentLogger } from '../../../lib/log.js';
import { SnmpNoSuchObjectError, type SnmpSetVarbind, type SnmpValue } from '../../../lib/snmp/index.js';
import { FAMILIES, type FamilyId } from '../../../agents/pdu-apc/powernet.js';
import { SnmpPdu, type PduSnmpClient } from '../../../agents/pdu-apc/device.js';

const FAST: EngineSettings = { powerTimeoutMs: 300, shellTimeoutMs: 200, powerWaitMs: 0, statusSleepMs: 20, retryOn: 0, method: 'onoff', forceOn: false };
const ctx = { deadline: Date.now() + 60_000, logger: silentLogger };

/** SNMPv2-MIB sysObjectID.0 */
const SYS_OBJECT_ID = '1.3.6.1.2.1.1.2.0';

interface OutletTables {
  /** Column read for an outlet's state, its value for on and off. */
  state: string;
  readOn: number;
  readOff: number;
  /** Column written to switch an outlet, its value for on and off. */
  command: string;
  writeOn: number;
  writeOff: number;
  name: string;
  /** Instances are switch.1.outlet (MasterSwitch Plus) rather than the outlet number. */
  switches: boolean;
}

/**
 * APC PowerNet-MIB objects (enterprise 318) per PDU family, written out with their MIB names: the OIDs and
 * values are those of Debian's fence_apc_snmp (/usr/sbin/fence_apc_snmp: ApcRPDU, ApcMSP, ApcMS, ApcMS6);
 * rPDU2 is not in fence_apc_snmp and comes from PowerNet-MIB's rPDU2OutletSwitched tables (26.9.2.3/.4).
 */
const POWERNET: Record<FamilyId, OutletTables> = {
  rpdu: {
    state: '1.3.6.1.4.1.318.1.1.12.3.5.1.1.4', // rPDUOutletStatusOutletState: outletStatusOn(1), outletStatusOff(2)
    readOn: 1,
    readOff: 2,
    command: '1.3.6.1.4.1.318.1.1.12.3.3.1.1.4', // rPDUOutletControlOutletCommand: immediateOn(1), immediateOff(2)
    writeOn: 1,
    writeOff: 2,
    name: '1.3.6.1.4.1.318.1.1.12.3.5.1.1.2', // rPDUOutletStatusOutletName
    switches: false,
  },
  rpdu2: {
    state: '1.3.6.1.4.1.318.1.1.26.9.2.3.1.5', // rPDU2OutletSwitchedStatusState: off(1), on(2)
    readOn: 2,
    readOff: 1,
    command: '1.3.6.1.4.1.318.1.1.26.9.2.4.1.5', // rPDU2OutletSwitchedControlCommand: immediateOn(1), immediateOff(2)
    writeOn: 1,
    writeOff: 2,
    name: '1.3.6.1.4.1.318.1.1.26.9.2.3.1.3', // rPDU2OutletSwitchedStatusName
    switches: false,
  },
  msp: {
    state: '1.3.6.1.4.1.318.1.1.6.7.1.1.5', // sPDUOutletStatusMSPOutletState: on(1), off(2)
    readOn: 1,
    readOff: 2,
    command: '1.3.6.1.4.1.318.1.1.6.5.1.1.5', // sPDUOutletControlMSPOutletCommand: immediateOnMSP(1), immediateOffMSP(3)
    writeOn: 1,
    writeOff: 3,
    name: '1.3.6.1.4.1.318.1.1.6.7.1.1.4', // sPDUOutletStatusMSPOutletName
    switches: true,
  },
  ms6: {
    state: '1.3.6.1.4.1.318.1.1.4.4.2.1.3', // sPDUOutletCtl: outletOn(1), outletOff(2)
    readOn: 1,
    readOff: 2,
    command: '1.3.6.1.4.1.318.1.1.12.3.3.1.1.4', // rPDUOutletControlOutletCommand: immediateOn(1), immediateOff(2)
    writeOn: 1,
    writeOff: 2,
    name: '1.3.6.1.4.1.318.1.1.4.4.2.1.4', // sPDUOutletCtlName
    switches: false,
  },
  ms: {
    state: '1.3.6.1.4.1.318.1.1.4.4.2.1.3', // sPDUOutletCtl, read and written: outletOn(1), outletOff(2)
    readOn: 1,
    readOff: 2,
    command: '1.3.6.1.4.1.318.1.1.4.4.2.1.3',
    writeOn: 1,
    writeOff: 2,
    name: '1.3.6.1.4.1.318.1.1.4.4.2.1.4', // sPDUOutletCtlName
    switches: false,
  },
};

/** A PDU as OID → value; a SET of the command column moves the state column, unless the outlet lies. */
class FakePdu implements PduSnmpClient {
  readonly sets: string[] = [];
  readonly lying = new Set<string>();
  constructor(
    readonly mib: OutletTables,
    readonly table: Map<string, number | string>,
  ) {}
  async get(oids: readonly string[]): Promise<SnmpValue[]> {
    return oids.map((oid) => {
      const v = this.table.get(oid);
      if (v === undefined) throw new SnmpNoSuchObjectError(oid, 'fake', 'noSuchInstance');
      return { oid, type: typeof v === 'number' ? 'integer' : oid === SYS_OBJECT_ID ? 'oid' : 'octetString', value: v };
    });
  }
  async getInt(oid: string): Promise<number> {
    const [v] = await this.get([oid]);
    if (typeof v!.value !== 'number') throw new FenceError('unconfirmed', 'not an integer');
    return v!.value;
  }
  async set(varbinds: readonly SnmpSetVarbind[]): Promise<void> {
    for (const vb of varbinds) {
      if (!this.table.has(vb.oid)) throw new SnmpNoSuchObjectError(vb.oid, 'fake', 'noCreation');
      this.sets.push(`${vb.oid}=${vb.value}`);
      if (!vb.oid.startsWith(`${this.mib.command}.`)) continue; // not a command: the outlet does not move
      const instance = vb.oid.slice(this.mib.command.length + 1);
      if (this.lying.has(instance)) continue;
      if (vb.value !== this.mib.writeOn && vb.value !== this.mib.writeOff) continue;
      this.table.set(`${this.mib.state}.${instance}`, vb.value === this.mib.writeOn ? this.mib.readOn : this.mib.readOff);
      if (this.mib.command !== this.mib.state) this.table.set(vb.oid, vb.value as number);
    }
  }
  async subtree(prefix: string): Promise<SnmpValue[]> {
    return [...this.table]
      .filter(([oid]) => oid.startsWith(`${prefix}.`))
      .map(([oid, value]) => ({ oid, type: typeof value === 'number' ? 'integer' : 'octetString', value }));
  }
  close(): void {}
}

function pduOf(family: FamilyId, sysObjectId: string, outlets: number, opts: { rpdu2?: boolean } = {}): FakePdu {
  const mib = POWERNET[family];
  const table = new Map<string, number | string>([[SYS_OBJECT_ID, sysObjectId]]);
  for (let n = 1; n <= outlets; n++) {
    const inst = mib.switches ? `1.1.${n}` : String(n);
    table.set(`${mib.state}.${inst}`, mib.readOn);
    table.set(`${mib.command}.${inst}`, mib.writeOn);
    table.set(`${mib.name}.${inst}`, `Outlet ${n}`);
  }
  if (opts.rpdu2) table.set(`${POWERNET.rpdu2.state}.1`, POWERNET.rpdu2.readOn);
  return new FakePdu(mib, table);
}

describe('family detection', () => {
  it.each([
    ['1.3.6.1.4.1.318.1.3.4.5', false, 'rpdu'],
    ['1.3.6.1.4.1.318.1.3.4.5', true, 'rpdu2'],
    ['1.3.6.1.4.1.318.1.3.4.4', false, 'msp'],
    ['1.3.6.1.4.1.318.1.3.4.6', false, 'ms6'],
    ['1.3.6.1.4.1.318.1.3.4.99', true, 'ms'],
  ])('sysObjectID %s (rPDU2 table: %s) -> %s', async (oid, rpdu2, family) => {
    const fake = pduOf('rpdu', oid, 2, { rpdu2 });
    expect((await SnmpPdu.detectFamily(fake, ctx)).id).toBe(family);
  });
});

describe('under the power engine', () => {
  it('switches and confirms every plug of a two-plug off, in order', async () => {
    const fake = pduOf('rpdu', '1.3.6.1.4.1.318.1.3.4.5', 4);
    const engine = new PowerEngine(new SnmpPdu(fake, FAMILIES.rpdu, undefined, silentLogger), ['3', 'Outlet 4'], FAST, silentLogger);
    expect((await engine.off()).stdout).toEqual(['Success: Powered OFF']);
    expect(fake.sets).toEqual([`${POWERNET.rpdu.command}.3=2`, `${POWERNET.rpdu.command}.4=2`]);
  });

  it('fails when one plug of two acknowledges but never goes off', async () => {
    const fake = pduOf('rpdu', '1.3.6.1.4.1.318.1.3.4.5', 4);
    fake.lying.add('4');
    const engine = new PowerEngine(new SnmpPdu(fake, FAMILIES.rpdu, undefined, silentLogger), ['3', '4'], FAST, silentLogger);
    await expect(engine.off()).rejects.toMatchObject({ kind: 'timeout' });
  });

  it.each(['rpdu', 'rpdu2', 'msp', 'ms6', 'ms'] as const)('%s: writes its own off value at its own OID and reads the result back', async (id) => {
    const mib = POWERNET[id];
    const fake = pduOf(id, '1.3.6.1.4.1.318.1.3.4.5', 3);
    const plug = mib.switches ? '1:2' : '2';
    const device = new SnmpPdu(fake, FAMILIES[id], undefined, silentLogger);
    const engine = new PowerEngine(device, [plug], FAST, silentLogger);
    await engine.off();
    const inst = mib.switches ? '1.1.2' : '2';
    expect(fake.sets).toEqual([`${mib.command}.${inst}=${mib.writeOff}`]);
    expect(fake.table.get(`${mib.state}.${inst}`)).toBe(mib.readOff);
    expect(await device.getPower(plug, ctx)).toBe('off');
    const list = await device.list(ctx);
    expect(list.map((p) => `${p.id},${p.alias},${p.state}`)).toEqual(
      [1, 2, 3].map((n) => `${mib.switches ? '1:' : ''}${n},Outlet ${n},${n === 2 ? 'off' : 'on'}`),
    );
  });

  it('list reads all states in one GET, and falls back to the state column when an outlet has no state', async () => {
    const fake = pduOf('rpdu', '1.3.6.1.4.1.318.1.3.4.5', 3);
    let gets = 0;
    const get = fake.get.bind(fake);
    fake.get = async (oids) => {
      gets++;
      return get(oids);
    };
    const device = new SnmpPdu(fake, FAMILIES.rpdu, undefined, silentLogger);
    expect((await device.list(ctx)).map((p) => p.state)).toEqual(['on', 'on', 'on']);
    expect(gets).toBe(1);
    fake.table.delete(`${POWERNET.rpdu.state}.2`);
    const again = new SnmpPdu(fake, FAMILIES.rpdu, undefined, silentLogger);
    expect((await again.list(ctx)).map((p) => `${p.id}:${p.state}`)).toEqual(['1:on', '2:unknown', '3:on']);
  });

  it('reports a missing outlet as no-such-plug, never off', async () => {
    const fake = pduOf('rpdu', '1.3.6.1.4.1.318.1.3.4.5', 2);
    const device = new SnmpPdu(fake, FAMILIES.rpdu, undefined, silentLogger);
    await expect(device.getPower('9', ctx)).rejects.toMatchObject({ kind: 'no-such-plug' });
    await expect(device.setPower('9', 'off', ctx)).rejects.toMatchObject({ kind: 'no-such-plug' });
  });
});
