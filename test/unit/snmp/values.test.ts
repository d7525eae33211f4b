// Mapping net-snmp varbinds to SnmpValue (no network, net-snmp not loaded).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AsnTag, decodeOctetString, describeValue, toSnmpValue } from '../../../lib/snmp/values.js';

const OID = '1.3.6.1.4.1.318.1.1.12.3.5.1.1.2.1';

describe('toSnmpValue', () => {
  it.each([
    [AsnTag.Integer, 2, { type: 'integer', value: 2 }],
    [AsnTag.Integer, -5, { type: 'integer', value: -5 }],
    [AsnTag.OctetString, Buffer.from('Outlet 1'), { type: 'octetString', value: 'Outlet 1' }],
    [AsnTag.ObjectIdentifier, '1.3.6.1.4.1.318.1.3.4.5', { type: 'oid', value: '1.3.6.1.4.1.318.1.3.4.5' }],
    [AsnTag.IpAddress, '192.0.2.1', { type: 'ipaddress', value: '192.0.2.1' }],
    [AsnTag.Counter32, 4294967295, { type: 'counter', value: 4294967295 }],
    [AsnTag.Gauge32, 7, { type: 'gauge', value: 7 }],
    [AsnTag.TimeTicks, 12345, { type: 'timeticks', value: 12345 }],
    [AsnTag.Null, null, { type: 'null', value: null }],
    [AsnTag.NoSuchObject, null, { type: 'noSuchObject', value: null }],
    [AsnTag.NoSuchInstance, null, { type: 'noSuchInstance', value: null }],
    [AsnTag.EndOfMibView, null, { type: 'endOfMibView', value: null }],
    [AsnTag.Opaque, Buffer.from([0x9f, 0x78, 0x04]), { type: 'other', value: '9f7804' }],
    [AsnTag.Boolean, true, { type: 'other', value: 1 }],
  ] as const)('tag %i', (type, value, expected) => {
    expect(toSnmpValue({ oid: OID, type, value })).toEqual({ oid: OID, ...expected });
  });

  it('keeps a Counter64 exact: a number while safe, a decimal string beyond 2^53', () => {
    expect(toSnmpValue({ oid: OID, type: AsnTag.Counter64, value: Buffer.from([0x01, 0x00]) }).value).toBe(256);
    const big = Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
    expect(toSnmpValue({ oid: OID, type: AsnTag.Counter64, value: big }).value).toBe('18446744073709551615');
  });
});

describe('decodeOctetString', () => {
  it('reads UTF-8 names as UTF-8', () => {
    expect(decodeOctetString(Buffer.from('Knoten Süd ⚡', 'utf8'))).toBe('Knoten Süd ⚡');
  });

  it('reads old Latin-1 firmware names as Latin-1 ("Café" from 0xE9)', () => {
    expect(decodeOctetString(Buffer.from([0x43, 0x61, 0x66, 0xe9]))).toBe('Café');
  });

  it('never loses a byte: Latin-1 fallback round-trips, valid UTF-8 round-trips', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const text = decodeOctetString(bytes);
        const back = Buffer.from(text, 'utf8').equals(Buffer.from(bytes)) || Buffer.from(text, 'latin1').equals(Buffer.from(bytes));
        expect(back).toBe(true);
      }),
    );
  });
});

describe('describeValue', () => {
  it('quotes strings and leaves numbers and OIDs bare', () => {
    expect(describeValue({ oid: OID, type: 'octetString', value: 'Outlet 1' })).toBe('octetString "Outlet 1"');
    expect(describeValue({ oid: OID, type: 'integer', value: 4 })).toBe('integer 4');
    expect(describeValue({ oid: OID, type: 'oid', value: '1.3.6' })).toBe('oid 1.3.6');
    expect(describeValue({ oid: OID, type: 'noSuchInstance', value: null })).toBe('noSuchInstance');
  });
});
