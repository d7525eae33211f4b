// The switch agent's rules on IF-MIB values, without a network: what a port's ifAdminStatus means, which
// ifIndex a name designates, and when the self-port guard refuses. The same rules against a real switch
// (snmpd managing veth ports in network namespaces) are in test/integration/switch.test.ts.
import { describe, expect, it } from 'vitest';
import {
  adminState,
  adminStateForList,
  ipAdEntIfIndexOid,
  managementPortRefusal,
  operLinkDown,
  NAME_COLUMNS,
  noSuchPortName,
  resolvePortName,
} from '../../../agents/switch-port/if-mib.js';


describe('ifAdminStatus as a power state', () => {
  it('reads up(1) as on and down(2) as off', () => {
    expect(adminState(1, '11')).toBe('on');
    expect(adminState(2, '11')).toBe('off');
  });

  it('refuses testing(3) and undefined values instead of calling them off (fence_ifmib says off)', () => {
    for (const v of [3, 0, 4, 7, -1]) expect(() => adminState(v, '11')).toThrow(expect.objectContaining({ kind: 'unconfirmed' }));
    expect(() => adminState(3, 'sw-p1')).toThrow(/testing\(3\).*neither up nor down/);
  });

  it('lists an undecidable port as unknown, never as off', () => {
    expect(adminStateForList(1)).toBe('on');
    expect(adminStateForList(2)).toBe('off');
    expect(adminStateForList(3)).toBe('unknown');
    expect(adminStateForList(undefined)).toBe('unknown');
  });

  it('counts only down, notPresent and lowerLayerDown as a link that carries nothing', () => {
    expect([1, 2, 3, 4, 5, 6, 7].filter(operLinkDown)).toEqual([2, 6, 7]);
  });
});

describe('plug → ifIndex (the plug rule itself: test/unit/plugs)', () => {
  it('looks a name up in ifDescr, ifName and ifAlias, in that order', () => {
    expect(NAME_COLUMNS.map((c) => c.column)).toEqual(['ifDescr', 'ifName', 'ifAlias']);
  });

  it('refuses a name that is one port\'s ifDescr/ifName and another port\'s ifAlias, whichever column comes first; one port in two columns is one port', () => {
    // As net-snmp reports a namespace switch: ifDescr = ifName; an admin labelled port 11 with port 12's name.
    const names = new Map([[11, 'sw-p1'], [12, 'sw-p2']]);
    const labels = new Map([[11, 'sw-p2'], [12, 'node2-storage']]);
    const columns = [
      { column: 'ifDescr' as const, values: names },
      { column: 'ifName' as const, values: names },
      { column: 'ifAlias' as const, values: labels },
    ];
    expect(() => resolvePortName('sw-p2', columns)).toThrow(expect.objectContaining({ kind: 'bad-input' }));
    expect(() => resolvePortName('sw-p2', columns)).toThrow(/"sw-p2" is ambiguous: it is the ifDescr\/ifName of ifIndex 12 and the ifAlias of ifIndex 11; name the port by its ifIndex number/);
    expect(resolvePortName('sw-p1', columns)).toEqual({ ifIndex: 11, column: 'ifDescr' });
    expect(resolvePortName('node2-storage', columns)).toEqual({ ifIndex: 12, column: 'ifAlias' });
    expect(resolvePortName('sw-p9', columns)).toBeUndefined();
  });

  it('reports a name no column has as no-such-plug', () => {
    expect(noSuchPortName('Gi1/0/9', 5).kind).toBe('no-such-plug');
  });
});

describe('self-port guard', () => {
  it('indexes ipAddrTable by the dotted IPv4 address only', () => {
    expect(ipAdEntIfIndexOid('198.19.0.1')).toBe('1.3.6.1.2.1.4.20.1.2.198.19.0.1');
    expect(ipAdEntIfIndexOid('switch1.example')).toBeUndefined();
    expect(ipAdEntIfIndexOid('fe80::1')).toBeUndefined();
    expect(ipAdEntIfIndexOid('198.19.0.256')).toBeUndefined();
  });

  it('refuses exactly the port that carries the management address, and says why', () => {
    const refusal = managementPortRefusal('sw-mgmt', 10, '198.19.0.1', 10);
    expect(refusal?.kind).toBe('bad-input');
    expect(refusal?.message).toMatch(/management address 198\.19\.0\.1.*unreachable/);
    expect(managementPortRefusal('11', 11, '198.19.0.1', 10)).toBeUndefined();
    expect(managementPortRefusal('11', 11, '198.19.0.1', undefined)).toBeUndefined();
  });
});
