// The IPMI session as one explicit state machine (spec §13.14-13.22 for RMCP+, §22.13-22.17 for IPMI 1.5):
//
//   2.0:  auth-capabilities → open-session → rakp-1-2 → rakp-3-4 ─┐
//   1.5:  auth-capabilities → session-challenge → activate-session ┴→ set-privilege → active → closed
//
// Each state is one request/response exchange; a failure ends the machine with a typed FenceError. Packets
// of the active session are framed by framing.ts; bytes by codec.ts; keys by crypto.ts; time by the transport.
import { randomBytes } from 'node:crypto';
import { FenceError } from '../errors.js';
import type { Logger } from '../log.js';
import {
  type CipherSuite,
  AUTH_ALGORITHM_NUMBER,
  CONFIDENTIALITY_ALGORITHM_NUMBER,
  INTEGRITY_ALGORITHM_NUMBER,
} from './cipher-suites.js';
import {
  AUTH_TYPE,
  CMD,
  IpmiDecodeError,
  NETFN,
  PAYLOAD,
  PRIVILEGE,
  RAKP_STATUS,
  type IpmiResponse,
  type PrivilegeName,
  decodeActivateSession,
  decodeChannelAuthCapabilities,
  decodeIpmiResponse,
  decodeOpenSessionResponse,
  decodeRakp2,
  decodeRakp4,
  decodeRmcpPlus,
  decodeSession15,
  decodeSessionChallenge,
  decodeSetSessionPrivilege,
  describeCompletionCode,
  encodeActivateSession,
  encodeCloseSession,
  encodeGetChannelAuthCapabilities,
  encodeGetSessionChallenge,
  encodeIpmiRequest,
  encodeOpenSessionRequest,
  encodeRakp1,
  encodeRakp3,
  encodeRmcpPlus,
  encodeSession15,
  encodeSetSessionPrivilege,
  peekAuthType,
  privilegeName,
} from './codec.js';
import { additionalKeys, rakp2AuthCode, rakp3AuthCode, rakp4IntegrityCheck, sameBytes, sessionIntegrityKey, type RakpExchange } from './crypto.js';
import { Ipmi15Framing, RmcpPlusFraming, authCode15, type SessionFraming } from './framing.js';
import type { DatagramExchange } from './transport.js';

export type SessionState =
  | 'idle'
  | 'auth-capabilities'
  | 'open-session'
  | 'rakp-1-2'
  | 'rakp-3-4'
  | 'session-challenge'
  | 'activate-session'
  | 'set-privilege'
  | 'active'
  | 'closed';

export interface SessionParams {
  version: '1.5' | '2.0';
  username: string;
  password: string;
  /** BMC key (hexadecimal_kg); when absent Kg is the user's password (spec §13.31). */
  kg?: Buffer;
  cipherSuite: CipherSuite;
  privilege: PrivilegeName;
  authType: 'none' | 'password' | 'md5';
  allowInsecure: boolean;
}

/** RAKP 1 role byte bit 4: look the user up by name only (what ipmitool and pyghmi send). */
const NAME_ONLY_LOOKUP = 0x10;
/** Handshakes restarted when a failure may be an echo of our own retransmission (a duplicated RAKP 3 etc.). */
const MAX_HANDSHAKE_RESTARTS = 3;
/**
 * Longest wait for one handshake step before starting the handshake over. A BMC that already acted on a
 * request whose answer was lost may ignore the retransmission (a second RAKP 3 for a session it activated),
 * so waiting for that answer until the deadline would waste the whole budget; a fresh handshake recovers.
 */
const HANDSHAKE_STEP_MS = 4000;

/** A failure that a fresh handshake may not repeat: the BMC answered a retransmitted, already-used request. */
class RetransmitEcho extends Error {}

export class IpmiSession {
  private stateNow: SessionState = 'idle';
  private framing: SessionFraming | undefined;
  private rqSeq: number;
  private messageTag: number;
  private grantedPrivilege = 0;
  private closeSessionId = 0;
  private retransmitted = false;

  constructor(
    private readonly channel: DatagramExchange,
    private readonly params: SessionParams,
    private readonly logger: Logger,
    private readonly random: (n: number) => Buffer = randomBytes,
  ) {
    this.rqSeq = this.random(1)[0]! & 0x3f;
    this.messageTag = this.random(1)[0]!;
  }

