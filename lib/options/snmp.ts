// SNMP options shared by every SNMP agent (APC PDU, switch port), declared once with fence-agents' names,
// letters and choices (fencing.py all_opt), and the one mapping from those options to an SnmpTarget.
// Agents set their own default version (fence_ifmib 2c, fence_apc_snmp 1) through `defaults`.
//
// Only types come from lib/snmp here: declaring options never loads the SNMP client.
import type { SnmpAuth, SnmpAuthProtocol, SnmpPrivProtocol, SnmpSecurityLevel, SnmpTarget } from '../snmp/index.js';
import { FenceError } from '../errors.js';
import type { Logger } from '../log.js';
import { runSecretScript } from '../secrets.js';
import { addressFamily, resolveInFamily, validateAddressFamily } from './address-family.js';
import type { ADDRESS_FAMILY_OPTIONS, CONNECTION_OPTIONS } from './common.js';
import type { OptionSpec, OptionTypesOf } from './spec.js';
import type { Options } from './values.js';

const AUTH_PROTOCOLS = ['MD5', 'SHA', 'SHA256', 'SHA384', 'SHA512'] as const satisfies readonly SnmpAuthProtocol[];
const PRIV_PROTOCOLS = ['DES', 'AES', 'AES256B', 'AES256R'] as const satisfies readonly SnmpPrivProtocol[];
const SECURITY_LEVELS = ['noAuthNoPriv', 'authNoPriv', 'authPriv'] as const satisfies readonly SnmpSecurityLevel[];

/** v1/v2c community, v3 USM. `username` / `password` (the v3 auth passphrase) come from CONNECTION_OPTIONS. */
export const SNMP_OPTIONS = [
  { name: 'snmp_version', short: 'd', valueName: 'version', type: 'select', choices: ['1', '2c', '3'], order: 1,
    shortdesc: 'Specifies SNMP version to use',
    helpNote: "When not given and 'username' is set without 'community', SNMPv3." },
  { name: 'community', short: 'c', valueName: 'community', type: 'string', secret: true, order: 1,
    shortdesc: 'Set the community string',
    helpNote: 'Sent to the device inside the SNMP packets; never passed to another program.' },
  { name: 'snmp_auth_prot', short: 'b', valueName: 'prot', type: 'select', choices: AUTH_PROTOCOLS, order: 1,
    shortdesc: 'Set authentication protocol',
    helpNote: 'SNMPv3 only. Default MD5, as the net-snmp tools fence-agents runs.' },
  { name: 'snmp_sec_level', short: 'E', valueName: 'level', type: 'select', choices: SECURITY_LEVELS, order: 1,
    shortdesc: 'Set security level',
    helpNote: 'SNMPv3 only. When not given: authPriv with a privacy password, authNoPriv with a password, noAuthNoPriv otherwise.' },
  { name: 'snmp_priv_prot', short: 'B', valueName: 'prot', type: 'select', choices: PRIV_PROTOCOLS, order: 1,
    shortdesc: 'Set privacy protocol',
    helpNote: 'SNMPv3 only. Default DES, as the net-snmp tools.' },
  { name: 'snmp_priv_passwd', short: 'P', valueName: 'pass', type: 'string', secret: true,
    conflictsWith: ['snmp_priv_passwd_script'], order: 1, shortdesc: 'Set privacy protocol password' },
  { name: 'snmp_priv_passwd_script', short: 'R', valueName: 'script', type: 'string', order: 1,
    shortdesc: 'Script to run to retrieve privacy password',
    helpNote: 'A plain command (a path and words) runs by itself; one with shell syntax (a pipe, $VAR, quotes, a redirection) runs with /bin/sh -c, as in fence-agents. Its standard output, trailing whitespace removed, is the privacy password; it is never logged.' },
] as const satisfies readonly OptionSpec[];

/**
 * The options an SNMP agent has. Each sets its own default snmp_version (see above) and ipport (161 or its own).
 * inet4_only / inet6_only are honoured when the agent declares them (ADDRESS_FAMILY_OPTIONS).
 */
export type SnmpOptionTypes = OptionTypesOf<[...typeof CONNECTION_OPTIONS, ...typeof SNMP_OPTIONS], 'snmp_version' | 'ipport'> &
  Partial<OptionTypesOf<typeof ADDRESS_FAMILY_OPTIONS>>;
type SnmpOptions = Options<SnmpOptionTypes>;

/**
 * The version in force. An agent's default (fence_ifmib: 2c) holds unless the user named a v3 user and gave
 * no community: then the configuration can only mean SNMPv3, where fence-agents would send a v2c request with
 * no community at all and fail at the device. A community the agent supplies as its default (fence_apc_snmp's
 * "private") is no community the user gave: a v3 user must never end up in a v1 request.
 */
