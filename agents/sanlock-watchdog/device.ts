// The lease area as a power device: status reads the victim's lease, `on` starts this node's lease holder,
// and off is a takeover that confirms itself (the acquired lease is the proof), waiting for the instant
// sanlock can grant it rather than polling.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import { existsSync, statSync, truncateSync, openSync, closeSync, readSync } from 'node:fs';
import type { ActionResult, OperationContext, PowerDevice, PowerState } from '../../lib/agent/declaration.js';
import { holderOf } from '../../lib/host-claim.js';
import { FenceError } from '../../lib/errors.js';
import { SANLK, SanlockClient, SanlockError } from '../../lib/sanlock/client.js';
import {
  areaBytes,
  earliestAcquisitionMs,
  FENCE_LOCKSPACE,
  hostDeadSeconds,
  hostLeaseName,
  hostLeaseSpec,
  lockspaceSpec,
  monotonicMs,
  renewalSeconds,
  type LeaseArea,
} from '../../lib/sanlock/layout.js';
import { DELTA_DISK_MAGIC, PAXOS_DISK_MAGIC, type DaemonStatus, type LeaderRecord } from '../../lib/sanlock/output.js';
import { remaining, sleep } from '../../lib/timing.js';
import { countdown, type Countdown } from './countdown.js';

export interface LeaseSettings {
  readonly area: LeaseArea;
  readonly hostId: number;
  readonly ioTimeout: number;
  readonly client: SanlockClient;
}

/** The options the lease device acts on (agent.ts reads them), each as the user gave it. */
export interface SanlockSettings {
  readonly path: string;
  /** Undefined only for sanlock_init, which formats every host's lease. */
  readonly hostId: number | undefined;
  readonly ioTimeout: number;
  readonly maxHostId: number;
  readonly sanlockPath: string;
  /** Passed on to the lease holder that `on` starts. */
  readonly debugFile: string | undefined;
  /** No countdown on the terminal. */
  readonly quiet: boolean;
}

export function leaseSettings(given: SanlockSettings): LeaseSettings {
  return {
    // The daemon opens the path itself, from its own working directory: hand it an absolute one.
    area: { path: resolve(given.path) },
    hostId: given.hostId ?? 0,
    ioTimeout: given.ioTimeout,
    client: new SanlockClient(given.sanlockPath),
  };
}

/** This node's membership in the fence lockspace on this storage, if it joined. */
function localMembership(status: DaemonStatus, area: LeaseArea) {
  return status.lockspaces.find((s) => s.name === FENCE_LOCKSPACE && s.path === area.path && s.transition !== 'REM');
}

export class LeaseFence implements PowerDevice {
  /**
   * Off is a lease takeover that proves itself (the acquired lease is the proof) and waits for the instant
   * sanlock can grant it; on starts a holder, which status reads then confirm.
   */
  readonly confirmedBySet: readonly PowerState[] = ['off'];

  constructor(
    private readonly settings: LeaseSettings,
    private readonly given: SanlockSettings,
    private readonly progress: Countdown,
  ) {}

  private get lease(): string {
    return hostLeaseSpec(this.settings.area, this.settings.hostId);
  }

  private readLease(ctx: OperationContext): Promise<LeaderRecord> {
    return this.settings.client.readLeader('resource', this.lease, PAXOS_DISK_MAGIC, ctx);
  }

  /**
   * ON while the host's lease is live: owned by that host in the generation it is still renewing. For
   * this node's own lease, ON only while a holder process keeps it (an orphaned lease arms nothing).
   */
  async getPower(_plug: string | undefined, ctx: OperationContext): Promise<PowerState> {
    const leader = await this.readLease(ctx);
    if (leader.timestamp === 0 || leader.ownerId !== this.settings.hostId) return 'off';
    let status: DaemonStatus;
    try {
      status = await this.settings.client.daemonStatus(ctx);
    } catch {
      return 'on'; // no local daemon to ask: an owned lease is taken as live
    }
    const local = localMembership(status, this.settings.area);
    if (!local) return 'on';
    if (local.hostId === this.settings.hostId) {
      const held = status.resources.some((r) => r.lockspace === FENCE_LOCKSPACE && r.name === hostLeaseName(this.settings.hostId) && !r.orphan && r.pid > 0);
      return held ? 'on' : 'off';
    }
    const host = (await this.settings.client.hostStates(FENCE_LOCKSPACE, ctx)).get(this.settings.hostId);
    if (host && host.generation === leader.ownerGeneration && (host.state === 'DEAD' || host.state === 'FREE')) return 'off';
    return 'on';
  }