  get state(): SessionState {
    return this.stateNow;
  }

  /** The privilege the BMC granted (Set Session Privilege Level response). */
  get privilege(): number {
    return this.grantedPrivilege;
  }

  private enter(next: SessionState): void {
    this.logger.debug(`IPMI session: ${this.stateNow} -> ${next}`);
    this.stateNow = next;
  }

  /** Run the machine from idle to active, or throw a FenceError. */
  async establish(deadline: number): Promise<void> {
    this.refuseInsecure();
    for (let restart = 0; ; restart++) {
      try {
        return await this.handshake(deadline);
      } catch (err) {
        const echo = err instanceof RetransmitEcho && restart < MAX_HANDSHAKE_RESTARTS;
        const stepTimedOut = err instanceof FenceError && !err.final && (err.kind === 'timeout' || err.kind === 'unreachable') && Date.now() < deadline;
        if (!echo && !stepTimedOut) {
          this.enter('closed');
          throw err instanceof RetransmitEcho ? new FenceError('auth', err.message) : err;
        }
        this.logger.debug(`IPMI session: restarting the handshake from ${this.stateNow}: ${(err as Error).message}`);
        this.stateNow = 'idle';
      }
    }
  }

  private async handshake(overallDeadline: number): Promise<void> {
    const v2 = this.params.version === '2.0';
    const ctx: HandshakeContext = { overallDeadline };
    this.enter('auth-capabilities');
    while (this.stateNow !== 'active') {
      this.retransmitted = false;
      const deadline = Math.min(overallDeadline, Date.now() + HANDSHAKE_STEP_MS);
      switch (this.stateNow) {
        case 'auth-capabilities':
          await this.getAuthCapabilities(deadline);
          this.enter(v2 ? 'open-session' : 'session-challenge');
          break;
        case 'open-session':
          await this.openSession(ctx, deadline);
          this.enter('rakp-1-2');
          break;
        case 'rakp-1-2':
          await this.rakp12(ctx, deadline);
          this.enter('rakp-3-4');
          break;
        case 'rakp-3-4':
          await this.rakp34(ctx, deadline);
          this.enter('set-privilege');
          break;
        case 'session-challenge':
          await this.sessionChallenge(ctx, deadline);
          this.enter('activate-session');
          break;
        case 'activate-session':
          await this.activateSession(ctx, deadline);
          this.enter('set-privilege');
          break;
        case 'set-privilege':
          await this.setPrivilege(deadline);
          this.enter('active');
          break;
        default:
          throw new FenceError('internal', `IPMI session: no transition from ${this.stateNow}`);
      }
    }
  }

  /** Send one IPMI command in the active session; returns the response whatever its completion code. */
  async command(netFn: number, cmd: number, data: Buffer, deadline: number, what: string): Promise<IpmiResponse> {
    if (this.stateNow !== 'active' && this.stateNow !== 'set-privilege') {
      throw new FenceError('internal', `IPMI ${what}: session is ${this.stateNow}, not active`);
    }
    const framing = this.framing!;
    const rqSeq = this.nextRqSeq();
    const message = encodeIpmiRequest({ netFn, cmd, rqSeq, data });
    return this.channel.exchange(
      (attempt) => {
        if (attempt > 0) this.retransmitted = true;
        return framing.wrap(message);
      },
      (datagram) => matchResponse(decodeIpmiResponse(framing.unwrap(datagram)), netFn, cmd, rqSeq),
      deadline,
      what,
    );
  }

  /** Close Session (spec §22.19). Best effort: a BMC that never answers just lets the session time out. */
  async close(deadline: number): Promise<void> {
    if (this.stateNow !== 'active') {
      this.enter('closed');
      return;
    }
    if (deadline <= Date.now()) {
      // Out of time: still tell the BMC (its session slots are few), but do not wait for the answer.
      const message = encodeIpmiRequest({ netFn: NETFN.app, cmd: CMD.closeSession, rqSeq: this.nextRqSeq(), data: encodeCloseSession(this.closeSessionId) });
      this.channel.sendOnly(this.framing!.wrap(message));
      this.enter('closed');
      return;
    }
    try {
      await this.command(NETFN.app, CMD.closeSession, encodeCloseSession(this.closeSessionId), Math.min(deadline, Date.now() + 1000), 'Close Session');
    } catch (err) {
      this.logger.debug(`IPMI session: Close Session not confirmed: ${(err as Error).message}`);
    }
    this.enter('closed');
  }

