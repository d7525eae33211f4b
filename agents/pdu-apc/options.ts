// fence_kit_apc's options: fence_apc_snmp's and fence_apc's, one list for both transports, and the types
// they give. Imported by the declaration (agent.ts) and by anything that reads these options.
import { CONNECTION_OPTIONS, CORE_OPTIONS, PLUG_OPTIONS } from '../../lib/options/common.js';
import { SNMP_OPTIONS } from '../../lib/options/snmp.js';
import { withOverrides, type OptionSpec, type OptionTypesOf } from '../../lib/options/spec.js';
import type { Options } from '../../lib/options/values.js';

/** Shared options whose help reads differently here, where one agent speaks SNMP and the card's command line: a
 * note replaces the shared one, or (a function) extends it. */
const APC_HELP_NOTES: Readonly<Record<string, string | ((sharedNote: string) => string)>> = {
  ipport: '161 (SNMP) unless given; 22 with ssh=1.',
  username: 'SSH: the card account (required with ssh=1). SNMP: the v3 user (with snmp_version=3).',
  community: (sharedNote) => `${sharedNote} Without it, SNMP v1/v2c use the factory community, as fence_apc_snmp does.`,
  snmp_version:
    "Default 1, as fence_apc_snmp. With 'username' or 'password' and neither ssh=1 nor 'community', it must be given (3 for SNMPv3): fence_kit_apc does not guess between SNMP and the card's command line.",
  plug: 'An outlet: its number, switch:number (MasterSwitch Plus), or its exact name. Several outlets, separated by plug_separator (a node with two power supplies), are all switched and confirmed before success is reported.',
};

function withApcHelp<S extends OptionSpec>(shared: S): S {
  if (!Object.hasOwn(APC_HELP_NOTES, shared.name)) return shared;
  const note = APC_HELP_NOTES[shared.name]!;
  return withOverrides(shared, { helpNote: typeof note === 'string' ? note : note(shared.helpNote ?? '') });
}

export const APC_OPTIONS = [
  ...[...CONNECTION_OPTIONS, ...SNMP_OPTIONS, ...PLUG_OPTIONS].map(withApcHelp),
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

export const APC_DEFAULTS = { snmp_version: '1', community: 'private', ipport: '161' } as const;
export type ApcOptionTypes = OptionTypesOf<typeof APC_OPTIONS, keyof typeof APC_DEFAULTS>;
export type ApcOptions = Options<ApcOptionTypes>;
