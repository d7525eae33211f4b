// The session state machine driven by a fake in-memory BMC (a pure unit test: no sockets). Proves the order
// of states, the privilege and auth verdicts, retransmission with fresh sequence numbers, and that replayed
// or foreign replies are ignored. The real BMC is exercised in test/integration/ipmi-client.test.ts.
import { describe, expect, it } from 'vitest';
import { FenceError } from '../../../lib/errors.js';
import { createLogger } from '../../../lib/log.js';
import {
  AUTH_ALGORITHM_NUMBER,
  CIPHER_SUITES,
  CONFIDENTIALITY_ALGORITHM_NUMBER,
  INTEGRITY_ALGORITHM_NUMBER,
  type CipherSuite,
} from '../../../lib/ipmi/cipher-suites.js';
import { checkCompletion } from '../../../lib/ipmi/client.js';
import * as consoleCodec from '../../../lib/ipmi/codec.js';
import * as bmcCodec from '../../../lab/bmc/codec.js';
import { additionalKeys, rakp2AuthCode, rakp3AuthCode, rakp4IntegrityCheck, sameBytes, sessionIntegrityKey, type RakpExchange } from '../../../lib/ipmi/crypto.js';
import { Ipmi15Framing, ReplayWindow, RmcpPlusFraming, authCode15 } from '../../../lib/ipmi/framing.js';
import { IpmiSession, type SessionParams } from '../../../lib/ipmi/session.js';
import type { DatagramExchange } from '../../../lib/ipmi/transport.js';

// Both halves of the wire: the console's (lib/) and the BMC's (lab/bmc/).
const codec = { ...consoleCodec, ...bmcCodec };

const GUID = Buffer.from('a123456789abcdefa123456789abcdef', 'hex');

interface FakeBmcConfig {
  password: string;
  kg?: Buffer;
  rakp2Status?: number;
  grantPrivilege?: number;
  /** Drop this many incoming datagrams of in-session commands before answering. */
  dropCommands?: number;
  /** Answer every in-session command twice (a duplicated reply must be ignored the second time). */
  duplicateReplies?: boolean;
  /** Put this session id on replies instead of the console's (a reply that is not ours). */
  foreignSessionId?: number;
  chassisCompletionCode?: number;
}

/** Just enough of a BMC for the state machine: both session kinds, Get Chassis Status, Close Session. */
class FakeBmc implements DatagramExchange {
  everReceived = false;
  readonly seen: string[] = [];
  readonly commandSequences: number[] = [];
  private pendingReplies: Buffer[] = [];
  private framing: RmcpPlusFraming | Ipmi15Framing | undefined;
  private suite: CipherSuite | undefined;
  private consoleSessionId = 0;
  private x: Partial<RakpExchange> = {};
  private dropsLeft: number;
  private challenge = Buffer.alloc(16, 0x3c);
  private lastReply: Buffer | undefined;

  constructor(private readonly cfg: FakeBmcConfig) {
    this.dropsLeft = cfg.dropCommands ?? 0;
  }

  async exchange<T>(build: (attempt: number) => Buffer, accept: (d: Buffer) => T | undefined, _deadline: number, what: string): Promise<T> {
    for (let attempt = 0; attempt < 6; attempt++) {
      // A reply to an earlier request arriving late is offered first: it must be ignored.
      const stale = this.pendingReplies.splice(0);
      for (const d of [...stale, ...this.handle(build(attempt))]) {
        this.everReceived = true;
        try {
          const v = accept(d);
          if (v !== undefined) return v;
        } catch (err) {
          if (err instanceof FenceError) throw err;
        }
      }
    }
    throw new FenceError(this.everReceived ? 'timeout' : 'unreachable', `fake BMC: no answer to ${what}`);
  }

  sendOnly(datagram: Buffer): void {
    this.handle(datagram);
  }

  close(): void {}

  private respond15(req: consoleCodec.IpmiRequest, completionCode: number, data: Buffer, sessionId = 0, authType = 0): Buffer {
    const message = codec.encodeIpmiResponse({ netFn: req.netFn + 1, cmd: req.cmd, rqSeq: req.rqSeq, completionCode, data });
    const authCode = authCode15(authType, Buffer.from(this.cfg.password), sessionId, message, 0);
    return codec.encodeSession15(authCode ? { authType, sequence: 0, sessionId, authCode, message } : { authType, sequence: 0, sessionId, message });
  }

