// Options shared by agents, declared once with fence-agents' names, letters and defaults so that a
// Pacemaker configuration written for fence-agents works unchanged. Agents pick the groups they need.
import type { OptionSpec, OptionTypesOf } from './spec.js';

/** fence-agents' power_timeout default: the option's default, and the finite figure for rules that need one when the option says 0 ("no limit"). */
export const DEFAULT_POWER_TIMEOUT_S = 20;

/** Present in every agent. */
export const CORE_OPTIONS = [
  // No default: an agent run without an action fails with a clear error instead of rebooting a node.
  { name: 'action', short: 'o', valueName: 'action', type: 'string', required: true, shortdesc: 'Fencing action', order: 1 },
  { name: 'verbose', short: 'v', type: 'boolean', stackable: true, order: 51,
    shortdesc: 'Verbose mode. Multiple -v flags can be stacked on the command line (e.g., -vvv) to increase verbosity.' },
  { name: 'verbose_level', valueName: 'level', type: 'integer', order: 52,
    shortdesc: 'Level of debugging detail in output. Defaults to the number of --verbose flags specified on the command line, or to 1 if verbose=1 in a stonith device configuration (i.e., on stdin).' },
  { name: 'debug_file', deprecatedName: 'debug', short: 'D', valueName: 'debugfile', type: 'string', order: 52,
    shortdesc: 'Write debug information to given file' },
  { name: 'quiet', short: 'q', type: 'boolean', order: 50,
    shortdesc: 'Disable logging to stderr. Does not affect --verbose or --debug-file.' },
  { name: 'version', short: 'V', type: 'boolean', order: 53, shortdesc: 'Display version information and exit' },
  { name: 'help', short: 'h', type: 'boolean', order: 54, shortdesc: 'Display help and exit' },
  { name: 'delay', valueName: 'seconds', type: 'second', default: '0', order: 200,
    shortdesc: 'Wait X seconds before fencing is started' },
  { name: 'disable_timeout', valueName: 'true/false', type: 'string', order: 200,
    shortdesc: 'Disable timeout (true/false) (default: true when run from Pacemaker 2.0+)' },
  { name: 'login_timeout', valueName: 'seconds', type: 'second', default: '5', order: 200,
    shortdesc: 'Wait X seconds for the device to accept the login' },
  { name: 'power_timeout', valueName: 'seconds', type: 'second', default: `${DEFAULT_POWER_TIMEOUT_S}`, order: 200,
    shortdesc: 'Test X seconds for status change after ON/OFF' },
  { name: 'power_wait', valueName: 'seconds', type: 'second', default: '0', order: 200,
    shortdesc: 'Wait X seconds after issuing ON/OFF' },
  { name: 'shell_timeout', valueName: 'seconds', type: 'second', default: '3', order: 200,
    shortdesc: 'Wait X seconds for an answer to each command' },
  { name: 'stonith_status_sleep', valueName: 'seconds', type: 'second', default: '1', order: 200,
    shortdesc: 'Sleep X seconds between status calls during a STONITH action',
    helpNote: 'At least 0.1 s: 0 does not poll the device in a busy loop.' },
  { name: 'retry_on', valueName: 'attempts', type: 'integer', default: '1', order: 201,
    shortdesc: 'Count of attempts to retry power on' },
] as const satisfies readonly OptionSpec[];

/** A device reached over the network with a login. */
export const CONNECTION_OPTIONS = [
  { name: 'ip', deprecatedName: 'ipaddr', short: 'a', valueName: 'ip', type: 'string', required: true, order: 1,
    shortdesc: 'IP address or hostname of fencing device' },
  { name: 'ipport', short: 'u', valueName: 'port', type: 'integer', order: 1,
    shortdesc: 'TCP/UDP port to use for connection with device' },
  { name: 'username', deprecatedName: 'login', short: 'l', valueName: 'name', type: 'string', order: 1,
    shortdesc: 'Login name' },
  { name: 'password', deprecatedName: 'passwd', short: 'p', valueName: 'password', type: 'string', secret: true,
    conflictsWith: ['password_script'], order: 1, shortdesc: 'Login password or passphrase' },
  { name: 'password_script', deprecatedName: 'passwd_script', short: 'S', valueName: 'script', type: 'string', order: 1,
    shortdesc: 'Script to run to retrieve password',
    helpNote: 'A plain command (a path and words) runs by itself; one with shell syntax (a pipe, $VAR, quotes, a redirection) runs with /bin/sh -c, as in fence-agents. Its standard output, trailing whitespace removed, is the password; it is never logged.' },
] as const satisfies readonly OptionSpec[];

