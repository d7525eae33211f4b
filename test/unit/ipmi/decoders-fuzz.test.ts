// Every decoder, fed random bytes and mutations of real captured packets, either returns a value or throws
// IpmiDecodeError: never a TypeError/RangeError, never a hang. And each decoder accepts what a real BMC sent
// while refusing anything shorter than the spec's minimum.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as consoleCodec from '../../../lib/ipmi/codec.js';
import * as bmcCodec from '../../../lab/bmc/codec.js';
import { CIPHER_SUITES } from '../../../lib/ipmi/cipher-suites.js';
import { decryptPayload } from '../../../lib/ipmi/crypto.js';
import { Ipmi15Framing, RmcpPlusFraming } from '../../../lib/ipmi/framing.js';
import { loadCapture } from './fixtures.js';

// Both halves of the wire: the console's (lib/) and the BMC's (lab/bmc/).
const codec = { ...consoleCodec, ...bmcCodec };

const captured = [...loadCapture('ipmitool-lanplus-cipher3-status').packets, ...loadCapture('ipmitool-lan-md5-status').packets].map((p) => p.bytes);
// Inner layers too, so mutations reach the payload and command decoders with a valid outer frame.
const innerPayloads = captured.flatMap((b) => {
  try {
    return [codec.decodeRmcpPlus(b, 12).payload];
  } catch {
    try {
      return [codec.decodeRmcpPlus(b, 0).payload];
    } catch {
      try {
        const m = codec.decodeSession15(b).message;
        return [m, m.subarray(6, m.length - 1), m.subarray(7, m.length - 1)];
      } catch {
        return [];
      }
    }
  }
});
const seeds = [...captured, ...innerPayloads];

const framing2 = new RmcpPlusFraming({ suite: CIPHER_SUITES[3], k1: Buffer.alloc(20, 1), k2: Buffer.alloc(20, 2), bmcSessionId: 2, consoleSessionId: 0xa0a2a3a4 });
const framing17 = new RmcpPlusFraming({ suite: CIPHER_SUITES[17], k1: Buffer.alloc(32, 1), k2: Buffer.alloc(32, 2), bmcSessionId: 2, consoleSessionId: 0xa0a2a3a4 });
const framing15 = new Ipmi15Framing({ authType: codec.AUTH_TYPE.md5, password: Buffer.from('secret'), sessionId: 0x82, initialOutboundSequence: 1 });

const decoders: Record<string, (b: Buffer) => unknown> = {
  decodeRmcp: codec.decodeRmcp,
  decodeAsfPong: codec.decodeAsfPong,
  decodeSession15: codec.decodeSession15,
  peekAuthType: codec.peekAuthType,
  decodeIpmiRequest: codec.decodeIpmiRequest,
  decodeIpmiResponse: codec.decodeIpmiResponse,
  decodeRmcpPlus0: (b) => codec.decodeRmcpPlus(b, 0),
  decodeRmcpPlus12: (b) => codec.decodeRmcpPlus(b, 12),
  decodeRmcpPlus16: (b) => codec.decodeRmcpPlus(b, 16),
  decodeOpenSessionRequest: codec.decodeOpenSessionRequest,
  decodeOpenSessionResponse: codec.decodeOpenSessionResponse,
  decodeRakp1: codec.decodeRakp1,
  decodeRakp2: codec.decodeRakp2,
  decodeRakp3: codec.decodeRakp3,
  decodeRakp4: codec.decodeRakp4,
  decodeChannelAuthCapabilities: codec.decodeChannelAuthCapabilities,
  decodeSessionChallenge: codec.decodeSessionChallenge,
  decodeActivateSession: codec.decodeActivateSession,
  decodeSetSessionPrivilege: codec.decodeSetSessionPrivilege,
  decodeDeviceId: codec.decodeDeviceId,
  decodeChassisStatus: codec.decodeChassisStatus,
  decryptPayload: (b) => decryptPayload('aes-cbc-128', Buffer.alloc(20, 2), b),
  rmcpPlusFramingUnwrap: (b) => framing2.unwrap(b),
  rmcpPlusFraming17Unwrap: (b) => framing17.unwrap(b),
  ipmi15FramingUnwrap: (b) => framing15.unwrap(b),
};

function onlyDecodeErrors(decode: (b: Buffer) => unknown, bytes: Buffer): boolean {
  try {
    decode(bytes);
    return true;
  } catch (err) {
    if (err instanceof codec.IpmiDecodeError) return true;
    throw err;
  }
}