  private handle(d: Buffer): Buffer[] {
    const authType = codec.peekAuthType(d);
    if (authType !== codec.AUTH_TYPE.rmcpPlus) {
      const s = codec.decodeSession15(d);
      if (s.sessionId === 0) {
        const req = codec.decodeIpmiRequest(s.message);
        if (req.cmd === codec.CMD.getChannelAuthCapabilities) {
          this.seen.push('get-channel-auth-capabilities');
          return [this.respond15(req, 0, Buffer.from('0197040300000000', 'hex'))];
        }
        if (req.cmd === codec.CMD.getSessionChallenge) {
          this.seen.push('get-session-challenge');
          return [this.respond15(req, 0, Buffer.concat([Buffer.from([0x77, 0, 0, 0]), this.challenge]))];
        }
      }
      if (!this.framing && s.sessionId === 0x77) {
        const req = codec.decodeIpmiRequest(s.message);
        this.seen.push('activate-session');
        if (!sameBytes(authCode15(s.authType, Buffer.from(this.cfg.password), 0x77, s.message, 0)!, s.authCode!)) return [];
        const initialOutbound = req.data.readUInt32LE(18);
        this.framing = new Ipmi15Framing({ authType: s.authType, password: Buffer.from(this.cfg.password), sessionId: 0x99, initialOutboundSequence: initialOutbound });
        return [this.respond15(req, 0, Buffer.from([s.authType, 0x99, 0, 0, 0, 0x10, 0, 0, 0, 4]), 0x77, s.authType)];
      }
      return this.inSession(d);
    }
    if (d.readUInt32LE(6) !== 0) return this.inSession(d);
    const p = codec.decodeRmcpPlus(d, 0);
    switch (p.header.payloadType) {
      case codec.PAYLOAD.openSessionRequest: {
        this.seen.push('open-session');
        const r = codec.decodeOpenSessionRequest(p.payload);
        this.suite = Object.values(CIPHER_SUITES).find(
          (c) =>
            AUTH_ALGORITHM_NUMBER[c.auth] === r.authAlgorithm &&
            INTEGRITY_ALGORITHM_NUMBER[c.integrity] === r.integrityAlgorithm &&
            CONFIDENTIALITY_ALGORITHM_NUMBER[c.confidentiality] === r.confidentialityAlgorithm,
        );
        this.consoleSessionId = r.consoleSessionId;
        return [this.pre(codec.PAYLOAD.openSessionResponse, codec.encodeOpenSessionResponse({ ...r, statusCode: 0, bmcSessionId: 0x1234, maxPrivilege: 4 }))];
      }
      case codec.PAYLOAD.rakp1: {
        this.seen.push('rakp-1');
        const r = codec.decodeRakp1(p.payload);
        if (this.cfg.rakp2Status) return [this.pre(codec.PAYLOAD.rakp2, codec.encodeRakp2({ messageTag: r.messageTag, statusCode: this.cfg.rakp2Status, consoleSessionId: this.consoleSessionId }))];
        this.x = { consoleSessionId: this.consoleSessionId, bmcSessionId: 0x1234, consoleRandom: r.consoleRandom, bmcRandom: Buffer.alloc(16, 0xbb), bmcGuid: GUID, role: r.role, username: r.username };
        const authCode = rakp2AuthCode(this.suite!.auth, Buffer.from(this.cfg.password), this.x as RakpExchange);
        return [this.pre(codec.PAYLOAD.rakp2, codec.encodeRakp2({ messageTag: r.messageTag, statusCode: 0, consoleSessionId: this.consoleSessionId, bmcRandom: this.x.bmcRandom!, bmcGuid: GUID, authCode }))];
      }
      case codec.PAYLOAD.rakp3: {
        this.seen.push('rakp-3');
        const r = codec.decodeRakp3(p.payload);
        const x = this.x as RakpExchange;
        const kuid = Buffer.from(this.cfg.password);
        if (!sameBytes(rakp3AuthCode(this.suite!.auth, kuid, x), r.authCode)) {
          return [this.pre(codec.PAYLOAD.rakp4, codec.encodeRakp4({ messageTag: r.messageTag, statusCode: 0x0f, consoleSessionId: x.consoleSessionId, integrityCheck: Buffer.alloc(0) }))];
        }
        const sik = sessionIntegrityKey(this.suite!.auth, this.cfg.kg ?? kuid, x);
        const { k1, k2 } = additionalKeys(this.suite!.auth, sik);
        this.framing = new RmcpPlusFraming({ suite: this.suite!, k1, k2, bmcSessionId: this.cfg.foreignSessionId ?? x.consoleSessionId, consoleSessionId: 0x1234 });
        return [this.pre(codec.PAYLOAD.rakp4, codec.encodeRakp4({ messageTag: r.messageTag, statusCode: 0, consoleSessionId: x.consoleSessionId, integrityCheck: rakp4IntegrityCheck(this.suite!.auth, sik, x) }))];
      }
    }
    return [];
  }

