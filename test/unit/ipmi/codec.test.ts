// Byte-for-byte encode/decode against packets captured from ipmitool <-> ipmi_sim (test/fixtures/ipmi) and
// layouts from the IPMI v2.0 spec. No network.
import { describe, expect, it } from 'vitest';
import * as codec from '../../../lib/ipmi/codec.js';
import * as bmc from '../../../lab/bmc/codec.js';
import { hex, loadCapture } from './fixtures.js';

const plus = loadCapture('ipmitool-lanplus-cipher3-status').packets;
const lan = loadCapture('ipmitool-lan-md5-status').packets;
const preSession = (payloadType: number, payload: Buffer) => codec.encodeRmcpPlus({ payloadType, encrypted: false, authenticated: false, sessionId: 0, sequence: 0 }, payload);

describe('RMCP and ASF presence ping (ASF 2.0 §3.2.4)', () => {
  it('encodes the ping exactly as ipmitool sends it', () => {
    expect(bmc.encodeAsfPing(0)).toEqual(lan[0]!.bytes);
    expect(bmc.encodeAsfPing(0)).toEqual(hex('0600ff06 000011be 80 00 00 00'));
  });
  it("decodes ipmi_sim's pong and sees IPMI support in Supported Entities bit 7", () => {
    expect(bmc.decodeAsfPong(lan[1]!.bytes)).toEqual({ messageTag: 0, iana: 0x11be, supportsIpmi: true });
  });
  it('rejects a pong with a data length under 16', () => {
    const short = Buffer.from(lan[1]!.bytes);
    short[11] = 4;
    expect(() => bmc.decodeAsfPong(short)).toThrow(codec.IpmiDecodeError);
  });
});

describe('IPMI LAN message checksums (spec §13.8)', () => {
  it('checksum is the 2s complement of the byte sum', () => {
    expect(codec.checksum(hex('20 18'))).toBe(0xc8);
    expect(codec.checksum(hex('81 00 38 8e 04'))).toBe(0xb5);
  });
  it('encodes Get Channel Authentication Capabilities (IPMI 2.0 bit, administrator) as captured', () => {
    const message = codec.encodeIpmiRequest({ netFn: codec.NETFN.app, cmd: codec.CMD.getChannelAuthCapabilities, rqSeq: 0, data: codec.encodeGetChannelAuthCapabilities(true, 4) });
    expect(message).toEqual(hex('20 18 c8 81 00 38 8e 04 b5'));
    expect(codec.encodeSession15({ authType: codec.AUTH_TYPE.none, sequence: 0, sessionId: 0, message })).toEqual(plus[0]!.bytes);
  });
  it('encodes the IPMI 1.5 variant (no bit 7) as captured', () => {
    const message = codec.encodeIpmiRequest({ netFn: codec.NETFN.app, cmd: codec.CMD.getChannelAuthCapabilities, rqSeq: 1, data: codec.encodeGetChannelAuthCapabilities(false, 4) });
    expect(codec.encodeSession15({ authType: codec.AUTH_TYPE.none, sequence: 0, sessionId: 0, message })).toEqual(lan[2]!.bytes);
  });
  it('round-trips requests and responses, and refuses either checksum being wrong', () => {
    const req = { netFn: codec.NETFN.chassis, cmd: codec.CMD.chassisControl, rqSeq: 33, data: codec.encodeChassisControl('cycle'), rsAddr: 0x20, rqAddr: 0x81 };
    expect(bmc.decodeIpmiRequest(codec.encodeIpmiRequest(req))).toEqual(req);
    const res = { netFn: 1, cmd: 2, rqSeq: 33, completionCode: 0xd5, data: Buffer.alloc(0) };
    const bytes = bmc.encodeIpmiResponse(res);
    expect(codec.decodeIpmiResponse(bytes)).toEqual(res);
    const badHead = Buffer.from(bytes);
    badHead[2] ^= 1;
    expect(() => codec.decodeIpmiResponse(badHead)).toThrow(/header checksum/);
    const badData = Buffer.from(bytes);
    badData[badData.length - 1] ^= 1;
    expect(() => codec.decodeIpmiResponse(badData)).toThrow(/data checksum/);
  });
});

