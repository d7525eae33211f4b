// PowerNet-MIB rules of fence_kit_apc: family by sysObjectID (fence_apc_snmp's table), OIDs per family,
// state values (rPDU2's reversed numbering), plug syntax (name resolution: test/unit/plugs). No network.
import { describe, expect, it } from 'vitest';
import { FenceError } from '../../../lib/errors.js';
import { FAMILIES, familyForSysObjectId, instanceOf, outletState, outletStateForList, parsePlug, refuseSwitchWithoutSwitches } from '../../../agents/pdu-apc/powernet.js';


describe('family by sysObjectID, as fence_apc_snmp', () => {
  it.each([
    ['.1.3.6.1.4.1.318.1.3.4.5', 'rpdu'],
    ['1.3.6.1.4.1.318.1.3.4.5', 'rpdu'],
    ['.1.3.6.1.4.1.318.1.3.4.4', 'msp'],
    ['.1.3.6.1.4.1.318.1.3.4.6', 'ms6'],
    ['.1.3.6.1.4.1.318.1.3.4.2', 'ms'],
    ['1.3.6.1.4.1.318.1.3.4.1', 'ms'],
  ])('%s -> %s', (oid, family) => {
    expect(familyForSysObjectId(oid)).toBe(family);
  });

  // fence_apc_snmp switches any of these through MasterSwitch OIDs (sPDUOutletCtl), which another vendor's
  // PDU does not have or uses for something else.
  it.each([
    ['.1.3.6.1.4.1.850.1', 'sysObjectID 1.3.6.1.4.1.850.1, a Tripp Lite PDU'],
    ['.1.3.6.1.4.1.850.1.1.1', 'sysObjectID 1.3.6.1.4.1.850.1.1.1, a Tripp Lite PDU'],
    ['.1.3.6.1.4.1.8072.3.2.10', 'sysObjectID 1.3.6.1.4.1.8072.3.2.10, which is not an APC switched PDU'],
    ['.1.3.6.1.4.1.318.1.3.2.11', 'sysObjectID 1.3.6.1.4.1.318.1.3.2.11, which is not an APC switched PDU'],
    ['1.3.6.1.4.1.318.1.3.40', 'sysObjectID 1.3.6.1.4.1.318.1.3.40, which'],
    [undefined, 'no sysObjectID, which'],
  ])('%s is refused, naming the sysObjectID, as a final error', (oid, message) => {
    try {
      familyForSysObjectId(oid);
      expect.unreachable('an unknown sysObjectID selected a family');
    } catch (err) {
      expect(err).toBeInstanceOf(FenceError);
      expect((err as FenceError).kind).toBe('unconfirmed');
      expect((err as FenceError).final).toBe(true);
      expect((err as FenceError).message).toContain(message);
    }
  });

  it('uses the reference OIDs and values for each family', () => {
    expect(FAMILIES.rpdu.statusColumn).toBe('1.3.6.1.4.1.318.1.1.12.3.5.1.1.4');
    expect(FAMILIES.rpdu.controlColumn).toBe('1.3.6.1.4.1.318.1.1.12.3.3.1.1.4');
    expect(FAMILIES.msp.write).toEqual({ on: 1, off: 3 });
    expect(FAMILIES.ms6.statusColumn).toBe('1.3.6.1.4.1.318.1.1.4.4.2.1.3');
    expect(FAMILIES.ms6.controlColumn).toBe(FAMILIES.rpdu.controlColumn);
    expect(FAMILIES.ms.controlColumn).toBe(FAMILIES.ms.statusColumn);
    // PowerNet-MIB rPDU2OutletSwitchedStatusState: off(1), on(2); the command column keeps immediateOn(1).
    expect(FAMILIES.rpdu2.read).toEqual({ on: 2, off: 1 });
    expect(FAMILIES.rpdu2.write).toEqual({ on: 1, off: 2 });
    expect(FAMILIES.rpdu2.statusColumn).toBe('1.3.6.1.4.1.318.1.1.26.9.2.3.1.5');
    expect(FAMILIES.rpdu2.controlColumn).toBe('1.3.6.1.4.1.318.1.1.26.9.2.4.1.5');
  });

  it('addresses MasterSwitch Plus outlets as switch.1.outlet', () => {
    expect(instanceOf(FAMILIES.msp, { outlet: 5, switchId: 2 })).toBe('2.1.5');
    expect(instanceOf(FAMILIES.rpdu, { outlet: 5 })).toBe('5');
  });
});