  /** off: take the victim's lease (confirmed when it resolves). on: start this node's lease holder. */
  async setPower(_plug: string | undefined, state: PowerState, ctx: OperationContext): Promise<void> {
    if (state === 'off') return this.takeLease(ctx);
    const status = await this.settings.client.daemonStatus(ctx);
    const local = localMembership(status, this.settings.area);
    if (local && local.hostId !== this.settings.hostId) {
      throw new FenceError('device-refused', `this node is host_id ${local.hostId} in lockspace ${FENCE_LOCKSPACE}, not ${this.settings.hostId}: on must run on the node being unfenced`);
    }
    await this.readLease(ctx); // formatted storage, before leaving a holder behind
    await startHolder(this.given, this.settings.area, this.settings.hostId, ctx);
  }

  /**
   * Fence = take the victim's lease. Wait for the earliest instant sanlock can grant it (from our daemon's
   * last sight of the victim renewing), acquire, release. A live victim is asked once to give its lease up.
   */
  private async takeLease(ctx: OperationContext): Promise<void> {
    const { client, hostId, area } = this.settings;
    const status = await client.daemonStatus(ctx);
    const local = localMembership(status, area);
    if (!local || local.transition === 'ADD') {
      throw new FenceError('device-refused', `this node has not joined lockspace ${FENCE_LOCKSPACE} on ${area.path}: run on (unfence) here first`);
    }
    if (local.hostId === hostId) throw new FenceError('device-refused', `refusing to fence host_id ${hostId}: it is this node`);
    let requested = false;
    let lastReason = '';
    const stillRenewing = `host_id ${hostId} is still renewing its lease`;
    // fence_sanlock's way: ask the live victim, once, to give its lease up; its holder stops its sanlock
    // daemon, so its watchdog fires and the lease expires.
    const askToRelease = async (leader: LeaderRecord) => {
      if (requested || leader.ownerId !== hostId || leader.timestamp === 0) return;
      requested = true;
      const code = await client.request(this.lease, leader.lver + 1, 2, ctx);
      ctx.logger.debug(`request for host_id ${hostId}'s lease: ${code}`);
    };
    try {
      for (;;) {
        if (remaining(ctx.deadline) <= 0) break;
        const leader = await this.readLease(ctx);
        // The proof is sanlock's verdict on the victim's delta lease, not the state of its paxos lease: a lease
        // released by a holder that stopped cleanly, or taken again in a newer generation, is free or owned
        // while the node runs on. DEAD alone means it stopped renewing without leaving, host_dead_seconds ago,
        // so its watchdog has fired; FREE means it left the lockspace, which only a running node does.
        const host = await this.victimHost(ctx);
        if (host?.state === 'FREE') {
          throw new FenceError('device-refused', `host_id ${hostId} has left lockspace ${FENCE_LOCKSPACE} (its delta lease is released): a node that left cleanly was not reset, and nothing here can prove it was`);
        }
        const ownedByVictim = leader.ownerId === hostId && leader.timestamp !== 0;
        if (host?.state !== 'DEAD' && !ownedByVictim) {
          // A free lease of a host still in the lockspace: acquiring it would prove nothing; wait for DEAD.
          lastReason = `host_id ${hostId} is ${host?.state ?? 'not seen'} in lockspace ${FENCE_LOCKSPACE} and its lease is ${leader.timestamp === 0 ? 'released' : `owned by host_id ${leader.ownerId}`}: a released lease is no proof of a reset`;
          ctx.logger.debug(lastReason);
          await sleep(Math.min(renewalSeconds(this.settings.ioTimeout) * 1000, Math.max(0, remaining(ctx.deadline))));
          continue;
        }
        const seen = await this.sighting(leader, ctx);
        const at = seen?.live ? undefined : seen?.grantAt;
        if (at !== undefined && at > monotonicMs()) {
          const waitMs = at - monotonicMs();
          if (waitMs > remaining(ctx.deadline)) {
            // Our daemon's last check saw no renewal (the victim's interval and its checks drift apart), but
            // its verdict is LIVE: a victim renewing, asked as one the acquire finds renewing is. Otherwise
            // whether a short off asks would depend on where that check fell.
            if (host?.state === 'LIVE') {
              lastReason = stillRenewing;
              await askToRelease(leader);
            } else {
              lastReason = `its lease cannot be granted for another ${Math.ceil(waitMs / 1000)} s`;
            }
            ctx.logger.debug(`lease of host_id ${hostId} not grantable before the deadline: ${lastReason}`);
            await this.waitUntil(monotonicMs() + remaining(ctx.deadline), ctx);
            break;
          }
          ctx.logger.debug(`host_id ${hostId}: lease grantable in ${(waitMs / 1000).toFixed(1)} s`);
          await this.waitUntil(at, ctx, leader);
          continue; // re-read: the victim may have renewed meanwhile, moving the instant on
        }
        if (remaining(ctx.deadline) <= 0) break;
        const outcome = await client.acquireAndRelease(this.lease, ctx);
        if (outcome.acquired) {
          // Granted: proof only if the victim was DEAD before and still is, in the same generation (it
          // cannot die again within the moment the acquire took).
          const after = await this.victimHost(ctx);
          if (host?.state === 'DEAD' && after?.state === 'DEAD' && after.generation === host.generation) {
            const leaderAfter = await this.readLease(ctx).catch(() => undefined);
            ctx.logger.info(`host_id ${hostId} is DEAD in lockspace ${FENCE_LOCKSPACE} (generation ${host.generation}); acquired and released its lease${leaderAfter ? ` (now lver ${leaderAfter.lver}, owner ${leaderAfter.ownerId})` : ''}`);
            return;
          }
          lastReason = `acquired host_id ${hostId}'s lease while its host was ${host?.state ?? 'not seen'}${after && after.state !== host?.state ? `, then ${after.state}` : ''}: not proof of a reset`;
          ctx.logger.debug(lastReason);
          await sleep(Math.min(renewalSeconds(this.settings.ioTimeout) * 1000, Math.max(0, remaining(ctx.deadline))));
          continue;
        }
        if (outcome.code === SANLK.ACQUIRE_IDLIVE || outcome.code === SANLK.ACQUIRE_OWNED_RETRY) {
          lastReason = stillRenewing;
          await askToRelease(leader);
        } else if (outcome.code === SANLK.ACQUIRE_OWNED || outcome.code === SANLK.ACQUIRE_OTHER || outcome.code === SANLK.ACQUIRE_LVER) {
          lastReason = `another host is taking host_id ${hostId}'s lease (sanlock ${outcome.code})`;
        } else if (outcome.code === SANLK.ACQUIRE_LOCKSPACE) {
          throw new SanlockError('device-refused', `lockspace ${FENCE_LOCKSPACE} is not joined on this node`, outcome.code);
        } else {
          lastReason = `acquire failed: ${outcome.output}`;
        }
        ctx.logger.debug(`lease of host_id ${hostId} not granted: ${lastReason}`);
        if (remaining(ctx.deadline) <= 0) break;
        // Not grantable yet although the computed instant passed: our daemon saw the victim renew again.
        await sleep(Math.min(renewalSeconds(this.settings.ioTimeout) * 1000, remaining(ctx.deadline)));
      }
    } catch (err) {
      // A command cut short by the deadline is the deadline's failure, reported with what we last knew.
      if (!(err instanceof FenceError && err.kind === 'timeout' && remaining(ctx.deadline) <= 0)) throw err;
    } finally {
      this.progress.done();
    }
    throw new FenceError('timeout', `Timed out waiting to power OFF: host_id ${hostId}'s lease was not granted${lastReason ? ` (${lastReason})` : ''}`);
  }