/** fencing.py declares it for every agent; agents whose plug is one target accept it without effect (noEffect). */
export const PLUG_SEPARATOR_OPTION = {
  name: 'plug_separator', valueName: 'char', type: 'string', default: ',', order: 100,
  shortdesc: 'Separator for plug parameter when specifying more than 1 plug',
} as const satisfies OptionSpec;

/** Devices with outlets / ports / targets addressed by `plug`. */
export const PLUG_OPTIONS = [
  { name: 'plug', deprecatedName: 'port', short: 'n', valueName: 'id', type: 'string', required: true, order: 1,
    shortdesc: 'Physical plug number on device, UUID or identification of machine' },
  PLUG_SEPARATOR_OPTION,
  { name: 'separator', short: 'C', valueName: 'char', type: 'string', default: ',', order: 100,
    shortdesc: "Separator for CSV created by 'list' operation" },
] as const satisfies readonly OptionSpec[];

/**
 * fence_scsi's logfile: the agent's output (stdout and stderr) goes to this file instead, from the point
 * fence_scsi opens it (after option errors, before validate-all's report). The runner honours it
 * (lib/agent/run.ts) for any agent that declares it.
 */
export const LOGFILE_OPTION = {
  name: 'logfile', valueName: 'file', type: 'string', order: 200, shortdesc: 'Log output (stdout and stderr) to file',
  helpNote: 'Appended to (fence_scsi empties it first), created with mode 0600. Option errors found before it is opened still go to stderr.',
} as const satisfies OptionSpec;

/**
 * fencing.py's -4 / -6: the device address is used in that family only (lib/options/address-family.ts). Both
 * together name no family at all, so they are refused rather than one of them silently winning.
 */
export const ADDRESS_FAMILY_OPTIONS = [
  { name: 'inet4_only', short: '4', type: 'boolean', conflictsWith: ['inet6_only'], order: 1,
    shortdesc: 'Forces agent to use IPv4 addresses only',
    helpNote: "An IPv6 address in 'ip', or a host name without an IPv4 address, is refused before anything is sent." },
  { name: 'inet6_only', short: '6', type: 'boolean', order: 1,
    shortdesc: 'Forces agent to use IPv6 addresses only',
    helpNote: "An IPv4 address in 'ip', or a host name without an IPv6 address, is refused before anything is sent." },
] as const satisfies readonly OptionSpec[];

/** Pacemaker always sends `nodename`; agents that use it declare it. */
export const NODENAME_OPTION = {
  name: 'nodename', valueName: 'nodename', type: 'string', order: 1, shortdesc: 'Name of the node to be fenced',
} as const satisfies OptionSpec;

export const METHOD_OPTION = {
  name: 'method', short: 'm', valueName: 'method', type: 'select', choices: ['onoff', 'cycle'], default: 'onoff', order: 1,
  shortdesc: 'Method to fence',
} as const satisfies OptionSpec;

/**
 * What library code (the runner, the topology tools) may read from any agent's options: the core options,
 * which every agent has, and the shared ones an agent may not declare, which may then be absent.
 */
export type LibraryOptionTypes = OptionTypesOf<typeof CORE_OPTIONS> &
  Partial<OptionTypesOf<[...typeof CONNECTION_OPTIONS, ...typeof PLUG_OPTIONS, typeof NODENAME_OPTION, typeof METHOD_OPTION]>>;
