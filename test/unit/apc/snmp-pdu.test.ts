// The APC SNMP device under the real power engine, over an in-memory PowerNet MIB: family detection, the
// OIDs each family reads and writes, and the rule that every plug of a multi-plug fence is switched and
// confirmed. What a real snmpd does is in test/integration/apc-snmp.test.ts.
import { describe, expect, it } from 'vitest';
import { PowerEngine, type EngineSettings } from '../../../lib/actions.js';
import { FenceError } from '../../../lib/errors.js';
import { silentLogger } from '../../../lib/log.js';
import { SnmpNoSuchObjectError, type SnmpSetVarbind, type SnmpValue } from '../../../lib/snmp/index.js';
import { FAMILIES, SYS_OBJECT_ID, type PduFamily } from '../../../agents/pdu-apc/powernet.js';
import { SnmpPdu, type PduSnmpClient } from '../../../agents/pdu-apc/device.js';

const FAST: EngineSettings = { powerTimeoutMs: 300, shellTimeoutMs: 200, powerWaitMs: 0, statusSleepMs: 20, retryOn: 0, method: 'onoff', forceOn: false };
const ctx = { deadline: Date.now() + 60_000, logger: silentLogger };

/** A PDU as OID → value; a SET of the control column moves the status column, unless the outlet lies. */
class FakePdu implements PduSnmpClient {
  readonly sets: string[] = [];
  readonly lying = new Set<string>();
  constructor(
    readonly family: PduFamily,
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
      const instance = vb.oid.slice(this.family.controlColumn.length + 1);
      if (this.lying.has(instance)) continue;
      const on = vb.value === this.family.write.on;
      this.table.set(`${this.family.statusColumn}.${instance}`, on ? this.family.read.on : this.family.read.off);
      if (this.family.controlColumn !== this.family.statusColumn) this.table.set(vb.oid, vb.value as number);
    }
  }
  async subtree(prefix: string): Promise<SnmpValue[]> {
    return [...this.table]
      .filter(([oid]) => oid.startsWith(`${prefix}.`))
      .map(([oid, value]) => ({ oid, type: typeof value === 'number' ? 'integer' : 'octetString', value }));
  }
  close(): void {}
}

function pduOf(family: PduFamily, sysObjectId: string, outlets: number, opts: { rpdu2?: boolean } = {}): FakePdu {
  const table = new Map<string, number | string>([[SYS_OBJECT_ID, sysObjectId]]);
  for (let n = 1; n <= outlets; n++) {
    const inst = family.hasSwitches ? `1.1.${n}` : String(n);
    table.set(`${family.statusColumn}.${inst}`, family.read.on);
    table.set(`${family.controlColumn}.${inst}`, family.id === 'msp' ? 1 : family.read.on);
    table.set(`${family.namesColumn}.${inst}`, `Outlet ${n}`);
  }
  if (opts.rpdu2) table.set(`${FAMILIES.rpdu2.statusColumn}.1`, 2);
  return new FakePdu(family, table);
}

describe('family detection', () => {
  it.each([
    ['1.3.6.1.4.1.318.1.3.4.5', false, 'rpdu'],
    ['1.3.6.1.4.1.318.1.3.4.5', true, 'rpdu2'],
    ['1.3.6.1.4.1.318.1.3.4.4', false, 'msp'],
    ['1.3.6.1.4.1.318.1.3.4.6', false, 'ms6'],
    ['1.3.6.1.4.1.318.1.3.4.99', true, 'ms'],
  ])('sysObjectID %s (rPDU2 table: %s) -> %s', async (oid, rpdu2, family) => {
    const fake = pduOf(FAMILIES.rpdu, oid, 2, { rpdu2 });
    expect((await SnmpPdu.detectFamily(fake, ctx)).id).toBe(family);
  });
});

describe('under the power engine', () => {
  it('switches and confirms every plug of a two-plug off, in order', async () => {
    const fake = pduOf(FAMILIES.rpdu, '1.3.6.1.4.1.318.1.3.4.5', 4);
    const engine = new PowerEngine(new SnmpPdu(fake, FAMILIES.rpdu, undefined, silentLogger), ['3', 'Outlet 4'], FAST, silentLogger);
    expect((await engine.off()).stdout).toEqual(['Success: Powered OFF']);
    expect(fake.sets).toEqual([`${FAMILIES.rpdu.controlColumn}.3=2`, `${FAMILIES.rpdu.controlColumn}.4=2`]);
  });

  it('fails when one plug of two acknowledges but never goes off', async () => {
    const fake = pduOf(FAMILIES.rpdu, '1.3.6.1.4.1.318.1.3.4.5', 4);
    fake.lying.add('4');
    const engine = new PowerEngine(new SnmpPdu(fake, FAMILIES.rpdu, undefined, silentLogger), ['3', '4'], FAST, silentLogger);
    await expect(engine.off()).rejects.toMatchObject({ kind: 'timeout' });
  });

  it.each(['rpdu2', 'msp', 'ms6', 'ms'] as const)('%s: writes its own off value at its own OID and reads the result back', async (id) => {
    const family = FAMILIES[id];
    const fake = pduOf(family, '1.3.6.1.4.1.318.1.3.4.5', 3);
    const plug = family.hasSwitches ? '1:2' : '2';
    const device = new SnmpPdu(fake, family, undefined, silentLogger);
    const engine = new PowerEngine(device, [plug], FAST, silentLogger);
    await engine.off();
    const inst = family.hasSwitches ? '1.1.2' : '2';
    expect(fake.sets).toEqual([`${family.controlColumn}.${inst}=${family.write.off}`]);
    expect(await device.getPower(plug, ctx)).toBe('off');
    const list = await device.list(ctx);
    expect(list.map((p) => `${p.id},${p.alias},${p.state}`)).toEqual(
      [1, 2, 3].map((n) => `${family.hasSwitches ? '1:' : ''}${n},Outlet ${n},${n === 2 ? 'off' : 'on'}`),
    );
  });

  it('list reads all states in one GET, and falls back to the state column when an outlet has no state', async () => {
    const fake = pduOf(FAMILIES.rpdu, '1.3.6.1.4.1.318.1.3.4.5', 3);
    let gets = 0;
    const get = fake.get.bind(fake);
    fake.get = async (oids) => {
      gets++;
      return get(oids);
    };
    const device = new SnmpPdu(fake, FAMILIES.rpdu, undefined, silentLogger);
    expect((await device.list(ctx)).map((p) => p.state)).toEqual(['on', 'on', 'on']);
    expect(gets).toBe(1);
    fake.table.delete(`${FAMILIES.rpdu.statusColumn}.2`);
    const again = new SnmpPdu(fake, FAMILIES.rpdu, undefined, silentLogger);
    expect((await again.list(ctx)).map((p) => `${p.id}:${p.state}`)).toEqual(['1:on', '2:unknown', '3:on']);
  });

  it('reports a missing outlet as no-such-plug, never off', async () => {
    const fake = pduOf(FAMILIES.rpdu, '1.3.6.1.4.1.318.1.3.4.5', 2);
    const device = new SnmpPdu(fake, FAMILIES.rpdu, undefined, silentLogger);
    await expect(device.getPower('9', ctx)).rejects.toMatchObject({ kind: 'no-such-plug' });
    await expect(device.setPower('9', 'off', ctx)).rejects.toMatchObject({ kind: 'no-such-plug' });
  });
});
