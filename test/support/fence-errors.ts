// How a test reads the FenceError an asynchronous call ends with. One home, so that every test refuses the
// same way when the call succeeds or rejects with something that is not a FenceError (a TypeError must not
// pass as a verdict). Synchronous calls: expect(fn).toThrow(expect.objectContaining({ kind })).
import { FenceError } from '../../lib/errors.js';

/** The FenceError `p` rejects with; throws when it resolves or rejects with anything else. */
export async function fenceFailure(p: Promise<unknown>): Promise<FenceError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof FenceError) return err;
    throw err;
  }
  throw new Error('expected a FenceError, the call succeeded');
}