  /** Our daemon's verdict on the victim's delta lease (LIVE, FAIL, DEAD, FREE, UNKNOWN), if it lists the host. */
  private async victimHost(ctx: OperationContext) {
    return (await this.settings.client.hostStates(FENCE_LOCKSPACE, ctx)).get(this.settings.hostId);
  }

  /**
   * What our daemon saw of the victim's delta lease: `live` when its timestamp changed at our daemon's
   * last check (an acquire fails at once), else `grantAt`, the CLOCK_MONOTONIC ms from which the daemon
   * grants the lease. Undefined = try now: the lease is free or not the victim's, or our daemon never
   * saw the victim renew (then sanlock itself waits host_dead_seconds inside the acquire).
   */
  private async sighting(leader: LeaderRecord, ctx: OperationContext): Promise<{ live: boolean; grantAt?: number } | undefined> {
    if (leader.timestamp === 0 || leader.ownerId !== this.settings.hostId) return undefined;
    const seen = (await this.settings.client.hostStatus(FENCE_LOCKSPACE, ctx)).get(this.settings.hostId);
    if (!seen || seen.ownerGeneration !== leader.ownerGeneration || !seen.lastLive) return undefined;
    const grantAt = earliestAcquisitionMs(seen.lastLive, seen.ioTimeout || this.settings.ioTimeout);
    return { live: seen.lastLive === seen.lastCheck, ...(grantAt !== undefined ? { grantAt } : {}) };
  }

