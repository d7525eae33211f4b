// The shared reader of a FenceError (test/support/fence-errors.ts): a test that expects a refusal must see the
// refusal, and nothing else may pass for one (the copy in switch-device.test.ts cast any rejection to
// FenceError, so a TypeError read as a refusal of kind undefined).
import { describe, expect, it } from 'vitest';
import { FenceError } from '../../../lib/errors.js';
import { fenceFailure } from '../../support/fence-errors.js';

describe('fenceFailure', () => {
  it('returns the FenceError the promise rejects with', async () => {
    const err = new FenceError('timeout', 'x');
    expect(await fenceFailure(Promise.reject(err))).toBe(err);
  });

  it('throws when the promise resolves, and rethrows a rejection that is not a FenceError', async () => {
    await expect(fenceFailure(Promise.resolve('fine'))).rejects.toThrow(/expected a FenceError/);
    const notFence = new TypeError('a bug, not a refusal');
    await expect(fenceFailure(Promise.reject(notFence))).rejects.toBe(notFence);
  });
});
