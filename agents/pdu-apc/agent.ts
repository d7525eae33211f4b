// The two APC agents, one device (device.ts) reached two ways, as in fence-agents:
//  - fence_kit_apc, fence_apc's peer: the card's command line (AOS 5 or later) over SSH. fence_apc's default
//    transport is telnet, which sends the password in clear: fence_kit_apc refuses to run without ssh=1 and
//    never falls back to another protocol.
//  - fence_kit_apc_snmp, fence_apc_snmp's peer: PowerNet-MIB over SNMP v1, v2c or v3.
// Each has its own options, defaults and metadata (options.ts); the outlet, its plug syntax, the multi-plug
// rule and the state semantics are the same device whichever way it is reached.
//
// A node is fenced when every outlet named is confirmed off; an outlet value that is neither on nor off
// is an error, never "off".
import { homedir } from 'node:os';
import { join } from 'node:path';
import { declareAgent, type OperationContext } from '../../lib/agent/declaration.js';
import { FenceError } from '../../lib/errors.js';
import { snmpProtocol, snmpTargetFrom, validateSnmpOptions } from '../../lib/options/snmp.js';
import { acceptNewWithoutFile, parseSshOptions, readOnlyKnownHostsFiles, type SshClientOptions } from '../../lib/ssh/openssh-options.js';
import type { HostKeyCheck } from '../../lib/ssh/session.js';
import { addressFamily, resolveInFamily, validateAddressFamily } from '../../lib/options/address-family.js';
import {
  APC_DEFAULTS,
  APC_OPTIONS,
  APC_SNMP_DEFAULTS,
  APC_SNMP_OPTIONS,
  type ApcOptionTypes,
  type ApcOptions,
  type ApcSnmpOptionTypes,
  type ApcSnmpOptions,
} from './options.js';
import { switchOption } from './outlet.js';

/** fence_apc's prompts ("\n>", "\napc>"), anchored at the end of the output. */
const DEFAULT_PROMPT = '\\n(?:apc)?>';
const FINGERPRINT = /^SHA256:[A-Za-z0-9+/]{43}=?$/;

/** The options that say who logs in; for fence_kit_apc_snmp they are the SNMPv3 user. */
const CREDENTIALS = ['username', 'password', 'password_script'];

/**
 * fence_apc without ssh=1 is telnet. The one refusal of such a configuration, at validate-all and before any
 * packet of every other action, whatever else is wrong: it says how to move on, and never guesses another protocol.
 */
export const TELNET_REFUSAL =
  "Failed: option 'ssh' (-x, --ssh) is not set: fence_kit_apc speaks the card's command line over SSH only; set ssh=1 (port 22 unless ipport says otherwise), or use fence_kit_apc_snmp for SNMP. Telnet, fence_apc's default, sends the password in clear and is not supported";

