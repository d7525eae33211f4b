// fence_kit_apc's options: fence_apc_snmp's defaults, fence_apc's SSH options, and the checks that run
// before anything is contacted (validate-all). No network.
import { describe, expect, it } from 'vitest';
import { readOptions } from '../../../lib/agent/run.js';
import { parseStdin } from '../../../lib/options/parse.js';
import { metadataXml } from '../../../lib/options/metadata.js';
import { apcAgent } from '../../../agents/pdu-apc/agent.js';
import { snmpVersion } from '../../../lib/options/snmp.js';

const check = (stdin: string) => readOptions(apcAgent, parseStdin(`${stdin}\naction=status\n`, apcAgent.options), 'fence_kit_apc');
const FP = `SHA256:${'a'.repeat(43)}`;

describe('fence_kit_apc options', () => {
  it('has fence_apc_snmp\'s defaults: version 1, community private, port 161', () => {
    const { options, errors } = check('ip=pdu1\nplug=3');
    expect(errors).toEqual([]);
    expect(options.string('snmp_version')).toBe('1');
    expect(options.string('community')).toBe('private');
    expect(options.number('ipport')).toBe(161);
    const xml = metadataXml(apcAgent, 'fence_kit_apc');
    for (const name of ['ssh', 'secure', 'identity_file', 'command_prompt', 'cmd_prompt', 'ssh_options', 'switch', 'snmp_version', 'community', 'snmp_priv_passwd']) {
      expect(xml).toContain(`name="${name}"`);
    }
  });

  it('accepts fence_apc\'s SSH configuration, with the deprecated names', () => {
    expect(check('ip=pdu1\nplug=3\nsecure=1\nlogin=apc\npasswd=x\ncmd_prompt=apc>').errors).toEqual([]);
    expect(check(`ip=pdu1\nplug=3\nssh=1\nusername=apc\nidentity_file=/root/.ssh/id\nssh_host_key_fingerprint=${FP}`).errors).toEqual([]);
  });

  it('username and password with snmp_version=3 are SNMPv3; with community, that community; switch=1 is harmless on either transport', () => {
    const v3 = check('ip=pdu1\nplug=3\nusername=u\npassword=authpass1\nsnmp_version=3');
    expect(v3.errors).toEqual([]);
    expect(snmpVersion(v3.options)).toBe('3');
    const v1 = check('ip=pdu1\nplug=3\nusername=u\npassword=authpass1\ncommunity=c1');
    expect(v1.errors).toEqual([]);
    expect(snmpVersion(v1.options)).toBe('1');
    expect(check('ip=pdu1\nplug=3\nswitch=1').errors).toEqual([]);
    expect(check('ip=pdu1\nplug=3\nssh=1\nusername=apc\npassword=x\nswitch=1').errors).toEqual([]);
  });

  it('the ambiguous credentials refusal is one line, whatever else is wrong', () => {
    expect(check('ip=pdu1\nplug=3\nusername=u\npassword=p\nswitch=x').errors).toHaveLength(1);
  });

  it.each([
    ['ssh=1\npassword=x', "needs 'username'"],
    ['ssh=1\nusername=apc', "needs 'password'"],
    ['ssh=1\nusername=apc\npassword=x\ncommunity=private', "'community' apply to SNMP only"],
    ['ssh=1\nusername=apc\npassword=x\nssh_options=-1 -c blowfish', 'SSH protocol 1'],
    ['ssh=1\nusername=apc\npassword=x\nssh_options=-o StrictHostKeyChecking=no', 'changed host key'],
    ['ssh=1\nusername=apc\npassword=x\nssh_host_key_fingerprint=MD5:aa:bb', 'SHA256:'],
    ['ssh=1\nusername=apc\npassword=x\ncommand_prompt=apc(', 'not a valid regular expression'],
    ['identity_file=/root/.ssh/id', 'apply with ssh=1 only'],
    ['snmp_version=3', "needs 'username'"],
    ['switch=two', "'switch' (-s, --switch) must be a number"],
    ['ssh=1\nusername=apc\npassword=x\nssh_options=-o StrictHostKeyChecking=accept-new -o UserKnownHostsFile=/dev/null', 'accept-new with no known_hosts file'],
    ['ssh=1\nusername=apc\npassword=x\nssh_accept_new_host_key=1\nssh_known_hosts=/dev/null', 'accept-new with no known_hosts file'],
    ['ssh=1\nusername=apc\npassword=x\nswitch=2', "'switch' (-s, --switch) is 2, but the card's command line (ssh=1) has no switches"],
    ['username=apc\npassword=x', "without 'ssh', 'community' or 'snmp_version'"],
    ['login=apc\npasswd=x', "'username', 'password' given without"],
    ['username=apc', "'username' given without"],
    ['password_script=/bin/pw', "'password_script' given without"],
    ['snmp_version=3\nusername=u\npassword=authpass1\nsnmp_sec_level=authPriv', "needs 'snmp_priv_passwd'"],
  ])('refuses %j before contacting anything', (stdin, message) => {
    const { errors } = check(`ip=pdu1\nplug=3\n${stdin}`);
    expect(errors.join('\n')).toContain(message);
  });
});
