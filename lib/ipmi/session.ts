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
  CIPHER_SUITES,
  AUTH_ALGORITHM_NUMBER,
  CONFIDENTIALITY_ALGORITHM_NUMBER,
  INTEGRITY_ALGORITHM_NUMBER,
  preferredCipherSuite,
} from './cipher-suites.js';
import {
  AUTH_TYPE,
  CMD,
  IpmiDecodeError,
  NETFN,
  PAYLOAD,
  PRIVILEGE,
  RAKP_STATUS,
  type ChannelAuthCapabilities,
  type IpmiResponse,
  type PrivilegeName,
  decodeActivateSession,
  decodeChannelAuthCapabilities,
  decodeChannelCipherSuitesChunk,
  decodeCipherSuiteRecords,
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
  encodeGetChannelCipherSuites,
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
  | 'cipher-suites'
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
  /** RMCP+ cipher suite; undefined: ask the BMC (Get Channel Cipher Suites), as ipmitool does without -C. */
  cipherSuite: CipherSuite | undefined;
  privilege: PrivilegeName;
  /** IPMI 1.5 auth type; undefined: the best the BMC offers (Get Channel Authentication Capabilities). */
  authType: AuthType15 | undefined;
  allowInsecure: boolean;
}

export type AuthType15 = 'none' | 'password' | 'md5';

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
/**
 * Longest wait for an answer to Get Channel Cipher Suites. Many BMCs never answer it (ipmi_sim does not, and
 * ipmitool then waits 10 s); the BMC has just answered Get Channel Authentication Capabilities, so a LAN
 * round trip is known to be short and this covers two or three transmissions. If the query was lost and the
 * BMC refuses suite 3, Open Session says so and suite 17 is tried next.
 */
const CIPHER_QUERY_MS = 400;

/** A failure that a fresh handshake may not repeat: the BMC answered a retransmitted, already-used request. */
class RetransmitEcho extends Error {}

/**
 * The BMC has no free session slot ("insufficient resources"): other consoles hold them, or sessions of agents
 * that died are still waiting for the BMC's idle timeout. Worth waiting for, within the deadline.
 */
class NoSessionSlot extends Error {}

/** Waits between handshakes while the BMC has no free session slot: doubling from the first, up to the last. */
const SLOT_BACKOFF = { firstMs: 100, maxMs: 1000 } as const;

export class IpmiSession {
  private stateNow: SessionState = 'idle';
  private framing: SessionFraming | undefined;
  private rqSeq: number;
  private messageTag: number;
  private grantedPrivilege = 0;
  private closeSessionId = 0;
  private retransmitted = false;
  private suite: CipherSuite | undefined;
  /** The suite was chosen without the BMC's list (it did not answer): a refusal of it may try the other. */
  private suiteGuessed = false;
  private authType15: AuthType15 | undefined;

  constructor(
    private readonly channel: DatagramExchange,
    private readonly params: SessionParams,
    private readonly logger: Logger,
    private readonly random: (n: number) => Buffer = randomBytes,
  ) {
    this.rqSeq = this.random(1)[0]! & 0x3f;
    this.messageTag = this.random(1)[0]!;
    this.suite = params.cipherSuite;
    this.authType15 = params.authType;
  }

  /** The RMCP+ suite of this session: the one asked for, or the one negotiated with the BMC. */
  get cipherSuite(): CipherSuite | undefined {
    return this.suite;
  }

