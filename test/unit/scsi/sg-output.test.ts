// sg_persist's answers as an LIO iSCSI LUN really gave them (test/fixtures/scsi, captured in a lab guest).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  classifyExit,
  isValidKey,
  normaliseKey,
  parseReadFullStatus,
  parseReadKeys,
  parseReadReservation,
  senseSummary,
} from '../../../lib/scsi/sg-output.js';

const FIXTURES = join(import.meta.dirname, '..', '..', 'fixtures', 'scsi');
const capture = (name: string) => ({
  out: readFileSync(join(FIXTURES, `${name}.out`), 'utf8'),
  err: readFileSync(join(FIXTURES, `${name}.err`), 'utf8'),
  rc: Number(readFileSync(join(FIXTURES, `${name}.rc`), 'utf8')),
});

describe('READ KEYS', () => {
  it('reads no keys from a LUN nobody registered on', () => {
    expect(parseReadKeys(capture('keys-none').out)).toEqual({ generation: 0, keys: [] });
  });
  it('reads both nodes\' keys and the generation', () => {
    expect(parseReadKeys(capture('keys-two').out)).toEqual({ generation: 2, keys: ['a1b20001', 'a1b20002'] });
    expect(parseReadKeys(capture('keys-two-readonly').out).keys).toEqual(['a1b20001', 'a1b20002']);
  });
  it('sees the victim\'s key gone after PREEMPT AND ABORT, from either node', () => {
    expect(parseReadKeys(capture('keys-after-preempt').out)).toEqual({ generation: 3, keys: ['a1b20001'] });
    expect(parseReadKeys(capture('keys-node2-after-preempt').out).keys).toEqual(['a1b20001']);
  });
  it('sees the key a NOT READY register registered anyway (the LIO trap)', () => {
    const c = capture('notready-register');
    expect(c.rc).toBe(2);
    expect(classifyExit(c.rc)).toBe('not-ready');
    expect(parseReadKeys(capture('notready-keys-after-register').out).keys).toContain('a1b20002');
  });
  it('refuses output that is not a READ KEYS answer rather than reading "no keys" from it', () => {
    expect(() => parseReadKeys(capture('no-such-device').out)).toThrow(/PR generation/);
    expect(() => parseReadKeys('')).toThrow();
  });
});

describe('READ RESERVATION', () => {
  it('reads "no reservation"', () => {
    expect(parseReadReservation(capture('reservation-none').out)).toEqual({ generation: 0 });
  });
  it('reads the holder\'s key, scope and type', () => {
    expect(parseReadReservation(capture('reservation-held').out)).toEqual({
      generation: 2,
      reservation: { key: 'a1b20001', scope: 'LU_SCOPE', type: 'Write Exclusive, registrants only' },
    });
  });
});

describe('READ FULL STATUS', () => {
  it('reads an empty LUN', () => {
    expect(parseReadFullStatus(capture('status-none').out)).toEqual({ generation: 0, keys: [], registrations: [] });
  });
  it('reads every registration with its initiator and the holder in one answer', () => {
    const s = parseReadFullStatus(capture('status-two-reserved').out);
    expect(s.generation).toBe(2);
    expect(s.keys).toEqual(['a1b20001', 'a1b20002']);
    expect(s.reservation).toEqual({ key: 'a1b20001', scope: 'LU_SCOPE', type: 'Write Exclusive, registrants only' });
    expect(s.registrations?.map((r) => [r.key, r.holder, r.initiator])).toEqual([
      ['a1b20001', true, 'iqn.2026-11.org.fencekit:node1,i,0x00023d000001'],
      ['a1b20002', false, 'iqn.2026-11.org.fencekit:node2,i,0x00023d000002'],
    ]);
  });
  it('reads the preempting node as the only registrant and holder after PREEMPT AND ABORT', () => {
    const s = parseReadFullStatus(capture('status-after-preempt').out);
    expect(s.keys).toEqual(['a1b20001']);
    expect(s.reservation?.key).toBe('a1b20001');
  });
});

describe('failures', () => {
  it.each([
    ['reserve-conflict', 24, 'reservation-conflict', 'Reservation conflict'],
    ['preempt-unregistered', 24, 'reservation-conflict', 'Reservation conflict'],
    ['notready-register', 2, 'not-ready', 'Device not ready'],
    ['notready-turs', 6, 'unit-attention', 'Unit Attention: Registrations preempted'],
    ['no-such-device', 52, 'cannot-open', 'No such file or directory'],
    ['turs-no-such-device', 52, 'cannot-open', 'No such file or directory'],
  ])('%s: exit %i is %s, sense "%s"', (name, rc, failure, sense) => {
    const c = capture(name);
    expect(c.rc).toBe(rc);
    expect(classifyExit(c.rc)).toBe(failure);
    expect(senseSummary(c.err)).toContain(sense);
  });
  it('a successful PR OUT prints nothing at all: success is only the exit status', () => {
    for (const name of ['register-ignore', 'reserve', 'preempt-abort', 'register-aptpl']) {
      const c = capture(name);
      expect([c.rc, c.out, c.err]).toEqual([0, '', '']);
    }
  });
});

describe('keys', () => {
  it('normalises as sg_persist prints them: lower case, no 0x, no leading zeros', () => {
    expect(normaliseKey('0x00A1B2')).toBe('a1b2');
    expect(normaliseKey('0')).toBe('0');
  });
  it('accepts 1 to 16 hex digits, never 0', () => {
    expect(isValidKey('a1b20001')).toBe(true);
    expect(isValidKey('0xffffffffffffffff')).toBe(true);
    expect(isValidKey('1ffffffffffffffff')).toBe(false);
    expect(isValidKey('0')).toBe(false);
    expect(isValidKey('node2')).toBe(false);
  });
});