  // --- states ------------------------------------------------------------------------------------------

  private refuseInsecure(): void {
    const p = this.params;
    if (p.allowInsecure) return;
    if (p.version === '2.0' && p.cipherSuite.insecure) {
      throw new FenceError('bad-input', `cipher suite ${p.cipherSuite.id} authenticates nothing (any password is accepted); pass allowInsecure to use it`);
    }
    // Without integrity no answer carries a MAC: anyone on the path can forge "Chassis Power is off".
    if (p.version === '2.0' && p.cipherSuite.integrity === 'none') {
      throw new FenceError('bad-input', `cipher suite ${p.cipherSuite.id} protects no answer (no integrity): a forged "power is off" would be believed; pass allowInsecure to use it`);
    }
    if (p.version === '1.5' && p.authType === 'none') {
      throw new FenceError('bad-input', 'IPMI 1.5 auth type none sends no credentials; pass allowInsecure to use it');
    }
    if (p.version === '1.5' && p.authType === 'password') {
      throw new FenceError('bad-input', 'IPMI 1.5 auth type password sends the password in clear text in every packet; pass allowInsecure to use it');
    }
  }

  private async getAuthCapabilities(deadline: number): Promise<void> {
    const p = this.params;
    const requested = PRIVILEGE[p.privilege];
    let res = await this.sessionless(NETFN.app, CMD.getChannelAuthCapabilities, encodeGetChannelAuthCapabilities(p.version === '2.0', requested), deadline, 'Get Channel Authentication Capabilities');
    // An IPMI 1.5-only BMC rejects the "IPMI 2.0 data" bit with 0xCC: ask again the 1.5 way, then decide.
    if (res.completionCode !== 0 && p.version === '2.0') {
      res = await this.sessionless(NETFN.app, CMD.getChannelAuthCapabilities, encodeGetChannelAuthCapabilities(false, requested), deadline, 'Get Channel Authentication Capabilities');
    }
    if (res.completionCode !== 0) throw refused('Get Channel Authentication Capabilities', res.completionCode);
    const caps = decodeChannelAuthCapabilities(res.data);
    if (p.version === '2.0' && !caps.supportsIpmi20) {
      throw new FenceError('device-refused', 'the BMC does not support IPMI 2.0 (RMCP+); use IPMI 1.5 (lanplus off)');
    }
    if (p.version === '1.5') {
      const offered = { none: caps.authTypes.none, password: caps.authTypes.password, md5: caps.authTypes.md5 }[p.authType];
      if (!offered) throw new FenceError('auth', `the BMC does not offer IPMI 1.5 auth type ${p.authType} at ${p.privilege} privilege`);
    }
  }

  private async openSession(ctx: HandshakeContext, deadline: number): Promise<void> {
    const suite = this.params.cipherSuite;
    const consoleSessionId = this.nonZeroId();
    const tag = this.nextTag();
    const request = encodeOpenSessionRequest({
      messageTag: tag,
      maxPrivilege: PRIVILEGE[this.params.privilege],
      consoleSessionId,
      authAlgorithm: AUTH_ALGORITHM_NUMBER[suite.auth],
      integrityAlgorithm: INTEGRITY_ALGORITHM_NUMBER[suite.integrity],
      confidentialityAlgorithm: CONFIDENTIALITY_ALGORITHM_NUMBER[suite.confidentiality],
    });
    const res = await this.preSession(PAYLOAD.openSessionRequest, request, PAYLOAD.openSessionResponse, deadline, 'Open Session', (payload) => {
      const r = decodeOpenSessionResponse(payload);
      return r.messageTag === tag && r.consoleSessionId === consoleSessionId ? r : undefined;
    });
    if (res.statusCode !== 0) throw rakpFailure('Open Session', res.statusCode, suite.id);
    if (
      res.authAlgorithm !== AUTH_ALGORITHM_NUMBER[suite.auth] ||
      res.integrityAlgorithm !== INTEGRITY_ALGORITHM_NUMBER[suite.integrity] ||
      res.confidentialityAlgorithm !== CONFIDENTIALITY_ALGORITHM_NUMBER[suite.confidentiality]
    ) {
      throw new FenceError('device-refused', `the BMC answered Open Session with other algorithms than cipher suite ${suite.id}`);
    }
    ctx.consoleSessionId = consoleSessionId;
    ctx.bmcSessionId = res.bmcSessionId!;
  }