describe('Get Channel Authentication Capabilities response (spec §22.13)', () => {
  it("decodes ipmi_sim's answer: 2.0 and 1.5, none/md2/md5/straight", () => {
    const s = codec.decodeSession15(plus[1]!.bytes);
    const res = codec.decodeIpmiResponse(s.message);
    expect(res).toMatchObject({ netFn: codec.NETFN.app + 1, cmd: codec.CMD.getChannelAuthCapabilities, rqSeq: 0, completionCode: 0 });
    expect(codec.decodeChannelAuthCapabilities(res.data)).toEqual({
      channel: 1,
      authTypes: { none: true, md2: true, md5: true, password: true, oem: false },
      extendedCapabilities: true,
      kgNonZero: false,
      perMessageAuthDisabled: false,
      userLevelAuthDisabled: false,
      supportsIpmi15: true,
      supportsIpmi20: true,
      oemId: 0,
    });
  });
  it('treats an answer without extended data as IPMI 1.5 only', () => {
    const caps = codec.decodeChannelAuthCapabilities(hex('01 14 00 00 000000 00'));
    expect(caps.supportsIpmi20).toBe(false);
    expect(caps.supportsIpmi15).toBe(true);
    expect(caps.authTypes).toMatchObject({ md5: true, password: true, none: false });
  });
});

describe('RMCP+ Open Session and RAKP messages (spec §13.17-13.23), against the captured cipher 3 session', () => {
  it('encodes Open Session Request exactly as ipmitool did', () => {
    const payload = codec.encodeOpenSessionRequest({ messageTag: 0, maxPrivilege: 0, consoleSessionId: 0xa0a2a3a4, authAlgorithm: 1, integrityAlgorithm: 1, confidentialityAlgorithm: 1 });
    expect(preSession(codec.PAYLOAD.openSessionRequest, payload)).toEqual(plus[2]!.bytes);
    expect(bmc.decodeOpenSessionRequest(payload)).toMatchObject({ consoleSessionId: 0xa0a2a3a4, authAlgorithm: 1, integrityAlgorithm: 1, confidentialityAlgorithm: 1 });
  });
  it('decodes the Open Session Response: status 0, BMC session id 2 (max privilege 0 echoes ipmitool asking for "highest")', () => {
    const p = codec.decodeRmcpPlus(plus[3]!.bytes, 0);
    expect(p.header).toEqual({ payloadType: codec.PAYLOAD.openSessionResponse, encrypted: false, authenticated: false, sessionId: 0, sequence: 0 });
    const r = codec.decodeOpenSessionResponse(p.payload);
    expect(r).toEqual({ messageTag: 0, statusCode: 0, maxPrivilege: 0, consoleSessionId: 0xa0a2a3a4, bmcSessionId: 2, authAlgorithm: 1, integrityAlgorithm: 1, confidentialityAlgorithm: 1 });
    expect(bmc.encodeOpenSessionResponse(r)).toEqual(p.payload);
  });
  it('decodes a truncated error Open Session Response (status only)', () => {
    expect(codec.decodeOpenSessionResponse(hex('07 11 00 00 44332211'))).toEqual({ messageTag: 7, statusCode: 0x11, maxPrivilege: 0, consoleSessionId: 0x11223344 });
  });
  it('encodes RAKP 1 (role 0x14: administrator, name-only lookup) exactly as ipmitool did', () => {
    const m = { messageTag: 0, bmcSessionId: 2, consoleRandom: hex('bb2f20f659937205df386e627763f64d'), role: 0x14, username: Buffer.from('admin') };
    expect(preSession(codec.PAYLOAD.rakp1, codec.encodeRakp1(m))).toEqual(plus[4]!.bytes);
    expect(bmc.decodeRakp1(codec.decodeRmcpPlus(plus[4]!.bytes, 0).payload)).toEqual(m);
  });
  it('decodes RAKP 2: BMC random, GUID and a 20-byte HMAC-SHA1 auth code', () => {
    const r = codec.decodeRakp2(codec.decodeRmcpPlus(plus[5]!.bytes, 0).payload);
    expect(r).toEqual({
      messageTag: 0,
      statusCode: 0,
      consoleSessionId: 0xa0a2a3a4,
      bmcRandom: hex('ca7457f96c26418d097a172989c34ead'),
      bmcGuid: hex('a123456789abcdefa123456789abcdef'),
      authCode: hex('8ae41c7a403d05a1aeec1254ff03a55d42a90ab9'),
    });
    expect(bmc.encodeRakp2(r)).toEqual(codec.decodeRmcpPlus(plus[5]!.bytes, 0).payload);
  });
  it('decodes an error RAKP 2 (0x0D unauthorized name) without random or GUID', () => {
    expect(codec.decodeRakp2(hex('03 0d 0000 a4a3a2a0'))).toEqual({ messageTag: 3, statusCode: 0x0d, consoleSessionId: 0xa0a2a3a4 });
  });
  it('encodes RAKP 3 and decodes RAKP 4 as captured', () => {
    const rakp3 = { messageTag: 0, statusCode: 0, bmcSessionId: 2, authCode: hex('cb63bcceedf84f71ebdf536957542519773d8628') };
    expect(preSession(codec.PAYLOAD.rakp3, codec.encodeRakp3(rakp3))).toEqual(plus[6]!.bytes);
    expect(bmc.decodeRakp3(codec.encodeRakp3(rakp3))).toEqual(rakp3);
    const rakp4 = codec.decodeRakp4(codec.decodeRmcpPlus(plus[7]!.bytes, 0).payload);
    expect(rakp4).toEqual({ messageTag: 0, statusCode: 0, consoleSessionId: 0xa0a2a3a4, integrityCheck: hex('33dec8a5c4f81dea1f6b77af') });
    expect(bmc.encodeRakp4(rakp4)).toEqual(codec.decodeRmcpPlus(plus[7]!.bytes, 0).payload);
  });
});

