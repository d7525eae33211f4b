// Every way an SNMP request can fail, as one FenceError kind each. Pure: net-snmp's errors are recognised
// by their `name` (set as a string in its source, so it survives bundling) and their status/code numbers,
// which are protocol constants; nothing here loads net-snmp or touches the network.
import { FenceError } from '../errors.js';
import type { AttemptPlan } from './attempts.js';

/**
 * The object asked for does not exist on the device (v1 noSuchName, v2c/v3 noSuchObject/noSuchInstance,
 * or a refused SET whose object a GET then did not find). Kind 'no-such-plug': for an agent the object is
 * almost always a plug's row; catch the class to map it otherwise.
 */
export class SnmpNoSuchObjectError extends FenceError {
  readonly oid: string;
  constructor(oid: string, peer: string, detail: string) {
    super('no-such-plug', `${peer} has no object ${oid} (${detail})`);
    this.oid = oid;
    this.name = 'SnmpNoSuchObjectError';
  }
}

// error-status values (RFC 3416 §3; 0-5 are also SNMPv1's, RFC 1157 §4.1.1).
export const ErrorStatus = {
  tooBig: 1,
  noSuchName: 2,
  badValue: 3,
  readOnly: 4,
  genErr: 5,
  noAccess: 6,
  wrongType: 7,
  wrongLength: 8,
  wrongEncoding: 9,
  wrongValue: 10,
  noCreation: 11,
  inconsistentValue: 12,
  resourceUnavailable: 13,
  commitFailed: 14,
  undoFailed: 15,
  authorizationError: 16,
  notWritable: 17,
  inconsistentName: 18,
} as const;

const STATUS_NAME = new Map<number, string>(Object.entries(ErrorStatus).map(([name, code]) => [code, name]));

export function errorStatusName(status: number): string {
  return STATUS_NAME.get(status) ?? `error-status ${status}`;
}

/**
 * What an error-status says for fencing:
 *  missing  the object is not there (for a SET this may also be a v1 agent folding "no write access" into
 *           noSuchName, RFC 3584 §4.4, so the client checks with a GET before believing it);
 *  denied   the object is there but this community/user may not write it;
 *  refused  the device understood and said no (bad value, failed commit, general error).
 */
export type StatusMeaning = 'missing' | 'denied' | 'refused';

export function statusMeaning(status: number): StatusMeaning {
  switch (status) {
    case ErrorStatus.noSuchName:
    case ErrorStatus.noCreation:
    case ErrorStatus.inconsistentName:
      return 'missing';
    case ErrorStatus.noAccess:
    case ErrorStatus.notWritable:
    case ErrorStatus.authorizationError:
    case ErrorStatus.readOnly:
      return 'denied';
    default:
      return 'refused';
  }
}

// net-snmp's ResponseInvalidCode values that mean "your credentials are wrong" (index.js, 3.29).
const RESPONSE_COULD_NOT_DECRYPT = 4;
const RESPONSE_AUTH_FAILURE = 5; // also carries USM reports: unknown user, wrong digest, decryption error

export type SnmpOperation = 'get' | 'set' | 'subtree';

/** Everything a failure message needs to say where and what. */
export interface RequestContext {
  operation: SnmpOperation;
  oids: readonly string[];
  peer: string; // "udp:127.0.0.1:161"
  version: '1' | '2c' | '3';
  /** Whether this client ever got an answer from the peer: decides 'unreachable' versus 'timeout'. */
  answeredBefore: boolean;
  /** v3 only: the agent answered engine discovery (an unauthenticated exchange any agent answers). */
  engineDiscovered: boolean;
  plan: AttemptPlan;
}

function what(ctx: RequestContext): string {
  const oids = ctx.oids.length > 3 ? `${ctx.oids.slice(0, 3).join(', ')}, ...` : ctx.oids.join(', ');
  return `SNMP v${ctx.version} ${ctx.operation} ${oids}`;
}

/**
 * No answer in time. The peer answered before on this client: 'timeout'. Nothing ever answered:
 * 'unreachable', and since v1/v2c agents drop a request with a wrong community without a word (RFC 3584
 * §5.2.1 only counts it in snmpInBadCommunityNames), the message says so. A v3 agent that answered engine
 * discovery but never the encrypted request is alive and dropping what it cannot decrypt: net-snmp's
 * snmpd 5.9 sends no usmStatsDecryptionErrors report for a wrong privacy password, it logs "error parsing
 * ScopedPDU" and stays silent. That is 'auth'.
 */
