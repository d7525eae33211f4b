// fence_kit_apc: switched APC PDUs, a peer of fence_apc_snmp (SNMP v1/v2c/v3, the default) and fence_apc
// (the card's SSH command line, with ssh=1), with both agents' option names so that either configuration
// works unchanged. One declaration with a transport switch, as fence_apc itself switches telnet/ssh: the
// outlet, its plug syntax, the multi-plug rule and the state semantics are the same device whichever way
// it is reached, and an alias would only differ in one default.
//
// A node is fenced when every outlet named is confirmed off; an outlet value that is neither on nor off
// is an error, never "off".
import { homedir } from 'node:os';
import { join } from 'node:path';
import { declareAgent, type OperationContext } from '../../lib/agent/declaration.js';
import { FenceError } from '../../lib/errors.js';
import { SNMP_OPTIONS, snmpProtocol, snmpTargetFrom, validateSnmpOptions } from '../../lib/options/snmp.js';
import { acceptNewWithoutFile, parseSshOptions, readOnlyKnownHostsFiles, type SshClientOptions } from '../../lib/ssh/openssh-options.js';
import type { HostKeyCheck } from '../../lib/ssh/session.js';
import { APC_DEFAULTS, APC_OPTIONS, type ApcOptionTypes, type ApcOptions } from './options.js';
import { switchOption } from './outlet.js';

/** fence_apc's prompts ("\n>", "\napc>"), anchored at the end of the output. */
const DEFAULT_PROMPT = '\\n(?:apc)?>';
const FINGERPRINT = /^SHA256:[A-Za-z0-9+/]{43}=?$/;

const SSH_ONLY = ['identity_file', 'command_prompt', 'ssh_options', 'ssh_known_hosts', 'ssh_host_key_fingerprint', 'ssh_accept_new_host_key'];
const SNMP_ONLY = SNMP_OPTIONS.map((o) => o.name);

/** Credentials that fence_apc uses to log into the card's command line, and SNMPv3 as its user. */
const CREDENTIALS = ['username', 'password', 'password_script'];

/** The `switch` option's own check, on either transport. */
function switchErrors(options: ApcOptions, ssh: boolean): string[] {
  let switchId: number | undefined;
  try {
    switchId = switchOption(options.string('switch'));
  } catch (err) {
    return [`Failed: ${(err as Error).message}`];
  }
  // The card's command line (olOn N) addresses the outlets of the unit it runs on, and nothing else.
  if (ssh && switchId !== undefined && switchId !== 1) {
    return [`Failed: option 'switch' (-s, --switch) is ${switchId}, but the card's command line (ssh=1) has no switches: it would switch outlets of unit 1; leave 'switch' out`];
  }
  return [];
}

/** Where the host key is checked and how, from the agent's options and ssh_options (the agent's win). */
function hostKeyCheckOf(options: ApcOptions, parsed: SshClientOptions): HostKeyCheck {
  return {
    knownHostsFile:
      options.string('ssh_known_hosts') ?? (parsed.knownHostsFile !== undefined ? parsed.knownHostsFile : join(homedir(), '.ssh', 'known_hosts')),
    readOnlyFiles: readOnlyKnownHostsFiles(parsed),
    fingerprint: options.string('ssh_host_key_fingerprint'),
    policy: options.flag('ssh_accept_new_host_key') ? 'accept-new' : (parsed.hostKeyPolicy ?? 'strict'),
  };
}

function validateSsh(options: ApcOptions): string[] {
  const errors: string[] = switchErrors(options, true);
  if (!options.has('username')) errors.push("Failed: ssh=1 needs 'username' (-l, --username)");
  if (!options.has('password') && !options.has('password_script') && !options.has('identity_file')) {
    errors.push("Failed: ssh=1 needs 'password' (-p), 'password_script' (-S) or 'identity_file' (-k)");
  }
  const prompt = options.string('command_prompt');
  if (prompt !== undefined) {
    try {
      new RegExp(prompt);
    } catch {
      errors.push("Failed: option 'command_prompt' is not a valid regular expression");
    }
  }
  const fingerprint = options.string('ssh_host_key_fingerprint');
  if (fingerprint !== undefined && !FINGERPRINT.test(fingerprint)) {
    errors.push("Failed: option 'ssh_host_key_fingerprint' must look like SHA256:<43 base64 characters> (ssh-keygen -lf)");
  }
  try {
    const check = hostKeyCheckOf(options, parseSshOptions(options.string('ssh_options')));
    const refusal = acceptNewWithoutFile(check.policy, check.knownHostsFile, check.fingerprint);
    if (refusal) errors.push(`Failed: ${refusal.message}`);
  } catch (err) {
    errors.push(`Failed: ${(err as Error).message}`);
  }
  const snmpGiven = SNMP_ONLY.filter((n) => options.given.has(n));
  if (snmpGiven.length > 0) errors.push(`Failed: ${snmpGiven.map((n) => `'${n}'`).join(', ')} apply to SNMP only, but ssh=1 is set`);
  return errors;
}

