// Power-supply sensor codec, against bytes ipmi_sim served and ipmitool read as
// "PS1 | 50h | ok | 10.1 | Presence detected" and, for the reading, "ipmitool raw 0x04 0x2d 0x51" -> 00 c0 09 00.
import { describe, expect, it } from 'vitest';
import { IpmiDecodeError } from '../../../lib/ipmi/codec.js';
import { decodeGetSdr, decodeSensorReading, decodeSensorRecord, encodeGetSdr, isHealthy, isPowerSupplySensor, supplyState } from '../../../lib/ipmi/sensors.js';

const PS1_COMPACT = Buffer.from('00 00 51 02 1e 20 00 50 0a 01 67 68 08 6f 0b 00 0b 00 0b 00 c0 00 00 01 00 00 00 00 00 00 00 c3 50 53 31'.replace(/ /g, ''), 'hex');

describe('IPMI power-supply sensors', () => {
  it('decodes a compact sensor record: number, entity instance, type, name', () => {
    const r = decodeSensorRecord(PS1_COMPACT)!;
    expect(r).toMatchObject({ ownerId: 0x20, number: 0x50, entityId: 0x0a, entityInstance: 1, sensorType: 0x08, readingType: 0x6f, name: 'PS1' });
    expect(isPowerSupplySensor(r)).toBe(true);
  });

  it('reads "presence + input lost" as a supply without input, "presence" alone as healthy', () => {
    const r = decodeSensorRecord(PS1_COMPACT)!;
    const lost = supplyState(r, decodeSensorReading(Buffer.from('00c00900', 'hex')));
    expect(lost).toMatchObject({ present: true, inputLost: true, faulty: false });
    expect(isHealthy(lost)).toBe(false);
    expect(isHealthy(supplyState(r, decodeSensorReading(Buffer.from('00c00100', 'hex'))))).toBe(true);
    // scanning disabled (flags 00): the bits mean nothing, so never healthy
    expect(isHealthy(supplyState(r, decodeSensorReading(Buffer.from('00000100', 'hex'))))).toBe(false);
    // reading unavailable (bit 5)
    expect(isHealthy(supplyState(r, decodeSensorReading(Buffer.from('00e00100', 'hex'))))).toBe(false);
  });

  it('encodes Get SDR and refuses short or truncated answers with IpmiDecodeError', () => {
    expect(encodeGetSdr(0x1234, 0x0002, 5, 16).toString('hex')).toBe('341202000510');
    expect(decodeGetSdr(Buffer.from('ffff0000', 'hex')).nextRecordId).toBe(0xffff);
    expect(() => decodeGetSdr(Buffer.from('ff', 'hex'))).toThrow(IpmiDecodeError);
    expect(() => decodeSensorRecord(PS1_COMPACT.subarray(0, 20))).toThrow(IpmiDecodeError);
    expect(() => decodeSensorReading(Buffer.from('00', 'hex'))).toThrow(IpmiDecodeError);
    expect(decodeSensorRecord(Buffer.from('0100511201', 'hex').subarray(0, 5))).toBeUndefined(); // an FRU locator (11h+): not a sensor
  });
});