  /**
   * Sleep until `at` (never past the deadline), with a countdown on a terminal. Every renewal interval the
   * daemon is asked again: if the victim renewed, `at` has moved and the caller recomputes it.
   */
  private async waitUntil(at: number, ctx: OperationContext, leader?: LeaderRecord): Promise<void> {
    const label = `host_id ${this.settings.hostId}: waiting for its lease to expire (last renewal + ${hostDeadSeconds(this.settings.ioTimeout)} s)`;
    const end = Math.min(at, monotonicMs() + remaining(ctx.deadline));
    this.progress.wait(end - monotonicMs(), label);
    const recheckMs = renewalSeconds(this.settings.ioTimeout) * 1000;
    while (monotonicMs() < end) {
      await sleep(Math.min(recheckMs, end - monotonicMs()));
      if (!leader || monotonicMs() >= end) continue;
      const seen = await this.sighting(leader, ctx).catch(() => undefined);
      if (seen && (seen.live || seen.grantAt !== at)) return;
    }
  }

  /** The daemon answers, this node joined the lockspace, and the host's lease is readable. */
  async monitor(ctx: OperationContext): Promise<void> {
    const status = await this.settings.client.daemonStatus(ctx);
    const local = localMembership(status, this.settings.area);
    if (!local) throw new FenceError('unreachable', `this node has not joined lockspace ${FENCE_LOCKSPACE} on ${this.settings.area.path}`);
    await this.readLease(ctx);
  }

  async close(): Promise<void> {
    this.progress.done();
  }
}

/**
 * The name one lease holder per host_id and lease area claims on this node (lib/host-claim.ts). A second
 * holder of the same lease must never start: its acquire makes sanlock drop the first holder's lease, and
 * the first holder reads that loss as "being fenced" and lets the watchdog reset a healthy node.
 */
export function holderClaimName(area: LeaseArea, hostId: number): string {
  const scope = createHash('sha256').update(`${area.path}\0${hostId}`).digest('hex').slice(0, 24);
  return `fencekit-sanlock-holder/${hostId}/${scope}`;
}

/**
 * Start `fence_kit_sanlock -o hold` detached: it must outlive this invocation (and Pacemaker's kill of it).
 * Not when a holder of this lease already runs here (an `on` retried while the first holder is still joining
 * the lockspace); the holder itself refuses to be the second, which closes the race between the two checks.
 */
