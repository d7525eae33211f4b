// Errors as values. Every failure an agent can meet has one kind; each kind maps to one exit code and
// one message prefix, so the wording Pacemaker greps ("timed out", "Unrecognised action") lives here once.

export type FenceErrorKind =
  | 'bad-input' // the caller's options are wrong; nothing was contacted
  | 'unreachable' // nothing answered at the device's address
  | 'timeout' // the device answered but not in time, or never reached the state asked for
  | 'auth' // the device refused the credentials
  | 'privilege' // logged in, but the account may not do what was asked
  | 'device-refused' // the device answered an explicit "no" to a command
  | 'no-such-plug' // the outlet / port / host named does not exist on the device
  | 'unconfirmed' // the device's answer was ambiguous: we cannot tell that the node is off
  | 'internal'; // a bug in fencekit itself

export class FenceError extends Error {
  readonly kind: FenceErrorKind;
  /** Waiting cannot help: e.g. nothing listens at the device's port (ICMP port unreachable), as opposed to silence. */
  readonly final: boolean;
  constructor(kind: FenceErrorKind, message: string, options?: { cause?: unknown; final?: boolean }) {
    super(message, options?.cause !== undefined ? { cause: options.cause } : undefined);
    this.kind = kind;
    this.final = options?.final ?? false;
    this.name = 'FenceError';
  }
}

/** Every failure exits 1, as in fence-agents; only `status` uses 2, and that is a result, not an error. */
export const EXIT_SUCCESS = 0;
export const EXIT_FAILURE = 1;
export const EXIT_STATUS_OFF = 2;

const PREFIX: Record<FenceErrorKind, string> = {
  'bad-input': 'Failed: ',
  unreachable: 'Failed: Unable to connect to fencing device: ',
  // Pacemaker maps stderr containing "timed out" to ETIME; keep the phrase in every timeout message.
  timeout: 'Failed: Connection timed out: ',
  auth: 'Failed: Unable to login to fencing device: ',
  privilege: 'Failed: Insufficient privileges: ',
  'device-refused': 'Failed: Device refused the command: ',
  'no-such-plug': 'Failed: Unable to obtain correct plug status or plug is not available: ',
  unconfirmed: 'Failed: Unable to confirm the power state: ',
  internal: 'Failed: Internal error: ',
};

export function errorLine(err: FenceError): string {
  return PREFIX[err.kind] + err.message;
}

/** Wrap anything thrown into a FenceError without losing an existing kind. */
export function asFenceError(err: unknown): FenceError {
  if (err instanceof FenceError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new FenceError('internal', message, { cause: err });
}

/**
 * Whether retrying is pointless: waiting cannot turn this failure into success. True for the device's
 * refusals (auth, privilege, an explicit "no", no such plug), for the caller's bad input, and for any
 * error marked final (nothing listens at the device's port, silence past login_timeout).
 */
export function endsRetries(err: FenceError): boolean {
  return (
    err.final ||
    err.kind === 'auth' ||
    err.kind === 'privilege' ||
    err.kind === 'device-refused' ||
    err.kind === 'no-such-plug' ||
    err.kind === 'bad-input'
  );
}
