// The sanlock tool as a typed client: every call runs the real `sanlock` binary (never a shell, never a
// reimplementation of disk paxos) and turns its output into records or typed errors. The lease logic
// stays in the daemon; this module only asks it questions and gives it orders.
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { FenceError, type FenceErrorKind } from '../errors.js';
import { run, type RunResult } from '../exec.js';
import type { Logger } from '../log.js';
import { remaining } from '../timing.js';
import {
  doneCode,
  parseDaemonStatus,
  parseDump,
  parseHostStates,
  parseHostStatus,
  parseLeader,
  type DaemonStatus,
  type DumpedLease,
  type HostState,
  type HostStatus,
  type LeaderRecord,
} from './output.js';

/** sanlock's own result codes (src/sanlock_rv.h) that callers act on. */
export const SANLK = {
  LEADER_MAGIC: -223,
  ACQUIRE_LVER: -240,
  ACQUIRE_LOCKSPACE: -241,
  ACQUIRE_IDLIVE: -243,
  ACQUIRE_OWNED: -244,
  ACQUIRE_OTHER: -245,
  ACQUIRE_OWNED_RETRY: -247,
  HOSTID_BUSY: -262,
} as const;

/** A sanlock command that ran and said no; `code` is sanlock's (negative) result. */
export class SanlockError extends FenceError {
  constructor(
    kind: FenceErrorKind,
    message: string,
    readonly code: number | undefined,
  ) {
    super(kind, message);
    this.name = 'SanlockError';
  }
}

export interface Deadline {
  readonly deadline: number;
  readonly logger: Logger;
}

export type AcquireOutcome = { acquired: true } | { acquired: false; code: number | undefined; output: string };

const COMMAND_MS = 30_000;

export class SanlockClient {
  constructor(
    readonly binary = '/usr/sbin/sanlock',
    private readonly env?: Record<string, string>,
  ) {}

  private async sanlock(args: string[], ctx: Deadline, limitMs = COMMAND_MS): Promise<RunResult> {
    const ms = Math.min(limitMs, remaining(ctx.deadline));
    // run() treats 0 / undefined as "no limit"; an infinite budget must not become a timer.
    const timeoutMs = Number.isFinite(ms) ? Math.max(1, ms) : undefined;
    return run(this.binary, args, { ...(timeoutMs !== undefined ? { timeoutMs } : {}), logger: ctx.logger, ...(this.env ? { env: this.env } : {}) });
  }

  /** `client status -D`: fails 'unreachable' when no daemon answers on this node. */
  async daemonStatus(ctx: Deadline): Promise<DaemonStatus> {
    const r = await this.sanlock(['client', 'status', '-D'], ctx);
    if (r.code !== 0 || !/^daemon /m.test(r.stdout)) {
      throw new SanlockError('unreachable', `the sanlock daemon does not answer on this node (${firstLine(r)})`, undefined);
    }
    return parseDaemonStatus(r.stdout);
  }

  /** This daemon's view of every host's delta lease in `lockspace`. */
  async hostStatus(lockspace: string, ctx: Deadline): Promise<Map<number, HostStatus>> {
    const r = await this.sanlock(['client', 'host_status', '-s', lockspace, '-D'], ctx);
    if (r.code !== 0) throw new SanlockError('unreachable', `host_status of lockspace ${lockspace} failed (${firstLine(r)})`, undefined);
    return parseHostStatus(r.stdout);
  }

  /** The daemon's verdict per host (LIVE, FAIL, DEAD, FREE) in `lockspace`. */
  async hostStates(lockspace: string, ctx: Deadline): Promise<Map<number, { generation: number; timestamp: number; state: HostState }>> {
    const r = await this.sanlock(['client', 'gets', '-h', '1'], ctx);
    if (r.code !== 0) throw new SanlockError('unreachable', `gets failed (${firstLine(r)})`, undefined);
    return parseHostStates(r.stdout, lockspace);
  }

  /** Read a lease's leader record straight from storage (`direct read_leader`), checking its magic. */
  async readLeader(kind: 'resource' | 'lockspace', spec: string, expectMagic: number, ctx: Deadline): Promise<LeaderRecord> {
    const r = await this.sanlock(['direct', 'read_leader', kind === 'resource' ? '-r' : '-s', spec], ctx);
    const { code, leader } = parseLeader(r.stdout);
    if (code === undefined) throw new SanlockError('unreachable', `cannot read ${spec} (${firstLine(r)})`, code);
    if (code === SANLK.LEADER_MAGIC || (leader && leader.magic !== expectMagic)) {
      throw new SanlockError('device-refused', `no sanlock lease at ${spec}: the storage is not formatted (run sanlock_init)`, code);
    }
    if (code !== 0 || !leader) throw new SanlockError('unreachable', `cannot read ${spec}: sanlock error ${code}`, code);
    return leader;
  }