  private async rakp12(ctx: HandshakeContext, deadline: number): Promise<void> {
    const p = this.params;
    const tag = this.nextTag();
    const consoleRandom = this.random(16);
    const role = PRIVILEGE[p.privilege] | NAME_ONLY_LOOKUP;
    const username = Buffer.from(p.username, 'utf8');
    const request = encodeRakp1({ messageTag: tag, bmcSessionId: ctx.bmcSessionId!, consoleRandom, role, username });
    const res = await this.preSession(PAYLOAD.rakp1, request, PAYLOAD.rakp2, deadline, 'RAKP 1', (payload) => {
      const r = decodeRakp2(payload);
      return r.messageTag === tag && r.consoleSessionId === ctx.consoleSessionId ? r : undefined;
    });
    if (res.statusCode !== 0) throw rakpFailure('RAKP 2', res.statusCode, p.cipherSuite.id);
    const exchange: RakpExchange = {
      consoleSessionId: ctx.consoleSessionId!,
      bmcSessionId: ctx.bmcSessionId!,
      consoleRandom,
      bmcRandom: res.bmcRandom!,
      bmcGuid: res.bmcGuid!,
      role,
      username,
    };
    const kuid = Buffer.from(p.password, 'utf8');
    if (!sameBytes(rakp2AuthCode(p.cipherSuite.auth, kuid, exchange), res.authCode!)) {
      // The BMC proves it knows the user's password; if it does not verify, ours is not the one it has.
      throw new FenceError('auth', `RAKP 2 auth code does not verify: wrong password for user "${p.username}"`);
    }
    ctx.exchange = exchange;
  }

  private async rakp34(ctx: HandshakeContext, deadline: number): Promise<void> {
    const p = this.params;
    const suite = p.cipherSuite;
    const x = ctx.exchange!;
    const kuid = Buffer.from(p.password, 'utf8');
    const tag = this.nextTag();
    const sik = sessionIntegrityKey(suite.auth, p.kg ?? kuid, x);
    const { k1, k2 } = additionalKeys(suite.auth, sik);
    const framing = new RmcpPlusFraming({ suite, k1, k2, bmcSessionId: x.bmcSessionId, consoleSessionId: x.consoleSessionId });
    const request = encodeRakp3({ messageTag: tag, statusCode: 0, bmcSessionId: x.bmcSessionId, authCode: rakp3AuthCode(suite.auth, kuid, x) });
    const res = await this.preSession(
      PAYLOAD.rakp3,
      request,
      PAYLOAD.rakp4,
      deadline,
      'RAKP 3',
      (payload) => {
        const r = decodeRakp4(payload);
        return r.messageTag === tag && r.consoleSessionId === x.consoleSessionId ? r : undefined;
      },
      // When the first RAKP 4 is lost, ipmi_sim (whose session is already active) answers our repeated RAKP 3
      // with a RAKP 4 signed and encrypted with the new session keys; its integrity code proves the same as
      // the RAKP 4 check value does: the BMC derived the same SIK.
      (datagram) => decodeRakp4(framing.unwrapPayload(datagram, PAYLOAD.rakp4)),
    );
    if (res.statusCode !== 0) {
      const failure = rakpFailure('RAKP 4', res.statusCode, suite.id);
      // The BMC may be answering our retransmitted RAKP 3 for a session it already activated.
      if (this.retransmitted) throw new RetransmitEcho(failure.message);
      throw failure;
    }
    if (!sameBytes(rakp4IntegrityCheck(suite.auth, sik, x), res.integrityCheck)) {
      throw new FenceError('auth', 'RAKP 4 integrity check does not verify: the BMC key (Kg) differs from ours');
    }
    this.framing = framing;
    this.closeSessionId = x.bmcSessionId;
  }

