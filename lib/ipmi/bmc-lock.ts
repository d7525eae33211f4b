// One IPMI session per BMC at a time from this host: agents that run at once against one BMC (Pacemaker's
// monitor while a fence is under way, a reboot beside a status) take turns, so they never use up the BMC's
// few session slots (often 4, some 2) between them. The lock is a claimed name (lib/host-claim.ts): the
// kernel frees it when its holder exits, however it exits (even SIGKILL), so a dead agent never leaves a
// stale lock behind. Waiting is bounded: when the holder keeps the BMC longer than the waiter can afford, the
// waiter goes ahead without the lock rather than fail its fence.
import { createHash } from 'node:crypto';
import { claimName } from '../host-claim.js';
import type { Logger } from '../log.js';

export interface BmcLock {
  release(): void;
}

function lockName(host: string, port: number): string {
  const digest = createHash('sha256').update(`${host.toLowerCase()}:${port}`).digest('hex').slice(0, 32);
  return `fencekit-ipmi-${digest}`;
}

/**
 * Hold the BMC's lock, waiting for another agent of this host until `waitUntil` at most; past it, go ahead
 * without (a release() that does nothing).
 */
export async function lockBmc(host: string, port: number, waitUntil: number, logger: Logger): Promise<BmcLock> {
  const started = Date.now();
  const claim = await claimName(lockName(host, port), Math.max(0, waitUntil - started)).catch((err: Error) => {
    logger.debug(`IPMI ${host}:${port}: cannot take turns with other agents (${err.message}); going ahead`);
    return undefined;
  });
  if (claim) {
    if (Date.now() - started > 50) logger.debug(`IPMI ${host}:${port}: waited ${Date.now() - started} ms for another agent's session to end`);
    return claim;
  }
  logger.debug(`IPMI ${host}:${port}: another agent of this host still holds a session after ${Date.now() - started} ms; going ahead`);
  return { release: () => undefined };
}