/** The `switch` option's own check; the card's command line (olOn N) addresses the outlets of its own unit only. */
function switchErrors(value: string | undefined, commandLine: boolean): string[] {
  let switchId: number | undefined;
  try {
    switchId = switchOption(value);
  } catch (err) {
    return [`Failed: ${(err as Error).message}`];
  }
  if (commandLine && switchId !== undefined && switchId !== 1) {
    return [`Failed: option 'switch' (-s, --switch) is ${switchId}, but the card's command line has no switches: it would switch outlets of unit 1; leave 'switch' out`];
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

function validateCommandLine(options: ApcOptions): string[] {
  if (!options.flag('ssh')) return [TELNET_REFUSAL];
  const errors: string[] = switchErrors(options.string('switch'), true);
  if (!options.has('username')) errors.push("Failed: missing required option 'username' (-l, --username): the card account");
  if (!options.has('password') && !options.has('password_script') && !options.has('identity_file')) {
    errors.push("Failed: fence_kit_apc needs 'password' (-p), 'password_script' (-S) or 'identity_file' (-k)");
  }
  const prompt = options.string('command_prompt');
  if (prompt !== undefined) {
    try {
      new RegExp(prompt);
    } catch {
      errors.push("Failed: option 'command_prompt' (-c, --command-prompt) is not a valid regular expression");
    }
  }
  errors.push(...validateAddressFamily(options, options.string('ip')));
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
  return errors;
}

function validateSnmp(options: ApcSnmpOptions): string[] {
  // fence_apc_snmp ignores a user and password without snmp_version=3 and sends SNMP v1 with community
  // "private": a user meant for SNMPv3 (or for fence_apc's login) would silently become v1. The user says which.
  const credentials = CREDENTIALS.filter((n) => options.given.has(n));
  if (credentials.length > 0 && !options.given.has('community') && !options.given.has('snmp_version')) {
    return [
      `Failed: ${credentials.map((n) => `'${n}'`).join(', ')} given without 'community' or 'snmp_version' does not say which SNMP to use: set snmp_version=3 for SNMPv3 with these credentials, or community=... for SNMP v1/v2c (the card's command line over SSH is fence_kit_apc)`,
    ];
  }
  return [...switchErrors(options.string('switch'), false), ...validateSnmpOptions(options)];
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
  const host = options.string('ip')!;
  await resolveInFamily(options, host, ctx.deadline);
  const { SshPdu } = await import('./device.js');
  return SshPdu.open({
    host,
    port: options.number('ipport'),
    username: options.string('username')!,
    password: options.string('password'),
    privateKey,
    hostKey: hostKeyCheckOf(options, parsed),
    prompt: new RegExp(`(?:${options.string('command_prompt') ?? DEFAULT_PROMPT})[ \\t]*$`),
    deadline: ctx.deadline,
    // inet4_only / inet6_only before ssh_options' -4 / -6, as the agent's own options win everywhere here.
    family: addressFamily(options) ?? parsed.family,
    algorithms: parsed.algorithms,
    logger: ctx.logger,
  });
}

const VENDOR_URL = 'http://www.apc.com';
const OUTLETS =
  'Outlets are named by number or by name; when several are given, every one is switched and read back off before success is reported, and an outlet state that is neither on nor off is an error.';

export const apcAgent = declareAgent<ApcOptionTypes>({
  name: 'fence_kit_apc',
  shortdesc: 'Fence agent for APC switched PDUs over the SSH command line',
  longdesc: `fence_kit_apc switches outlets of APC switched rack PDUs through the network management card's command line (AOS 5 or later: olStatus, olOn, olOff), with fence_apc's options. It speaks SSH only, and ssh=1 must be set: telnet, fence_apc's default, sends the password in clear and is refused, and fence_kit_apc never falls back to another protocol (fence_kit_apc_snmp speaks SNMP). It logs in with a password, a key or keyboard-interactive authentication, and checks the host key against an OpenSSH known_hosts file or a pinned SHA256 fingerprint. ${OUTLETS}`,
  vendorUrl: VENDOR_URL,
  options: APC_OPTIONS,
  defaults: APC_DEFAULTS,
  target: 'plugs',
  validate: validateCommandLine,
  protocol: () => 'SSH (APC command line)',
  connect: connectSsh,
});

export const apcSnmpAgent = declareAgent<ApcSnmpOptionTypes>({
  name: 'fence_kit_apc_snmp',
  shortdesc: 'Fence agent for APC switched PDUs over SNMP',
  longdesc: `fence_kit_apc_snmp switches outlets of APC switched rack PDUs and MasterSwitch units over SNMP v1, v2c or v3, with fence_apc_snmp's options and defaults (version 1, community "private", port 161), choosing the outlet tables by sysObjectID as fence_apc_snmp does (rack PDU with the newer rPDU2 tables where present, MasterSwitch, MasterSwitch with firmware 6, MasterSwitch Plus with switch:outlet). It speaks SNMP only (the card's command line over SSH is fence_kit_apc). ${OUTLETS}`,
  vendorUrl: VENDOR_URL,
  options: APC_SNMP_OPTIONS,
  defaults: APC_SNMP_DEFAULTS,
  target: 'plugs',
  validate: validateSnmp,
  protocol: (options) => snmpProtocol(options, 'PowerNet-MIB'),
  async connect(options, ctx) {
    const target = await snmpTargetFrom(options, ctx.logger, ctx.deadline);
    const { SnmpPdu } = await import('./device.js');
    return SnmpPdu.open({ target, switchId: options.string('switch') }, ctx);
  },
});
