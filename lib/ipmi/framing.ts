// In-session packet protection: turns an IPMI LAN message into a datagram of an active session and back.
// Owns what changes per packet once a session is up (outbound sequence numbers, the inbound replay window)
// and applies the session's keys through crypto.ts; the bytes themselves come from codec.ts.
import type { CipherSuite } from './cipher-suites.js';
import {
  AUTH_TYPE,
  IpmiDecodeError,
  PAYLOAD,
  decodeRmcpPlus,
  decodeSession15,
  encodeRmcpPlus,
  encodeSession15,
  peekAuthType,
} from './codec.js';
import { decryptPayload, encryptPayload, integrityAuthCode, integrityCodeLength, md5AuthCode15, password16, sameBytes } from './crypto.js';

/**
 * Inbound replay protection (spec §6.12.13 / §13.26): a packet is accepted once, and only if its sequence
 * number is not older than WINDOW packets behind the highest one seen. Sequence numbers wrap at 2^32.
 */
export class ReplayWindow {
  static readonly WINDOW = 32;
  private highest: number | undefined;
  private seen = 0; // bit i: highest - i was received

  /** Returns false for a replayed or too-old sequence number; records it otherwise. */
  accept(sequence: number): boolean {
    const seq = sequence >>> 0;
    if (this.highest === undefined) {
      this.highest = seq;
      this.seen = 1;
      return true;
    }
    const ahead = (seq - this.highest) >>> 0;
    if (ahead !== 0 && ahead < 0x80000000) {
      this.seen = ahead >= ReplayWindow.WINDOW ? 1 : ((this.seen << ahead) | 1) >>> 0;
      this.highest = seq;
      return true;
    }
    const behind = (this.highest - seq) >>> 0;
    if (behind >= ReplayWindow.WINDOW) return false;
    const bit = (1 << behind) >>> 0;
    if (this.seen & bit) return false;
    this.seen = (this.seen | bit) >>> 0;
    return true;
  }
}

/** Outbound session sequence numbers: incremented per transmitted packet, never 0 in a session (spec §13.6). */
export class OutboundSequence {
  constructor(private next: number) {
    if (this.next === 0) this.next = 1;
  }
  take(): number {
    const n = this.next >>> 0;
    this.next = (n + 1) >>> 0 || 1;
    return n;
  }
}

export interface SessionFraming {
  /** A new datagram (new sequence number) carrying `message` in the session. */
  wrap(message: Buffer): Buffer;
  /** The IPMI message inside a datagram of this session, after every check; throws IpmiDecodeError otherwise. */
  unwrap(datagram: Buffer): Buffer;
}

export interface RmcpPlusKeys {
  suite: CipherSuite;
  k1: Buffer;
  k2: Buffer;
  /** The BMC's session id: what we put in outbound packets. */
  bmcSessionId: number;
  /** Our session id: what the BMC puts in packets to us. */
  consoleSessionId: number;
}

export class RmcpPlusFraming implements SessionFraming {
  private readonly outbound = new OutboundSequence(1);
  private readonly inbound = new ReplayWindow();
  constructor(private readonly keys: RmcpPlusKeys) {}

  wrap(message: Buffer): Buffer {
    const { suite, k1, k2, bmcSessionId } = this.keys;
    const encrypted = suite.confidentiality !== 'none';
    const authenticated = suite.integrity !== 'none';
    const payload = encryptPayload(suite.confidentiality, k2, message);
    return encodeRmcpPlus(
      { payloadType: PAYLOAD.ipmi, encrypted, authenticated, sessionId: bmcSessionId, sequence: this.outbound.take() },
      payload,
      authenticated ? (covered) => integrityAuthCode(suite.integrity, k1, covered) : undefined,
    );
  }

  unwrap(datagram: Buffer): Buffer {
    return this.unwrapPayload(datagram, PAYLOAD.ipmi);
  }

