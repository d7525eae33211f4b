// One IPMI session per BMC at a time from this host: agents that run at once against one BMC (Pacemaker's
// monitor while a fence is under way, a reboot beside a status) take turns, so they never use up the BMC's
// few session slots (often 4, some 2) between them. The lock is an abstract Unix socket named after the BMC:
// the kernel frees it when its holder exits, however it exits (even SIGKILL), so a dead agent never leaves a
// stale lock behind, and no file or directory is needed. Waiting is bounded: when the holder keeps the BMC
// longer than the waiter can afford, the waiter goes ahead without the lock rather than fail its fence.
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:net';
import type { Logger } from '../log.js';

export interface BmcLock {
  release(): void;
}

const RETRY_MS = 25;

function lockName(host: string, port: number): string {
  const digest = createHash('sha256').update(`${host.toLowerCase()}:${port}`).digest('hex').slice(0, 32);
  return `\0fencekit-ipmi-${digest}`;
}

function tryListen(name: string): Promise<Server | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(undefined));
    server.listen({ path: name, exclusive: true }, () => {
      server.unref();
      resolve(server);
    });
  });
}

/**
 * Hold the BMC's lock, waiting for another agent of this host until `waitUntil` at most; past it, go ahead
 * without (a release() that does nothing).
 */
export async function lockBmc(host: string, port: number, waitUntil: number, logger: Logger): Promise<BmcLock> {
  const name = lockName(host, port);
  const started = Date.now();
  let waited = false;
  for (;;) {
    const server = await tryListen(name);
    if (server) {
      if (waited) logger.debug(`IPMI ${host}:${port}: waited ${Date.now() - started} ms for another agent's session to end`);
      return { release: () => server.close() };
    }
    if (Date.now() + RETRY_MS > waitUntil) {
      logger.debug(`IPMI ${host}:${port}: another agent of this host still holds a session after ${Date.now() - started} ms; going ahead`);
      return { release: () => undefined };
    }
    waited = true;
    await new Promise((r) => setTimeout(r, RETRY_MS));
  }
}
