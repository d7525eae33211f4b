// The ipmitool transport's command line (no secret in argv, ever) and its reading of ipmitool's error text
// (messages as printed by ipmitool 1.8.19 against ipmi_sim). No process is run here.
import { describe, expect, it } from 'vitest';
import { IpmitoolRunner, classifyIpmitoolFailure } from '../../../lib/ipmi/ipmitool.js';

const target = { host: '127.0.0.1', port: 6230, username: 'admin', password: 'p4ss-secret', version: '2.0' as const };

describe('ipmitool command line', () => {
  it('lanplus: -I lanplus -C 3 -L ADMINISTRATOR -E, password only in IPMI_PASSWORD', () => {
    const { file, args, env } = new IpmitoolRunner({ target }).command(['chassis', 'power', 'status'], Date.now() + 10_000);
    expect(file).toBe('/usr/bin/ipmitool');
    expect(args.slice(0, 11)).toEqual(['-I', 'lanplus', '-H', '127.0.0.1', '-p', '6230', '-U', 'admin', '-E', '-C', '3']);
    expect(args).toContain('ADMINISTRATOR');
    expect(args.slice(-3)).toEqual(['chassis', 'power', 'status']);
    expect(args.join(' ')).not.toContain('p4ss');
    expect(env.IPMI_PASSWORD).toBe('p4ss-secret');
  });
  it('a Kg goes in IPMI_KGKEY (-K), unprintable bytes too; never -y or -k, and trailing zero bytes are ipmitool\'s own padding', () => {
    const run = (kg: Buffer) => new IpmitoolRunner({ target: { ...target, kg } }).command(['chassis', 'power', 'status'], Date.now() + 10_000);
    const printable = run(Buffer.from('kgsecret'));
    expect(printable.args).toContain('-K');
    expect(printable.args.join(' ')).not.toContain('kgsecret');
    expect(printable.env.IPMI_KGKEY).toBe('kgsecret');
    const control = run(Buffer.from([1, 2, 0x7f, 0x20, 0, 0]));
    expect(control.env.IPMI_KGKEY).toBe('\x01\x02\x7f ');
    expect(control.args).not.toContain('-y');
    expect(run(Buffer.from('kg-é', 'utf8')).env.IPMI_KGKEY).toBe('kg-é');
  });
  it.each([
    ['a zero byte inside', [0x41, 0, 0x42], /zero byte before its end/],
    ['a zero first byte', [0, 1, 2], /starts with a zero byte/],
    ['only zero bytes', [0, 0], /starts with a zero byte/],
    ['bytes that are not UTF-8', [0xff, 0x41], /not UTF-8/],
  ])('a Kg with %s is refused rather than put on the command line (native transport suggested)', (_what, bytes, why) => {
    const runner = new IpmitoolRunner({ target: { ...target, kg: Buffer.from(bytes) } });
    expect(() => runner.command(['chassis', 'power', 'status'], Date.now() + 10_000)).toThrow(why);
    expect(() => runner.command(['chassis', 'power', 'status'], Date.now() + 10_000)).toThrow(/transport=native/);
  });
  it('a family (inet4_only / inet6_only) is -4 / -6; an address of the other family is refused, not run', () => {
    const args = (t: object) => new IpmitoolRunner({ target: { ...target, ...t } }).command(['chassis', 'power', 'status'], Date.now() + 10_000).args;
    expect(args({ family: 4 })).toContain('-4');
    expect(args({ host: 'bmc.example', family: 6 })).toContain('-6');
    expect(args({})).not.toContain('-4');
    expect(() => args({ family: 6 })).toThrow(/127\.0\.0\.1 is IPv4, and only IPv6 may be used/);
    expect(() => args({ host: '[::1]', family: 4 })).toThrow(/is IPv6, and only IPv4 may be used/);
  });
  it('cipher suite 1 and IPMI 1.5 auth type password need allowInsecure, as suite 0 and auth type none do', () => {
    const cmd = (t: object) => () => new IpmitoolRunner({ target: { ...target, ...t } }).command(['chassis', 'power', 'status'], Date.now() + 10_000);
    expect(cmd({ cipherSuite: 1 })).toThrow(/no integrity/);
    expect(cmd({ version: '1.5', authType: 'password' })).toThrow(/clear text/);
    expect(cmd({ cipherSuite: 1, allowInsecure: true })).not.toThrow();
    expect(cmd({ version: '1.5', authType: 'password', allowInsecure: true })).not.toThrow();
  });
  it('IPMI 1.5: -I lan -A MD5 by default, no -C', () => {
    const { args } = new IpmitoolRunner({ target: { ...target, version: '1.5', privilege: 'operator' } }).command(['chassis', 'power', 'off'], Date.now() + 10_000);
    expect(args).toEqual(expect.arrayContaining(['-I', 'lan', '-A', 'MD5', '-L', 'OPERATOR']));
    expect(args).not.toContain('-C');
  });
  it('sudo preserves only the secret variables, and ipmitool stays the program sudo runs', () => {
    const { file, args } = new IpmitoolRunner({ target, sudoPath: '/usr/bin/sudo' }).command(['chassis', 'power', 'status'], Date.now() + 10_000);
    expect(file).toBe('/usr/bin/sudo');
    expect(args.slice(0, 2)).toEqual(['--preserve-env=IPMI_PASSWORD', '/usr/bin/ipmitool']);
  });
  it('-N is the retransmit interval and -R fits the retries into the time left', () => {
    const { args } = new IpmitoolRunner({ target, retransmitSeconds: 2 }).command(['chassis', 'power', 'status'], Date.now() + 9_000);
    expect(args[args.indexOf('-N') + 1]).toBe('2');
    expect(args[args.indexOf('-R') + 1]).toBe('3');
  });

  it('-N shrinks so that a retransmission fits a short call (2 s left: -N 1 -R 1), never below 1 s', () => {
    const short = new IpmitoolRunner({ target, retransmitSeconds: 2 }).command(['chassis', 'power', 'status'], Date.now() + 2_000).args;
    expect([short[short.indexOf('-N') + 1], short[short.indexOf('-R') + 1]]).toEqual(['1', '1']);
    const tiny = new IpmitoolRunner({ target, retransmitSeconds: 2 }).command(['chassis', 'power', 'status'], Date.now() + 500).args;
    expect(tiny[tiny.indexOf('-N') + 1]).toBe('1');
  });
  it('cipher 0 and 1.5 auth none are refused without allowInsecure', () => {
    expect(() => new IpmitoolRunner({ target: { ...target, cipherSuite: 0 } }).command(['chassis', 'power', 'status'], Date.now() + 5000)).toThrow(
      expect.objectContaining({ kind: 'bad-input' }),
    );
    expect(() => new IpmitoolRunner({ target: { ...target, version: '1.5', authType: 'none' } }).command(['x'], Date.now() + 5000)).toThrow(expect.objectContaining({ kind: 'bad-input' }));
  });
});

