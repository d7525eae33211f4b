// fence_kit_ipmi's options: the declarations (fence_ipmilan's names and defaults) and the types they give.
// Imported by the declaration (agent.ts) and by anything that reads these options, so that no file needs
// agent.ts for a type.
import { ADDRESS_FAMILY_OPTIONS, CONNECTION_OPTIONS, CORE_OPTIONS, METHOD_OPTION, PLUG_SEPARATOR_OPTION } from '../../lib/options/common.js';
import { withOverrides, type OptionSpec, type OptionTypesOf } from '../../lib/options/spec.js';
import type { Options } from '../../lib/options/values.js';

/** Cipher suites the native transport speaks. */
export const SUPPORTED_CIPHERS = ['1', '2', '3', '17'];
const PRIVILEGES = ['callback', 'user', 'operator', 'administrator'] as const;

export const IPMI_OPTIONS = [
  // fence_ipmilan: ip is optional because port_as_ip may supply it; validate() insists on one of them.
  ...CONNECTION_OPTIONS.map((o) => (o.name === 'ip' ? withOverrides(o, { required: false }) : o)),
  { name: 'plug', deprecatedName: 'port', short: 'n', valueName: 'ip', type: 'string', order: 1,
    shortdesc: 'IP address or hostname of fencing device (together with --port-as-ip)' },
  { name: 'port_as_ip', type: 'boolean', order: 1, shortdesc: 'Make "port/plug" to be an alias to IP address' },
  // fence_ipmilan lacks them (fencing.py declares them for SSH agents only), but ipmitool has -4/-6: a BMC
  // name with both A and AAAA records otherwise goes wherever the resolver's order sends it.
  ...ADDRESS_FAMILY_OPTIONS,
  { name: 'lanplus', short: 'P', type: 'boolean', default: '0', order: 1,
    shortdesc: 'Use Lanplus to improve security of connection' },
  { name: 'auth', short: 'A', valueName: 'auth', type: 'select', choices: ['md5', 'password', 'none'], order: 1,
    shortdesc: 'IPMI Lan Auth type.' },
  { name: 'cipher', short: 'C', valueName: 'cipher', type: 'string', order: 1,
    shortdesc: 'Ciphersuite to use (same as ipmitool -C parameter)',
    helpNote: `Native transport: ${SUPPORTED_CIPHERS.join(', ')}; unset, 17 if the BMC offers it, else 3 (as ipmitool); 0 and 1 only with allow_insecure.` },
  { name: 'privlvl', short: 'L', valueName: 'level', type: 'select', choices: PRIVILEGES, default: 'administrator', order: 1,
    shortdesc: 'Privilege level on IPMI device' },
  { name: 'hexadecimal_kg', valueName: 'key', type: 'string', secret: true, order: 1,
    shortdesc: 'Hexadecimal-encoded Kg key for IPMIv2 authentication',
    helpNote: "With transport=ipmitool it goes in IPMI_KGKEY, never on ipmitool's command line; a Kg that variable cannot carry (a zero byte inside or first, bytes that are not UTF-8 text) is refused there: use the native transport." },
  { name: 'target', valueName: 'targetaddress', type: 'string', order: 1,
    shortdesc: 'Bridge IPMI requests to the remote target address' },
  { ...METHOD_OPTION, shortdesc: 'Method to fence (onoff is confirmed by the BMC reporting the chassis off; cycle is only acknowledged)' },
  { name: 'transport', valueName: 'transport', type: 'select', choices: ['native', 'ipmitool'], default: 'native', order: 2,
    shortdesc: 'Speak IPMI natively, or run ipmitool (the password goes through its environment, never its arguments)' },
  { name: 'allow_insecure', type: 'boolean', order: 2,
    shortdesc: 'Allow cipher suite 0 and IPMI 1.5 auth type none (many BMCs accept any password with them), cipher suite 1 (answers without integrity, forgeable) and IPMI 1.5 auth type password (the password in clear text)' },
  // fencing.py splits plug on it and runs the action once per piece, but fence_ipmilan's power functions
  // ignore the plug: it is one BMC, named by ip (or by the whole plug, with port_as_ip).
  withOverrides(PLUG_SEPARATOR_OPTION, { noEffect: 'one BMC is one target; with port_as_ip the whole plug is its address' }),
  { name: 'ipmitool_path', valueName: 'path', type: 'string', default: '/usr/bin/ipmitool', order: 200, shortdesc: 'Path to ipmitool binary' },
  // A number of seconds, shown as fence_ipmilan shows it.
  { name: 'ipmitool_timeout', valueName: 'timeout', type: 'second', metadataType: 'string', default: '2', order: 200,
    shortdesc: 'Timeout (sec) for IPMI operation' },
  { name: 'use_sudo', deprecatedName: 'sudo', type: 'boolean', order: 200,
    shortdesc: 'Use sudo (without password) when calling 3rd party software' },
  { name: 'sudo_path', valueName: 'path', type: 'string', default: '/usr/bin/sudo', order: 200, shortdesc: 'Path to sudo binary' },
  ...CORE_OPTIONS,
] as const satisfies readonly OptionSpec[];

// power_wait as fence_ipmilan's (2 s; fence_ilo3 4 s): off is confirmed by polling the BMC at once, and in a
// reboot the engine waits power_wait after that confirmation before power-on, which some BMCs refuse
// when it follows an off at once.
export const IPMI_DEFAULTS = { ipport: '623', power_wait: '2' } as const;

/** fence_kit_ipmi's options, typed by their declarations. */
export type IpmiOptionTypes = OptionTypesOf<typeof IPMI_OPTIONS, keyof typeof IPMI_DEFAULTS>;
export type IpmiOptions = Options<IpmiOptionTypes>;
