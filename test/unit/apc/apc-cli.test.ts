// The AOS command line as fence_kit_apc reads it: olStatus lines and Exxx answers (plug lookup: test/unit/plugs). No network.
import { describe, expect, it } from 'vitest';
import { checkCommandResult, cliState, cliStateForList, parseOlStatus, resultCode } from '../../../agents/pdu-apc/apc-cli.js';


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
    expect(() => cliState(d!)).toThrow(expect.objectContaining({ kind: 'unconfirmed' }));
    expect(cliStateForList(d!)).toBe('unknown');
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
    if (expected === 'no error') expect(() => checkCommandResult('olOff 3', text)).not.toThrow();
    else expect(() => checkCommandResult('olOff 3', text)).toThrow(expect.objectContaining({ kind: expected }));
  });
});
