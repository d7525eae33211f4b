// Every decoder, fed random bytes and mutations of real captured packets, either returns a value or throws
// IpmiDecodeError: never a TypeError/RangeError, never a hang.
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
  it('each unmodified captured packet decodes with at least one decoder (the mutations start from valid input)', () => {
    for (const b of captured) {
      const ok = Object.values(decoders).some((d) => {
        try {
          d(b);
          return true;
        } catch {
          return false;
        }
      });
      expect(ok).toBe(true);
    }
  });
});