function validate(options: ApcOptions): string[] {
  if (options.flag('ssh')) return validateSsh(options);
  // fence_apc logs into the card with these (telnet, or SSH with ssh=1); fence_apc_snmp ignores them and
  // sends SNMP v1 with community "private". Either guess can be the wrong protocol: the user says which.
  const credentials = CREDENTIALS.filter((n) => options.given.has(n));
  if (credentials.length > 0 && !options.given.has('community') && !options.given.has('snmp_version')) {
    return [
      `Failed: ${credentials.map((n) => `'${n}'`).join(', ')} given without 'ssh', 'community' or 'snmp_version' does not say which protocol to use: set ssh=1 for the card's SSH command line, snmp_version=3 for SNMPv3 with these credentials, or community=... for SNMP v1/v2c (telnet is not supported)`,
    ];
  }
  const sshGiven = SSH_ONLY.filter((n) => options.given.has(n));
  const errors = [...switchErrors(options, false), ...validateSnmpOptions(options)];
  if (sshGiven.length > 0) errors.push(`Failed: ${sshGiven.map((n) => `'${n}'`).join(', ')} apply with ssh=1 only; without it the PDU is reached over SNMP`);
  return errors;
}

async function connectSsh(options: ApcOptions, ctx: OperationContext) {
  const { readFile } = await import('node:fs/promises');
  const parsed = parseSshOptions(options.string('ssh_options'));
  const identity = options.string('identity_file') ?? parsed.identityFile;
  let privateKey: Buffer | undefined;
  if (identity !== undefined) {
    try {
      privateKey = await readFile(identity);
    } catch (err) {
      throw new FenceError('bad-input', `cannot read identity_file ${identity}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
  if (parsed.ignored.length > 0) ctx.logger.debug(`ssh_options without effect here: ${parsed.ignored.join(' ')}`);
  const { SshPdu } = await import('./device.js');
  return SshPdu.open({
    host: options.string('ip')!,
    port: options.given.has('ipport') ? options.number('ipport')! : 22,
    username: options.string('username')!,
    password: options.string('password'),
    privateKey,
    hostKey: hostKeyCheckOf(options, parsed),
    prompt: new RegExp(`(?:${options.string('command_prompt') ?? DEFAULT_PROMPT})[ \\t]*$`),
    deadline: ctx.deadline,
    family: parsed.family,
    algorithms: parsed.algorithms,
    logger: ctx.logger,
  });
}

export const apcAgent = declareAgent<ApcOptionTypes>({
  name: 'fence_kit_apc',
  shortdesc: 'Fence agent for APC switched PDUs over SNMP or SSH',
  longdesc:
    'fence_kit_apc switches outlets of APC switched rack PDUs and MasterSwitch units. By default it uses SNMP v1, v2c or v3 with fence_apc_snmp\'s options and defaults (version 1, community "private", port 161), choosing the outlet tables by sysObjectID as fence_apc_snmp does (rack PDU with the newer rPDU2 tables where present, MasterSwitch, MasterSwitch with firmware 6, MasterSwitch Plus with switch:outlet). With ssh=1 it logs into the card\'s command line (AOS 5 or later, olStatus / olOn / olOff) with a password, a key or keyboard-interactive authentication, and checks the host key against an OpenSSH known_hosts file or a pinned SHA256 fingerprint. Outlets are named by number or by name; when several are given, every one is switched and read back off before success is reported, and an outlet state that is neither on nor off is an error.',
  vendorUrl: 'http://www.apc.com',
  options: APC_OPTIONS,
  defaults: APC_DEFAULTS,
  target: 'plugs',
  validate,
  protocol: (options) => (options.flag('ssh') ? 'SSH (APC command line)' : snmpProtocol(options, 'PowerNet-MIB')),
  async connect(options, ctx) {
    if (options.flag('ssh')) return connectSsh(options, ctx);
    const target = await snmpTargetFrom(options, ctx.logger, ctx.deadline);
    const { SnmpPdu } = await import('./device.js');
    return SnmpPdu.open({ target, switchId: options.string('switch') }, ctx);
  },
});
