// RAKP HMACs, SIK, K1/K2, integrity codes and AES-CBC-128 recomputed from a captured ipmitool <-> ipmi_sim
// cipher suite 3 session and compared byte for byte; cipher suite 17 (SHA-256, which ipmi_sim lacks) against
// vectors computed independently with Python hmac and openssl at authoring time; IPMI 1.5 MD5 auth codes
// from a captured MD5 session.
import { describe, expect, it } from 'vitest';
import { CIPHER_SUITES } from '../../../lib/ipmi/cipher-suites.js';
import { IpmiDecodeError, PAYLOAD, decodeIpmiResponse, decodeRakp2, decodeRakp4, decodeRmcpPlus, decodeSession15, encodeRmcpPlus } from '../../../lib/ipmi/codec.js';
import { decodeIpmiRequest, decodeRakp1, decodeRakp3 } from '../../../lab/bmc/codec.js';
import {
  additionalKeys,
  decryptPayload,
  encryptPayload,
  integrityAuthCode,
  md5AuthCode15,
  rakp2AuthCode,
  rakp3AuthCode,
  rakp4IntegrityCheck,
  sessionIntegrityKey,
  type RakpExchange,
} from '../../../lib/ipmi/crypto.js';
import { RmcpPlusFraming } from '../../../lib/ipmi/framing.js';
import { hex, loadCapture, loadCipher17 } from './fixtures.js';

describe('cipher suite 3 recomputed from a real ipmitool <-> ipmi_sim session', () => {
  const cap = loadCapture('ipmitool-lanplus-cipher3-status');
  const payloadOf = (i: number) => decodeRmcpPlus(cap.packets[i]!.bytes, 0).payload;
  const rakp1 = decodeRakp1(payloadOf(4));
  const rakp2 = decodeRakp2(payloadOf(5));
  const rakp3 = decodeRakp3(payloadOf(6));
  const rakp4 = decodeRakp4(payloadOf(7));
  const x: RakpExchange = {
    consoleSessionId: rakp2.consoleSessionId,
    bmcSessionId: rakp1.bmcSessionId,
    consoleRandom: rakp1.consoleRandom,
    bmcRandom: rakp2.bmcRandom!,
    bmcGuid: rakp2.bmcGuid!,
    role: rakp1.role,
    username: rakp1.username,
  };
  const kuid = Buffer.from(cap.password);
  const sik = sessionIntegrityKey('rakp-hmac-sha1', kuid, x); // no Kg configured: Kg = Kuid
  const { k1, k2 } = additionalKeys('rakp-hmac-sha1', sik);

  it('the GUID in RAKP 2 is the one configured in lan.conf', () => {
    expect(x.bmcGuid).toEqual(hex(cap.bmcGuid));
  });
  it('RAKP 2 HMAC-SHA1 over SIDm, SIDc, Rm, Rc, GUIDc, role, name equals what ipmi_sim sent', () => {
    expect(rakp2AuthCode('rakp-hmac-sha1', kuid, x)).toEqual(rakp2.authCode);
  });
  it('a wrong password gives a different RAKP 2 code (how we detect it)', () => {
    expect(rakp2AuthCode('rakp-hmac-sha1', Buffer.from('wrong'), x)).not.toEqual(rakp2.authCode);
  });
  it('RAKP 3 HMAC-SHA1 equals what ipmitool sent', () => {
    expect(rakp3AuthCode('rakp-hmac-sha1', kuid, x)).toEqual(rakp3.authCode);
  });
  it('the SIK gives the RAKP 4 integrity check value (HMAC-SHA1-96) ipmi_sim sent', () => {
    expect(rakp4IntegrityCheck('rakp-hmac-sha1', sik, x)).toEqual(rakp4.integrityCheck);
  });
  it('K1 verifies the HMAC-SHA1-96 auth code of every in-session packet, both directions', () => {
    const inSession = cap.packets.slice(8);
    expect(inSession.length).toBeGreaterThan(6);
    for (const p of inSession) {
      const d = decodeRmcpPlus(p.bytes, 12);
      expect(integrityAuthCode('hmac-sha1-96', k1, d.covered!)).toEqual(d.authCode);
    }
  });
  it('K2 decrypts every payload to a valid IPMI message: Set Session Privilege first, Get Chassis Status says on', () => {
    const messages = cap.packets.slice(8).map((p) => ({ from: p.from, plain: decryptPayload('aes-cbc-128', k2, decodeRmcpPlus(p.bytes, 12).payload) }));
    const first = decodeIpmiRequest(messages[0]!.plain);
    expect(first).toMatchObject({ netFn: 0x06, cmd: 0x3b, data: hex('04') });
    const statusIndex = messages.findIndex((m) => m.from === 'console' && decodeIpmiRequest(m.plain).netFn === 0 && decodeIpmiRequest(m.plain).cmd === 1);
    const status = decodeIpmiResponse(messages[statusIndex + 1]!.plain);
    expect(status.completionCode).toBe(0);
    expect(status.data[0]! & 1).toBe(1);
  });
  it('re-encrypting a console message with its IV and re-signing reproduces the captured packet byte for byte', () => {
    const captured = cap.packets[8]!.bytes;
    const d = decodeRmcpPlus(captured, 12);
    const plain = decryptPayload('aes-cbc-128', k2, d.payload);
    const payload = encryptPayload('aes-cbc-128', k2, plain, d.payload.subarray(0, 16));
    const rebuilt = encodeRmcpPlus(d.header, payload, (covered) => integrityAuthCode('hmac-sha1-96', k1, covered));
    expect(rebuilt).toEqual(captured);
  });
  it("our session framing accepts ipmi_sim's replies and rejects the same reply twice (replay)", () => {
    const framing = new RmcpPlusFraming({ suite: CIPHER_SUITES[3], k1, k2, bmcSessionId: x.bmcSessionId, consoleSessionId: x.consoleSessionId });
    const reply = cap.packets[9]!.bytes;
    expect(decodeIpmiResponse(framing.unwrap(reply)).cmd).toBe(0x3b);
    expect(() => framing.unwrap(reply)).toThrow(/replayed/);
  });
  it('our framing rejects a reply with one flipped bit in the auth code', () => {
    const framing = new RmcpPlusFraming({ suite: CIPHER_SUITES[3], k1, k2, bmcSessionId: x.bmcSessionId, consoleSessionId: x.consoleSessionId });
    const tampered = Buffer.from(cap.packets[9]!.bytes);
    tampered[tampered.length - 1] ^= 0x01;
    expect(() => framing.unwrap(tampered)).toThrow(/does not verify/);
  });
});