describe('RMCP+ session header and integrity trailer (spec §13.6, §13.28.4)', () => {
  it('splits a captured authenticated+encrypted packet into header, payload, pad, next header and a 12-byte auth code', () => {
    const p = codec.decodeRmcpPlus(plus[8]!.bytes, 12);
    expect(p.header).toEqual({ payloadType: codec.PAYLOAD.ipmi, encrypted: true, authenticated: true, sessionId: 2, sequence: 3 });
    expect(p.payload.length).toBe(32);
    expect(p.covered!.length % 4).toBe(0);
    expect(p.covered!.subarray(-4)).toEqual(hex('ffff0207'));
    expect(p.authCode).toEqual(hex('932c2f9086e55290c7d9144e'));
  });
  it('re-encodes the same packet when given the same auth code', () => {
    const p = codec.decodeRmcpPlus(plus[8]!.bytes, 12);
    expect(codec.encodeRmcpPlus(p.header, p.payload, () => p.authCode!)).toEqual(plus[8]!.bytes);
  });
  it('pads to a multiple of 4 for every payload length', () => {
    for (let n = 0; n < 9; n++) {
      const bytes = codec.encodeRmcpPlus({ payloadType: 0, encrypted: false, authenticated: true, sessionId: 1, sequence: 1 }, Buffer.alloc(n, 0xaa), () => Buffer.alloc(12));
      const p = codec.decodeRmcpPlus(bytes, 12);
      expect(p.covered!.length % 4).toBe(0);
      expect(p.payload).toEqual(Buffer.alloc(n, 0xaa));
    }
  });
  it('rejects a pad length that disagrees with the pad, and a wrong next header', () => {
    const bad = Buffer.from(plus[8]!.bytes);
    bad[bad.length - 12 - 2] = 1;
    expect(() => codec.decodeRmcpPlus(bad, 12)).toThrow(/pad length/);
    const bad2 = Buffer.from(plus[8]!.bytes);
    bad2[bad2.length - 12 - 1] = 0x08;
    expect(() => codec.decodeRmcpPlus(bad2, 12)).toThrow(/next header/);
  });
  it('refuses an authenticated packet when the session has no integrity algorithm', () => {
    expect(() => codec.decodeRmcpPlus(plus[8]!.bytes, 0)).toThrow(codec.IpmiDecodeError);
  });
});