async function startHolder(given: SanlockSettings, area: LeaseArea, hostId: number, ctx: OperationContext): Promise<void> {
  const running = await holderOf(holderClaimName(area, hostId));
  if (running !== undefined) {
    ctx.logger.info(`a lease holder for host_id ${hostId} already runs here${running ? ` (PID ${running})` : ''}: not starting another`);
    return;
  }
  const script = process.argv[1]!;
  const args = [script, '-o', 'hold', `--path=${given.path}`, `--host-id=${given.hostId}`,
    `--io-timeout=${given.ioTimeout}`, `--sanlock-path=${given.sanlockPath}`];
  const debugFile = given.debugFile;
  if (debugFile) args.push(`--debug-file=${debugFile}`, '-v');
  ctx.logger.debug(`Starting lease holder: ${process.execPath} ${args.join(' ')}`);
  const child = spawn(process.execPath, args, { detached: true, stdio: 'ignore' });
  child.unref();
}

export async function connectLeases(given: SanlockSettings, _ctx: OperationContext): Promise<LeaseFence> {
  const interactive = !!process.stderr.isTTY && !process.env.PCMK_service && !given.quiet;
  return new LeaseFence(leaseSettings(given), given, countdown(interactive ? process.stderr : undefined));
}

/** Whether the storage starts with a lockspace (a delta lease's magic): only then can a lease on it be held. */
function formattedLockspace(path: string): boolean {
  const head = Buffer.alloc(4);
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    return readSync(fd, head, 0, 4, 0) === 4 && head.readUInt32LE(0) === DELTA_DISK_MAGIC;
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * sanlock_init: the lockspace at 0, then host leases 1..max_host_id. A regular file is extended as needed.
 * Storage with a lease held (or never released) is refused: fence_sanlock formats over live hosts.
 */
export async function formatStorage(given: SanlockSettings, ctx: OperationContext): Promise<ActionResult> {
  const s = leaseSettings(given);
  const max = given.maxHostId;
  const path = s.area.path;
  // A host is in the lockspace while its delta lease carries a timestamp: joining writes one, every renewal
  // a new one, and leaving (rem_lockspace) writes 0; a host that crashed keeps its last one. (A paxos lease
  // keeps its timestamp after release, so only the delta leases tell.) Formatting under a joined host drops
  // its lease, and its sanlock then lets the watchdog reset the node.
  const joined = existsSync(path) && formattedLockspace(path) ? (await s.client.dump(path, ctx)).filter((l) => l.lver === undefined && l.timestamp !== 0) : [];
  if (joined.length > 0) {
    const hosts = joined.map((l) => l.ownerId).join(', ');
    const spec = lockspaceSpec(s.area, 0).replace(/:0:/, ':N:');
    throw new FenceError(
      'device-refused',
      `${path} is in use: host id${joined.length === 1 ? '' : 's'} ${hosts} joined its lockspace and did not leave; formatting would drop ${joined.length === 1 ? 'that host\'s lease' : 'their leases'} from under a running node, whose watchdog would then reset it. Stop sanlock's use of the storage on every node first (sanlock client rem_lockspace -s ${spec}); the lease of a host that is gone for good stays until it is released (sanlock direct release_id -s ${spec})`,
    );
  }
  if (!existsSync(path)) closeSync(openSync(path, 'a', 0o660));
  const st = statSync(path);
  if (st.isFile() && st.size < areaBytes(max)) truncateSync(path, areaBytes(max));
  else if (!st.isFile() && !st.isBlockDevice()) throw new FenceError('bad-input', `${path} is neither a block device nor a regular file`);
  await s.client.initLockspace(lockspaceSpec(s.area, 0), s.ioTimeout, ctx);
  for (let id = 1; id <= max; id++) await s.client.initLease(hostLeaseSpec(s.area, id), ctx);
  return { exitCode: 0, stdout: [`Success: formatted lockspace ${FENCE_LOCKSPACE} and ${max} host leases on ${path}`] };
}
