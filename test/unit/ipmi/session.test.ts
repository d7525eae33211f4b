// The session state machine driven by an in-memory BMC (a pure unit test: no sockets). Proves the order
// of states, the privilege and auth verdicts, retransmission with fresh sequence numbers, and that replayed
// or foreign replies are ignored. The real BMC is exercised in test/integration/ipmi-client.test.ts.
//
// The BMC speaks through reference-wire.ts, the spec tables written out with node:crypto and checked there
// against captured ipmi_sim sessions: none of the console's own codec, crypto or framing builds its answers.
import { describe, expect, it } from 'vitest';
import { fenceFailure } from '../../support/fence-errors.js';
import { FenceError } from '../../../lib/errors.js';
import { createLogger } from '../../../lib/log.js';
import { CIPHER_SUITES } from '../../../lib/ipmi/cipher-suites.js';
import { checkCompletion } from '../../../lib/ipmi/client.js';
import * as codec from '../../../lib/ipmi/codec.js';
import { ReplayWindow } from '../../../lib/ipmi/framing.js';
import { IpmiSession, type SessionParams } from '../../../lib/ipmi/session.js';
import type { DatagramExchange } from '../../../lib/ipmi/transport.js';
import * as wire from './reference-wire.js';

const GUID = Buffer.from('a123456789abcdefa123456789abcdef', 'hex');
/** Command numbers (IPMI v2.0 Appendix G): netFn App 06h and Chassis 00h. */
const APP = 0x06;
const CHASSIS = 0x00;
const CMD = { getChannelAuthCapabilities: 0x38, getSessionChallenge: 0x39, activateSession: 0x3a, setSessionPrivilegeLevel: 0x3b, closeSession: 0x3c, getChassisStatus: 0x01 };
const TEMPORARY_SESSION_ID = 0x77; // IPMI 1.5: from Get Session Challenge
const SESSION_ID_15 = 0x99; // IPMI 1.5: from Activate Session
const BMC_SESSION_ID = 0x1234; // RMCP+: SIDc

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

type ActiveSession =
  | { kind: '1.5'; authType: number; nextOutbound: number }
  | { kind: '2.0'; suite: wire.Suite; k1: Buffer; k2: Buffer; consoleSessionId: number; nextOutbound: number };

/** Just enough of a BMC for the state machine: both session kinds, Get Chassis Status, Close Session. */
class FakeBmc implements DatagramExchange {
  everReceived = false;
  readonly seen: string[] = [];
  readonly commandSequences: number[] = [];
  private pendingReplies: Buffer[] = [];
  private session: ActiveSession | undefined;
  private suite: wire.Suite | undefined;
  private consoleSessionId = 0;
  private x: wire.Exchange | undefined;
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

  private get kuid(): Buffer {
    return Buffer.from(this.cfg.password);
  }

