// What the client picks when the user named no cipher suite (RMCP+) or auth type (IPMI 1.5): the BMC's lists
// decoded from their wire form, then ipmitool's preference, with triples compared instead of suite numbers
// and the insecure IPMI 1.5 types behind allowInsecure.
import { describe, expect, it } from 'vitest';
import { CIPHER_SUITES, preferredCipherSuite, recordOffers } from '../../../lib/ipmi/cipher-suites.js';
import {
  IpmiDecodeError,
  decodeChannelCipherSuitesChunk,
  decodeCipherSuiteRecords,
  encodeGetChannelCipherSuites,
  type ChannelAuthCapabilities,
} from '../../../lib/ipmi/codec.js';
import { chooseAuthType15 } from '../../../lib/ipmi/session.js';
import { FenceError } from '../../../lib/errors.js';

describe('Get Channel Cipher Suites records (spec §22.15)', () => {
  it('the request asks this channel, IPMI payload, list by suite, at the given 16-byte index', () => {
    expect(encodeGetChannelCipherSuites(0)).toEqual(Buffer.from([0x0e, 0x00, 0x80]));
    expect(encodeGetChannelCipherSuites(2)).toEqual(Buffer.from([0x0e, 0x00, 0x82]));
  });

  it("decodes pyghmi's answer (suite 3 only) and an OEM record beside standard ones", () => {
    // pyghmi: channel 1, then C0 03 01 41 81.
    const chunk = decodeChannelCipherSuitesChunk(Buffer.from([0x01, 0xc0, 0x03, 0x01, 0x41, 0x81]));
    expect(decodeCipherSuiteRecords(chunk)).toEqual([{ id: 3, oem: false, auth: [1], integrity: [1], confidentiality: [1] }]);
    const mixed = Buffer.from([0xc1, 0x80, 0x57, 0x01, 0x00, 0x01, 0x41, 0x81, 0xc0, 0x11, 0x03, 0x44, 0x81]);
    expect(decodeCipherSuiteRecords(mixed)).toEqual([
      { id: 0x80, oem: true, auth: [1], integrity: [1], confidentiality: [1] },
      { id: 17, oem: false, auth: [3], integrity: [4], confidentiality: [1] },
    ]);
  });

  it('refuses record data that does not start with a record, and chunks longer than 16 bytes', () => {
    expect(() => decodeCipherSuiteRecords(Buffer.from([0x03, 0x01]))).toThrow(IpmiDecodeError);
    expect(() => decodeCipherSuiteRecords(Buffer.from([0xc1, 0x03, 0x00]))).toThrow(IpmiDecodeError);
    expect(() => decodeChannelCipherSuitesChunk(Buffer.alloc(18, 0xc0))).toThrow(IpmiDecodeError);
  });
});

describe('the preferred cipher suite (ipmitool 1.8.19: 17 if offered, else 3)', () => {
  const record = (id: number, auth: number, integrity: number, conf: number) => ({ id, oem: false, auth: [auth], integrity: [integrity], confidentiality: [conf] });

  it('17 when a record offers its whole triple (HMAC-SHA256, HMAC-SHA256-128, AES-CBC-128)', () => {
    expect(preferredCipherSuite([record(3, 1, 1, 1), record(17, 3, 4, 1)]).id).toBe(17);
  });

  it('3 when 17 is not listed, when nothing is listed, and when "17" carries other algorithms', () => {
    expect(preferredCipherSuite([record(3, 1, 1, 1)]).id).toBe(3);
    expect(preferredCipherSuite([]).id).toBe(3);
    // Numbered 17, but SHA-1 authentication: Open Session carries algorithms, so this is not suite 17.
    expect(preferredCipherSuite([record(17, 1, 4, 1)]).id).toBe(3);
    expect(recordOffers(record(17, 3, 4, 0), CIPHER_SUITES[17])).toBe(false);
  });

  it('an OEM record never counts as a standard suite', () => {
    expect(preferredCipherSuite([{ id: 17, oem: true, auth: [3], integrity: [4], confidentiality: [1] }]).id).toBe(3);
  });
});

describe('the IPMI 1.5 auth type when none is set (ipmitool: MD5, else the others)', () => {
  const caps = (types: Partial<ChannelAuthCapabilities['authTypes']>): ChannelAuthCapabilities => ({
    channel: 1,
    authTypes: { none: false, md2: false, md5: false, password: false, oem: false, ...types },
    extendedCapabilities: false,
    perMessageAuthDisabled: false,
    userLevelAuthDisabled: false,
    kgNonZero: false,
    supportsIpmi15: true,
    supportsIpmi20: false,
    oemId: 0,
  });

  it('MD5 whenever offered, even beside weaker ones', () => {
    expect(chooseAuthType15(caps({ none: true, password: true, md5: true }), 'administrator', false)).toBe('md5');
  });

  it('straight password, then none, only with allowInsecure', () => {
    expect(chooseAuthType15(caps({ none: true, password: true }), 'administrator', true)).toBe('password');
    expect(chooseAuthType15(caps({ none: true }), 'operator', true)).toBe('none');
  });

  it('without allowInsecure a BMC offering only password or none is refused, saying what it offers and what to do', () => {
    let err: unknown;
    try {
      chooseAuthType15(caps({ password: true, none: true }), 'administrator', false);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(FenceError);
    expect((err as FenceError).message).toMatch(/offers password, none/);
    expect((err as FenceError).message).toMatch(/allow_insecure/);
    expect(() => chooseAuthType15(caps({ md2: true }), 'administrator', true)).toThrow(/offers md2/);
  });
});
