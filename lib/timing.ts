// Time budgets. Every wait in fencekit is bounded by an absolute deadline, so no chain of retries can
// outlive the budget the caller (an admin, or Pacemaker's action timeout) gave it.
import { FenceError, endsRetries, asFenceError } from './errors.js';
import type { Logger } from './log.js';

/**
 * The longest wait a Node timer can hold (2^31-1 ms, ~24.8 days); a longer one, or Infinity, would fire
 * after 1 ms. It is also what "no limit" means for a deadline (timeouts disabled under Pacemaker, whose
 * own timeout then ends the agent long before).
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** Milliseconds to a Node timer: never negative, never past what a timer can hold. */
export function timerMs(ms: number): number {
  return Math.min(Math.max(0, ms), MAX_TIMER_MS);
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, timerMs(ms)));

/** Milliseconds left before `deadline`, never negative. */
export function remaining(deadline: number): number {
  return Math.max(0, deadline - Date.now());
}

/** A deadline `ms` from now. Infinity (timeouts disabled) becomes the furthest deadline a timer can hold. */
export function deadlineIn(ms: number): number {
  return Date.now() + timerMs(ms);
}

/** Sleep, but never past the deadline. */
export function sleepUntil(deadline: number, ms: number): Promise<void> {
  return sleep(Math.min(ms, remaining(deadline)));
}

export interface RetryOptions {
  readonly deadline: number;
  readonly intervalMs: number;
  readonly logger: Logger;
  readonly what: string;
}

/**
 * Run `attempt` until it succeeds, a refusal is met (auth, privilege, no such plug: waiting cannot
 * change those), or the deadline passes. The last transient error is what the caller sees.
 */
export async function retryUntil<T>(attempt: (n: number) => Promise<T>, opts: RetryOptions): Promise<T> {
  let last: FenceError | undefined;
  for (let n = 1; ; n++) {
    try {
      return await attempt(n);
    } catch (err) {
      last = asFenceError(err);
      if (endsRetries(last) || last.kind === 'internal') throw last;
      opts.logger.debug(`${opts.what}: attempt ${n} failed (${last.kind}): ${last.message}`);
    }
    if (remaining(opts.deadline) <= opts.intervalMs) break;
    await sleep(opts.intervalMs);
  }
  throw last ?? new FenceError('timeout', `${opts.what} timed out`);
}

/** `p`, or an 'unreachable' error once `deadline` passes (a lookup, a socket opening: waits with no timeout of their own). */
export async function withDeadline<T>(p: Promise<T>, deadline: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new FenceError('unreachable', `${what}: deadline passed`)), timerMs(deadline - Date.now()));
  });
  try {
    return await Promise.race([p, expired]);
  } finally {
    clearTimeout(timer);
  }
}
