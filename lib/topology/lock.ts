// One fence of a node at a time: two admins (or an admin and a script) fencing the same node must not
// interleave an `on` of one run with the `off` of another. A lock file per node holds the owner's PID;
// a lock whose owner has died is taken over.
import { closeSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { FenceError } from '../errors.js';
import { remaining, sleep } from '../timing.js';

export function lockDirectory(env: NodeJS.ProcessEnv = process.env): string {
  return env.FENCEKIT_LOCK_DIR ?? '/run/fencekit/locks';
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface NodeLock {
  release(): void;
}

/** Take the node's lock, waiting for a live holder until the deadline. `onWait` is told once whom we wait for. */
export async function lockNode(node: string, deadline: number, dir = lockDirectory(), onWait?: (holderPid: number) => void): Promise<NodeLock> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = join(dir, `${node.replace(/[^A-Za-z0-9_.-]/g, '_')}.lock`);
  let told = false;
  for (;;) {
    try {
      const fd = openSync(file, 'wx', 0o600);
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      return {
        release: () => {
          try {
            if (readFileSync(file, 'utf8').trim() === String(process.pid)) unlinkSync(file);
          } catch {
            // already gone
          }
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    let holder = NaN;
    try {
      holder = Number.parseInt(readFileSync(file, 'utf8'), 10);
    } catch {
      continue; // released between our open and read
    }
    if (!Number.isFinite(holder) || !alive(holder)) {
      try {
        unlinkSync(file);
      } catch {
        // someone else took it over first
      }
      continue;
    }
    if (!told) {
      onWait?.(holder);
      told = true;
    }
    if (remaining(deadline) <= 0) throw new FenceError('timeout', `node ${node} is being fenced by PID ${holder}; timed out waiting for it`);
    await sleep(Math.min(100, remaining(deadline)));
  }
}