/** A captured packet with a few bytes changed, cut short, extended, or with a length byte rewritten. */
const mutated = fc
  .tuple(
    fc.constantFrom(...seeds),
    fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
    fc.option(fc.nat(), { nil: undefined }),
    fc.uint8Array({ maxLength: 8 }),
  )
  .map(([seed, edits, cut, tail]) => {
    const b = Buffer.from(seed);
    for (const [at, value] of edits) if (b.length > 0) b[at % b.length] = value;
    const trimmed = cut === undefined ? b : b.subarray(0, cut % (b.length + 1));
    return Buffer.concat([trimmed, Buffer.from(tail)]);
  });

describe('decoders never throw anything but IpmiDecodeError', () => {
  for (const [name, decode] of Object.entries(decoders)) {
    it(`${name}: random bytes`, () => {
      fc.assert(fc.property(fc.uint8Array({ maxLength: 96 }), (a) => onlyDecodeErrors(decode, Buffer.from(a))), { numRuns: 400 });
    });
    it(`${name}: mutated captured packets`, () => {
      fc.assert(fc.property(mutated, (b) => onlyDecodeErrors(decode, b)), { numRuns: 400 });
    });
  }
});

// The captured bytes (ipmitool against ipmi_sim) are sliced here at the offsets the spec tables give, written
// literally, so what each decoder must accept does not come from the codec itself.
const RMCP_CLASS = 3; // RMCP header byte 3: 06h ASF, 07h IPMI (ASF 2.0 §3.2.2.1)
const AUTH_TYPE_AT = 4; // session header byte 0 (IPMI v2.0 Table 13-8)
const PAYLOAD_TYPE_AT = 5; // RMCP+ only: bit 7 encrypted, bit 6 authenticated, bits 5:0 type
const SESSION15_MESSAGE_AT = { none: 14, withAuthCode: 30 }; // 4 RMCP + 1 + 4 seq + 4 id (+ 16 auth code) + 1 length
const RMCP_PLUS_PAYLOAD_AT = 16; // 4 RMCP + 1 auth type + 1 payload type + 4 id + 4 seq + 2 length

interface Example {
  what: string;
  decode: (b: Buffer) => unknown;
  bytes: Buffer;
  /** Shortest input the spec allows; every shorter prefix of `bytes` must be refused. */
  minimum: number;
}

/** The examples every decoder below must accept, each at its spec minimum length. */
function capturedExamples(): Example[] {
  const out: Example[] = [];
  const fromBmc = [...loadCapture('ipmitool-lanplus-cipher3-status').packets, ...loadCapture('ipmitool-lan-md5-status').packets].filter((p) => p.from === 'bmc').map((p) => p.bytes);
  for (const b of fromBmc) {
    if (b[RMCP_CLASS] === 0x06) {
      out.push({ what: 'ASF pong', decode: codec.decodeAsfPong, bytes: b, minimum: 4 + 8 + 16 }); // ASF 2.0 §3.2.4.3
      continue;
    }
    if (b[AUTH_TYPE_AT] === 0x06) {
      const type = b[PAYLOAD_TYPE_AT]! & 0x3f;
      const payload = b.subarray(RMCP_PLUS_PAYLOAD_AT, RMCP_PLUS_PAYLOAD_AT + b.readUInt16LE(14));
      // IPMI v2.0 Tables 13-10, 13-12, 13-14 with status 00h: every field present.
      if (type === 0x11) out.push({ what: 'Open Session Response', decode: codec.decodeOpenSessionResponse, bytes: payload, minimum: 12 + 3 * 8 });
      if (type === 0x13) out.push({ what: 'RAKP 2', decode: codec.decodeRakp2, bytes: payload, minimum: 8 + 16 + 16 });
      if (type === 0x15) out.push({ what: 'RAKP 4', decode: codec.decodeRakp4, bytes: payload, minimum: 8 });
      continue;
    }
    const at = b[AUTH_TYPE_AT] === 0x00 ? SESSION15_MESSAGE_AT.none : SESSION15_MESSAGE_AT.withAuthCode;
    const message = b.subarray(at, at + b[at - 1]!);
    out.push({ what: 'IPMI response message', decode: codec.decodeIpmiResponse, bytes: message, minimum: 8 }); // 7 framing + completion code
    const netFn = message[1]! >> 2;
    const cmd = message[5]!;
    const data = message.subarray(7, message.length - 1); // after the completion code, before the checksum
    // Mandatory response bytes after the completion code (IPMI v2.0 §22.13, §22.16, §22.17, §22.18, §20.1, §28.2).
    const perCommand: Record<string, [string, (d: Buffer) => unknown, number]> = {
      '7-38': ['Get Channel Authentication Capabilities', codec.decodeChannelAuthCapabilities, 8],
      '7-39': ['Get Session Challenge', codec.decodeSessionChallenge, 4 + 16],
      '7-3a': ['Activate Session', codec.decodeActivateSession, 10],
      '7-3b': ['Set Session Privilege Level', codec.decodeSetSessionPrivilege, 1],
      '7-1': ['Get Device ID', codec.decodeDeviceId, 11],
      '1-1': ['Get Chassis Status', codec.decodeChassisStatus, 3],
    };
    const known = perCommand[`${netFn.toString(16)}-${cmd.toString(16)}`];
    if (known) out.push({ what: known[0], decode: known[1], bytes: data, minimum: known[2] });
  }
  return out;
}

