// One fence of a node at a time: two admins (or an admin and a script) fencing the same node must not
// interleave an `on` of one run with the `off` of another.
//
// The lock is a claimed name (lib/host-claim.ts: an flock the kernel frees when its holder ends, however it
// ends), so nothing goes stale. Scope: one host. The lock directory only names the scope, so that test runs
// and separate installations do not wait for each other.
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import { claimName, holderOf } from '../host-claim.js';
import { FenceError } from '../errors.js';
import { remaining } from '../timing.js';

export function lockDirectory(env: NodeJS.ProcessEnv = process.env): string {
  return env.FENCEKIT_LOCK_DIR ?? '/run/fencekit/locks';
}

/** The claim name of a node's lock. */
export function lockName(node: string, dir: string): string {
  const scope = createHash('sha256').update(resolve(dir)).digest('hex').slice(0, 16);
  const readable = node.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 48);
  // Two nodes whose readable forms collide only share a lock (they wait for each other), never lose one.
  const exact = createHash('sha256').update(node).digest('hex').slice(0, 16);
  return `fencekit-lock/${scope}/${readable}/${exact}`;
}

export interface NodeLock {
  release(): void;
}

/** Take the node's lock, waiting for a live holder until the deadline. `onWait` is told once whom we wait for. */
export async function lockNode(node: string, deadline: number, dir = lockDirectory(), onWait?: (holderPid: number | undefined) => void): Promise<NodeLock> {
  const name = lockName(node, dir);
  const claim = await claimName(name);
  if (claim) return claim;
  onWait?.((await holderOf(name)) || undefined);
  // The kernel queues us behind the holder (flock --wait): no polling.
  const waited = remaining(deadline) > 0 ? await claimName(name, remaining(deadline)) : undefined;
  if (waited) return waited;
  const pid = await holderOf(name);
  throw new FenceError('timeout', `node ${node} is being fenced by ${pid ? `PID ${pid}` : 'another fencekit run'}; timed out waiting for it`);
}