  private pre(payloadType: number, payload: Buffer): Buffer {
    return codec.encodeRmcpPlus({ payloadType, encrypted: false, authenticated: false, sessionId: 0, sequence: 0 }, payload);
  }

  private inSession(d: Buffer): Buffer[] {
    if (!this.framing) return [];
    const seq = codec.peekAuthType(d) === codec.AUTH_TYPE.rmcpPlus ? d.readUInt32LE(10) : d.readUInt32LE(5);
    let req: consoleCodec.IpmiRequest;
    try {
      req = codec.decodeIpmiRequest(this.framing.unwrap(d));
    } catch {
      return [];
    }
    this.commandSequences.push(seq);
    this.seen.push(`cmd-${req.netFn.toString(16)}-${req.cmd.toString(16)}`);
    if (req.cmd !== codec.CMD.setSessionPrivilegeLevel && this.dropsLeft > 0) {
      this.dropsLeft--;
      return [];
    }
    let cc = 0;
    let data = Buffer.alloc(0);
    if (req.netFn === codec.NETFN.app && req.cmd === codec.CMD.setSessionPrivilegeLevel) data = Buffer.from([Math.min(req.data[0]!, this.cfg.grantPrivilege ?? 4)]);
    if (req.netFn === codec.NETFN.chassis && req.cmd === codec.CMD.getChassisStatus) {
      cc = this.cfg.chassisCompletionCode ?? 0;
      data = Buffer.from([0x01, 0, 0, 0]);
    }
    const reply = this.framing.wrap(codec.encodeIpmiResponse({ netFn: req.netFn + 1, cmd: req.cmd, rqSeq: req.rqSeq, completionCode: cc, data }));
    // A stale copy of the previous reply arrives before the real one (replay / late duplicate).
    if (this.cfg.duplicateReplies && this.lastReply) this.pendingReplies.push(this.lastReply);
    this.lastReply = reply;
    return this.cfg.duplicateReplies ? [reply, reply] : [reply];
  }
}

function params(over: Partial<SessionParams> = {}): SessionParams {
  return { version: '2.0', username: 'admin', password: 'secret', cipherSuite: CIPHER_SUITES[3], privilege: 'administrator', authType: 'md5', allowInsecure: false, ...over };
}

function recordingLogger() {
  const lines: string[] = [];
  return { lines, logger: createLogger({ verbosity: 1, write: (l) => lines.push(l) }) };
}

async function failure(p: Promise<unknown>): Promise<FenceError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof FenceError) return err;
    throw err;
  }
  throw new Error('expected a FenceError');
}

const far = () => Date.now() + 10_000;

