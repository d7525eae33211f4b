// The spec-table BMC wire (reference-wire.ts) against real peers: it must reproduce, byte for byte, what
// ipmi_sim sent ipmitool in the captured sessions, and the cipher suite 17 vectors. Only then does the
// in-memory BMC of session.test.ts, which speaks through it, stand for a real BMC.
import { describe, expect, it } from 'vitest';
import * as wire from './reference-wire.js';
import { hex, loadCapture, loadCipher17 } from './fixtures.js';

describe('reference wire reproduces ipmi_sim in the captured cipher suite 3 session', () => {
  const cap = loadCapture('ipmitool-lanplus-cipher3-status');
  const suite3 = wire.suiteOf(wire.ALG.auth.hmacSha1, wire.ALG.integrity.hmacSha1_96, wire.ALG.confidentiality.aesCbc128)!;
  // Datagrams 4..7 are RAKP 1..4 (unauthenticated); payload offsets from Tables 13-11 .. 13-14.
  const payload = (i: number) => wire.parsePlus(cap.packets[i]!.bytes, 0)!.payload;
  const [r1, r2, r3, r4] = [payload(4), payload(5), payload(6), payload(7)];
  const x: wire.Exchange = {
    sidM: r2.readUInt32LE(4),
    sidC: r1.readUInt32LE(4),
    rM: r1.subarray(8, 24),
    rC: r2.subarray(8, 24),
    guidC: r2.subarray(24, 40),
    roleM: r1[24]!,
    nameM: r1.subarray(28, 28 + r1[27]!),
  };
  const kuid = Buffer.from(cap.password);
  const key = wire.sik('sha1', kuid, x);
  const { k1, k2 } = wire.k1k2('sha1', key);

  it('the payload types are Open Session, RAKP 1..4 in turn', () => {
    expect([2, 3, 4, 5, 6, 7].map((i) => cap.packets[i]!.bytes[5])).toEqual([wire.PT.openSessionRequest, wire.PT.openSessionResponse, wire.PT.rakp1, wire.PT.rakp2, wire.PT.rakp3, wire.PT.rakp4]);
    expect(x.nameM.toString()).toBe(cap.username);
    expect(x.guidC).toEqual(hex(cap.bmcGuid));
  });
  it('RAKP 2 auth code, RAKP 3 auth code and RAKP 4 ICV are the captured ones', () => {
    expect(wire.rakp2Code('sha1', kuid, x)).toEqual(r2.subarray(40));
    expect(wire.rakp3Code('sha1', kuid, x)).toEqual(r3.subarray(8));
    expect(wire.rakp4Icv('sha1', key, x)).toEqual(r4.subarray(8));
  });
  it('every in-session datagram parses, its auth code verifies with K1, and its payload decrypts to a checksummed message', () => {
    const inSession = cap.packets.slice(8);
    expect(inSession.length).toBeGreaterThan(6);
    for (const { from, bytes } of inSession) {
      const p = wire.parsePlus(bytes, suite3.integrityLength)!;
      expect(p, bytes.toString('hex')).toBeDefined();
      expect(wire.integrityCode(suite3, k1, p.covered!)).toEqual(p.authCode);
      const message = wire.aesDecrypt(k2, p.payload)!;
      if (from === 'console') expect(wire.parseRequest(message), message.toString('hex')).toBeDefined();
      else expect(wire.checksum(message.subarray(3, message.length - 1))).toBe(message[message.length - 1]);
    }
  });
  it('re-encrypting a captured response with its own IV and re-signing it gives the captured datagram', () => {
    const { bytes } = cap.packets.find((p) => p.from === 'bmc' && p.bytes[5] === 0xc0)!;
    const p = wire.parsePlus(bytes, 12)!;
    const message = wire.aesDecrypt(k2, p.payload)!;
    const rebuilt = wire.buildPlus({ payloadType: wire.PT.ipmi, sessionId: p.sessionId, sequence: p.sequence }, wire.aesEncrypt(k2, message, p.payload.subarray(0, 16)), { suite: suite3, k1 });
    expect(rebuilt).toEqual(bytes);
  });
  it('the chassis status ipmi_sim answered says power on, as ipmitool printed', () => {
    const responses = cap.packets.filter((p) => p.from === 'bmc' && p.bytes[5] === 0xc0).map((p) => wire.aesDecrypt(k2, wire.parsePlus(p.bytes, 12)!.payload)!);
    // Response: rqAddr, netFn 01h (chassis response) << 2, chk, rsAddr, seq, cmd 01h, completion code, data.
    const status = responses.find((m) => m[1]! >> 2 === 0x01 && m[5] === 0x01)!;
    expect(status[6]).toBe(0);
    expect(status[7]! & 0x01).toBe(1);
  });
  it('parseRequest checks both checksums', () => {
    expect(wire.parseRequest(Buffer.from('2018c88104017a', 'hex'))).toMatchObject({ netFn: 0x06, rqSeq: 1, cmd: 0x01 });
    expect(wire.parseRequest(Buffer.from('2018c88104017b', 'hex'))).toBeUndefined(); // data checksum 7Bh, 7Ah is right
    expect(wire.parseRequest(Buffer.from('2018c98104017a', 'hex'))).toBeUndefined(); // header checksum C9h, C8h is right
  });
});

