// unfence_after_reboot's decision (agents/switch-port/unfence.ts) on the values the switch and the host give,
// and the parse of /proc/uptime as the kernel writes it. The same rule against net-snmp's snmpd and a node in
// a fresh time namespace: test/integration/switch-unfence.test.ts.
import { describe, expect, it } from 'vitest';
import { namesThisHost } from '../../../lib/host-name.js';
import { hostRefusal, parseProcUptime, unfenceRefusal, type PortDownTime, type UnfenceFacts } from '../../../agents/switch-port/unfence.js';

/** A port administratively down whose link the switch shows down(2), unless `oper` says otherwise. */
const down = (plug: string, sysUpTime: number | undefined, ifLastChange: number | undefined, oper: number | undefined = 2): PortDownTime => ({ plug, admin: 'off', oper, sysUpTime, ifLastChange });
const facts = (hostUptimeS: number, ports: PortDownTime[], nodename = 'node2', hostname = 'node2'): UnfenceFacts => ({ nodename, hostname, hostUptimeS, ports });
const message = (f: UnfenceFacts) => unfenceRefusal(f)?.message;

describe('parseProcUptime', () => {
  it('reads the first field of the kernel\'s line, to the hundredth', () => {
    expect(parseProcUptime('34472.17 49058.26\n')).toBe(34472.17);
    expect(parseProcUptime('0.17 49058.26\n')).toBe(0.17);
  });

  it.each([
    ['', 'empty'],
    ['34472.17\n', 'one field'],
    ['34472.17 49058.26', 'no newline'],
    ['34472 49058.26\n', 'no hundredths'],
    ['-1.00 2.00\n', 'negative'],
    ['1e3.00 2.00\n', 'exponent'],
    [' 34472.17 49058.26\n', 'leading space'],
    ['34472.17 49058.26\n0.00 0.00\n', 'two lines'],
  ])('refuses %j (%s) as an uptime', (text) => {
    const err = (() => {
      try {
        parseProcUptime(text);
      } catch (e) {
        return e as Error;
      }
      return undefined;
    })();
    expect(err?.message).toMatch(/^unfence_after_reboot: cannot read this host's uptime: \/proc\/uptime says /);
  });
});

describe('namesThisHost', () => {
  it.each([
    ['node2', 'node2', true],
    ['NODE2', 'node2', true],
    ['node2', 'node2.example.com', true],
    ['node2.example.com', 'node2', true],
    ['Node2.Example.com', 'node2.example.COM', true],
    ['node2.a.example', 'node2.b.example', false],
    ['node2', 'node20', false],
    ['node2', 'node20.example.com', false],
    ['node', 'node2', false],
    ['node2.', 'node2', true], // a root-terminated name: its first label is node2
    ['', 'node2', false],
  ])('%j on host %j: %s', (nodename, hostname, same) => {
    expect(namesThisHost(nodename, hostname)).toBe(same);
  });
});

describe('hostRefusal', () => {
  it('refuses without nodename, and on any other host, naming both', () => {
    expect(hostRefusal(undefined, 'node1')?.message).toBe('unfence_after_reboot needs nodename (the node being unfenced)');
    expect(hostRefusal('', 'node1')?.message).toBe('unfence_after_reboot needs nodename (the node being unfenced)');
    expect(hostRefusal('node2', 'node1')?.message).toBe('unfence_after_reboot: the unfence of node2 must run on node2 itself, after its reboot (this host is node1)');
    expect(hostRefusal('node2', 'node1')?.kind).toBe('bad-input');
    expect(hostRefusal('node2', 'node2.example.com')).toBeUndefined();
  });
});

describe('unfenceRefusal', () => {
  it('allows when the host has been up less time than every port has been down', () => {
    // sysUpTime 1000 s; ports down 100 s and 50 s; host up 49.99 s
    expect(unfenceRefusal(facts(49.99, [down('11', 100_000, 90_000), down('12', 100_000, 95_000)]))).toBeUndefined();
  });

  it('refuses a host up as long as, or longer than, a port has been down (the boundary is a refusal)', () => {
    expect(message(facts(50, [down('11', 100_000, 95_000)]))).toBe('unfence_after_reboot: node2 has been up 50 s, since before port 11 went down 50 s ago: reboot it, then unfence');
    expect(message(facts(3605.99, [down('12', 100_000, 95_900)]))).toBe('unfence_after_reboot: node2 has been up 3605 s, since before port 12 went down 41 s ago: reboot it, then unfence');
  });

  it('refuses for the first port that fails, even when the others pass', () => {
    expect(message(facts(10, [down('a', 100_000, 0), down('b', 100_000, 99_500)]))).toMatch(/before port b went down 5 s ago/);
  });

  it('looks at no times of a port that is already up', () => {
    expect(unfenceRefusal(facts(10_000, [{ plug: '11', admin: 'on', oper: undefined, sysUpTime: undefined, ifLastChange: undefined }]))).toBeUndefined();
  });

  it('fails closed on missing, negative, fractional or out-of-range TimeTicks, and on ifLastChange after sysUpTime', () => {
    expect(message(facts(1, [down('11', undefined, 0)]))).toBe('unfence_after_reboot: the switch gave no sysUpTime with port 11, so how long it has been down is unknown');
    expect(message(facts(1, [down('11', 100_000, undefined)]))).toBe('unfence_after_reboot: the switch gave no ifLastChange for port 11, so how long it has been down is unknown');
    expect(message(facts(1, [down('11', 100_000, -1)]))).toMatch(/no ifLastChange for port 11/);
    expect(message(facts(1, [down('11', 100_000.5, 0)]))).toMatch(/no sysUpTime with port 11/);
    expect(message(facts(1, [down('11', 2 ** 32, 0)]))).toMatch(/no sysUpTime with port 11/);
    expect(message(facts(1, [down('11', 100, 101)]))).toBe("unfence_after_reboot: the switch's ifLastChange of port 11 (101) is later than its sysUpTime (100), so how long the port has been down is unknown");
  });

  it('takes the link down as down(2), notPresent(6) or lowerLayerDown(7)', () => {
    for (const oper of [2, 6, 7]) expect(unfenceRefusal(facts(1, [down('11', 100_000, 0, oper)])), String(oper)).toBeUndefined();
  });

  it('refuses while the switch still shows the link of a shut port in another state: its ifLastChange is of the change before', () => {
    // net-snmp right after the SET: ifAdminStatus down(2), ifOperStatus still up(1), ifLastChange the last up.
    expect(message(facts(1, [down('12', 100_000, 0, 1)]))).toBe(
      "unfence_after_reboot: the switch does not show port 12's link down yet (ifOperStatus up(1)), so its ifLastChange does not date the fence: try again in a few seconds",
    );
    expect(message(facts(1, [down('12', 100_000, 0, 5)]))).toMatch(/\(ifOperStatus dormant\(5\)\)/);
    expect(message(facts(1, [{ ...down('12', 100_000, 0), oper: undefined }]))).toMatch(/\(no ifOperStatus\)/);
  });

  it('fails closed on an uptime that is no number', () => {
    expect(message(facts(Number.NaN, [down('11', 100_000, 0)]))).toBe('unfence_after_reboot: cannot tell how long node2 has been up');
    expect(message(facts(-1, [down('11', 100_000, 0)]))).toBe('unfence_after_reboot: cannot tell how long node2 has been up');
  });

  it('checks the host before the ports', () => {
    expect(message(facts(1, [down('11', 100_000, 0)], 'node2', 'node1'))).toMatch(/must run on node2 itself/);
    expect(message({ ...facts(1, [down('11', 100_000, 0)]), nodename: undefined })).toBe('unfence_after_reboot needs nodename (the node being unfenced)');
  });
});
