// UDP for IPMI: one connected socket per session, one outstanding request at a time, retransmission with a
// bounded per-packet timeout, and an absolute deadline that nothing outlives. The protocol above decides what
// bytes to send on each attempt (RMCP+ wants a fresh session sequence number per transmission) and which
// datagram answers the request; this module only moves datagrams and keeps time.
import { createSocket, type Socket } from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { timerMs, withDeadline } from '../timing.js';
import { FenceError } from '../errors.js';
import { silentLogger, type Logger } from '../log.js';

/** What the session layer needs from a transport; the unit tests drive the session through a fake of this. */
export interface DatagramExchange {
  /**
   * Send `build(attempt)` and resend (attempt 1, 2, ...) until `accept` returns a value for a received datagram,
   * or reject at `deadline` (absolute, Date.now() ms). `accept` returns undefined to ignore a datagram.
   */
  exchange<T>(build: (attempt: number) => Buffer, accept: (datagram: Buffer) => T | undefined, deadline: number, what: string): Promise<T>;
  /** Send once, expect nothing (Close Session when we do not care for the answer). */
  sendOnly(datagram: Buffer): void;
  /** True once any datagram at all came back from the peer: separates 'unreachable' from 'timeout'. */
  readonly everReceived: boolean;
  close(): void;
}

export interface RetransmitPolicy {
  /** First per-packet wait, ms, before jitter. */
  initialMs: number;
  /** Up to this much random extra on each wait, so that many agents fencing at once do not march in step. */
  jitterMs: number;
  backoff: number;
  maxMs: number;
}

// pyghmi starts at 0.5-1.0 s; ipmi_sim answers in < 5 ms and real BMCs in < 100 ms, and under 30 % loss a
// shorter first wait recovers sooner. The cap keeps a late BMC from stretching one exchange past a few tries.
export const DEFAULT_RETRANSMIT: RetransmitPolicy = { initialMs: 300, jitterMs: 150, backoff: 1.5, maxMs: 1000 };

/**
 * Once this BMC's round trip is known, the first wait of an exchange is derived from it (RFC 6298: smoothed
 * RTT + 4 x variation), never above the policy's start and never below this floor. A lossy link then costs
 * ~100 ms per lost packet instead of 300-1000 ms; a slow command (Chassis Control on some BMCs) is merely sent
 * again, which is harmless for every command we send, and backoff still reaches the 1 s cap.
 */
const MIN_ADAPTIVE_WAIT_MS = 100;

/**
 * Until the BMC has answered once, no wait is longer than this. Its round trip is unknown, and whether a lossy
 * BMC is heard at all within login_timeout (the silence bound, lib/agent/silence.ts) depends on how many tries
 * fit: at 30 % loss each way a try is answered with probability 0.49, so the 7 tries of the 1 s cap in 5 s
 * leave a 0.9 % chance of hearing nothing, and the 10 or more of a 500 ms cap 0.1 %. The extra packets go to a
 * BMC that has not answered yet, and the first exchange (Get Channel Authentication Capabilities, or Get
 * Channel Cipher Suites) is a query that may be answered any number of times.
 */
const UNANSWERED_MAX_WAIT_MS = 500;

export class UdpTransport implements DatagramExchange {
  private received = false;
  private portUnreachable = false;
  private pending: ((datagram: Buffer) => void) | undefined;
  private onPortUnreachable: (() => void) | undefined;
  private closed = false;
  private smoothedRttMs: number | undefined;
  private rttVariationMs = 0;

  private constructor(
    private readonly socket: Socket,
    private readonly peer: string,
    private readonly logger: Logger,
    private readonly policy: RetransmitPolicy,
  ) {
    socket.on('message', (msg) => {
      this.received = true;
      this.pending?.(msg);
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      // A connected UDP socket reports an ICMP port unreachable as ECONNREFUSED: nothing listens there (yet).
      this.logger.debug(`IPMI ${this.peer}: socket error ${err.code ?? err.message}`);
      if (err.code === 'ECONNREFUSED') {
        this.portUnreachable = true;
        this.onPortUnreachable?.();
      }
    });
  }

  /** `family`: that address family only (an address of the other is refused, a name looked up in it alone). */
  static async connect(host: string, port: number, opts: { logger?: Logger; deadline: number; policy?: RetransmitPolicy; family?: 4 | 6 }): Promise<UdpTransport> {
    const logger = opts.logger ?? silentLogger;
    let address = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
    let family = isIP(address);
    if (opts.family !== undefined && family !== 0 && family !== opts.family) {
      throw new FenceError('bad-input', `BMC address ${host} is IPv${family}, and only IPv${opts.family} may be used`);
    }
    if (family === 0) {
      const resolved = await withDeadline(
        lookup(address, { family: opts.family ?? 0 }).catch((err: NodeJS.ErrnoException) => {
          throw new FenceError('unreachable', `cannot resolve BMC host name ${host}: ${err.code ?? err.message}`);
        }),
        opts.deadline,
        `resolving ${host}`,
      );
      address = resolved.address;
      family = resolved.family;
    }
    const socket = createSocket(family === 6 ? 'udp6' : 'udp4');
    const peer = family === 6 ? `[${address}]:${port}` : `${address}:${port}`;
    await withDeadline(
      new Promise<void>((resolve, reject) => {
        socket.once('error', reject);
        socket.connect(port, address, () => {
          socket.off('error', reject);
          resolve();
        });
      }),
      opts.deadline,
      `opening a UDP socket to ${peer}`,
    ).catch((err: unknown) => {
      socket.close();
      throw err instanceof FenceError ? err : new FenceError('unreachable', `cannot open a UDP socket to ${peer}: ${(err as Error).message}`);
    });
    return new UdpTransport(socket, peer, logger, opts.policy ?? DEFAULT_RETRANSMIT);
  }

