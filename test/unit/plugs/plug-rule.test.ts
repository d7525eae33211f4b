// The one plug rule of every agent that addresses plugs (lib/agent/plugs.ts): all digits is a number, anything
// else an exact name, and a name two plugs carry is refused with a request to name it by number; a state is
// on or off only for the device's own two values. Checked on
// the rule itself and on each agent's use of it (APC command line, APC SNMP names column, IF-MIB name
// columns), each with its own words. No network.
import { describe, expect, it } from 'vitest';
import { listedState, plugNumber, plugState, rowNamed, splitPlugList } from '../../../lib/agent/plugs.js';
import { FenceError } from '../../../lib/errors.js';
import { findOutlet, parseOlStatus } from '../../../agents/pdu-apc/apc-cli.js';
import { parseSwitchOutlet } from '../../../agents/pdu-apc/outlet.js';
import { FAMILIES, addressOfRow, resolveName } from '../../../agents/pdu-apc/powernet.js';
import { matchPortName, plugAsIfIndex } from '../../../agents/switch-port/if-mib.js';

const refused = (kind: string, message?: RegExp) => expect.objectContaining({ kind, ...(message ? { message: expect.stringMatching(message) } : {}) });

describe('the rule', () => {
  it('splits the plug list on plug_separator, blanks dropped', () => {
    expect(splitPlugList('1, 2,,3 ', undefined)).toEqual(['1', '2', '3']);
    expect(splitPlugList('a:1;b', ';')).toEqual(['a:1', 'b']);
    expect(splitPlugList('1,2', '')).toEqual(['1', '2']);
    expect(splitPlugList(undefined, ',')).toEqual([]);
  });

  it('reads a plug of digits only as a number, as written (01 is 1), and anything else as a name', () => {
    expect(plugNumber('7')).toBe(7);
    expect(plugNumber('01')).toBe(1);
    for (const name of ['', ' 7', '7a', '1/0/1', '1:2', '-1', '1.5']) expect(plugNumber(name)).toBeUndefined();
  });

  it('matches a name exactly and once; an empty name names nothing', () => {
    const rows = [{ n: 'web1' }, { n: 'db 1' }, { n: '' }];
    const never = () => new FenceError('internal', 'not ambiguous');
    expect(rowNamed(rows, 'db 1', (r) => r.n, never)).toBe(rows[1]);
    expect(rowNamed(rows, 'WEB1', (r) => r.n, never)).toBeUndefined();
    expect(rowNamed(rows, 'web', (r) => r.n, never)).toBeUndefined();
    expect(rowNamed(rows, '', (r) => r.n, never)).toBeUndefined();
  });

  it('refuses a name two rows carry with the caller\'s error, which is given every match', () => {
    const rows = [{ i: 3, n: 'twin' }, { i: 1, n: 'x' }, { i: 4, n: 'twin' }];
    const ambiguous = (m: readonly { i: number }[]) => new FenceError('bad-input', `twin is ${m.map((r) => r.i).join(' and ')}: name one by number`);
    expect(() => rowNamed(rows, 'twin', (r) => r.n, ambiguous)).toThrow(refused('bad-input', /^twin is 3 and 4: name one by number$/));
  });
});

describe('a plug\'s state', () => {
  it('is on or off only for the device\'s own two values; anything else is no state, which a listing shows as unknown', () => {
    expect(plugState(2, 2, 1)).toBe('on');
    expect(plugState(1, 2, 1)).toBe('off');
    for (const v of [0, 3, 4, undefined]) expect(plugState(v, 2, 1)).toBeUndefined();
    expect(plugState('on*', 'on', 'off')).toBeUndefined();
    expect(listedState('off')).toBe('off');
    expect(listedState(undefined)).toBe('unknown');
  });
});