  private handle(d: Buffer): Buffer[] {
    if (d[4] !== wire.AUTH_RMCP_PLUS) return this.handle15(d);
    const p = wire.parsePlus(d, 0);
    if (!p || p.sessionId !== 0) return this.inSession(d);
    switch (p.payloadType) {
      case wire.PT.openSessionRequest: {
        // Table 13-9: tag, privilege, reserved (2), SIDm (4), then three 8-byte algorithm records (algorithm at byte 4).
        this.seen.push('open-session');
        const q = p.payload;
        const [auth, integrity, confidentiality] = [q[12]!, q[20]!, q[28]!];
        this.suite = wire.suiteOf(auth, integrity, confidentiality);
        this.consoleSessionId = q.readUInt32LE(4);
        const status = this.suite ? 0x00 : 0x11; // 11h: no cipher suite match with proposed security algorithms
        const record = (type: number, alg: number) => Buffer.from([type, 0, 0, 8, alg, 0, 0, 0]);
        const response = Buffer.concat([Buffer.from([q[0]!, status, 0x04, 0]), le32(this.consoleSessionId), le32(BMC_SESSION_ID), record(0, auth), record(1, integrity), record(2, confidentiality)]);
        return [this.preSession(wire.PT.openSessionResponse, status === 0 ? response : response.subarray(0, 8))];
      }
      case wire.PT.rakp1: {
        // Table 13-11: tag, reserved (3), SIDc (4), Rm (16), role, reserved (2), name length, name.
        this.seen.push('rakp-1');
        const q = p.payload;
        const head = Buffer.concat([Buffer.from([q[0]!, this.cfg.rakp2Status ?? 0, 0, 0]), le32(this.consoleSessionId)]);
        if (this.cfg.rakp2Status) return [this.preSession(wire.PT.rakp2, head)];
        this.x = { sidM: this.consoleSessionId, sidC: BMC_SESSION_ID, rM: Buffer.from(q.subarray(8, 24)), rC: Buffer.alloc(16, 0xbb), guidC: GUID, roleM: q[24]!, nameM: Buffer.from(q.subarray(28, 28 + q[27]!)) };
        const authCode = this.suite!.hash ? wire.rakp2Code(this.suite!.hash, this.kuid, this.x) : Buffer.alloc(0);
        return [this.preSession(wire.PT.rakp2, Buffer.concat([head, this.x.rC, GUID, authCode]))];
      }
      case wire.PT.rakp3: {
        // Table 13-13: tag, status, reserved (2), SIDc (4), auth code.
        this.seen.push('rakp-3');
        const q = p.payload;
        const x = this.x!;
        const hash = this.suite!.hash!;
        const head = (status: number) => Buffer.concat([Buffer.from([q[0]!, status, 0, 0]), le32(x.sidM)]);
        // 0Fh: invalid integrity check value.
        if (!wire.rakp3Code(hash, this.kuid, x).equals(q.subarray(8))) return [this.preSession(wire.PT.rakp4, head(0x0f))];
        const key = wire.sik(hash, this.cfg.kg ?? this.kuid, x);
        const { k1, k2 } = wire.k1k2(hash, key);
        this.session = { kind: '2.0', suite: this.suite!, k1, k2, consoleSessionId: this.cfg.foreignSessionId ?? x.sidM, nextOutbound: 1 };
        return [this.preSession(wire.PT.rakp4, Buffer.concat([head(0), wire.rakp4Icv(hash, key, x)]))];
      }
    }
    return [];
  }

  private preSession(payloadType: number, payload: Buffer): Buffer {
    return wire.buildPlus({ payloadType, sessionId: 0, sequence: 0 }, payload);
  }

  private handle15(d: Buffer): Buffer[] {
    const s = wire.parse15(d);
    if (!s) return [];
    const req = wire.parseRequest(s.message);
    if (s.sessionId === 0 && req?.netFn === APP && req.cmd === CMD.getChannelAuthCapabilities) {
      this.seen.push('get-channel-auth-capabilities');
      // §22.13: channel 1; none, MD2, MD5, password and extended data; IPMI 1.5 and 2.0.
      return [wire.build15(wire.AUTH_NONE, 0, 0, wire.responseTo(req, 0, Buffer.from('0197040300000000', 'hex')), this.cfg.password)];
    }
    if (s.sessionId === 0 && req?.netFn === APP && req.cmd === CMD.getSessionChallenge) {
      this.seen.push('get-session-challenge');
      return [wire.build15(wire.AUTH_NONE, 0, 0, wire.responseTo(req, 0, Buffer.concat([le32(TEMPORARY_SESSION_ID), this.challenge])), this.cfg.password)];
    }
    if (!this.session && s.sessionId === TEMPORARY_SESSION_ID && req) {
      // §22.17: auth type, privilege, challenge (16), initial outbound sequence (4), signed with sequence 0.
      this.seen.push('activate-session');
      if (s.authType !== wire.AUTH_MD5 || !wire.md5Code(this.cfg.password, TEMPORARY_SESSION_ID, s.message, 0).equals(s.authCode!)) return [];
      this.session = { kind: '1.5', authType: s.authType, nextOutbound: req.data.readUInt32LE(18) };
      const data = Buffer.concat([Buffer.from([s.authType]), le32(SESSION_ID_15), le32(0x10), Buffer.from([4])]);
      return [wire.build15(s.authType, 0, TEMPORARY_SESSION_ID, wire.responseTo(req, 0, data), this.cfg.password)];
    }
    return this.inSession(d);
  }

