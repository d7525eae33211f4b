// The lease holder (`fence_kit_sanlock -o hold`, started detached by `on`, or run as a service): joins the
// lockspace, keeps this node's lease through a `sanlock client command` child (persistent, so the lease
// outlives the child as an orphan owned by this host), and turns the loss of that lease into a reset.
//
// The child dies when sanlock kills it: someone is fencing this node (a request on its lease) or the
// lockspace failed. Then, if sanlock uses the watchdog, the holder SIGKILLs the local sanlock daemon:
// wdmd keeps the daemon's last expiry and stops petting the watchdog, which resets this node no later
// than the 8 x io_timeout + 60 s after which the fencer's sanlock grants the lease. Without a watchdog
// nothing can reset the node, so the holder leaves the daemon renewing: the lease stays owned and every
// fence of this node fails — a failure, never a false success.
import { readFileSync } from 'node:fs';
import type { ActionResult } from '../../lib/agent/declaration.js';
import { claimName, holderOf, type Claim } from '../../lib/host-claim.js';
import { asFenceError } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import { FENCE_LOCKSPACE, hostLeaseName, hostLeaseSpec, lockspaceSpec } from '../../lib/sanlock/layout.js';
import { PAXOS_DISK_MAGIC } from '../../lib/sanlock/output.js';
import { deadlineIn, sleep } from '../../lib/timing.js';
import { holderClaimName, leaseSettings, type SanlockSettings } from './device.js';

const RUN_DIR = process.env.SANLOCK_RUN_DIR ?? '/run/sanlock';
const FOREVER = Number.POSITIVE_INFINITY;
/** Held for the holder's whole life; the kernel frees it when the process ends. */
let holderClaim: Claim | undefined;

export async function holdLease(given: SanlockSettings, logger: Logger): Promise<ActionResult> {
  const s = leaseSettings(given);
  // First of all, before sanlock is asked anything: be the only holder of this lease on this node.
  holderClaim = await claimName(holderClaimName(s.area, s.hostId));
  if (!holderClaim) {
    const pid = await holderOf(holderClaimName(s.area, s.hostId));
    logger.error(`a lease holder for host_id ${s.hostId} on ${s.area.path} already runs here${pid ? ` (PID ${pid})` : ''}: not starting a second one (its acquire would make sanlock drop the first one's lease)`);
    return { exitCode: 1, stdout: [] };
  }
  const ctx = { deadline: FOREVER, logger };
  const bounded = () => ({ deadline: deadlineIn(30_000), logger });
  const lease = hostLeaseSpec(s.area, s.hostId);
  await s.client.readLeader('resource', lease, PAXOS_DISK_MAGIC, bounded());
  logger.info(`joining lockspace ${FENCE_LOCKSPACE} as host_id ${s.hostId} (io_timeout ${s.ioTimeout})`);
  await s.client.addLockspace(lockspaceSpec(s.area, s.hostId), s.ioTimeout, ctx);
  // Without this a clean rem_lockspace would free the host_id while the orphaned lease still exists.
  await s.client.setUsedByOrphans(FENCE_LOCKSPACE, bounded());

  const child = s.client.spawnLeaseHolder(lease);
  let stopping = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const stop = () => {
    stopping = true;
    child.kill('SIGTERM');
  };
  for (const sig of ['SIGINT', 'SIGHUP', 'SIGTERM'] as const) process.on(sig, stop);
  logger.info(`holding lease ${hostLeaseName(s.hostId)} through pid ${child.pid}`);

  // Only a lease that was held and then lost means "being fenced". A child that exits before the daemon lists
  // the lease as held by it never acquired it (a storage error, the lease briefly taken by a fencer): that
  // is a failed unfencing, reported as such, with nothing to reset.
  const holds = async (pid: number | undefined): Promise<boolean> => {
    const status = await s.client.daemonStatus(bounded()).catch(() => undefined);
    return !!status?.resources.some((r) => r.lockspace === FENCE_LOCKSPACE && r.name === hostLeaseName(s.hostId) && r.pid === pid && !r.orphan);
  };
  let ended: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  void exited.then((e) => (ended = e));
  while (!ended && !(await holds(child.pid))) await sleep(200);
  if (ended && !stopping) {
    // The lockspace is not left: rem_lockspace would kill whatever else holds a lease in it (another holder).
    logger.error(`could not acquire lease ${hostLeaseName(s.hostId)} (holder ${ended.signal ?? `exit ${ended.code}`}): this node is not unfenced`);
    return { exitCode: 1, stdout: [] };
  }
  if (!stopping) logger.info(`lease ${hostLeaseName(s.hostId)} held by pid ${child.pid}`);

  const how = await exited;
  if (stopping) {
    // A clean stop: the persistent lease becomes an orphan once the daemon has seen its holder exit (a
    // moment later: released before that, it answers EBUSY and rem_lockspace then waits on it); release it,
    // then leave the lockspace.
    for (let i = 0; i < 50; i++) {
      const status = await s.client.daemonStatus(bounded()).catch(() => undefined);
      const mine = status?.resources.find((r) => r.lockspace === FENCE_LOCKSPACE && r.name === hostLeaseName(s.hostId));
      if (!mine || mine.orphan) break;
      await sleep(200);
    }
    const rel = await s.client.releaseOrphan(lease, bounded()).catch((e) => asFenceError(e).message);
    const rem = await s.client.removeLockspace(lockspaceSpec(s.area, s.hostId), bounded()).catch((e) => asFenceError(e).message);
    logger.info(`stopped: lease released (${rel}), lockspace left (${rem})`);
    return { exitCode: 0, stdout: [] };
  }

  logger.error(`the holder of lease ${hostLeaseName(s.hostId)} exited (${how.signal ?? `exit ${how.code}`}): this node is being fenced or lost its lease storage`);
  const status = await s.client.daemonStatus(bounded()).catch(() => undefined);
  if (status?.useWatchdog) {
    const pid = daemonPid();
    logger.error(`stopping the sanlock daemon (pid ${pid}) so that the watchdog resets this node`);
    if (pid) process.kill(pid, 'SIGKILL');
  } else {
    logger.error('sanlock runs without a watchdog (-w 0): this node cannot be reset, its lease stays owned and fencing it will fail');
  }
  // Stay: a holder restarted by a service manager must not take the lease again while being fenced.
  for (;;) await sleep(3_600_000);
}

function daemonPid(): number | undefined {
  try {
    const pid = Number(readFileSync(`${RUN_DIR}/sanlock.pid`, 'utf8').trim());
    return Number.isInteger(pid) && pid > 1 ? pid : undefined;
  } catch {
    return undefined;
  }
}