  private async sessionChallenge(ctx: HandshakeContext, deadline: number): Promise<void> {
    const p = this.params;
    const authType = AUTH_TYPE[p.authType];
    const res = await this.sessionless(NETFN.app, CMD.getSessionChallenge, encodeGetSessionChallenge(authType, Buffer.from(p.username, 'utf8')), deadline, 'Get Session Challenge');
    // 0x81 invalid user name, 0x82 null user name not enabled (spec §22.16).
    if (res.completionCode === 0x81 || res.completionCode === 0x82) {
      throw new FenceError('auth', `the BMC does not know user "${p.username}" (${describeCompletionCode(res.completionCode)})`);
    }
    if (res.completionCode !== 0) throw refused('Get Session Challenge', res.completionCode);
    ctx.challenge = decodeSessionChallenge(res.data);
  }

  private async activateSession(ctx: HandshakeContext, deadline: number): Promise<void> {
    const p = this.params;
    const authType = AUTH_TYPE[p.authType];
    const password = Buffer.from(p.password, 'utf8');
    const { temporarySessionId, challenge } = ctx.challenge!;
    const initialOutbound = this.nonZeroId();
    const rqSeq = this.nextRqSeq();
    const message = encodeIpmiRequest({ netFn: NETFN.app, cmd: CMD.activateSession, rqSeq, data: encodeActivateSession(authType, PRIVILEGE[p.privilege], challenge, initialOutbound) });
    const authCode = authCode15(authType, password, temporarySessionId, message, 0);
    const datagram = encodeSession15(authCode ? { authType, sequence: 0, sessionId: temporarySessionId, authCode, message } : { authType, sequence: 0, sessionId: temporarySessionId, message });
    // A BMC silently drops an Activate Session whose auth code is wrong (ipmi_sim does): with the challenge
    // just answered, a whole handshake step of silence means a wrong password, not a dead BMC.
    let res: IpmiResponse;
    try {
      res = await this.channel.exchange(
        (attempt) => {
          if (attempt > 0) this.retransmitted = true;
          return datagram;
        },
        (d) => matchResponse(decodeIpmiResponse(decodeSession15(d).message), NETFN.app, CMD.activateSession, rqSeq),
        deadline,
        'Activate Session',
      );
    } catch (err) {
      if (err instanceof FenceError && err.kind === 'timeout' && Date.now() < ctx.overallDeadline!) {
        throw new FenceError('auth', `the BMC ignored Activate Session for user "${p.username}": wrong password (IPMI 1.5 ${p.authType})`);
      }
      throw err;
    }
    if (res.completionCode === 0x86) {
      throw new FenceError('privilege', `user "${p.username}" may not have ${p.privilege} privilege (${describeCompletionCode(0x86)})`);
    }
    if (res.completionCode !== 0) {
      const failure = refused('Activate Session', res.completionCode);
      if (this.retransmitted) throw new RetransmitEcho(failure.message);
      throw res.completionCode === 0x84 || res.completionCode === 0x85 ? new FenceError('auth', failure.message) : failure;
    }
    const active = decodeActivateSession(res.data);
    this.framing = new Ipmi15Framing({ authType, password, sessionId: active.sessionId, initialOutboundSequence: active.initialInboundSequence });
    this.closeSessionId = active.sessionId;
  }

  private async setPrivilege(deadline: number): Promise<void> {
    const wanted = PRIVILEGE[this.params.privilege];
    const res = await this.command(NETFN.app, CMD.setSessionPrivilegeLevel, encodeSetSessionPrivilege(wanted), deadline, 'Set Session Privilege Level');
    // 0x80 level not available for this user, 0x81 exceeds the user's or channel's limit (spec §22.18).
    if (res.completionCode === 0x80 || res.completionCode === 0x81 || res.completionCode === 0xd4) {
      throw new FenceError('privilege', `the BMC refused ${this.params.privilege} privilege for user "${this.params.username}" (${describeCompletionCode(res.completionCode)})`);
    }
    if (res.completionCode !== 0) throw refused('Set Session Privilege Level', res.completionCode);
    const granted = decodeSetSessionPrivilege(res.data);
    if (granted < wanted) {
      throw new FenceError('privilege', `the BMC granted ${privilegeName(granted)} privilege, ${this.params.privilege} was asked for`);
    }
    this.grantedPrivilege = granted;
  }