  /** Like unwrap, for another payload type: ipmi_sim answers a repeated RAKP 3 with a RAKP 4 inside the session. */
  unwrapPayload(datagram: Buffer, payloadType: number): Buffer {
    const { suite, k1, k2, consoleSessionId } = this.keys;
    if (peekAuthType(datagram) !== AUTH_TYPE.rmcpPlus) throw new IpmiDecodeError('not an RMCP+ packet');
    const wantsIntegrity = suite.integrity !== 'none';
    const packet = decodeRmcpPlus(datagram, integrityCodeLength(suite.integrity));
    const h = packet.header;
    if (h.payloadType !== payloadType) throw new IpmiDecodeError(`payload type 0x${h.payloadType.toString(16)} in session`);
    if (h.sessionId !== consoleSessionId) throw new IpmiDecodeError(`session id 0x${h.sessionId.toString(16)} is not ours`);
    // A downgrade (an unauthenticated or clear packet in a protected session) is as bad as a forged one.
    if (h.authenticated !== wantsIntegrity) throw new IpmiDecodeError('integrity flag does not match the session');
    if (h.encrypted !== (suite.confidentiality !== 'none')) throw new IpmiDecodeError('encryption flag does not match the session');
    if (wantsIntegrity && !sameBytes(integrityAuthCode(suite.integrity, k1, packet.covered!), packet.authCode!)) {
      throw new IpmiDecodeError('integrity auth code does not verify');
    }
    if (wantsIntegrity && h.sequence === 0) throw new IpmiDecodeError('sequence number 0 in an authenticated session');
    const message = decryptPayload(suite.confidentiality, k2, packet.payload);
    if (!this.inbound.accept(h.sequence)) throw new IpmiDecodeError(`replayed or stale sequence number ${h.sequence}`);
    return message;
  }
}

export interface Ipmi15Keys {
  authType: number;
  password: Buffer;
  sessionId: number;
  /** From the Activate Session response: where our outbound sequence starts. */
  initialOutboundSequence: number;
}

/** The IPMI 1.5 auth code for one packet: none, the straight password, or MD5 (spec §22.17.1). */
export function authCode15(authType: number, password: Buffer, sessionId: number, message: Buffer, sequence: number): Buffer | undefined {
  if (authType === AUTH_TYPE.none) return undefined;
  if (authType === AUTH_TYPE.password) return password16(password);
  if (authType === AUTH_TYPE.md5) return md5AuthCode15(password, sessionId, message, sequence);
  throw new IpmiDecodeError(`IPMI 1.5 auth type ${authType} not supported`);
}

export class Ipmi15Framing implements SessionFraming {
  private readonly outbound: OutboundSequence;
  private readonly inbound = new ReplayWindow();
  constructor(private readonly keys: Ipmi15Keys) {
    this.outbound = new OutboundSequence(keys.initialOutboundSequence);
  }

  wrap(message: Buffer): Buffer {
    const { authType, password, sessionId } = this.keys;
    const sequence = this.outbound.take();
    const authCode = authCode15(authType, password, sessionId, message, sequence);
    return encodeSession15(authCode ? { authType, sequence, sessionId, authCode, message } : { authType, sequence, sessionId, message });
  }

  unwrap(datagram: Buffer): Buffer {
    const { authType, password, sessionId } = this.keys;
    const s = decodeSession15(datagram);
    if (s.sessionId !== sessionId) throw new IpmiDecodeError(`session id 0x${s.sessionId.toString(16)} is not ours`);
    // The BMC signs its answers with the session's auth type; an MD5 session accepts nothing weaker.
    if (authType === AUTH_TYPE.md5) {
      if (s.authType !== AUTH_TYPE.md5) throw new IpmiDecodeError('unsigned packet in an MD5 session');
      if (!sameBytes(md5AuthCode15(password, sessionId, s.message, s.sequence), s.authCode!)) {
        throw new IpmiDecodeError('MD5 auth code does not verify');
      }
    }
    if (!this.inbound.accept(s.sequence)) throw new IpmiDecodeError(`replayed or stale sequence number ${s.sequence}`);
    return s.message;
  }
}