  /** Join a lockspace; blocks while sanlock acquires the host_id (up to host_dead_seconds after a crash). */
  async addLockspace(spec: string, ioTimeout: number, ctx: Deadline): Promise<void> {
    const r = await this.sanlock(['client', 'add_lockspace', '-s', spec, '-o', String(ioTimeout)], ctx, Number.POSITIVE_INFINITY);
    const code = doneCode(r.stdout, 'add_lockspace_timeout') ?? doneCode(r.stdout, 'add_lockspace');
    // -17 (EEXIST): already joined with this host id.
    if (code === 0 || code === -17) return;
    throw new SanlockError(code === SANLK.HOSTID_BUSY ? 'device-refused' : 'unreachable', `add_lockspace ${spec} failed: sanlock error ${code ?? firstLine(r)}`, code);
  }

  /** Refuse a clean lockspace removal while an orphaned (persistent) lease still exists in it. */
  async setUsedByOrphans(lockspace: string, ctx: Deadline): Promise<void> {
    const r = await this.sanlock(['client', 'set_config', '-s', lockspace, '-O', '1'], ctx);
    const code = doneCode(r.stdout, 'set_config');
    if (code !== 0) throw new SanlockError('unreachable', `set_config ${lockspace} failed: sanlock error ${code ?? firstLine(r)}`, code);
  }

  /**
   * Acquire a lease for a moment: `client command -r RES -c /bin/true` registers, acquires, then execs
   * /bin/true whose exit releases it. Exit 0 can only follow a granted acquire. The daemon itself may
   * hold the call while it waits for the owner's delta lease to expire.
   */
  async acquireAndRelease(resource: string, ctx: Deadline): Promise<AcquireOutcome> {
    const r = await this.sanlock(['client', 'command', '-r', resource, '-c', '/bin/true'], ctx, Number.POSITIVE_INFINITY);
    if (r.code === 0) return { acquired: true };
    return { acquired: false, code: doneCode(r.stdout, 'acquire'), output: firstLine(r) };
  }

  /** Ask the holder of `resource` (at lease version `lver`) to give it up; force 2 = SIGTERM/killpath. */
  async request(resource: string, lver: number, forceMode: 1 | 2, ctx: Deadline): Promise<number | undefined> {
    const r = await this.sanlock(['client', 'request', '-r', `${resource}:${lver}`, '-f', String(forceMode)], ctx);
    return doneCode(r.stdout, 'request');
  }

  /** Every lease written on the storage at `path` (`direct dump`), read straight from the disk. */
  async dump(path: string, ctx: Deadline): Promise<DumpedLease[]> {
    const r = await this.sanlock(['direct', 'dump', `${path}:0`], ctx);
    if (r.code !== 0) throw new SanlockError('unreachable', `cannot read the leases on ${path} (${firstLine(r)})`, undefined);
    return parseDump(r.stdout);
  }

  async initLockspace(spec: string, ioTimeout: number, ctx: Deadline): Promise<void> {
    const r = await this.sanlock(['direct', 'init', '-s', spec, '-o', String(ioTimeout)], ctx);
    const code = doneCode(r.stdout, 'init');
    if (code !== 0) throw new SanlockError('device-refused', `cannot format lockspace ${spec}: sanlock error ${code ?? firstLine(r)}`, code);
  }

  async initLease(spec: string, ctx: Deadline): Promise<void> {
    const r = await this.sanlock(['direct', 'init', '-r', spec], ctx);
    const code = doneCode(r.stdout, 'init');
    if (code !== 0) throw new SanlockError('device-refused', `cannot format lease ${spec}: sanlock error ${code ?? firstLine(r)}`, code);
  }

  /** Release an orphaned persistent lease (its holder is gone, the host still owns it). */
  async releaseOrphan(resource: string, ctx: Deadline): Promise<number | undefined> {
    const r = await this.sanlock(['client', 'release', '-r', resource, '-O', '1'], ctx);
    return doneCode(r.stdout, 'release');
  }

  async removeLockspace(spec: string, ctx: Deadline): Promise<number | undefined> {
    const r = await this.sanlock(['client', 'rem_lockspace', '-s', spec], ctx);
    return doneCode(r.stdout, 'rem_lockspace');
  }

  /**
   * Start the process that holds `resource` for as long as it lives: `client command -r RES -P 1 -O 1`
   * registers, acquires the lease as persistent (if this process dies the lease stays owned by the host
   * as an orphan, it is not released) adopting an existing orphan, and then sleeps forever.
   */
  spawnLeaseHolder(resource: string, logFile?: string): ChildProcess {
    const out = logFile ? openSync(logFile, 'a') : 'ignore';
    try {
      return spawn(this.binary, ['client', 'command', '-r', resource, '-P', '1', '-O', '1'], {
        stdio: ['ignore', out, out],
        ...(this.env ? { env: { ...process.env, ...this.env } } : {}),
      });
    } finally {
      if (typeof out === 'number') closeSync(out);
    }
  }
}

function firstLine(r: RunResult): string {
  const text = (r.stderr.trim() || r.stdout.trim()).split('\n').filter((l) => l.trim() !== '');
  return text[text.length - 1] ?? `exit ${r.code ?? r.signal}`;
}