  /** The request inside an in-session datagram, after checking its signature; undefined if it fails. */
  private open(d: Buffer): { sequence: number; req: wire.Request } | undefined {
    const session = this.session;
    if (!session) return undefined;
    if (session.kind === '1.5') {
      const s = wire.parse15(d);
      if (!s || s.sessionId !== SESSION_ID_15 || !wire.md5Code(this.cfg.password, SESSION_ID_15, s.message, s.sequence).equals(s.authCode ?? Buffer.alloc(0))) return undefined;
      const req = wire.parseRequest(s.message);
      return req && { sequence: s.sequence, req };
    }
    const p = wire.parsePlus(d, session.suite.integrityLength);
    if (!p || p.payloadType !== wire.PT.ipmi || p.sessionId !== BMC_SESSION_ID) return undefined;
    if (session.suite.integrityLength > 0 && !wire.integrityCode(session.suite, session.k1, p.covered!).equals(p.authCode!)) return undefined;
    const message = session.suite.aes ? wire.aesDecrypt(session.k2, p.payload) : p.payload;
    const req = message && wire.parseRequest(message);
    return req && { sequence: p.sequence, req };
  }

  private seal(message: Buffer): Buffer {
    const session = this.session!;
    const sequence = session.nextOutbound++;
    if (session.kind === '1.5') return wire.build15(session.authType, sequence, SESSION_ID_15, message, this.cfg.password);
    const payload = session.suite.aes ? wire.aesEncrypt(session.k2, message) : message;
    return wire.buildPlus({ payloadType: wire.PT.ipmi, sessionId: session.consoleSessionId, sequence }, payload, { suite: session.suite, k1: session.k1 });
  }

  private inSession(d: Buffer): Buffer[] {
    const opened = this.open(d);
    if (!opened) return [];
    const { sequence, req } = opened;
    this.commandSequences.push(sequence);
    this.seen.push(`cmd-${req.netFn.toString(16)}-${req.cmd.toString(16)}`);
    if (req.cmd !== CMD.setSessionPrivilegeLevel && this.dropsLeft > 0) {
      this.dropsLeft--;
      return [];
    }
    let cc = 0;
    let data = Buffer.alloc(0);
    if (req.netFn === APP && req.cmd === CMD.setSessionPrivilegeLevel) data = Buffer.from([Math.min(req.data[0]! & 0x0f, this.cfg.grantPrivilege ?? 4)]);
    if (req.netFn === CHASSIS && req.cmd === CMD.getChassisStatus) {
      cc = this.cfg.chassisCompletionCode ?? 0;
      data = Buffer.from([0x01, 0, 0, 0]); // §28.2: system power is on
    }
    const reply = this.seal(wire.responseTo(req, cc, data));
    // A stale copy of the previous reply arrives before the real one (replay / late duplicate).
    if (this.cfg.duplicateReplies && this.lastReply) this.pendingReplies.push(this.lastReply);
    this.lastReply = reply;
    return this.cfg.duplicateReplies ? [reply, reply] : [reply];
  }
}

function le32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
}

function params(over: Partial<SessionParams> = {}): SessionParams {
  return { version: '2.0', username: 'admin', password: 'secret', cipherSuite: CIPHER_SUITES[3], privilege: 'administrator', authType: 'md5', allowInsecure: false, ...over };
}