describe('reference wire reproduces ipmi_sim in the captured IPMI 1.5 MD5 session', () => {
  const cap = loadCapture('ipmitool-lan-md5-status');
  it('every MD5-signed datagram, either way, carries the MD5 auth code of §22.17.1', () => {
    const signed = cap.packets.map((p) => wire.parse15(p.bytes)).filter((p): p is wire.Packet15 => p?.authType === wire.AUTH_MD5);
    expect(signed.length).toBeGreaterThan(8);
    for (const p of signed) expect(wire.md5Code(cap.password, p.sessionId, p.message, p.sequence)).toEqual(p.authCode);
  });
  it('each BMC response is what responseTo builds for the request before it (addresses, netFn + 1, sequence, checksums)', () => {
    const messages = cap.packets.filter((p) => p.bytes[3] === 0x07).map((p) => ({ from: p.from, message: wire.parse15(p.bytes)!.message }));
    expect(messages.length % 2).toBe(0);
    for (let i = 0; i < messages.length; i += 2) {
      const [q, a] = [messages[i]!, messages[i + 1]!];
      expect([q.from, a.from]).toEqual(['console', 'bmc']);
      const req = wire.parseRequest(q.message)!;
      expect(wire.responseTo(req, a.message[6]!, a.message.subarray(7, a.message.length - 1))).toEqual(a.message);
    }
  });
  it('a BMC answer rebuilt from its parts is the captured datagram', () => {
    for (const { bytes } of cap.packets.filter((p) => p.from === 'bmc' && p.bytes[3] === 0x07)) {
      const p = wire.parse15(bytes)!;
      expect(wire.build15(p.authType, p.sequence, p.sessionId, p.message, cap.password)).toEqual(bytes);
    }
  });
});

describe('reference wire reproduces the cipher suite 17 vectors', () => {
  const v = loadCipher17();
  const x: wire.Exchange = {
    sidM: v.consoleSessionId,
    sidC: v.bmcSessionId,
    rM: hex(v.consoleRandom),
    rC: hex(v.bmcRandom),
    guidC: hex(v.bmcGuid),
    roleM: v.role,
    nameM: Buffer.from(v.username),
  };
  const kuid = Buffer.from(v.password);
  const suite17 = wire.suiteOf(wire.ALG.auth.hmacSha256, wire.ALG.integrity.hmacSha256_128, wire.ALG.confidentiality.aesCbc128)!;
  it('RAKP 2, RAKP 3, SIK with and without Kg, K1/K2 and the RAKP 4 ICV', () => {
    expect(wire.rakp2Code('sha256', kuid, x).toString('hex')).toBe(v.rakp2AuthCode);
    expect(wire.rakp3Code('sha256', kuid, x).toString('hex')).toBe(v.rakp3AuthCode);
    expect(wire.sik('sha256', hex(v.kg), x).toString('hex')).toBe(v.sikWithKg);
    expect(wire.sik('sha256', kuid, x).toString('hex')).toBe(v.sikWithoutKg);
    const withKg = wire.k1k2('sha256', hex(v.sikWithKg));
    expect([withKg.k1.toString('hex'), withKg.k2.toString('hex')]).toEqual([v.k1, v.k2]);
    const withoutKg = wire.k1k2('sha256', hex(v.sikWithoutKg));
    expect([withoutKg.k1.toString('hex'), withoutKg.k2.toString('hex')]).toEqual([v.k1WithoutKg, v.k2WithoutKg]);
    expect(wire.rakp4Icv('sha256', hex(v.sikWithKg), x).toString('hex')).toBe(v.rakp4IntegrityCheck);
  });
  it('the encrypted, signed chassis status request', () => {
    const r = v.chassisStatusRequest;
    const packet = wire.buildPlus({ payloadType: wire.PT.ipmi, sessionId: v.bmcSessionId, sequence: r.sequence }, wire.aesEncrypt(hex(v.k2), hex(r.message), hex(r.iv)), { suite: suite17, k1: hex(v.k1) });
    expect(packet.toString('hex')).toBe(r.packet);
  });
});