describe('ipmitool error text to error kinds', () => {
  const fail = (stderr: string, stdout = '') => classifyIpmitoolFailure({ code: 1, stdout, stderr }, 'chassis power status');
  it('a wrong password (RAKP 2 HMAC is invalid) is auth', () => {
    expect(fail('Loading IANA PEN Registry...\n> RAKP 2 HMAC is invalid\nError: Unable to establish IPMI v2 / RMCP+ session\n').kind).toBe('auth');
  });
  it('an unknown user (RAKP 2 ... unauthorized name) is auth', () => {
    const e = fail('RAKP 2 message indicates an error : unauthorized name\nError: Unable to establish IPMI v2 / RMCP+ session\n');
    expect(e.kind).toBe('auth');
    expect(e.message).toMatch(/unauthorized name/);
  });
  it('IPMI 1.5 wrong password and unknown user are auth', () => {
    expect(fail('Activate Session command failed\nError: Unable to establish LAN session\nError: Unable to establish IPMI v1.5 / RMCP session\n').kind).toBe('auth');
    expect(fail('Invalid user name\nError: Unable to establish LAN session\n').kind).toBe('auth');
  });
  it('insufficient privilege is privilege, also when ipmitool complains about HPM first', () => {
    expect(fail('Get HPM.x Capabilities request failed, compcode = d4\nSet Chassis Power Control to Cycle failed: Insufficient privilege level\n').kind).toBe('privilege');
    expect(fail('Activate Session error:\tRequested privilege level exceeds limit\nError: Unable to establish LAN session\n').kind).toBe('privilege');
  });
  it('nothing answering (only "Unable to establish") is unreachable', () => {
    expect(fail('Error: Unable to establish IPMI v2 / RMCP+ session\n').kind).toBe('unreachable');
  });
  it('a command that got no answer (a lost datagram) is a timeout, retried, not a refusal', () => {
    expect(fail('Unable to set Chassis Power Control to Down/Off\n').kind).toBe('timeout');
    expect(fail('Unable to get Chassis Power Status\n').kind).toBe('timeout');
  });
  it('any other failure is device-refused with ipmitool\'s last line', () => {
    const e = fail('Set Chassis Power Control to Cycle failed: Command not supported in present state\n');
    expect(e.kind).toBe('device-refused');
    expect(e.message).toMatch(/not supported in present state/);
  });
});