  /** The IPMI 1.5 auth type of this session: the one asked for, or the one chosen from the BMC's offer. */
  get authType(): AuthType15 | undefined {
    return this.authType15;
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
    let slotWaitMs: number = SLOT_BACKOFF.firstMs;
    for (let restart = 0; ; restart++) {
      try {
        return await this.handshake(deadline);
      } catch (err) {
        // A session the BMC activated before a later step failed still holds one of its few slots.
        await this.closeBmcSession(Math.min(deadline, Date.now() + 500));
        const echo = err instanceof RetransmitEcho && restart < MAX_HANDSHAKE_RESTARTS;
        const stepTimedOut = err instanceof FenceError && !err.final && (err.kind === 'timeout' || err.kind === 'unreachable') && Date.now() < deadline;
        const noSlot = err instanceof NoSessionSlot;
        if (noSlot && Date.now() + slotWaitMs < deadline) {
          const wait = slotWaitMs * (0.5 + Math.random() / 2);
          this.logger.debug(`IPMI session: ${err.message}; trying again in ${Math.round(wait)} ms`);
          await new Promise((r) => setTimeout(r, wait));
          slotWaitMs = Math.min(slotWaitMs * 2, SLOT_BACKOFF.maxMs);
          this.stateNow = 'idle';
          continue;
        }
        if (!echo && !stepTimedOut) {
          this.enter('closed');
          if (noSlot) throw new FenceError('device-refused', `${err.message}: the BMC has no free session slot (other sessions hold them all)`);
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
    // The handshake as a table: each state's exchange, then the state it leads to. IPMI 2.0 (RMCP+) goes
    // auth-capabilities, [cipher-suites], open-session, RAKP 1/2, RAKP 3/4; IPMI 1.5 goes auth-capabilities,
    // session-challenge, activate-session; both end with set-privilege.
    const steps: Partial<Record<SessionState, { run: (deadline: number) => Promise<void>; next: () => SessionState }>> = {
      'auth-capabilities': {
        run: (d) => this.getAuthCapabilities(d),
        next: () => (!v2 ? 'session-challenge' : this.suite ? 'open-session' : 'cipher-suites'),
      },
      'cipher-suites': { run: (d) => this.negotiateCipherSuite(d), next: () => 'open-session' },
      'open-session': { run: (d) => this.openSession(ctx, d), next: () => 'rakp-1-2' },
      'rakp-1-2': { run: (d) => this.rakp12(ctx, d), next: () => 'rakp-3-4' },
      'rakp-3-4': { run: (d) => this.rakp34(ctx, d), next: () => 'set-privilege' },
      'session-challenge': { run: (d) => this.sessionChallenge(ctx, d), next: () => 'activate-session' },
      'activate-session': { run: (d) => this.activateSession(ctx, d), next: () => 'set-privilege' },
      'set-privilege': { run: (d) => this.setPrivilege(d), next: () => 'active' },
    };
    this.enter('auth-capabilities');
    while (this.stateNow !== 'active') {
      this.retransmitted = false;
      const deadline = Math.min(overallDeadline, Date.now() + HANDSHAKE_STEP_MS);
      const step = Object.hasOwn(steps, this.stateNow) ? steps[this.stateNow] : undefined;
      if (step === undefined) throw new FenceError('internal', `IPMI session: no transition from ${this.stateNow}`);
      await step.run(deadline);
      this.enter(step.next());
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
    await this.closeBmcSession(deadline);
    this.enter('closed');
  }

  /**
   * Close Session now, without waiting for anything: for a process that is about to end (SIGTERM from the
   * fencer at its deadline, exit). Sent twice, so that one lost datagram does not leave the slot taken until
   * the BMC's idle timeout.
   */
  abandon(): void {
    if (this.closeSessionId !== 0 && this.framing) {
      for (let i = 0; i < 2; i++) this.channel.sendOnly(this.framing.wrap(this.closeSessionMessage()));
    }
    this.closeSessionId = 0;
    this.enter('closed');
  }

  /** Close the session the BMC holds for us, if any: answered within the deadline, else sent twice blind. */
  private async closeBmcSession(deadline: number): Promise<void> {
    if (this.closeSessionId === 0 || !this.framing) return;
    if (deadline <= Date.now()) {
      this.abandon();
      return;
    }
    const framing = this.framing;
    const rqSeq = this.nextRqSeq();
    const message = encodeIpmiRequest({ netFn: NETFN.app, cmd: CMD.closeSession, rqSeq, data: encodeCloseSession(this.closeSessionId) });
    try {
      // Each transmission is a new Close Session (a fresh session sequence number): a lost one is sent again.
      await this.channel.exchange(
        () => framing.wrap(message),
        (datagram) => matchResponse(decodeIpmiResponse(framing.unwrap(datagram)), NETFN.app, CMD.closeSession, rqSeq),
        Math.min(deadline, Date.now() + 1000),
        'Close Session',
      );
    } catch (err) {
      this.logger.debug(`IPMI session: Close Session not confirmed: ${(err as Error).message}`);
    }
    this.closeSessionId = 0;
  }

  private closeSessionMessage(): Buffer {
    return encodeIpmiRequest({ netFn: NETFN.app, cmd: CMD.closeSession, rqSeq: this.nextRqSeq(), data: encodeCloseSession(this.closeSessionId) });
  }

  // --- states ------------------------------------------------------------------------------------------

  private refuseInsecure(): void {
    const p = this.params;
    if (p.allowInsecure) return;
    if (p.version === '2.0' && p.cipherSuite?.insecure) {
      throw new FenceError('bad-input', `cipher suite ${this.suite!.id} authenticates nothing (any password is accepted); pass allowInsecure to use it`);
    }
    // Without integrity no answer carries a MAC: anyone on the path can forge "Chassis Power is off".
    if (p.version === '2.0' && p.cipherSuite?.integrity === 'none') {
      throw new FenceError('bad-input', `cipher suite ${p.cipherSuite?.id} protects no answer (no integrity): a forged "power is off" would be believed; pass allowInsecure to use it`);
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
    if (p.version === '1.5') {
      const caps = await this.authCapabilities15(requested, deadline);
      this.authType15 ??= chooseAuthType15(caps, p.privilege, p.allowInsecure);
      if (!caps.authTypes[this.authType15]) throw new FenceError('auth', `the BMC does not offer IPMI 1.5 auth type ${this.authType15} at ${p.privilege} privilege`);
      return;
    }
    let res = await this.sessionless(NETFN.app, CMD.getChannelAuthCapabilities, encodeGetChannelAuthCapabilities(true, requested), deadline, 'Get Channel Authentication Capabilities');
    // An IPMI 1.5-only BMC rejects the "IPMI 2.0 data" bit with 0xCC: ask again the 1.5 way, then decide.
    if (res.completionCode !== 0) {
      res = await this.sessionless(NETFN.app, CMD.getChannelAuthCapabilities, encodeGetChannelAuthCapabilities(false, requested), deadline, 'Get Channel Authentication Capabilities');
    }
    if (res.completionCode !== 0) throw refused('Get Channel Authentication Capabilities', res.completionCode);
    const caps = decodeChannelAuthCapabilities(res.data);
    if (!caps.supportsIpmi20) {
      throw new FenceError('device-refused', 'the BMC does not support IPMI 2.0 (RMCP+); use IPMI 1.5 (lanplus off)');
    }
  }

  /**
   * IPMI 1.5: Get Channel Authentication Capabilities the 1.5 way, and on every other transmission the 2.0
   * way too. A BMC that speaks only IPMI 2.0 ignores the 1.5 form (pyghmi, virtualbmc, hardened firmware)
   * but answers the 2.0 one, which says so: the user learns to set lanplus within a second, not a timeout.
   */
  private async authCapabilities15(requested: number, deadline: number): Promise<ChannelAuthCapabilities> {
    const what = 'Get Channel Authentication Capabilities';
    const seq15 = this.nextRqSeq();
    const seq20 = this.nextRqSeq();
    const as15 = sessionlessDatagram(NETFN.app, CMD.getChannelAuthCapabilities, seq15, encodeGetChannelAuthCapabilities(false, requested));
    const as20 = sessionlessDatagram(NETFN.app, CMD.getChannelAuthCapabilities, seq20, encodeGetChannelAuthCapabilities(true, requested));
    const res = await this.channel.exchange(
      (attempt) => {
        if (attempt > 1) this.retransmitted = true;
        return attempt % 2 === 0 ? as15 : as20;
      },
      (d) => {
        const r = decodeIpmiResponse(sessionlessMessage(d));
        if (matchResponse(r, NETFN.app, CMD.getChannelAuthCapabilities, seq15)) return r;
        // The 2.0 form counts only when it succeeds: a 1.5-only BMC may reject its "IPMI 2.0 data" bit.
        return matchResponse(r, NETFN.app, CMD.getChannelAuthCapabilities, seq20) && r.completionCode === 0 ? r : undefined;
      },
      deadline,
      what,
    );
    if (res.completionCode !== 0) throw refused(what, res.completionCode);
    const caps = decodeChannelAuthCapabilities(res.data);
    if (caps.supportsIpmi20 && !caps.supportsIpmi15) {
      throw new FenceError('device-refused', 'the BMC speaks only IPMI 2.0 (RMCP+), not IPMI 1.5: set lanplus=1', { final: true });
    }
    return caps;
  }

  /**
   * Get Channel Cipher Suites (spec §22.15), 16 bytes of records at a time, then the preferred suite. A BMC
   * that does not answer, refuses or answers nonsense gets suite 3, as from ipmitool.
   */
  private async negotiateCipherSuite(deadline: number): Promise<void> {
    const what = 'Get Channel Cipher Suites';
    const chunks: Buffer[] = [];
    try {
      for (let index = 0; index < 0x40; index++) {
        const res = await this.sessionless(NETFN.app, CMD.getChannelCipherSuites, encodeGetChannelCipherSuites(index), Math.min(deadline, Date.now() + CIPHER_QUERY_MS), what);
        if (res.completionCode !== 0) throw refused(what, res.completionCode);
        const chunk = decodeChannelCipherSuitesChunk(res.data);
        chunks.push(chunk);
        if (chunk.length < 16) break;
      }
      const records = decodeCipherSuiteRecords(Buffer.concat(chunks));
      this.suite = preferredCipherSuite(records);
      this.suiteGuessed = false;
      this.logger.debug(`IPMI session: the BMC lists cipher suites ${records.map((r) => r.id).join(', ') || 'none'}; using ${this.suite.id}`);
    } catch (err) {
      const expected = err instanceof IpmiDecodeError || (err instanceof FenceError && (err.kind === 'timeout' || err.kind === 'unreachable' || err.kind === 'device-refused'));
      if (!expected || Date.now() >= deadline) throw err;
      this.suite = CIPHER_SUITES[3];
      this.suiteGuessed = true;
      this.logger.debug(`IPMI session: ${what}: ${(err as Error).message}; using cipher suite 3`);
    }
  }

  private async openSession(ctx: HandshakeContext, deadline: number): Promise<void> {
    const suite = this.suite!;
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
    if (res.statusCode !== 0) {
      if (NO_SLOT_STATUS.has(res.statusCode)) throw new NoSessionSlot(`Open Session: ${RAKP_STATUS[res.statusCode]}`);
      // Suite 3 was a guess (the BMC's list never came) and the BMC refuses its algorithms: it may be one of
      // the hardened BMCs that offer only suite 17.
      if (this.suiteGuessed && CIPHER_REFUSED.has(res.statusCode)) {
        this.logger.debug(`IPMI session: the BMC refuses cipher suite ${suite.id}; trying 17`);
        this.suite = CIPHER_SUITES[17];
        this.suiteGuessed = false;
        return this.openSession(ctx, deadline);
      }
      throw rakpFailure('Open Session', res.statusCode, suite.id);
    }
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
    }).catch((err: unknown) => {
      // The BMC just answered Open Session; some (pyghmi, virtualbmc) stay silent to a user name they lack.
      if (!(err instanceof FenceError) || err.kind !== 'timeout') throw err;
      throw new FenceError('timeout', `${err.message} (a BMC that does not know user "${p.username}" may not answer at all: check the user name)`, { cause: err });
    });
    if (res.statusCode !== 0) {
      if (NO_SLOT_STATUS.has(res.statusCode)) throw new NoSessionSlot(`RAKP 2: ${RAKP_STATUS[res.statusCode]}`);
      throw rakpFailure('RAKP 2', res.statusCode, this.suite!.id);
    }
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
    if (!sameBytes(rakp2AuthCode(this.suite!.auth, kuid, exchange), res.authCode!)) {
      // The BMC proves it knows the user's password; if it does not verify, ours is not the one it has.
      throw new FenceError('auth', `RAKP 2 auth code does not verify: wrong password for user "${p.username}"`);
    }
    ctx.exchange = exchange;
  }

  private async rakp34(ctx: HandshakeContext, deadline: number): Promise<void> {
    const p = this.params;
    const suite = this.suite!;
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
    const authType = AUTH_TYPE[this.authType15!];
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
    const authType = AUTH_TYPE[this.authType15!];
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
        (d) => matchResponse(decodeIpmiResponse(sessionlessMessage(d)), NETFN.app, CMD.activateSession, rqSeq),
        deadline,
        'Activate Session',
      );
    } catch (err) {
      if (err instanceof FenceError && err.kind === 'timeout' && Date.now() < ctx.overallDeadline!) {
        throw new FenceError('auth', `the BMC ignored Activate Session for user "${p.username}": wrong password (IPMI 1.5 ${this.authType15})`);
      }
      throw err;
    }
    if (res.completionCode === 0x86) {
      throw new FenceError('privilege', `user "${p.username}" may not have ${p.privilege} privilege (${describeCompletionCode(0x86)})`);
    }
    if (NO_SLOT_COMPLETION.has(res.completionCode)) throw new NoSessionSlot(`Activate Session: ${describeCompletionCode(res.completionCode)}`);
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
    const datagram = sessionlessDatagram(netFn, cmd, rqSeq, data);
    return this.channel.exchange(
      (attempt) => {
        if (attempt > 0) this.retransmitted = true;
        return datagram;
      },
      (d) => matchResponse(decodeIpmiResponse(sessionlessMessage(d)), netFn, cmd, rqSeq),
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

/** A request outside any session: IPMI 1.5 framing, auth type none, session 0 (spec §13.14). */
function sessionlessDatagram(netFn: number, cmd: number, rqSeq: number, data: Buffer): Buffer {
  return encodeSession15({ authType: AUTH_TYPE.none, sequence: 0, sessionId: 0, message: encodeIpmiRequest({ netFn, cmd, rqSeq, data }) });
}

/** RMCP+ statuses that mean "no free session slot" (spec Table 13-15): 01h, and 0Bh at the requested role. */
const NO_SLOT_STATUS = new Set([0x01, 0x0b]);
/** Activate Session completion codes for the same (spec §22.17): no slot, none for this user, none at this privilege. */
const NO_SLOT_COMPLETION = new Set([0x81, 0x82, 0x83]);

/**
 * The IPMI message of an answer outside any session. A BMC may answer in either framing whatever the request's:
 * pyghmi answers Get Channel Cipher Suites as RMCP+ (session 0, neither signed nor encrypted) even when asked
 * the IPMI 1.5 way.
 */
function sessionlessMessage(d: Buffer): Buffer {
  if (peekAuthType(d) !== AUTH_TYPE.rmcpPlus) return decodeSession15(d).message;
  const packet = decodeRmcpPlus(d, 0);
  const h = packet.header;
  if (h.payloadType !== PAYLOAD.ipmi || h.sessionId !== 0 || h.authenticated || h.encrypted) throw new IpmiDecodeError('RMCP+ packet is not a sessionless IPMI answer');
  return packet.payload;
}

/** Open Session statuses that refuse the proposed algorithms (spec Table 13-15). */
const CIPHER_REFUSED = new Set([0x04, 0x05, 0x10, 0x11]);

/**
 * The IPMI 1.5 auth type when the user set none, as ipmitool chooses: MD5 if offered, else straight password,
 * else none. Those two put the password on the wire in clear or check nothing, so they need allowInsecure;
 * MD2 is not spoken here.
 */
export function chooseAuthType15(caps: ChannelAuthCapabilities, privilege: PrivilegeName, allowInsecure: boolean): AuthType15 {
  if (caps.authTypes.md5) return 'md5';
  const weak = (['password', 'none'] as const).filter((t) => caps.authTypes[t]);
  if (weak.length > 0 && allowInsecure) return weak[0]!;
  const offered = (['md2', 'password', 'none', 'oem'] as const).filter((t) => caps.authTypes[t]);
  const why = weak.length > 0 ? `; ${weak.join(' and ')} ${weak.length > 1 ? 'need' : 'needs'} allow_insecure (the password in clear, or no check at all)` : '';
  throw new FenceError('device-refused', `the BMC offers no usable IPMI 1.5 auth type at ${privilege} privilege (it offers ${offered.join(', ') || 'none at all'}; MD5 is the one that protects the password${why}); or use IPMI 2.0 (lanplus=1)`, { final: true });
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
