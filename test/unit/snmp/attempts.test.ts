// Pacing net-snmp's timer and retries inside the caller's deadline (pure).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MIN_ATTEMPT_MS, planAttempts } from '../../../lib/snmp/attempts.js';

describe('planAttempts', () => {
  it('keeps the configured pacing when the deadline is far', () => {
    expect(planAttempts(60_000, 1000, 2)).toEqual({ timeoutMs: 1000, retries: 2 });
  });

  it('shortens each attempt so all of them end before a near deadline', () => {
    expect(planAttempts(1500, 1000, 2)).toEqual({ timeoutMs: 500, retries: 2 });
  });

  it('gives up retries rather than waiting less than MIN_ATTEMPT_MS per attempt', () => {
    expect(planAttempts(150, 1000, 2)).toEqual({ timeoutMs: 150, retries: 0 });
    expect(planAttempts(250, 1000, 5)).toEqual({ timeoutMs: 125, retries: 1 });
  });

  it('all attempts fit the remaining time, never exceed what was asked, and at least one is made', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 600_000 }),
        fc.integer({ min: 1, max: 60_000 }),
        fc.integer({ min: 0, max: 20 }),
        (remaining, perRequest, retries) => {
          const plan = planAttempts(remaining, perRequest, retries);
          expect((plan.retries + 1) * plan.timeoutMs).toBeLessThanOrEqual(remaining);
          expect(plan.timeoutMs).toBeLessThanOrEqual(perRequest);
          expect(plan.timeoutMs).toBeGreaterThanOrEqual(1);
          expect(plan.retries).toBeGreaterThanOrEqual(0);
          expect(plan.retries).toBeLessThanOrEqual(retries);
          if (plan.retries > 0) expect(plan.timeoutMs).toBeGreaterThanOrEqual(Math.min(perRequest, MIN_ATTEMPT_MS));
        },
      ),
    );
  });
});