export function snmpVersion(options: SnmpOptions): '1' | '2c' | '3' {
  const version = options.string('snmp_version');
  if (!options.given.has('snmp_version') && !options.given.has('community') && options.has('username')) return '3';
  return version;
}

function securityLevel(options: SnmpOptions, hasPrivPassword: boolean): SnmpSecurityLevel {
  const given = options.string('snmp_sec_level');
  if (given) return given;
  // fencing_snmp.complete_missed_params: a privacy password with a password means authPriv.
  if (hasPrivPassword && options.has('password')) return 'authPriv';
  return options.has('password') ? 'authNoPriv' : 'noAuthNoPriv';
}

/** Checks that need no device: what fence-agents would only learn from snmpget's complaint. */
export function validateSnmpOptions(options: SnmpOptions): string[] {
  const errors: string[] = [];
  const version = snmpVersion(options);
  if (version === '3') {
    if (!options.has('username')) errors.push("Failed: SNMPv3 needs 'username' (-l, --username)");
    const level = securityLevel(options, options.has('snmp_priv_passwd') || options.has('snmp_priv_passwd_script'));
    if (level !== 'noAuthNoPriv' && !options.has('password') && !options.has('password_script')) {
      errors.push(`Failed: SNMPv3 ${level} needs 'password' (-p, --password) or 'password_script' (-S, --password-script)`);
    }
    if (level === 'authPriv' && !options.has('snmp_priv_passwd') && !options.has('snmp_priv_passwd_script')) {
      errors.push("Failed: SNMPv3 authPriv needs 'snmp_priv_passwd' (-P, --snmp-priv-passwd) or 'snmp_priv_passwd_script' (-R, --snmp-priv-passwd-script)");
    }
  } else if (!options.has('community')) {
    errors.push(`Failed: SNMP v${version} needs 'community' (-c, --community), or 'username' for SNMPv3`);
  }
  const port = options.number('ipport');
  if (port < 1 || port > 65535) errors.push("Failed: option 'ipport' (-u, --ipport) must be 1-65535");
  errors.push(...validateAddressFamily(options, options.string('ip')));
  return errors;
}

/**
 * The SNMP target the options describe. Runs snmp_priv_passwd_script if given, within `deadline` (the
 * login's), once per agent run (password_script has already been run by the agent runner). Throws 'bad-input' for anything validate did not catch.
 */
/** snmp_priv_passwd_script's answer, by script: run once per agent run, not again on every login retry. */
const privPasswords = new Map<string, string>();

/** The SNMP protocol in a phrase, for fencekit plan: version, and the USM levels and protocols for v3. */
export function snmpProtocol(options: SnmpOptions, mib: string): string {
  const v = options.string('snmp_version');
  return v === '3'
    ? `SNMPv3 ${options.string('snmp_sec_level') ?? 'noAuthNoPriv'} (${options.string('snmp_auth_prot') ?? 'MD5'}/${options.string('snmp_priv_prot') ?? 'DES'}), ${mib}`
    : `SNMP v${v}, ${mib}`;
}

export async function snmpTargetFrom(options: SnmpOptions, logger: Logger, deadline: number): Promise<SnmpTarget> {
  const host = options.string('ip');
  if (!host) throw new FenceError('bad-input', "missing required option 'ip'");
  await resolveInFamily(options, host, deadline);
  const family = addressFamily(options);
  const version = snmpVersion(options);
  let auth: SnmpAuth;
  if (version === '3') {
    let privPassword = options.string('snmp_priv_passwd');
    const script = options.string('snmp_priv_passwd_script');
    if (privPassword === undefined && script !== undefined) {
      privPassword = privPasswords.get(script) ?? (await runSecretScript(script, logger, 'snmp_priv_passwd_script', deadline));
      privPasswords.set(script, privPassword);
      logger.addSecret(privPassword);
    }
    const level = securityLevel(options, privPassword !== undefined);
    auth = {
      version: '3',
      username: options.string('username') ?? '',
      securityLevel: level,
      ...(level !== 'noAuthNoPriv'
        ? { authProtocol: options.string('snmp_auth_prot') ?? 'MD5', authPassword: options.string('password') }
        : {}),
      ...(level === 'authPriv' ? { privProtocol: options.string('snmp_priv_prot') ?? 'DES', privPassword } : {}),
    };
  } else {
    auth = { version, community: options.string('community') ?? '' };
  }
  return {
    host,
    port: options.number('ipport'),
    auth,
    // fencing_snmp's udp: / udp6: prefix for -4 / -6; otherwise the address says which.
    transport: family === 6 || (family === undefined && host.includes(':')) ? 'udp6' : 'udp4',
  };
}