  get everReceived(): boolean {
    return this.received;
  }

  sendOnly(datagram: Buffer): void {
    if (this.closed) return;
    this.socket.send(datagram, (err) => {
      if (err) this.logger.debug(`IPMI ${this.peer}: send failed: ${err.message}`);
    });
  }

  exchange<T>(build: (attempt: number) => Buffer, accept: (datagram: Buffer) => T | undefined, deadline: number, what: string): Promise<T> {
    if (this.closed) return Promise.reject(new FenceError('internal', `IPMI ${what}: transport already closed`));
    if (this.pending) return Promise.reject(new FenceError('internal', `IPMI ${what}: another exchange is in progress`));
    return new Promise<T>((resolve, reject) => {
      let attempt = 0;
      let waitMs = this.firstWaitMs();
      let retransmitTimer: NodeJS.Timeout | undefined;
      let firstSentAt = 0;
      const finish = (err: FenceError | undefined, value?: T) => {
        clearTimeout(retransmitTimer);
        clearTimeout(deadlineTimer);
        this.pending = undefined;
        this.onPortUnreachable = undefined;
        if (err) reject(err);
        else resolve(value as T);
      };
      const deadlineTimer = setTimeout(() => finish(this.deadlineError(what, attempt)), timerMs(deadline - Date.now()));
      // The kernel's ICMP port unreachable before any answer ever came: nothing listens, no point waiting.
      this.onPortUnreachable = () => {
        if (!this.received) finish(this.deadlineError(what, attempt));
      };
      this.pending = (datagram) => {
        let value: T | undefined;
        try {
          value = accept(datagram);
        } catch (err) {
          // A FenceError from accept() is a verdict on a genuine answer (e.g. bad RAKP 2 HMAC): end now.
          if (err instanceof FenceError) finish(err);
          else this.logger.debug(`IPMI ${this.peer}: ignoring datagram during ${what}: ${(err as Error).message}`);
          return;
        }
        if (value !== undefined) {
          // Karn's rule: only an exchange answered at the first try gives an unambiguous round trip.
          if (attempt === 1) this.sampleRtt(Date.now() - firstSentAt);
          finish(undefined, value);
        }
      };
      const transmit = () => {
        if (this.closed) return;
        let datagram: Buffer;
        try {
          datagram = build(attempt);
        } catch (err) {
          finish(err instanceof FenceError ? err : new FenceError('internal', `IPMI ${what}: ${(err as Error).message}`, { cause: err }));
          return;
        }
        if (attempt > 0) this.logger.debug(`IPMI ${this.peer}: retransmitting ${what} (attempt ${attempt + 1})`);
        else firstSentAt = Date.now();
        this.sendOnly(datagram);
        attempt += 1;
        const remaining = deadline - Date.now();
        const maxMs = this.received ? this.policy.maxMs : Math.min(this.policy.maxMs, UNANSWERED_MAX_WAIT_MS);
        const wait = Math.min(waitMs + Math.random() * Math.min(this.policy.jitterMs, waitMs / 2), maxMs);
        waitMs = Math.min(waitMs * this.policy.backoff, maxMs);
        if (remaining > 0) retransmitTimer = setTimeout(transmit, timerMs(Math.min(wait, remaining)));
      };
      if (deadline <= Date.now()) {
        finish(this.deadlineError(what, 0));
        return;
      }
      transmit();
    });
  }

  private firstWaitMs(): number {
    if (this.smoothedRttMs === undefined) return this.policy.initialMs;
    const rto = this.smoothedRttMs + 4 * this.rttVariationMs;
    return Math.min(this.policy.initialMs, Math.max(MIN_ADAPTIVE_WAIT_MS, rto));
  }

  private sampleRtt(rttMs: number): void {
    if (this.smoothedRttMs === undefined) {
      this.smoothedRttMs = rttMs;
      this.rttVariationMs = rttMs / 2;
    } else {
      this.rttVariationMs = 0.75 * this.rttVariationMs + 0.25 * Math.abs(this.smoothedRttMs - rttMs);
      this.smoothedRttMs = 0.875 * this.smoothedRttMs + 0.125 * rttMs;
    }
  }

  private deadlineError(what: string, attempts: number): FenceError {
    if (!this.received) {
      const why = this.portUnreachable ? ' (ICMP port unreachable: nothing listens there)' : '';
      // Port unreachable is the kernel's definite answer, not silence that loss could explain: retrying the
      // login cannot help, so the fence moves on (to the next topology level) at once.
      return new FenceError('unreachable', `no answer from BMC ${this.peer} to ${what} after ${attempts} attempts${why}`, { final: this.portUnreachable });
    }
    return new FenceError('timeout', `BMC ${this.peer} timed out: no answer to ${what} after ${attempts} attempts`);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.pending = undefined;
    try {
      this.socket.close();
    } catch {
      // Already closed by an error: nothing to release.
    }
  }
}

