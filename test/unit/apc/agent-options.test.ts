// The two APC agents' options: fence_kit_apc has fence_apc's (the card's command line, SSH only),
// fence_kit_apc_snmp has fence_apc_snmp's; the checks that run before anything is contacted (validate-all).
// No network.
import { describe, expect, it } from 'vitest';
import { readOptions } from '../../../lib/agent/run.js';
import { parseStdin } from '../../../lib/options/parse.js';
import { metadataXml } from '../../../lib/options/metadata.js';
import { apcAgent, apcSnmpAgent, TELNET_REFUSAL } from '../../../agents/pdu-apc/agent.js';
import { snmpVersion } from '../../../lib/options/snmp.js';

const cli = (stdin: string) => readOptions(apcAgent, parseStdin(`${stdin}\naction=status\n`, apcAgent.options), 'fence_kit_apc');
const snmp = (stdin: string) => readOptions(apcSnmpAgent, parseStdin(`${stdin}\naction=status\n`, apcSnmpAgent.options), 'fence_kit_apc_snmp');
const FP = `SHA256:${'a'.repeat(43)}`;
const names = (xml: string) => [...xml.matchAll(/<parameter name="([^"]+)"/g)].map((m) => m[1]);

describe('fence_kit_apc: fence_apc over SSH, never telnet, never SNMP', () => {
  it('declares fence_apc\'s options and no SNMP option; port 22', () => {
    const { options, errors } = cli('ip=pdu1\nplug=3\nssh=1\nusername=apc\npassword=x');
    expect(errors).toEqual([]);
    expect(options.number('ipport')).toBe(22);
    const xml = metadataXml(apcAgent, 'fence_kit_apc');
    for (const name of ['ssh', 'secure', 'identity_file', 'command_prompt', 'cmd_prompt', 'ssh_options', 'switch', 'ssh_path', 'telnet_path']) expect(names(xml)).toContain(name);
    for (const name of ['community', 'snmp_version', 'snmp_priv_passwd', 'snmpget_path']) expect(names(xml)).not.toContain(name);
    expect(xml).toContain('Path to ssh binary (accepted, no effect in fencekit: the SSH client is built in)');
    expect(xml).toContain('Path to telnet binary (accepted, no effect in fencekit: telnet is not supported, set ssh=1)');
  });

  it('accepts fence_apc\'s SSH configuration, with the deprecated names, -c as the prompt, and ssh_path/telnet_path', () => {
    expect(cli('ip=pdu1\nplug=3\nsecure=1\nlogin=apc\npasswd=x\ncmd_prompt=apc>').errors).toEqual([]);
    expect(cli(`ip=pdu1\nplug=3\nssh=1\nusername=apc\nidentity_file=/root/.ssh/id\nssh_host_key_fingerprint=${FP}`).errors).toEqual([]);
    expect(cli('ip=pdu1\nplug=3\nssh=1\nusername=apc\npassword=x\nssh_path=/usr/bin/ssh\ntelnet_path=/usr/bin/telnet\nswitch=1').errors).toEqual([]);
    expect(apcAgent.options.find((o) => o.short === 'c')?.name).toBe('command_prompt');
  });

  it.each([
    ['username=apc\npassword=x'],
    ['login=apc\npasswd=x'],
    ['username=apc\npassword=x\nipport=23\ntelnet_path=/usr/bin/telnet'],
    ['ssh=0\nusername=apc\npassword=x'],
    // Whatever else is wrong, the missing ssh=1 is the one line.
    ['switch=x\ncommand_prompt=apc('],
  ])('without ssh=1 (%j) refuses with the one telnet line', (stdin) => {
    expect(cli(`ip=pdu1\nplug=3\n${stdin}`).errors).toEqual([TELNET_REFUSAL]);
  });

  it("the telnet refusal names the option and both ways on, and is one line", () => {
    expect(TELNET_REFUSAL).toMatch(/^Failed: option 'ssh' \(-x, --ssh\)/);
    expect(TELNET_REFUSAL).toContain('ssh=1');
    expect(TELNET_REFUSAL).toContain('fence_kit_apc_snmp');
    expect(TELNET_REFUSAL).not.toContain('\n');
  });

  it('an SNMP option given to fence_kit_apc is an unknown key: a warning without its value, never SNMP', () => {
    const raw = parseStdin('ip=pdu1\nplug=3\nssh=1\nusername=apc\npassword=x\ncommunity=S3cret\naction=status\n', apcAgent.options);
    expect(raw.warnings).toEqual(["Parse error: Ignoring unknown option 'community'"]);
    expect(readOptions(apcAgent, raw, 'fence_kit_apc').errors).toEqual([]);
  });

  it.each([
    ['ssh=1\npassword=x', "missing required option 'username'"],
    ['ssh=1\nusername=apc', "needs 'password'"],
    ['ssh=1\nusername=apc\npassword=x\nssh_options=-1 -c blowfish', 'SSH protocol 1'],
    ['ssh=1\nusername=apc\npassword=x\nssh_options=-o StrictHostKeyChecking=no', 'changed host key'],
    ['ssh=1\nusername=apc\npassword=x\nssh_host_key_fingerprint=MD5:aa:bb', 'SHA256:'],
    ['ssh=1\nusername=apc\npassword=x\ncommand_prompt=apc(', 'not a valid regular expression'],
    ['ssh=1\nusername=apc\npassword=x\nswitch=two', "'switch' (-s, --switch) must be a number"],
    ['ssh=1\nusername=apc\npassword=x\nssh_options=-o StrictHostKeyChecking=accept-new -o UserKnownHostsFile=/dev/null', 'accept-new with no known_hosts file'],
    ['ssh=1\nusername=apc\npassword=x\nssh_accept_new_host_key=1\nssh_known_hosts=/dev/null', 'accept-new with no known_hosts file'],
    ['ssh=1\nusername=apc\npassword=x\nswitch=2', "'switch' (-s, --switch) is 2, but the card's command line has no switches"],
  ])('refuses %j before contacting anything', (stdin, message) => {
    expect(cli(`ip=pdu1\nplug=3\n${stdin}`).errors.join('\n')).toContain(message);
  });
});