  // --- exchanges outside a session ------------------------------------------------------------------------

  /** A command before any session exists: IPMI 1.5 framing, auth type none, session 0 (spec §13.14). */
  private sessionless(netFn: number, cmd: number, data: Buffer, deadline: number, what: string): Promise<IpmiResponse> {
    const rqSeq = this.nextRqSeq();
    const datagram = encodeSession15({ authType: AUTH_TYPE.none, sequence: 0, sessionId: 0, message: encodeIpmiRequest({ netFn, cmd, rqSeq, data }) });
    return this.channel.exchange(
      (attempt) => {
        if (attempt > 0) this.retransmitted = true;
        return datagram;
      },
      (d) => matchResponse(decodeIpmiResponse(decodeSession15(d).message), netFn, cmd, rqSeq),
      deadline,
      what,
    );
  }

  /** An RMCP+ handshake message: session 0, sequence 0, neither signed nor encrypted (spec §13.17). */
  private preSession<T>(
    payloadType: number,
    payload: Buffer,
    answerType: number,
    deadline: number,
    what: string,
    match: (payload: Buffer) => T | undefined,
    matchInSession?: (datagram: Buffer) => T | undefined,
  ): Promise<T> {
    const datagram = encodeRmcpPlus({ payloadType, encrypted: false, authenticated: false, sessionId: 0, sequence: 0 }, payload);
    return this.channel.exchange(
      (attempt) => {
        if (attempt > 0) this.retransmitted = true;
        return datagram;
      },
      (d) => {
        if (peekAuthType(d) !== AUTH_TYPE.rmcpPlus) throw new IpmiDecodeError('not an RMCP+ packet');
        if (matchInSession && d.length > 5 && (d[5]! & 0x40) !== 0) return matchInSession(d);
        const packet = decodeRmcpPlus(d, 0);
        return packet.header.payloadType === answerType ? match(packet.payload) : undefined;
      },
      deadline,
      what,
    );
  }

  private nextRqSeq(): number {
    this.rqSeq = (this.rqSeq + 1) & 0x3f;
    return this.rqSeq;
  }

  private nextTag(): number {
    this.messageTag = (this.messageTag + 1) & 0xff;
    return this.messageTag;
  }

  private nonZeroId(): number {
    return this.random(4).readUInt32LE(0) || 1;
  }
}

interface HandshakeContext {
  overallDeadline: number;
  consoleSessionId?: number;
  bmcSessionId?: number;
  exchange?: RakpExchange;
  challenge?: { temporarySessionId: number; challenge: Buffer };
}

function matchResponse(res: IpmiResponse, netFn: number, cmd: number, rqSeq: number): IpmiResponse | undefined {
  return res.netFn === netFn + 1 && res.cmd === cmd && res.rqSeq === rqSeq ? res : undefined;
}

function refused(what: string, code: number): FenceError {
  return new FenceError('device-refused', `${what}: ${describeCompletionCode(code)}`);
}

/** RMCP+/RAKP status codes (spec Table 13-15) to error kinds. */
function rakpFailure(what: string, status: number, suiteId: number): FenceError {
  const text = `${what}: ${RAKP_STATUS[status] ?? 'status'} (0x${status.toString(16).padStart(2, '0')})`;
  switch (status) {
    case 0x09:
    case 0x0a:
      return new FenceError('privilege', text);
    case 0x01:
    case 0x0b:
      return new FenceError('device-refused', `${text}: the BMC has no free session slot`);
    case 0x04:
    case 0x05:
    case 0x10:
    case 0x11:
      return new FenceError('device-refused', `${text}: the BMC does not accept cipher suite ${suiteId}`);
    default:
      // 0x0D unauthorized name, 0x0E unauthorized GUID, 0x0F bad integrity check, 0x12 illegal parameter, ...
      return new FenceError('auth', `${text}: wrong user name or password`);
  }
}
