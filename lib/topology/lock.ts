// One fence of a node at a time: two admins (or an admin and a script) fencing the same node must not
// interleave an `on` of one run with the `off` of another.
//
// The lock is a listening UNIX socket in Linux's abstract namespace, named after the node. The kernel binds
// a name to one socket at most, so taking the lock is one atomic step (bind succeeds or fails EADDRINUSE),
// and it frees the name when the holder's process ends, however it ends (SIGKILL included). There is no lock
// file: nothing is ever half-written, nothing goes stale, so there is no takeover and no race in one. A
// waiting run learns the holder's PID by connecting: the holder answers with it.
//
// Scope: one host and one network namespace (abstract names belong to the network namespace). The lock
// directory only names the scope, so that test runs and separate installations do not wait for each other.
import { createHash } from 'node:crypto';
import { createConnection, createServer, type Server } from 'node:net';
import { resolve } from 'node:path';
import { FenceError } from '../errors.js';
import { remaining, sleep } from '../timing.js';

export function lockDirectory(env: NodeJS.ProcessEnv = process.env): string {
  return env.FENCEKIT_LOCK_DIR ?? '/run/fencekit/locks';
}

/** The abstract socket name (leading NUL) of a node's lock: readable in `ss -xl`, at most 107 bytes. */
export function lockName(node: string, dir: string): string {
  const scope = createHash('sha256').update(resolve(dir)).digest('hex').slice(0, 16);
  const readable = node.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 48);
  // Two nodes whose readable forms collide only share a lock (they wait for each other), never lose one.
  const exact = createHash('sha256').update(node).digest('hex').slice(0, 16);
  return `\0fencekit-lock/${scope}/${readable}/${exact}`;
}

export interface NodeLock {
  release(): void;
}

function bind(name: string): Promise<Server | undefined> {
  return new Promise((resolvePromise, reject) => {
    const server = createServer((socket) => socket.end(`${process.pid}\n`));
    server.once('error', (err: NodeJS.ErrnoException) => (err.code === 'EADDRINUSE' ? resolvePromise(undefined) : reject(err)));
    server.listen({ path: name, exclusive: true }, () => {
      server.unref(); // holding the lock never keeps the CLI alive on its own
      resolvePromise(server);
    });
  });
}

/** The holder's PID, as it answers on the lock socket; undefined if it is gone or does not answer at once. */
function holderPid(name: string): Promise<number | undefined> {
  return new Promise((resolvePromise) => {
    let text = '';
    const socket = createConnection({ path: name });
    const done = (pid?: number) => {
      socket.destroy();
      resolvePromise(pid);
    };
    socket.setTimeout(1000, () => done());
    socket.on('data', (b: Buffer) => (text += b.toString()));
    socket.on('end', () => done(/^\d+\n$/.test(text) ? Number(text.trim()) : undefined));
    socket.on('error', () => done());
  });
}

/** Take the node's lock, waiting for a live holder until the deadline. `onWait` is told once whom we wait for. */
export async function lockNode(node: string, deadline: number, dir = lockDirectory(), onWait?: (holderPid: number | undefined) => void): Promise<NodeLock> {
  const name = lockName(node, dir);
  let told = false;
  for (;;) {
    const server = await bind(name);
    if (server) return { release: () => void server.close() };
    const pid = await holderPid(name);
    if (!told) {
      onWait?.(pid);
      told = true;
    }
    if (remaining(deadline) <= 0) {
      throw new FenceError('timeout', `node ${node} is being fenced by ${pid !== undefined ? `PID ${pid}` : 'another fencekit run'}; timed out waiting for it`);
    }
    await sleep(Math.min(100, remaining(deadline)));
  }
}