describe('outlet state values', () => {
  it('maps only the family\'s on and off values', () => {
    expect(outletState(FAMILIES.rpdu, 1, '3')).toBe('on');
    expect(outletState(FAMILIES.rpdu, 2, '3')).toBe('off');
    expect(outletState(FAMILIES.rpdu2, 2, '3')).toBe('on');
    expect(outletState(FAMILIES.rpdu2, 1, '3')).toBe('off');
  });

  it.each([0, 3, 4, 5, 7, -1])('refuses %i (sPDUOutletCtl 4 = outletUnknown; fence_apc_snmp says "off")', (v) => {
    expect(() => outletState(FAMILIES.ms, v, '3')).toThrow(expect.objectContaining({ kind: 'unconfirmed' }));
    expect(outletStateForList(FAMILIES.ms, v)).toBe('unknown');
  });

  it('never reads an MSP command value 3 (immediateOffMSP) as a status', () => {
    expect(() => outletState(FAMILIES.msp, 3, '1:3')).toThrow(expect.objectContaining({ kind: 'unconfirmed' }));
  });
});

describe('plugs', () => {
  it('reads numbers, switch:outlet and names', () => {
    expect(parsePlug('4', FAMILIES.rpdu)).toEqual({ kind: 'number', address: { outlet: 4 } });
    expect(parsePlug('1:4', FAMILIES.rpdu)).toEqual({ kind: 'number', address: { outlet: 4 } });
    expect(parsePlug('2:4', FAMILIES.msp)).toEqual({ kind: 'number', address: { outlet: 4, switchId: 2 } });
    expect(parsePlug('4', FAMILIES.msp)).toEqual({ kind: 'number', address: { outlet: 4, switchId: 1 } });
    expect(parsePlug('4', FAMILIES.msp, '3')).toEqual({ kind: 'number', address: { outlet: 4, switchId: 3 } });
    expect(parsePlug('db 1', FAMILIES.rpdu)).toEqual({ kind: 'name', name: 'db 1' });
    expect(parsePlug('a:b', FAMILIES.rpdu)).toEqual({ kind: 'name', name: 'a:b' });
  });

  it('refuses another switch than 1 on a PDU without switches', () => {
    expect(() => parsePlug('2:4', FAMILIES.rpdu)).toThrow(expect.objectContaining({ kind: 'no-such-plug' }));
    expect(() => parsePlug('4', FAMILIES.msp, 'x')).toThrow(expect.objectContaining({ kind: 'bad-input' }));
  });

  it('refuses a switch option other than 1 on every family without switches, for numbers and names alike', () => {
    for (const family of [FAMILIES.rpdu, FAMILIES.rpdu2, FAMILIES.ms6, FAMILIES.ms]) {
      expect(() => parsePlug('5', family, '2')).toThrow(expect.objectContaining({ kind: 'bad-input' }));
      expect(() => parsePlug('db1', family, '2')).toThrow(expect.objectContaining({ kind: 'bad-input' }));
      expect(() => refuseSwitchWithoutSwitches(family, 2)).toThrow(/option 'switch'.*no switches/);
      expect(parsePlug('5', family, '1')).toEqual({ kind: 'number', address: { outlet: 5 } });
    }
    expect(parsePlug('5', FAMILIES.msp, '2')).toEqual({ kind: 'number', address: { outlet: 5, switchId: 2 } });
  });

  it('refuses a switch:outlet plug whose switch contradicts the switch option', () => {
    expect(() => parsePlug('1:5', FAMILIES.msp, '2')).toThrow(expect.objectContaining({ kind: 'bad-input' }));
    expect(() => parsePlug('1:5', FAMILIES.rpdu, '2')).toThrow(expect.objectContaining({ kind: 'bad-input' }));
    expect(parsePlug('2:5', FAMILIES.msp, '2')).toEqual({ kind: 'number', address: { outlet: 5, switchId: 2 } });
  });
});
