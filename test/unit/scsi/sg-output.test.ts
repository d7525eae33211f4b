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

describe('declared counts and truncation (constructed answers in sg_persist 1.46\'s format)', () => {
  const full = (n: number, name = (i: number) => `iqn.2026-11.org.fencekit:node${i},i,0x00023d0000${String(i).padStart(2, '0')}`) =>
    ['  PR generation=0x9', ...Array.from({ length: n }, (_, i) => [
      `    Key=0xa1b2${(i + 1).toString(16).padStart(4, '0')}`,
      '      All target ports bit clear',
      '      Relative port address: 0x1',
      i === 0 ? '      << Reservation holder >>\n      scope: LU_SCOPE,  type: Write Exclusive, registrants only' : '      not reservation holder',
      '      Transport Id of initiator:',
      `        iSCSI world wide unique port id: ${name(i)}`,
    ].join('\n'))].join('\n') + '\n';

  it('READ KEYS: the declared count must be the count listed', () => {
    expect(parseReadKeys('  PR generation=0x2, 1 registered reservation key follows:\n    0xa1b20001\n').keys).toEqual(['a1b20001']);
    expect(() => parseReadKeys('  PR generation=0x2, 2 registered reservation keys follow:\n    0xa1b20001\n')).toThrow(/declares 2 keys but lists 1/);
    expect(() => parseReadKeys('  PR generation=0x2, 1 registered reservation key follows:\n    0xa1b20001\n    0xa1b20002\n')).toThrow(/declares 1 keys but lists 2/);
  });
  it('READ KEYS: a count past sg_persist\'s 8 KiB answer is truncation, whatever is listed', () => {
    const keys = Array.from({ length: 1024 }, (_, i) => `    0x${(i + 1).toString(16)}`).join('\n');
    expect(() => parseReadKeys(`  PR generation=0x2, 1024 registered reservation keys follow:\n${keys}\n`)).toThrow(/truncated/);
    expect(parseReadKeys(`  PR generation=0x2, 1023 registered reservation keys follow:\n${keys.split('\n').slice(0, 1023).join('\n')}\n`).keys).toHaveLength(1023);
  });
  it('READ KEYS: no count, a line that is not a key, or a key 0 is not an answer', () => {
    expect(() => parseReadKeys('  PR generation=0x2\n    0xa1b20001\n')).toThrow(/no key count/);
    expect(() => parseReadKeys('  PR generation=0x2, 2 registered reservation keys follow:\n    0xa1b20001\n    garbage\n')).toThrow(/not a key line/);
    expect(() => parseReadKeys('  PR generation=0x2, 1 registered reservation key follows:\n    0x0\n')).toThrow(/key 0/);
  });
  it('READ FULL STATUS: every descriptor must be whole', () => {
    expect(parseReadFullStatus(full(2)).keys).toEqual(['a1b20001', 'a1b20002']);
    const cut = full(2).replace(/\n      not reservation holder/, '');
    expect(() => parseReadFullStatus(cut)).toThrow(/incomplete READ FULL STATUS descriptor/);
    expect(() => parseReadFullStatus('  PR generation=0x9\n')).toThrow(/neither descriptors nor/);
    expect(() => parseReadFullStatus('  PR generation=0x9\n  No full status descriptors\n' + full(1).split('\n').slice(1).join('\n'))).toThrow(/after "No full status descriptors"/);
    expect(() => parseReadFullStatus(full(1).replace('Key=0xa1b20001', 'Key=0x0'))).toThrow(/key 0/);
  });
  it('READ FULL STATUS: registrations that cannot fit sg_persist\'s 8 KiB answer are truncation (long iSCSI names, ~90 of them)', () => {
    // Each descriptor here: 24 bytes + a TransportID of 4 + the 89-byte name and its NUL padded to 4 = 120 bytes.
    const long = (i: number) => `iqn.2026-11.org.example.storage-cluster-east:node-${String(i).padStart(3, '0')}.rack-17.datacenter,i,0x00023d0000${String(i % 100).padStart(2, '0')}`;
    expect(parseReadFullStatus(full(60, long)).keys).toHaveLength(60);
    expect(() => parseReadFullStatus(full(90, long))).toThrow(/more than sg_persist's 8192-byte answer holds: truncated/);
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