function recordingLogger() {
  const lines: string[] = [];
  return { lines, logger: createLogger({ verbosity: 1, write: (l) => lines.push(l) }) };
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
    const err = await fenceFailure(new IpmiSession(bmc, params({ cipherSuite: CIPHER_SUITES[17], kg: Buffer.alloc(20, 1) }), createLogger({ quiet: true })).establish(far()));
    expect(err.kind).toBe('auth');
    expect(err.message).toMatch(/Kg/);
  });

  it('a wrong password fails with auth at RAKP 2 and the message never contains the password', async () => {
    const bmc = new FakeBmc({ password: 'secret' });
    const err = await fenceFailure(new IpmiSession(bmc, params({ password: 'hunter2-wrong' }), createLogger({ quiet: true })).establish(far()));
    expect(err.kind).toBe('auth');
    expect(err.message).not.toContain('hunter2');
    expect(bmc.seen).not.toContain('rakp-3');
  });

  it('RAKP 2 status 0x0D (unauthorized name) is auth; 0x09 (invalid role) is privilege', async () => {
    const e1 = await fenceFailure(new IpmiSession(new FakeBmc({ password: 'secret', rakp2Status: 0x0d }), params(), createLogger({ quiet: true })).establish(far()));
    expect(e1.kind).toBe('auth');
    expect(e1.message).toMatch(/unauthorized name/);
    const e2 = await fenceFailure(new IpmiSession(new FakeBmc({ password: 'secret', rakp2Status: 0x09 }), params(), createLogger({ quiet: true })).establish(far()));
    expect(e2.kind).toBe('privilege');
  });

  it('a BMC granting less than the asked privilege fails at once with privilege', async () => {
    const bmc = new FakeBmc({ password: 'secret', grantPrivilege: 2 });
    const err = await fenceFailure(new IpmiSession(bmc, params({ privilege: 'operator' }), createLogger({ quiet: true })).establish(far()));
    expect(err.kind).toBe('privilege');
    expect(err.message).toMatch(/granted user privilege, operator was asked for/);
    expect(bmc.seen.filter((s) => s === 'cmd-0-1')).toEqual([]);
  });

  it('a session the BMC activated before a later step failed is closed, not left holding a slot', async () => {
    for (const version of ['2.0', '1.5'] as const) {
      const bmc = new FakeBmc({ password: 'secret', grantPrivilege: 2 });
      await fenceFailure(new IpmiSession(bmc, params({ version, privilege: 'operator' }), createLogger({ quiet: true })).establish(far()));
      expect(bmc.seen.filter((s) => s === 'cmd-6-3c'), `IPMI ${version}`).toHaveLength(1);
    }
  });

  it('cipher suite 0 and IPMI 1.5 auth none are refused before anything is sent, unless allowInsecure', async () => {
    const bmc = new FakeBmc({ password: 'secret' });
    const e1 = await fenceFailure(new IpmiSession(bmc, params({ cipherSuite: CIPHER_SUITES[0] }), createLogger({ quiet: true })).establish(far()));
    expect(e1.kind).toBe('bad-input');
    const e2 = await fenceFailure(new IpmiSession(bmc, params({ version: '1.5', authType: 'none' }), createLogger({ quiet: true })).establish(far()));
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
    const err = await fenceFailure(new IpmiSession(bmc, params(), createLogger({ quiet: true })).establish(started + 300));
    expect(err.kind).toBe('timeout');
    // The handshake is restarted while time remains, then the deadline ends it.
    expect(bmc.seen.filter((x) => x === 'open-session').length).toBeGreaterThan(1);
    expect(Date.now() - started).toBeLessThan(1000);
  });
});

describe('ReplayWindow (inbound sequence numbers)', () => {
  /** Feeds one fresh window the numbers in order; each [number, accepted] is what accept() must answer. */
  const expectVerdicts = (steps: readonly (readonly [number, boolean])[]) => {
    const w = new ReplayWindow();
    steps.forEach(([n, accepted], i) => expect(w.accept(n), `step ${i}: accept(${n})`).toBe(accepted));
  };

  it('accepts each number once, out of order within 32, and refuses older ones', () => {
    expectVerdicts([
      [100, true],
      [100, false],
      [102, true],
      [101, true],
      [101, false],
      [102 - 31, true],
      [102 - 32, false],
      [200, true],
      [102, false],
    ]);
  });
  it('handles the wrap from 0xFFFFFFFF to 0', () => {
    expectVerdicts([
      [0xfffffffe, true],
      [0xffffffff, true],
      [0, true],
      [1, true],
      [0xffffffff, false],
      [0xfffffffd, true],
    ]);
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
