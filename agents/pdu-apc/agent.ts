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
import { CONNECTION_OPTIONS, CORE_OPTIONS, PLUG_OPTIONS } from '../../lib/options/common.js';
import { SNMP_OPTIONS, snmpProtocol, snmpTargetFrom, validateSnmpOptions } from '../../lib/options/snmp.js';
import { withOverrides, type OptionSpec, type OptionTypesOf } from '../../lib/options/spec.js';
import type { Options } from '../../lib/options/values.js';
import { acceptNewWithoutFile, parseSshOptions, readOnlyKnownHostsFiles, type SshClientOptions } from '../../lib/ssh/openssh-options.js';
import type { HostKeyCheck } from '../../lib/ssh/session.js';
import { switchOption } from './powernet.js';

/** fence_apc's prompts ("\n>", "\napc>"), anchored at the end of the output. */
const DEFAULT_PROMPT = '\\n(?:apc)?>';
const FINGERPRINT = /^SHA256:[A-Za-z0-9+/]{43}=?$/;

const SSH_ONLY = ['identity_file', 'command_prompt', 'ssh_options', 'ssh_known_hosts', 'ssh_host_key_fingerprint', 'ssh_accept_new_host_key'];
const SNMP_ONLY = SNMP_OPTIONS.map((o) => o.name);

const APC_OPTIONS = [
  ...CONNECTION_OPTIONS.map((o) =>
    o.name === 'ipport'
      ? withOverrides(o, { helpNote: '161 (SNMP) unless given; 22 with ssh=1.' })
      : o.name === 'username'
        ? withOverrides(o, { helpNote: 'SSH: the card account (required with ssh=1). SNMP: the v3 user (with snmp_version=3).' })
        : o,
  ),
  ...SNMP_OPTIONS.map((o) =>
    o.name === 'community'
      ? withOverrides(o, { helpNote: `${o.helpNote} Without it, SNMP v1/v2c use the factory community, as fence_apc_snmp does.` })
      : o.name === 'snmp_version'
      ? withOverrides(o, {
          helpNote:
            "Default 1, as fence_apc_snmp. With 'username' or 'password' and neither ssh=1 nor 'community', it must be given (3 for SNMPv3): fence_kit_apc does not guess between SNMP and the card's command line.",
        })
      : o,
  ),
  ...PLUG_OPTIONS.map((o) =>
    o.name === 'plug'
      ? withOverrides(o, {
          helpNote:
            'An outlet: its number, switch:number (MasterSwitch Plus), or its exact name. Several outlets, separated by plug_separator (a node with two power supplies), are all switched and confirmed before success is reported.',
        })
      : o,
  ),
  { name: 'switch', short: 's', valueName: 'id', type: 'string', order: 1,
    shortdesc: 'Physical switch number on device',
    helpNote: 'MasterSwitch Plus only; default 1. Also written as plug=switch:outlet. Any other switch than 1 is refused on a PDU without switches and with ssh=1, never ignored.' },
  { name: 'ssh', deprecatedName: 'secure', short: 'x', type: 'boolean', order: 1,
    shortdesc: 'Use SSH connection',
    helpNote: "Drive the card's command line over SSH (fence_apc) instead of SNMP (fence_apc_snmp)." },
  { name: 'identity_file', short: 'k', valueName: 'filename', type: 'string', order: 1,
    shortdesc: 'Identity file (private key) for SSH',
    helpNote: 'An encrypted key is opened with the password as its passphrase.' },
  { name: 'command_prompt', deprecatedName: 'cmd_prompt', valueName: 'prompt', type: 'string', order: 1,
    shortdesc: 'Force Python regex for command prompt',
    helpNote: "A regular expression matched at the end of the card's output. Default: \\n> or \\napc> (fence_apc's). No -c letter here: -c is the SNMP community." },
  { name: 'ssh_options', valueName: 'options', type: 'string', order: 1,
    shortdesc: 'SSH options to use',
    helpNote: 'OpenSSH client arguments, as far as the built-in client can honour them: -o StrictHostKeyChecking=yes|accept-new, -o UserKnownHostsFile=FILE, -o GlobalKnownHostsFile=FILE, -c / -o Ciphers, -o KexAlgorithms, -o HostKeyAlgorithms, -o MACs, -o PubkeyAcceptedAlgorithms, -i, -4, -6; CheckHostIP, ConnectionAttempts, IdentitiesOnly, GSSAPIAuthentication and ControlMaster are accepted and change nothing. Anything else (fence_apc\'s old "-1 -c blowfish") is refused by name.' },
  { name: 'ssh_known_hosts', valueName: 'file', type: 'string', order: 1,
    shortdesc: 'OpenSSH known_hosts file to check the host key against',
    helpNote: 'Default ~/.ssh/known_hosts of the user running the agent; /etc/ssh/ssh_known_hosts is read too, as OpenSSH does. An unknown or changed host key fails the login. Key types it holds for the device are asked for first, as OpenSSH does.' },
  { name: 'ssh_host_key_fingerprint', valueName: 'SHA256:...', type: 'string', order: 1,
    shortdesc: 'Pinned SHA256 fingerprint of the host key',
    helpNote: 'As ssh-keygen -lf prints it. When set, the key must have this fingerprint and known_hosts is not read.' },
  { name: 'ssh_accept_new_host_key', type: 'boolean', order: 1,
    shortdesc: 'Accept and record an unknown host key',
    helpNote: 'OpenSSH accept-new: an unknown key is added to the known_hosts file and used; a changed key still fails. Refused when there is no file to keep the key in (/dev/null, none).' },
  ...CORE_OPTIONS,
] as const satisfies readonly OptionSpec[];

const APC_DEFAULTS = { snmp_version: '1', community: 'private', ipport: '161' } as const;
export type ApcOptionTypes = OptionTypesOf<typeof APC_OPTIONS, keyof typeof APC_DEFAULTS>;
type ApcOptions = Options<ApcOptionTypes>;

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
  const { SshPdu } = await import('./ssh-pdu.js');
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
    const { SnmpPdu } = await import('./snmp-pdu.js');
    return SnmpPdu.open({ target, switchId: options.string('switch') }, ctx);
  },
});