describe('IpmiSession state machine against a fake BMC', () => {
  it('RMCP+ walks auth-capabilities, open-session, RAKP 1/2, RAKP 3/4, set-privilege, active, closed in that order', async () => {
    const bmc = new FakeBmc({ password: 'secret' });
    const { lines, logger } = recordingLogger();
    const s = new IpmiSession(bmc, params(), logger);
    await s.establish(far());
    expect(s.state).toBe('active');
    const res = await s.command(codec.NETFN.chassis, codec.CMD.getChassisStatus, Buffer.alloc(0), far(), 'status');
    expect(codec.decodeChassisStatus(res.data).powerOn).toBe(true);
    await s.close(far());
    const transitions = lines.map((l) => /IPMI session: (\S+) -> (\S+)/.exec(l)?.slice(1).join('>')).filter(Boolean);
    expect(transitions).toEqual(['idle>auth-capabilities', 'auth-capabilities>open-session', 'open-session>rakp-1-2', 'rakp-1-2>rakp-3-4', 'rakp-3-4>set-privilege', 'set-privilege>active', 'active>closed']);
    expect(bmc.seen).toEqual(['get-channel-auth-capabilities', 'open-session', 'rakp-1', 'rakp-3', 'cmd-6-3b', 'cmd-0-1', 'cmd-6-3c']);
  });

  it('IPMI 1.5 walks auth-capabilities, session-challenge, activate-session, set-privilege, active', async () => {
    const bmc = new FakeBmc({ password: 'secret' });
    const { lines, logger } = recordingLogger();
    const s = new IpmiSession(bmc, params({ version: '1.5', authType: 'md5' }), logger);
    await s.establish(far());
    await s.command(codec.NETFN.chassis, codec.CMD.getChassisStatus, Buffer.alloc(0), far(), 'status');
    const transitions = lines.map((l) => /IPMI session: (\S+) -> (\S+)/.exec(l)?.[2]).filter(Boolean);
    expect(transitions).toEqual(['auth-capabilities', 'session-challenge', 'activate-session', 'set-privilege', 'active']);
    expect(bmc.seen).toEqual(['get-channel-auth-capabilities', 'get-session-challenge', 'activate-session', 'cmd-6-3b', 'cmd-0-1']);
  });

  it('cipher suite 17 with a Kg opens a session when both sides share the Kg', async () => {
    const kg = Buffer.from('0123456789abcdeffedcba98765432100f1e2d3c', 'hex');
    const s = new IpmiSession(new FakeBmc({ password: 'secret', kg }), params({ cipherSuite: CIPHER_SUITES[17], kg }), createLogger({ quiet: true }));
    await s.establish(far());
    expect(s.state).toBe('active');
  });

  it('a Kg that differs from the BMC one fails with auth at RAKP 4', async () => {
    const bmc = new FakeBmc({ password: 'secret', kg: Buffer.alloc(20, 9) });
    const err = await failure(new IpmiSession(bmc, params({ cipherSuite: CIPHER_SUITES[17], kg: Buffer.alloc(20, 1) }), createLogger({ quiet: true })).establish(far()));
    expect(err.kind).toBe('auth');
    expect(err.message).toMatch(/Kg/);
  });

  it('a wrong password fails with auth at RAKP 2 and the message never contains the password', async () => {
    const bmc = new FakeBmc({ password: 'secret' });
    const err = await failure(new IpmiSession(bmc, params({ password: 'hunter2-wrong' }), createLogger({ quiet: true })).establish(far()));
    expect(err.kind).toBe('auth');
    expect(err.message).not.toContain('hunter2');
    expect(bmc.seen).not.toContain('rakp-3');
  });

  it('RAKP 2 status 0x0D (unauthorized name) is auth; 0x09 (invalid role) is privilege', async () => {
    const e1 = await failure(new IpmiSession(new FakeBmc({ password: 'secret', rakp2Status: 0x0d }), params(), createLogger({ quiet: true })).establish(far()));
    expect(e1.kind).toBe('auth');
    expect(e1.message).toMatch(/unauthorized name/);
    const e2 = await failure(new IpmiSession(new FakeBmc({ password: 'secret', rakp2Status: 0x09 }), params(), createLogger({ quiet: true })).establish(far()));
    expect(e2.kind).toBe('privilege');
  });

  it('a BMC granting less than the asked privilege fails at once with privilege', async () => {
    const bmc = new FakeBmc({ password: 'secret', grantPrivilege: 2 });
    const err = await failure(new IpmiSession(bmc, params({ privilege: 'operator' }), createLogger({ quiet: true })).establish(far()));
    expect(err.kind).toBe('privilege');
    expect(err.message).toMatch(/granted user privilege, operator was asked for/);
    expect(bmc.seen.filter((s) => s === 'cmd-0-1')).toEqual([]);
  });

  it('a session the BMC activated before a later step failed is closed, not left holding a slot', async () => {
    for (const version of ['2.0', '1.5'] as const) {
      const bmc = new FakeBmc({ password: 'secret', grantPrivilege: 2 });
      await failure(new IpmiSession(bmc, params({ version, privilege: 'operator' }), createLogger({ quiet: true })).establish(far()));
      expect(bmc.seen.filter((s) => s === 'cmd-6-3c'), `IPMI ${version}`).toHaveLength(1);
    }
  });

  it('cipher suite 0 and IPMI 1.5 auth none are refused before anything is sent, unless allowInsecure', async () => {
    const bmc = new FakeBmc({ password: 'secret' });
    const e1 = await failure(new IpmiSession(bmc, params({ cipherSuite: CIPHER_SUITES[0] }), createLogger({ quiet: true })).establish(far()));
    expect(e1.kind).toBe('bad-input');
    const e2 = await failure(new IpmiSession(bmc, params({ version: '1.5', authType: 'none' }), createLogger({ quiet: true })).establish(far()));
    expect(e2.kind).toBe('bad-input');
    expect(bmc.seen).toEqual([]);
    expect(bmc.everReceived).toBe(false);
  });

  it('a retransmitted command carries a fresh session sequence number (the BMC would drop a repeated one)', async () => {
    const bmc = new FakeBmc({ password: 'secret', dropCommands: 2 });
    const s = new IpmiSession(bmc, params(), createLogger({ quiet: true }));
    await s.establish(far());
    await s.command(codec.NETFN.chassis, codec.CMD.getChassisStatus, Buffer.alloc(0), far(), 'status');
    const seqs = bmc.commandSequences;
    expect(bmc.seen.filter((x) => x === 'cmd-0-1')).toHaveLength(3);
    expect(new Set(seqs).size).toBe(seqs.length);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(seqs[0]).toBe(1);
  });

  it('replayed and stale replies are ignored: each command gets its own answer', async () => {
    const bmc = new FakeBmc({ password: 'secret', duplicateReplies: true, chassisCompletionCode: 0 });
    const s = new IpmiSession(bmc, params(), createLogger({ quiet: true }));
    await s.establish(far());
    for (let i = 0; i < 5; i++) {
      const r = await s.command(codec.NETFN.chassis, codec.CMD.getChassisStatus, Buffer.alloc(0), far(), 'status');
      expect(r.cmd).toBe(codec.CMD.getChassisStatus);
    }
  });

  it('replies carrying another session id are not taken as ours (the command times out instead)', async () => {
    const bmc = new FakeBmc({ password: 'secret', foreignSessionId: 0xdeadbeef });
    const started = Date.now();
    const err = await failure(new IpmiSession(bmc, params(), createLogger({ quiet: true })).establish(started + 300));
    expect(err.kind).toBe('timeout');
    // The handshake is restarted while time remains, then the deadline ends it.
    expect(bmc.seen.filter((x) => x === 'open-session').length).toBeGreaterThan(1);
    expect(Date.now() - started).toBeLessThan(1000);
  });
});

