// inet4_only / inet6_only (lib/options/address-family.ts): which family the options ask for, the literal of
// the other family refused by validate, a name looked up in the asked family only. The name cases use this
// machine's /etc/hosts (files, no DNS server): a name it gives an IPv4 address and no IPv6 one.
import { describe, expect, it } from 'vitest';
import { ipv4OnlyHostName } from '../../support/hosts.js';
import { addressFamily, resolveInFamily, validateAddressFamily } from '../../../lib/options/address-family.js';
import { ADDRESS_FAMILY_OPTIONS } from '../../../lib/options/common.js';
import { parseArgv, parseStdin } from '../../../lib/options/parse.js';
import { resolveValues } from '../../../lib/options/values.js';
import { FenceError } from '../../../lib/errors.js';
import { silentLogger } from '../../../lib/log.js';
import { snmpTargetFrom, validateSnmpOptions } from '../../../lib/options/snmp.js';
import { SWITCH_DEFAULTS, SWITCH_OPTIONS } from '../../../agents/switch-port/options.js';

const fromArgv = (...argv: string[]) => resolveValues(parseArgv(argv, ADDRESS_FAMILY_OPTIONS), ADDRESS_FAMILY_OPTIONS);
const optionsOf = (...argv: string[]) => fromArgv(...argv).options;


describe('inet4_only / inet6_only', () => {
  it('ask for one family each (-4, -6, and on stdin), none by default', () => {
    expect(addressFamily(optionsOf())).toBeUndefined();
    expect(addressFamily(optionsOf('-4'))).toBe(4);
    expect(addressFamily(optionsOf('--inet6-only'))).toBe(6);
    const stdin = resolveValues(parseStdin('inet6_only=1\n', ADDRESS_FAMILY_OPTIONS), ADDRESS_FAMILY_OPTIONS).options;
    expect(addressFamily(stdin)).toBe(6);
  });

  it('both together are refused with one line naming both', () => {
    expect(fromArgv('-4', '-6').errors).toEqual(["Failed: option 'inet4_only' (-4, --inet4-only) conflicts with 'inet6_only' (-6, --inet6-only): give only one"]);
  });

  it('validate refuses an address of the other family, bracketed or not, naming the option', () => {
    expect(validateAddressFamily(optionsOf('-4'), '::1')).toEqual(["Failed: option 'inet4_only' (-4, --inet4-only): the device address is an IPv6 address"]);
    expect(validateAddressFamily(optionsOf('-4'), '[2001:db8::1]')).toEqual(["Failed: option 'inet4_only' (-4, --inet4-only): the device address is an IPv6 address"]);
    expect(validateAddressFamily(optionsOf('-6'), '192.0.2.1')).toEqual(["Failed: option 'inet6_only' (-6, --inet6-only): the device address is an IPv4 address"]);
  });

  it('validate lets an address of the family, any address without the options, and a name (looked up later) pass', () => {
    expect(validateAddressFamily(optionsOf('-4'), '192.0.2.1')).toEqual([]);
    expect(validateAddressFamily(optionsOf('-6'), '[::1]')).toEqual([]);
    expect(validateAddressFamily(optionsOf(), '::1')).toEqual([]);
    expect(validateAddressFamily(optionsOf('-6'), 'bmc.example')).toEqual([]);
  });

  it('a name with no address in the family asked for is bad input naming the option', async () => {
    const name = ipv4OnlyHostName();
    const err = await resolveInFamily(optionsOf('-6'), name, Date.now() + 5000).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(FenceError);
    expect(err).toMatchObject({ kind: 'bad-input', message: `option 'inet6_only' (-6, --inet6-only): ${name} has no IPv6 address` });
  });

  it('a name with an address in the family, or any name without the options, passes', async () => {
    const name = ipv4OnlyHostName();
    await expect(resolveInFamily(optionsOf('-4'), name, Date.now() + 5000)).resolves.toBeUndefined();
    await expect(resolveInFamily(optionsOf(), 'name.invalid', Date.now() + 5000)).resolves.toBeUndefined();
  });

  it('connect-time check refuses a literal of the other family too (a caller that skipped validate)', async () => {
    await expect(resolveInFamily(optionsOf('-6'), '127.0.0.1', Date.now() + 5000)).rejects.toMatchObject({ kind: 'bad-input' });
    await expect(resolveInFamily(optionsOf('-6'), '::1', Date.now() + 5000)).resolves.toBeUndefined();
  });
});

// An SNMP agent that declares them (fence_apc's peer has them): the shared SNMP options honour them, so the
// agent's declaration is all it takes. fence_kit_switch's list stands in for such an agent here.
describe('inet4_only / inet6_only in the shared SNMP options', () => {
  const SPECS = [...SWITCH_OPTIONS, ...ADDRESS_FAMILY_OPTIONS];
  const snmpOptions = (stdin: string) => {
    const { options, errors } = resolveValues(parseStdin(`community=private\n${stdin}`, SPECS), SPECS, SWITCH_DEFAULTS);
    expect(errors).toEqual([]);
    return options;
  };

  it('validate refuses an address of the other family, naming the option', () => {
    expect(validateSnmpOptions(snmpOptions('ip=::1\ninet4_only=1\n'))).toEqual(["Failed: option 'inet4_only' (-4, --inet4-only): the device address is an IPv6 address"]);
    expect(validateSnmpOptions(snmpOptions('ip=::1\ninet6_only=1\n'))).toEqual([]);
  });

  it('inet6_only sends a name over udp6 (fencing_snmp: udp6:), inet4_only over udp4, and refuses a name without such an address', async () => {
    const name = ipv4OnlyHostName();
    expect((await snmpTargetFrom(snmpOptions(`ip=${name}\ninet4_only=1\n`), silentLogger, Date.now() + 5000)).transport).toBe('udp4');
    expect((await snmpTargetFrom(snmpOptions('ip=::1\ninet6_only=1\n'), silentLogger, Date.now() + 5000)).transport).toBe('udp6');
    await expect(snmpTargetFrom(snmpOptions(`ip=${name}\ninet6_only=1\n`), silentLogger, Date.now() + 5000)).rejects.toMatchObject({
      kind: 'bad-input',
      message: `option 'inet6_only' (-6, --inet6-only): ${name} has no IPv6 address`,
    });
  });
});

