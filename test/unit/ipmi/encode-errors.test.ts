// Encoders refuse a value the wire cannot carry with IpmiEncodeError: it is the caller's mistake, and code
// that treats an IpmiDecodeError as a bad datagram from the BMC must not take it for one. No network.
import { describe, expect, it } from 'vitest';
import {
  AUTH_TYPE,
  IpmiDecodeError,
  IpmiEncodeError,
  PAYLOAD,
  encodeActivateSession,
  encodeGetSessionChallenge,
  encodeRakp1,
  encodeRmcpPlus,
  encodeSession15,
} from '../../../lib/ipmi/codec.js';

const header = { payloadType: PAYLOAD.ipmi, encrypted: false, authenticated: false, sessionId: 0, sequence: 0 };

const refusals: [string, () => unknown][] = [
  ['an IPMI 1.5 message longer than 255 bytes', () => encodeSession15({ authType: AUTH_TYPE.none, sequence: 0, sessionId: 0, message: Buffer.alloc(256) })],
  ['an IPMI 1.5 auth code that is not 16 bytes', () => encodeSession15({ authType: AUTH_TYPE.md5, sequence: 0, sessionId: 1, authCode: Buffer.alloc(8), message: Buffer.alloc(7) })],
  ['an RMCP+ payload longer than 65535 bytes', () => encodeRmcpPlus(header, Buffer.alloc(0x10000))],
  ['an authenticated RMCP+ packet without a signer', () => encodeRmcpPlus({ ...header, authenticated: true }, Buffer.alloc(1))],
  ['a RAKP 1 console random that is not 16 bytes', () => encodeRakp1({ messageTag: 0, bmcSessionId: 1, consoleRandom: Buffer.alloc(8), role: 4, username: Buffer.alloc(4) })],
  ['a RAKP 1 user name longer than 16 bytes', () => encodeRakp1({ messageTag: 0, bmcSessionId: 1, consoleRandom: Buffer.alloc(16), role: 4, username: Buffer.alloc(17) })],
  ['a Get Session Challenge user name longer than 16 bytes', () => encodeGetSessionChallenge(AUTH_TYPE.md5, Buffer.alloc(17))],
  ['an Activate Session challenge that is not 16 bytes', () => encodeActivateSession(AUTH_TYPE.md5, 4, Buffer.alloc(8), 1)],
];

describe('encoders refuse what the wire cannot carry with IpmiEncodeError, never IpmiDecodeError', () => {
  it.each(refusals)('%s', (_what, encode) => {
    let thrown: unknown;
    try {
      encode();
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(IpmiEncodeError);
    expect(thrown).not.toBeInstanceOf(IpmiDecodeError);
  });
});
