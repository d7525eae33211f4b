// A name that only one live process on this host holds at a time: an exclusive flock(2) on a file named
// after it, held by a small flock(1) child for as long as this process lives. The kernel releases the lock
// when the holding process ends, however it ends: the child's stdin is a pipe from us, so when we exit (even
// by SIGKILL) it reads end-of-file and ends, and the lock goes with it. Nothing goes stale, so there is no
// takeover and no race in one. The holder's PID is written into the file once it holds the lock, for
// messages only ("being fenced by PID n").
//
// Not an abstract UNIX socket: Node 18 (the oldest runtime the packages claim) binds every abstract name as
// the same empty name, so every claim on a host would collide with every other.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { isAlive } from './proc.js';

const FLOCK = '/usr/bin/flock';
const BUSY = 75;

export interface Claim {
  release(): void;
}

function claimDirectory(): string {
  const uid = process.getuid?.() ?? -1;
  const dir = uid === 0 ? '/run/fencekit/claims' : join(tmpdir(), `fencekit-claims-${uid}`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return dir;
}

/** The lock file of a name. */
export function claimFile(name: string): string {
  return join(claimDirectory(), `${createHash('sha256').update(name).digest('hex').slice(0, 40)}.lock`);
}

/**
 * Claim `name`, waiting up to `waitMs` for its holder to end; undefined if another live process still holds
 * it then. The claim is held until release() or the end of this process.
 */
export function claimName(name: string, waitMs = 0): Promise<Claim | undefined> {
  const file = claimFile(name);
  // flock takes seconds; a day stands for "no limit" (a caller's deadline may be infinite).
  const wait = waitMs > 0 ? ['--wait', (Math.min(waitMs, 86_400_000) / 1000).toFixed(3)] : ['--nonblock'];
  return new Promise((resolve, reject) => {
    const child = spawn(FLOCK, ['--exclusive', ...wait, '--conflict-exit-code', String(BUSY), file, '/bin/sh', '-c', 'echo held; exec cat'], {
      stdio: ['pipe', 'pipe', 'ignore'],
    });
    let out = '';
    let held = false;
    child.once('error', reject);
    child.stdin.on('error', () => undefined);
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString();
      if (held || !out.includes('held\n')) return;
      held = true;
      writeFileSync(file, `${process.pid}\n`);
      // Holding a claim never keeps this process alive on its own.
      child.unref();
      (child.stdin as unknown as Socket).unref();
      (child.stdout as unknown as Socket).unref();
      resolve({
        release: () => {
          child.stdin.end();
          child.kill('SIGTERM');
        },
      });
    });
    child.once('exit', (code) => {
      if (held) return;
      if (code === BUSY) resolve(undefined);
      else reject(new Error(`${FLOCK} ${file} exited ${code}`));
    });
  });
}

/** Whether a live process holds the lock file now, asked without taking it: flock(1) exits at once either way. */
function isClaimed(file: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const child = spawn(FLOCK, ['--exclusive', '--nonblock', '--conflict-exit-code', String(BUSY), file, '/bin/true'], { stdio: 'ignore' });
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve(false) : code === BUSY ? resolve(true) : reject(new Error(`${FLOCK} exited ${code}`))));
  });
}

/** The PID of the live process that holds `name` (0 if it holds it and its PID is not written yet); undefined if nobody does. */
export async function holderOf(name: string): Promise<number | undefined> {
  const file = claimFile(name);
  if (!(await isClaimed(file))) return undefined;
  let pid = 0;
  try {
    pid = Number(readFileSync(file, 'utf8').trim()) || 0;
  } catch {
    // Not written yet.
  }
  return pid > 0 && isAlive(pid) ? pid : 0;
}
