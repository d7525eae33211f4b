// The options of the two APC agents, and the types they give. fence-agents has two APC agents with two
// transports and two option sets, and so has fencekit: fence_kit_apc is fence_apc's peer (the card's
// command line; SSH only), fence_kit_apc_snmp is fence_apc_snmp's (SNMP v1/v2c/v3). An option of one is
// no option of the other, so a configuration can never be reached over a protocol it was not written for.
// Imported by the declarations (agent.ts) and by anything that reads these options.
import { ADDRESS_FAMILY_OPTIONS, CONNECTION_OPTIONS, CORE_OPTIONS, PLUG_OPTIONS } from '../../lib/options/common.js';
import { SNMP_OPTIONS } from '../../lib/options/snmp.js';
import { withOverrides, type OptionSpec, type OptionTypesOf } from '../../lib/options/spec.js';
import type { Options } from '../../lib/options/values.js';

const SEVERAL_OUTLETS =
  'Several outlets, separated by plug_separator (a node with two power supplies), are all switched and confirmed before success is reported.';

/** Shared options whose help reads differently for an APC agent: a note replaces the shared one, or (a function) extends it. */
type HelpNotes = Readonly<Record<string, string | ((sharedNote: string) => string)>>;

function withHelp<S extends OptionSpec>(notes: HelpNotes): (shared: S) => S {
  return (shared) => {
    if (!Object.hasOwn(notes, shared.name)) return shared;
    const note = notes[shared.name]!;
    return withOverrides(shared, { helpNote: typeof note === 'string' ? note : note(shared.helpNote ?? '') });
  };
}

const SWITCH_OPTION = { name: 'switch', short: 's', valueName: 'id', type: 'string', order: 1,
  shortdesc: 'Physical switch number on device' } as const satisfies OptionSpec;

// ---- fence_kit_apc: fence_apc's options, the card's command line over SSH ----------------------------

const CLI_HELP: HelpNotes = {
  ipport: "fence_apc's 23 is its telnet port; fence_kit_apc speaks SSH only.",
  username: 'The card account (required).',
  plug: `An outlet: its number (1:number is the same outlet; another switch than 1 is refused), or its exact name. ${SEVERAL_OUTLETS}`,
};

export const APC_OPTIONS = [
  ...[...CONNECTION_OPTIONS, ...PLUG_OPTIONS].map(withHelp(CLI_HELP)),
  withOverrides(SWITCH_OPTION, {
    helpNote: "The card's command line addresses the outlets of the unit it runs on: any other switch than 1 is refused, never ignored.",
  }),
  { name: 'ssh', deprecatedName: 'secure', short: 'x', type: 'boolean', order: 1,
    shortdesc: 'Use SSH connection',
    helpNote: "Required: fence_kit_apc reaches the card's command line over SSH only. Telnet, fence_apc's default, sends the password in clear and is not supported; fence_kit_apc_snmp speaks SNMP." },
  { name: 'identity_file', short: 'k', valueName: 'filename', type: 'string', order: 1,
    shortdesc: 'Identity file (private key) for SSH',
    helpNote: 'An encrypted key is opened with the password as its passphrase.' },
  { name: 'command_prompt', deprecatedName: 'cmd_prompt', short: 'c', valueName: 'prompt', type: 'string', order: 1,
    shortdesc: 'Force Python regex for command prompt',
    helpNote: "A regular expression matched at the end of the card's output. Default: \\n> or \\napc> (fence_apc's)." },
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
  // fence_apc's paths to the programs it runs; fencekit runs neither.
  { name: 'ssh_path', valueName: 'path', type: 'string', order: 200,
    shortdesc: 'Path to ssh binary', noEffect: 'the SSH client is built in' },
  { name: 'telnet_path', valueName: 'path', type: 'string', order: 200,
    shortdesc: 'Path to telnet binary', noEffect: 'telnet is not supported, set ssh=1' },
  // fence_apc's -4 / -6 (fencing.py gives them to its SSH agents), honoured by the SSH connection.
  ...ADDRESS_FAMILY_OPTIONS,
  ...CORE_OPTIONS,
] as const satisfies readonly OptionSpec[];

/** fence_apc's port is 23 for telnet and 22 with ssh=1; fence_kit_apc speaks SSH only. */
export const APC_DEFAULTS = { ipport: '22' } as const;
export type ApcOptionTypes = OptionTypesOf<typeof APC_OPTIONS, keyof typeof APC_DEFAULTS>;
export type ApcOptions = Options<ApcOptionTypes>;

// ---- fence_kit_apc_snmp: fence_apc_snmp's options, PowerNet-MIB over SNMP ----------------------------

const SNMP_HELP: HelpNotes = {
  username: 'The SNMPv3 user (with snmp_version=3).',
  community: (sharedNote) => `${sharedNote} Without it, SNMP v1/v2c use the factory community, as fence_apc_snmp does.`,
  snmp_version:
    "Default 1, as fence_apc_snmp. With 'username' or 'password' and no 'community', it must be given (3 for SNMPv3): a user meant for SNMPv3 never ends up in an SNMP v1 request with the factory community.",
  plug: `An outlet: its number, switch:number (MasterSwitch Plus), or its exact name. ${SEVERAL_OUTLETS}`,
};

export const APC_SNMP_OPTIONS = [
  ...[...CONNECTION_OPTIONS, ...SNMP_OPTIONS, ...PLUG_OPTIONS].map(withHelp(SNMP_HELP)),
  withOverrides(SWITCH_OPTION, {
    helpNote: 'MasterSwitch Plus only; default 1. Also written as plug=switch:outlet. Any other switch than 1 is refused on a PDU without switches, never ignored.',
  }),
  // fence_apc_snmp's paths to the net-snmp tools; fencekit runs none of them.
  { name: 'snmpget_path', valueName: 'path', type: 'string', order: 200,
    shortdesc: 'Path to snmpget binary', noEffect: 'fencekit speaks SNMP itself' },
  { name: 'snmpset_path', valueName: 'path', type: 'string', order: 200,
    shortdesc: 'Path to snmpset binary', noEffect: 'fencekit speaks SNMP itself' },
  { name: 'snmpwalk_path', valueName: 'path', type: 'string', order: 200,
    shortdesc: 'Path to snmpwalk binary', noEffect: 'fencekit speaks SNMP itself' },
  ...CORE_OPTIONS,
] as const satisfies readonly OptionSpec[];

export const APC_SNMP_DEFAULTS = { snmp_version: '1', community: 'private', ipport: '161' } as const;
export type ApcSnmpOptionTypes = OptionTypesOf<typeof APC_SNMP_OPTIONS, keyof typeof APC_SNMP_DEFAULTS>;
export type ApcSnmpOptions = Options<ApcSnmpOptionTypes>;