describe('fence_kit_apc_snmp: fence_apc_snmp over SNMP', () => {
  it("has fence_apc_snmp's defaults (version 1, community private, port 161) and no SSH option", () => {
    const { options, errors } = snmp('ip=pdu1\nplug=3');
    expect(errors).toEqual([]);
    expect(options.string('snmp_version')).toBe('1');
    expect(options.string('community')).toBe('private');
    expect(options.number('ipport')).toBe(161);
    const xml = metadataXml(apcSnmpAgent, 'fence_kit_apc_snmp');
    for (const name of ['snmp_version', 'community', 'snmp_priv_passwd', 'switch', 'snmpget_path', 'snmpset_path', 'snmpwalk_path']) expect(names(xml)).toContain(name);
    for (const name of ['ssh', 'secure', 'identity_file', 'command_prompt', 'ssh_options', 'telnet_path']) expect(names(xml)).not.toContain(name);
    for (const tool of ['snmpget', 'snmpset', 'snmpwalk']) expect(xml).toContain(`Path to ${tool} binary (accepted, no effect in fencekit: fencekit speaks SNMP itself)`);
  });

  it('accepts the net-snmp tool paths, which change nothing', () => {
    const { options, errors } = snmp('ip=pdu1\nplug=3\nsnmpget_path=/usr/bin/snmpget\nsnmpset_path=/x\nsnmpwalk_path=/y');
    expect(errors).toEqual([]);
    expect(snmpVersion(options)).toBe('1');
  });

  it('ssh=1 given to fence_kit_apc_snmp is an unknown key, as for fence_apc_snmp', () => {
    const raw = parseStdin('ip=pdu1\nplug=3\nssh=1\naction=status\n', apcSnmpAgent.options);
    expect(raw.warnings).toEqual(["Parse error: Ignoring unknown option 'ssh'"]);
  });

  it('username and password with snmp_version=3 are SNMPv3; with community, that community; switch=1 is harmless', () => {
    const v3 = snmp('ip=pdu1\nplug=3\nusername=u\npassword=authpass1\nsnmp_version=3');
    expect(v3.errors).toEqual([]);
    expect(snmpVersion(v3.options)).toBe('3');
    const v1 = snmp('ip=pdu1\nplug=3\nusername=u\npassword=authpass1\ncommunity=c1');
    expect(v1.errors).toEqual([]);
    expect(snmpVersion(v1.options)).toBe('1');
    expect(snmp('ip=pdu1\nplug=3\nswitch=1').errors).toEqual([]);
  });

  it('the credentials-without-version refusal is one line, whatever else is wrong', () => {
    expect(snmp('ip=pdu1\nplug=3\nusername=u\npassword=p\nswitch=x').errors).toHaveLength(1);
  });

  it.each([
    ['snmp_version=3', "needs 'username'"],
    ['switch=two', "'switch' (-s, --switch) must be a number"],
    ['username=apc\npassword=x', "given without 'community' or 'snmp_version'"],
    ['login=apc\npasswd=x', "'username', 'password' given without"],
    ['username=apc', "'username' given without"],
    ['password_script=/bin/pw', "'password_script' given without"],
    ['snmp_version=3\nusername=u\npassword=authpass1\nsnmp_sec_level=authPriv', "needs 'snmp_priv_passwd'"],
  ])('refuses %j before contacting anything', (stdin, message) => {
    expect(snmp(`ip=pdu1\nplug=3\n${stdin}`).errors.join('\n')).toContain(message);
  });
});