describe('ReplayWindow (inbound sequence numbers)', () => {
  it('accepts each number once, out of order within 32, and refuses older ones', () => {
    const w = new ReplayWindow();
    expect(w.accept(100)).toBe(true);
    expect(w.accept(100)).toBe(false);
    expect(w.accept(102)).toBe(true);
    expect(w.accept(101)).toBe(true);
    expect(w.accept(101)).toBe(false);
    expect(w.accept(102 - 31)).toBe(true);
    expect(w.accept(102 - 32)).toBe(false);
    expect(w.accept(200)).toBe(true);
    expect(w.accept(102)).toBe(false);
  });
  it('handles the wrap from 0xFFFFFFFF to 0', () => {
    const w = new ReplayWindow();
    expect(w.accept(0xfffffffe)).toBe(true);
    expect(w.accept(0xffffffff)).toBe(true);
    expect(w.accept(0)).toBe(true);
    expect(w.accept(1)).toBe(true);
    expect(w.accept(0xffffffff)).toBe(false);
    expect(w.accept(0xfffffffd)).toBe(true);
  });
});

describe('completion codes to error kinds', () => {
  const res = (completionCode: number) => ({ netFn: 1, cmd: 2, rqSeq: 1, completionCode, data: Buffer.alloc(0) });
  it('0xD4 is privilege, 0xD5 is device-refused with "not supported in present state", 0 passes', () => {
    expect(checkCompletion('x', res(0)).completionCode).toBe(0);
    expect(() => checkCompletion('Chassis Control (off)', res(0xd4))).toThrow(expect.objectContaining({ kind: 'privilege' }));
    expect(() => checkCompletion('Chassis Control (cycle)', res(0xd5))).toThrow(expect.objectContaining({ kind: 'device-refused', message: expect.stringMatching(/not supported in present state/) }));
    expect(() => checkCompletion('x', res(0xc1))).toThrow(expect.objectContaining({ kind: 'device-refused' }));
  });
});
