// Classification of net-snmp failures into FenceError kinds (pure: errors are built here by shape,
// the way net-snmp 3.29 builds them; the integration test proves the shapes against snmpd).
import { describe, expect, it } from 'vitest';
import { FenceError } from '../../../lib/errors.js';
import {
  classifySnmpFailure,
  ErrorStatus,
  errorStatusName,
  noAnswerError,
  SnmpNoSuchObjectError,
  statusMeaning,
  type RequestContext,
} from '../../../lib/snmp/failures.js';

const OID = '1.3.6.1.4.1.318.1.1.12.3.3.1.1.4.3';

function ctx(over: Partial<RequestContext> = {}): RequestContext {
  return {
    operation: 'get',
    oids: [OID],
    peer: 'udp:127.0.0.1:161',
    version: '2c',
    answeredBefore: false,
    engineDiscovered: false,
    plan: { timeoutMs: 1000, retries: 2 },
    ...over,
  };
}

function netSnmpError(name: string, message: string, extra: Record<string, unknown> = {}): Error {
  const err = new Error(message);
  err.name = name;
  return Object.assign(err, extra);
}

const failed = (status: number, oid = OID) =>
  netSnmpError('RequestFailedError', `${errorStatusName(status)}: ${oid}`, { status });

describe('error-status meaning', () => {
  it.each([
    ['noSuchName', 'missing'],
    ['noCreation', 'missing'],
    ['inconsistentName', 'missing'],
    ['noAccess', 'denied'],
    ['notWritable', 'denied'],
    ['authorizationError', 'denied'],
    ['readOnly', 'denied'],
    ['wrongType', 'refused'],
    ['wrongValue', 'refused'],
    ['badValue', 'refused'],
    ['commitFailed', 'refused'],
    ['genErr', 'refused'],
    ['tooBig', 'refused'],
  ] as const)('%s is %s', (name, meaning) => {
    expect(statusMeaning(ErrorStatus[name])).toBe(meaning);
  });
});

describe('classifySnmpFailure', () => {
  it('GET noSuchName (v1) is SnmpNoSuchObjectError naming the OID', () => {
    const err = classifySnmpFailure(failed(ErrorStatus.noSuchName), ctx({ version: '1' }));
    expect(err).toBeInstanceOf(SnmpNoSuchObjectError);
    expect(err.kind).toBe('no-such-plug');
    expect((err as SnmpNoSuchObjectError).oid).toBe(OID);
  });

  it.each(['notWritable', 'noAccess', 'authorizationError', 'readOnly', 'noSuchName', 'noCreation'] as const)(
    'SET %s is privilege (the client then checks whether the object exists)',
    (name) => {
      const err = classifySnmpFailure(failed(ErrorStatus[name]), ctx({ operation: 'set' }));
      expect(err.kind).toBe('privilege');
      expect(err.message).toContain(name);
      expect(err.message).toContain(OID);
    },
  );

  it.each(['wrongType', 'wrongValue', 'badValue', 'commitFailed', 'genErr', 'wrongLength', 'inconsistentValue'] as const)(
    'SET %s is device-refused',
    (name) => {
      const err = classifySnmpFailure(failed(ErrorStatus[name]), ctx({ operation: 'set' }));
      expect(err.kind).toBe('device-refused');
      expect(err.message).toContain(name);
    },
  );

  it('an error-status without an error-index still names the request', () => {
    const err = classifySnmpFailure(netSnmpError('RequestFailedError', 'GeneralError', { status: 5 }), ctx());
    expect(err.kind).toBe('device-refused');
    expect(err.message).toContain(OID);
  });

  it.each(['Unknown User Name', 'Wrong Digest (incorrect password, community or key)', 'Decryption Error'])(
    'a USM report (%s) is auth',
    (report) => {
      const err = classifySnmpFailure(netSnmpError('ResponseInvalidError', report, { code: 5 }), ctx({ version: '3' }));
      expect(err.kind).toBe('auth');
      expect(err.message).toContain(report);
    },
  );

  it('an answer that does not match the request is unconfirmed, not success', () => {
    const err = classifySnmpFailure(
      netSnmpError('ResponseInvalidError', 'Requested OIDs do not match response OIDs', { code: 6 }),
      ctx(),
    );
    expect(err.kind).toBe('unconfirmed');
  });

  it('socket errors are unreachable; anything unknown is internal; FenceErrors pass through', () => {
    const dns = Object.assign(new Error('getaddrinfo ENOTFOUND pdu1'), { code: 'ENOTFOUND' });
    expect(classifySnmpFailure(dns, ctx()).kind).toBe('unreachable');
    expect(classifySnmpFailure(new TypeError('boom'), ctx()).kind).toBe('internal');
    expect(classifySnmpFailure('weird', ctx()).kind).toBe('internal');
    const own = new FenceError('bad-input', 'x');
    expect(classifySnmpFailure(own, ctx())).toBe(own);
  });
});

describe('no answer', () => {
  const timedOut = netSnmpError('RequestTimedOutError', 'Request timed out');

  it('from a peer that never answered is unreachable, with the community hint for v1/v2c', () => {
    for (const version of ['1', '2c'] as const) {
      const err = classifySnmpFailure(timedOut, ctx({ version }));
      expect(err.kind).toBe('unreachable');
      expect(err.message).toMatch(/community may be wrong/);
      expect(err.message).toContain('3 attempts of 1000 ms');
    }
    const v3 = classifySnmpFailure(timedOut, ctx({ version: '3' }));
    expect(v3.kind).toBe('unreachable');
    expect(v3.message).not.toMatch(/community/);
  });

  it('from a peer that answered before is timeout, and says "timed out" for Pacemaker', () => {
    const err = classifySnmpFailure(timedOut, ctx({ answeredBefore: true }));
    expect(err.kind).toBe('timeout');
    expect(err.message).toMatch(/timed out/);
    expect(err.message).not.toMatch(/community/);
  });

  it('after v3 discovery was answered is auth: the agent drops what it cannot decrypt', () => {
    const err = noAnswerError(ctx({ version: '3', engineDiscovered: true }), 'request timed out');
    expect(err.kind).toBe('auth');
    expect(err.message).toMatch(/privacy password/);
  });
});
