// The shared SNMP options (lib/options/snmp.ts) as fence_kit_switch declares them: from stdin text to the
// SnmpTarget the client gets, with fence_ifmib's defaults and fencing_snmp's inference of the v3 level.
import { describe, expect, it } from 'vitest';
import { SWITCH_DEFAULTS, SWITCH_OPTIONS } from '../../../agents/switch-port/options.js';
import { silentLogger } from '../../../lib/log.js';
import { snmpTargetFrom, snmpVersion, validateSnmpOptions } from '../../../lib/options/snmp.js';
import { parseStdin } from '../../../lib/options/parse.js';
import { resolveValues } from '../../../lib/options/values.js';

function optionsOf(stdin: string) {
  const { options, errors } = resolveValues(parseStdin(stdin, SWITCH_OPTIONS), SWITCH_OPTIONS, SWITCH_DEFAULTS);
  expect(errors).toEqual([]);
  return options;
}

describe('SNMP options of fence_kit_switch', () => {
  it('defaults to v2c on port 161, like fence_ifmib', async () => {
    const t = await snmpTargetFrom(optionsOf('ip=198.19.0.1\ncommunity=private\n'), silentLogger, Date.now() + 10_000);
    expect(t).toEqual({ host: '198.19.0.1', port: 161, auth: { version: '2c', community: 'private' }, transport: 'udp4' });
  });

  it('needs a community for v1/v2c, and says so before contacting anything', () => {
    expect(validateSnmpOptions(optionsOf('ip=198.19.0.1\n'))).toEqual([
      "Failed: SNMP v2c needs 'community' (-c, --community), or 'username' for SNMPv3",
    ]);
  });

  it('infers authPriv from a privacy password, as fencing_snmp does, with net-snmp tools’ MD5/DES defaults', async () => {
    const t = await snmpTargetFrom(optionsOf('ip=s1\nsnmp_version=3\nusername=u\npassword=authpass1\nsnmp_priv_passwd=privpass1\n'), silentLogger, Date.now() + 10_000);
    expect(t.auth).toEqual({ version: '3', username: 'u', securityLevel: 'authPriv', authProtocol: 'MD5', authPassword: 'authpass1', privProtocol: 'DES', privPassword: 'privpass1' });
  });

  it('takes a username without a community as SNMPv3 when no version is given', async () => {
    const t = await snmpTargetFrom(optionsOf('ip=s1\nusername=u\npassword=authpass1\nsnmp_auth_prot=SHA\n'), silentLogger, Date.now() + 10_000);
    expect(t.auth).toMatchObject({ version: '3', securityLevel: 'authNoPriv', authProtocol: 'SHA' });
    // An explicit version is never second-guessed.
    expect(validateSnmpOptions(optionsOf('ip=s1\nsnmp_version=2c\nusername=u\n'))[0]).toMatch(/needs 'community'/);
  });

  it('a community that is only an agent default never turns a v3 user into a v1/v2c request', () => {
    const specs = SWITCH_OPTIONS;
    const { options } = resolveValues(parseStdin('ip=s1\nusername=u\npassword=authpass1\n', specs), specs, { ...SWITCH_DEFAULTS, community: 'private' });
    expect(options.string('community')).toBe('private');
    expect(snmpVersion(options)).toBe('3');
    const given = resolveValues(parseStdin('ip=s1\nusername=u\ncommunity=c1\n', specs), specs, SWITCH_DEFAULTS).options;
    expect(snmpVersion(given)).toBe('2c');
  });

  it('names what an SNMPv3 level is missing', () => {
    expect(validateSnmpOptions(optionsOf('ip=s1\nsnmp_version=3\n'))).toEqual(["Failed: SNMPv3 needs 'username' (-l, --username)"]);
    expect(validateSnmpOptions(optionsOf('ip=s1\nsnmp_version=3\nusername=u\nsnmp_sec_level=authPriv\npassword=authpass1\n'))[0]).toMatch(/authPriv needs 'snmp_priv_passwd'/);
  });

  it('uses udp6 for an IPv6 literal', async () => {
    const t = await snmpTargetFrom(optionsOf('ip=fd00::1\ncommunity=c\nipport=1161\n'), silentLogger, Date.now() + 10_000);
    expect(t).toMatchObject({ host: 'fd00::1', port: 1161, transport: 'udp6' });
  });
});