describe('cipher suite 17 (RAKP-HMAC-SHA256, HMAC-SHA256-128, AES-CBC-128) against independent vectors, Kg included', () => {
  const v = loadCipher17();
  const x: RakpExchange = {
    consoleSessionId: v.consoleSessionId,
    bmcSessionId: v.bmcSessionId,
    consoleRandom: hex(v.consoleRandom),
    bmcRandom: hex(v.bmcRandom),
    bmcGuid: hex(v.bmcGuid),
    role: v.role,
    username: Buffer.from(v.username),
  };
  const kuid = Buffer.from(v.password);
  it('RAKP 2 and RAKP 3 auth codes are 32-byte HMAC-SHA256 values', () => {
    expect(rakp2AuthCode('rakp-hmac-sha256', kuid, x).toString('hex')).toBe(v.rakp2AuthCode);
    expect(rakp3AuthCode('rakp-hmac-sha256', kuid, x).toString('hex')).toBe(v.rakp3AuthCode);
  });
  it('the SIK is keyed with Kg when given, with the password otherwise', () => {
    expect(sessionIntegrityKey('rakp-hmac-sha256', hex(v.kg), x).toString('hex')).toBe(v.sikWithKg);
    expect(sessionIntegrityKey('rakp-hmac-sha256', kuid, x).toString('hex')).toBe(v.sikWithoutKg);
  });
  it('K1 and K2 are HMAC-SHA256 of 20 repeated 0x01 / 0x02 bytes (the length ipmitool, FreeIPMI and OpenBMC use)', () => {
    expect(additionalKeys('rakp-hmac-sha256', hex(v.sikWithKg))).toEqual({ k1: hex(v.k1), k2: hex(v.k2) });
    expect(additionalKeys('rakp-hmac-sha256', hex(v.sikWithoutKg))).toEqual({ k1: hex(v.k1WithoutKg), k2: hex(v.k2WithoutKg) });
  });
  it('the RAKP 4 integrity check value is HMAC-SHA256 truncated to 128 bits', () => {
    expect(rakp4IntegrityCheck('rakp-hmac-sha256', hex(v.sikWithKg), x).toString('hex')).toBe(v.rakp4IntegrityCheck);
  });
  it('an encrypted, HMAC-SHA256-128 signed Get Chassis Status equals the independent packet byte for byte', () => {
    const r = v.chassisStatusRequest;
    const payload = encryptPayload('aes-cbc-128', hex(v.k2), hex(r.message), hex(r.iv));
    const packet = encodeRmcpPlus({ payloadType: PAYLOAD.ipmi, encrypted: true, authenticated: true, sessionId: v.bmcSessionId, sequence: r.sequence }, payload, (covered) =>
      integrityAuthCode('hmac-sha256-128', hex(v.k1), covered),
    );
    expect(packet.toString('hex')).toBe(r.packet);
  });
});

describe('AES-CBC-128 confidentiality trailer (spec §13.29)', () => {
  const k2 = Buffer.alloc(20, 7);
  it('pads with 1, 2, 3, ... and a pad length so the ciphertext is whole blocks, for every length', () => {
    for (let n = 0; n < 40; n++) {
      const plain = Buffer.alloc(n, 0x5a);
      const enc = encryptPayload('aes-cbc-128', k2, plain);
      expect(enc.length % 16).toBe(0);
      expect(decryptPayload('aes-cbc-128', k2, enc)).toEqual(plain);
    }
  });
  it('refuses a payload that is not IV plus whole blocks', () => {
    expect(() => decryptPayload('aes-cbc-128', k2, Buffer.alloc(20))).toThrow(IpmiDecodeError);
  });
  it('refuses a bad pad (wrong key decrypts to garbage)', () => {
    // A fixed IV: with a random one the garbage's last byte is 0 (a valid empty pad) once in 256 runs.
    const enc = encryptPayload('aes-cbc-128', k2, Buffer.from('hello'), Buffer.alloc(16, 0x11));
    expect(() => decryptPayload('aes-cbc-128', Buffer.alloc(20, 8), enc)).toThrow(IpmiDecodeError);
  });
});

describe('IPMI 1.5 MD5 auth code (spec §22.17.1) recomputed from a captured ipmitool <-> ipmi_sim MD5 session', () => {
  const cap = loadCapture('ipmitool-lan-md5-status');
  it('every authenticated packet, both directions, carries MD5(password, session id, message, sequence, password)', () => {
    const authenticated = cap.packets.map((p) => p.bytes).filter((b) => b[3] === 0x07 && b[4] === 0x02);
    expect(authenticated.length).toBeGreaterThan(10);
    for (const b of authenticated) {
      const s = decodeSession15(b);
      expect(md5AuthCode15(Buffer.from(cap.password), s.sessionId, s.message, s.sequence)).toEqual(s.authCode);
    }
  });
});