describe('decoders accept what a real BMC sent and refuse anything shorter than the spec allows', () => {
  const examples = capturedExamples();

  it('the captures hold an example of every response decoder the console uses', () => {
    expect(new Set(examples.map((e) => e.what))).toEqual(
      new Set(['ASF pong', 'Open Session Response', 'RAKP 2', 'RAKP 4', 'IPMI response message', 'Get Channel Authentication Capabilities', 'Get Session Challenge', 'Activate Session', 'Set Session Privilege Level', 'Get Device ID', 'Get Chassis Status']),
    );
  });

  it('every captured datagram decodes whole with the decoder its header names', () => {
    const all = [...loadCapture('ipmitool-lanplus-cipher3-status').packets, ...loadCapture('ipmitool-lan-md5-status').packets].map((p) => p.bytes);
    for (const b of all) {
      const label = b.subarray(0, 8).toString('hex');
      if (b[RMCP_CLASS] === 0x06) continue; // ASF ping/pong: covered by the examples
      if (b[AUTH_TYPE_AT] !== 0x06) {
        const s = codec.decodeSession15(b);
        expect(s.authType, label).toBe(b[AUTH_TYPE_AT]);
        expect(s.message.length, label).toBe(b[(b[AUTH_TYPE_AT] === 0 ? SESSION15_MESSAGE_AT.none : SESSION15_MESSAGE_AT.withAuthCode) - 1]);
        continue;
      }
      const authenticated = (b[PAYLOAD_TYPE_AT]! & 0x40) !== 0;
      // Cipher suite 3 signs with HMAC-SHA1-96: a 12-byte auth code after the trailer.
      const p = codec.decodeRmcpPlus(b, authenticated ? 12 : 0);
      expect(p.header.payloadType, label).toBe(b[PAYLOAD_TYPE_AT]! & 0x3f);
      expect(p.payload.length, label).toBe(b.readUInt16LE(14));
      if (authenticated) {
        expect(p.authCode, label).toEqual(b.subarray(b.length - 12));
        expect(() => codec.decodeRmcpPlus(b, 0), `${label}: signed packet read as unsigned`).toThrow(codec.IpmiDecodeError);
      }
    }
  });

  it('no decoder accepts an input shorter than its spec minimum (every prefix of a captured example)', () => {
    for (const e of examples) {
      expect(() => e.decode(e.bytes), `${e.what} as captured`).not.toThrow();
      expect(e.bytes.length, e.what).toBeGreaterThanOrEqual(e.minimum);
      for (let n = 0; n < e.minimum; n++) {
        expect(() => e.decode(e.bytes.subarray(0, n)), `${e.what} cut to ${n} bytes`).toThrow(codec.IpmiDecodeError);
      }
    }
  });

  it('no datagram decoder accepts a captured datagram cut short anywhere', () => {
    const all = [...loadCapture('ipmitool-lanplus-cipher3-status').packets, ...loadCapture('ipmitool-lan-md5-status').packets].map((p) => p.bytes);
    for (const b of all) {
      if (b[RMCP_CLASS] === 0x06) continue;
      const decode = b[AUTH_TYPE_AT] !== 0x06 ? codec.decodeSession15 : (x: Buffer) => codec.decodeRmcpPlus(x, (b[PAYLOAD_TYPE_AT]! & 0x40) !== 0 ? 12 : 0);
      for (let n = 0; n < b.length; n++) expect(() => decode(b.subarray(0, n)), `${b.subarray(0, 8).toString('hex')} cut to ${n}`).toThrow(codec.IpmiDecodeError);
    }
  });
});