describe('IPMI 1.5 session wrapper and session commands (spec §13.6, §22.16-22.19), against the captured MD5 session', () => {
  it('encodes Get Session Challenge (MD5, user admin NUL padded to 16) as captured', () => {
    const message = codec.encodeIpmiRequest({ netFn: codec.NETFN.app, cmd: codec.CMD.getSessionChallenge, rqSeq: 2, data: codec.encodeGetSessionChallenge(codec.AUTH_TYPE.md5, Buffer.from('admin')) });
    expect(codec.encodeSession15({ authType: 0, sequence: 0, sessionId: 0, message })).toEqual(lan[4]!.bytes);
  });
  it('decodes the challenge: temporary session id 5 and 16 challenge bytes', () => {
    const res = codec.decodeIpmiResponse(codec.decodeSession15(lan[5]!.bytes).message);
    expect(codec.decodeSessionChallenge(res.data)).toEqual({ temporarySessionId: 5, challenge: hex('f03a6fb46759904fb6712dba262ef4b2') });
  });
  it('encodes Activate Session with its 16-byte auth code as captured', () => {
    const message = codec.encodeIpmiRequest({ netFn: codec.NETFN.app, cmd: codec.CMD.activateSession, rqSeq: 3, data: codec.encodeActivateSession(codec.AUTH_TYPE.md5, 4, hex('f03a6fb46759904fb6712dba262ef4b2'), 0x838dee5b) });
    const s = codec.decodeSession15(lan[6]!.bytes);
    expect(s).toMatchObject({ authType: codec.AUTH_TYPE.md5, sequence: 0, sessionId: 5 });
    expect(s.message).toEqual(message);
    expect(codec.encodeSession15({ authType: codec.AUTH_TYPE.md5, sequence: 0, sessionId: 5, authCode: s.authCode!, message })).toEqual(lan[6]!.bytes);
  });
  it('decodes the Activate Session answer: MD5, session 0x82, inbound sequence, administrator', () => {
    const res = codec.decodeIpmiResponse(codec.decodeSession15(lan[7]!.bytes).message);
    expect(codec.decodeActivateSession(res.data)).toEqual({ authType: 2, sessionId: 0x82, initialInboundSequence: 0x1067191a, maxPrivilege: 4 });
  });
  it('encodes Set Session Privilege Level and decodes the granted level', () => {
    const s = codec.decodeSession15(lan[8]!.bytes);
    expect(bmc.decodeIpmiRequest(s.message)).toMatchObject({ netFn: codec.NETFN.app, cmd: codec.CMD.setSessionPrivilegeLevel, data: codec.encodeSetSessionPrivilege(4) });
    expect(codec.decodeSetSessionPrivilege(codec.decodeIpmiResponse(codec.decodeSession15(lan[9]!.bytes).message).data)).toBe(4);
  });
  it('decodes Get Device ID and Get Chassis Status from the capture', () => {
    const dev = codec.decodeIpmiResponse(codec.decodeSession15(lan[13]!.bytes).message);
    expect(dev.cmd).toBe(codec.CMD.getDeviceId);
    expect(codec.decodeDeviceId(dev.data)).toEqual({ deviceId: 0, deviceRevision: 3, firmware: '9.08', ipmiVersion: '2.0', manufacturerId: 0x1291, productId: 0xf02 });
    const status = codec.decodeIpmiResponse(codec.decodeSession15(lan[19]!.bytes).message);
    expect(status).toMatchObject({ netFn: codec.NETFN.chassis + 1, cmd: codec.CMD.getChassisStatus, completionCode: 0 });
    expect(codec.decodeChassisStatus(status.data).powerOn).toBe(true);
  });
  it('encodes Close Session with the session id as captured', () => {
    const s = codec.decodeSession15(lan[20]!.bytes);
    expect(bmc.decodeIpmiRequest(s.message)).toMatchObject({ cmd: codec.CMD.closeSession, data: codec.encodeCloseSession(0x82) });
  });
});

describe('Chassis commands (spec §28.2, §28.3)', () => {
  it('maps every control to its Table 28-4 number', () => {
    expect(['off', 'on', 'cycle', 'reset', 'diag', 'soft'].map((op) => codec.encodeChassisControl(op as 'off')[0])).toEqual([0, 1, 2, 3, 4, 5]);
  });
  it('reads power on from bit 0 only', () => {
    expect(codec.decodeChassisStatus(hex('60 00 00')).powerOn).toBe(false);
    expect(codec.decodeChassisStatus(hex('61 10 40 00')).powerOn).toBe(true);
    expect(() => codec.decodeChassisStatus(hex('01 00'))).toThrow(codec.IpmiDecodeError);
  });
  it('names completion codes for error messages', () => {
    expect(codec.describeCompletionCode(0xd5)).toBe('command not supported in present state (0xd5)');
    expect(codec.describeCompletionCode(0x42)).toBe('completion code 0x42');
  });
});
