// The AOS command line as fence_kit_apc reads it: olStatus lines, Exxx answers, plug lookup. No network.
import { describe, expect, it } from 'vitest';
import type { FenceError } from '../../../lib/errors.js';
import { checkCommandResult, cliState, cliStateForList, findOutlet, parseOlStatus, resultCode } from '../../../agents/pdu-apc/apc-cli.js';

const kind = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return (err as FenceError).kind;
  }
  return 'no error';
};

// As an AP8941 on AOS 6.4 prints it (echo, code, one line per outlet).
const STATUS = 'olStatus all\r\nE000: Success\r\n 1: web1: On\r\n 2: node1 psu: Off\r\n 3: a:b: On\r\n10: ten: Off*\r\n';

describe('olStatus', () => {
  it('parses N: name: state lines, names with spaces and colons included', () => {
    const outlets = parseOlStatus(STATUS);
    expect(outlets.map((o) => [o.number, o.name, o.word])).toEqual([
      [1, 'web1', 'On'],
      [2, 'node1 psu', 'Off'],
      [3, 'a:b', 'On'],
      [10, 'ten', 'Off*'],
    ]);
  });

  it('refuses a state word that is neither On nor Off', () => {
    const [a, b, , d] = parseOlStatus(STATUS);
    expect(cliState(a!)).toBe('on');
    expect(cliState(b!)).toBe('off');
    expect(kind(() => cliState(d!))).toBe('unconfirmed');
    expect(cliStateForList(d!)).toBe('unknown');
  });

  it('finds outlets by number, legacy 1:N, or exact name', () => {
    const outlets = parseOlStatus(STATUS);
    expect(findOutlet(outlets, '2').name).toBe('node1 psu');
    expect(findOutlet(outlets, '1:3').name).toBe('a:b');
    expect(findOutlet(outlets, 'node1 psu').number).toBe(2);
    expect(kind(() => findOutlet(outlets, '9'))).toBe('no-such-plug');
    expect(kind(() => findOutlet(outlets, '2:1'))).toBe('no-such-plug');
    expect(kind(() => findOutlet(outlets, 'WEB1'))).toBe('no-such-plug');
    expect(kind(() => findOutlet([...outlets, { number: 11, name: 'web1', word: 'On' }], 'web1'))).toBe('bad-input');
  });
});

describe('command answers', () => {
  it('reads Exxx codes', () => {
    expect(resultCode('olOff 3\nE000: Success')).toEqual({ code: 'E000', message: 'Success' });
    expect(resultCode('nothing')).toBeUndefined();
  });

  it.each([
    ['E000: Success', 'no error'],
    ['E001: Successfully Issued', 'no error'],
    ['', 'no error'],
    ['E102: Parameter Error', 'no-such-plug'],
    ['E104: User Level Denial', 'privilege'],
    ['E101: Command Not Found', 'device-refused'],
    ['E100: Command Failed', 'device-refused'],
  ])('%j -> %s', (text, expected) => {
    expect(kind(() => checkCommandResult('olOff 3', text))).toBe(expected);
  });
});