describe('switch:outlet (fence_kit_apc, both transports)', () => {
  it('reads two digit runs, each as written; anything else is not one', () => {
    expect(parseSwitchOutlet('2:14')).toEqual({ switchId: '2', outlet: '14' });
    expect(parseSwitchOutlet('01:3')).toEqual({ switchId: '01', outlet: '3' });
    for (const plug of ['3', 'a:b', '1:2:3', ':3', '2:', ' 1:2']) expect(parseSwitchOutlet(plug)).toBeUndefined();
  });
});

describe('each agent applies it', () => {
  it('the APC command line: by number, 1:N, or exact name; a name twice is refused', () => {
    const outlets = parseOlStatus('olStatus all\r\nE000: Success\r\n 1: web1: On\r\n 2: node1 psu: Off\r\n 3: a:b: On\r\n10: ten: Off*\r\n');
    expect(findOutlet(outlets, '2').name).toBe('node1 psu');
    expect(findOutlet(outlets, '1:3').name).toBe('a:b');
    expect(findOutlet(outlets, 'node1 psu').number).toBe(2);
    expect(() => findOutlet(outlets, '9')).toThrow(refused('no-such-plug', /lists no outlet 9 \(outlets: 1, 2, 3, 10\)/));
    expect(() => findOutlet(outlets, '2:1')).toThrow(refused('no-such-plug', /names switch 2, but the card's command line has no switches/));
    expect(() => findOutlet(outlets, 'WEB1')).toThrow(refused('no-such-plug', /no outlet named "WEB1"/));
    expect(() => findOutlet([...outlets, { number: 11, name: 'web1', word: 'On' }], 'web1')).toThrow(
      refused('bad-input', /^2 outlets are named "web1" \(1, 11\): name one by number$/),
    );
  });

  it('the APC names column: exact name (fence_apc_snmp\'s quotes stripped), once', () => {
    const rows = [
      { suffix: [1], name: 'web1' },
      { suffix: [2], name: '"node1"' },
      { suffix: [3], name: 'twin' },
      { suffix: [4], name: 'twin' },
    ];
    expect(resolveName(FAMILIES.rpdu, 'web1', rows)).toEqual({ outlet: 1 });
    expect(resolveName(FAMILIES.rpdu, 'node1', rows)).toEqual({ outlet: 2 });
    expect(() => resolveName(FAMILIES.rpdu, 'Web1', rows)).toThrow(refused('no-such-plug', /no outlet named "Web1"/));
    expect(() => resolveName(FAMILIES.rpdu, 'twin', rows)).toThrow(refused('bad-input', /^2 outlets are named "twin" \(3, 4\): name one by number$/));
    expect(resolveName(FAMILIES.msp, 'x', [{ suffix: [2, 1, 7], name: 'x' }])).toEqual({ outlet: 7, switchId: 2 });
    expect(addressOfRow(FAMILIES.rpdu, [1, 2])).toBeUndefined();
  });

  it('IF-MIB: an all-digit plug is the ifIndex (fence_ifmib), a name matches one column exactly, never an empty ifAlias, and once', () => {
    expect(plugAsIfIndex('11')).toBe(11);
    expect(plugAsIfIndex('0')).toBeUndefined();
    expect(plugAsIfIndex('1/0/1')).toBeUndefined();
    expect(plugAsIfIndex('99999999999')).toBeUndefined();
    const descr = new Map([[1, 'lo'], [11, 'GigabitEthernet1/0/1'], [12, 'GigabitEthernet1/0/2']]);
    const alias = new Map([[1, ''], [11, 'node1-iscsi'], [12, ''], [14, 'spare'], [15, 'spare']]);
    expect(matchPortName('GigabitEthernet1/0/2', 'ifDescr', descr)).toBe(12);
    expect(matchPortName('node1-iscsi', 'ifAlias', alias)).toBe(11);
    expect(matchPortName('gigabitethernet1/0/2', 'ifDescr', descr)).toBeUndefined();
    expect(matchPortName('', 'ifAlias', alias)).toBeUndefined();
    expect(() => matchPortName('spare', 'ifAlias', alias)).toThrow(refused('bad-input', /^port name "spare" is ambiguous: ifAlias of ifIndex 14 and 15; use the ifIndex$/));
  });
});
