// How net-snmp's per-request timer and retries are set so that all attempts of one request end before the
// caller's deadline: fencing has a hard budget (Pacemaker kills the agent at its timeout), and a retry
// that starts with 200 ms left and waits a full second is a fence that fails late instead of early.

export interface AttemptPlan {
  /** net-snmp `timeout`: how long each attempt waits for an answer. */
  timeoutMs: number;
  /** net-snmp `retries`: attempts after the first. */
  retries: number;
}

/** Below this an attempt cannot meaningfully wait for a UDP answer, so fewer attempts are made instead. */
export const MIN_ATTEMPT_MS = 100;

/**
 * Largest plan with (retries + 1) * timeoutMs <= remainingMs, timeoutMs <= perRequestTimeoutMs and
 * retries <= wantedRetries; keeps at least one attempt while any time remains.
 */
export function planAttempts(remainingMs: number, perRequestTimeoutMs: number, wantedRetries: number): AttemptPlan {
  const remaining = Math.max(1, Math.floor(remainingMs));
  let attempts = Math.max(1, Math.floor(wantedRetries) + 1);
  // Give up retries before shrinking an attempt under MIN_ATTEMPT_MS.
  while (attempts > 1 && remaining / attempts < MIN_ATTEMPT_MS) attempts--;
  const timeoutMs = Math.max(1, Math.min(Math.floor(perRequestTimeoutMs), Math.floor(remaining / attempts)));
  return { timeoutMs, retries: attempts - 1 };
}