export function noAnswerError(ctx: RequestContext, why: string): FenceError {
  const attempts = `${ctx.plan.retries + 1} attempt${ctx.plan.retries === 0 ? '' : 's'} of ${ctx.plan.timeoutMs} ms`;
  if (ctx.answeredBefore) {
    return new FenceError('timeout', `${what(ctx)} to ${ctx.peer} timed out (${why}; ${attempts})`);
  }
  if (ctx.version === '3' && ctx.engineDiscovered) {
    return new FenceError(
      'auth',
      `${ctx.peer} answered SNMPv3 engine discovery but not the encrypted ${ctx.operation} (${why}; ${attempts}): ` +
        'the privacy password or protocol is probably wrong',
    );
  }
  const hint =
    ctx.version === '3'
      ? ''
      : `; SNMP v${ctx.version} agents ignore a wrong community, so the community may be wrong`;
  return new FenceError('unreachable', `no answer from ${ctx.peer} to ${what(ctx)} (${why}; ${attempts})${hint}`);
}

function failedOid(message: string, ctx: RequestContext): string {
  // net-snmp's RequestFailedError message is "StatusName: OID" when the error-index names a varbind.
  const m = /:\s*([0-9][0-9.]*)\s*$/.exec(message);
  return m ? m[1]! : ctx.oids.join(', ');
}

interface ErrorShape {
  name?: unknown;
  message?: unknown;
  status?: unknown;
  code?: unknown;
}

/** Turn anything net-snmp (or the socket under it) reports into one FenceError. */
export function classifySnmpFailure(err: unknown, ctx: RequestContext): FenceError {
  if (err instanceof FenceError) return err;
  const e = (typeof err === 'object' && err !== null ? err : {}) as ErrorShape;
  const message = typeof e.message === 'string' ? e.message : String(err);

  switch (e.name) {
    case 'RequestTimedOutError':
      return noAnswerError(ctx, message.toLowerCase());

    case 'RequestFailedError': {
      const status = typeof e.status === 'number' ? e.status : ErrorStatus.genErr;
      const statusName = errorStatusName(status);
      const oid = failedOid(message, ctx);
      const meaning = statusMeaning(status);
      if (ctx.operation === 'set' && meaning !== 'refused') {
        return new FenceError(
          'privilege',
          `${ctx.peer} refused to write ${oid} (${statusName}): the community or SNMPv3 user has no write access, or the object is not writable`,
          { cause: err },
        );
      }
      if (meaning === 'missing') return new SnmpNoSuchObjectError(oid, ctx.peer, statusName);
      if (meaning === 'denied') {
        return new FenceError('privilege', `${ctx.peer} denied ${what(ctx)} (${statusName})`, { cause: err });
      }
      return new FenceError('device-refused', `${ctx.peer} refused ${what(ctx)}: ${statusName} at ${oid}`, {
        cause: err,
      });
    }

    case 'ResponseInvalidError':
      if (e.code === RESPONSE_AUTH_FAILURE || e.code === RESPONSE_COULD_NOT_DECRYPT) {
        return new FenceError(
          'auth',
          `${ctx.peer} rejected the SNMPv3 credentials: ${message} (check the user name, security level, protocols and passwords)`,
          { cause: err },
        );
      }
      // A reply we cannot trust (wrong OIDs, wrong version, garbled): we do not know what the device did.
      return new FenceError('unconfirmed', `invalid answer from ${ctx.peer} to ${what(ctx)}: ${message}`, {
        cause: err,
      });

    default:
      // Socket-level failures from dgram: ENOTFOUND, EHOSTUNREACH, ENETUNREACH, EADDRNOTAVAIL, ...
      if (typeof e.code === 'string' && /^E[A-Z0-9_]+$/.test(e.code)) {
        return new FenceError('unreachable', `cannot send to ${ctx.peer}: ${e.code} (${message})`, { cause: err });
      }
      return new FenceError('internal', `${what(ctx)} to ${ctx.peer} failed: ${message}`, { cause: err });
  }
}
