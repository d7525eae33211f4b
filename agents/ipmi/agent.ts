// fence_kit_ipmi: a node's BMC over IPMI 2.0 (RMCP+) or 1.5, spoken natively; ipmitool as an optional
// transport. Options and invoked-name aliases as fence_ipmilan's, so existing configurations carry over.
import { declareAgent, type AgentDeclaration, type OperationContext, type PowerDevice, type PowerState } from '../../lib/agent/declaration.js';
import { CONNECTION_OPTIONS, CORE_OPTIONS, METHOD_OPTION } from '../../lib/options/common.js';
import { withOverrides, type OptionSpec, type OptionTypesOf } from '../../lib/options/spec.js';
import type { Options } from '../../lib/options/values.js';
import type { IpmiTarget } from '../../lib/ipmi/index.js';
import { kgForIpmitoolEnvironment } from '../../lib/ipmi/ipmitool-kg.js';
import { FenceError } from '../../lib/errors.js';

const SUPPORTED_CIPHERS = ['1', '2', '3', '17'];
const PRIVILEGES = ['callback', 'user', 'operator', 'administrator'] as const;

const IPMI_OPTIONS = [
  // fence_ipmilan: ip is optional because port_as_ip may supply it; validate() insists on one of them.
  ...CONNECTION_OPTIONS.map((o) => (o.name === 'ip' ? withOverrides(o, { required: false }) : o)),
  { name: 'plug', deprecatedName: 'port', short: 'n', valueName: 'ip', type: 'string', order: 1,
    shortdesc: 'IP address or hostname of fencing device (together with --port-as-ip)' },
  { name: 'port_as_ip', type: 'boolean', order: 1, shortdesc: 'Make "port/plug" to be an alias to IP address' },
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
const IPMI_DEFAULTS = { ipport: '623', power_wait: '2' } as const;

/** fence_kit_ipmi's options, typed by their declarations. */
type IpmiOptionTypes = OptionTypesOf<typeof IPMI_OPTIONS, keyof typeof IPMI_DEFAULTS>;
export type IpmiOptions = Options<IpmiOptionTypes>;

function kgBytes(options: IpmiOptions): Buffer | undefined {
  const hex = options.string('hexadecimal_kg');
  return hex === undefined || hex === '' ? undefined : Buffer.from(hex.replace(/^0x/i, ''), 'hex');
}

function validate(options: IpmiOptions): string[] {
  const errors: string[] = [];
  if (!options.has('ip') && !(options.flag('port_as_ip') && options.has('plug'))) {
    errors.push("Failed: missing required option 'ip' (-a, --ip) (or 'plug' with 'port_as_ip')");
  }
  const kg = options.string('hexadecimal_kg');
  const kgWellFormed = kg === undefined || kg === '' || /^(0x)?([0-9a-fA-F]{2}){1,20}$/.test(kg);
  if (!kgWellFormed) errors.push("Failed: option 'hexadecimal_kg' (--hexadecimal-kg) must be up to 20 bytes of hexadecimal");
  const native = options.string('transport') !== 'ipmitool';
  const cipher = options.string('cipher');
  if (cipher !== undefined && cipher !== '') {
    if (!/^\d+$/.test(cipher)) errors.push("Failed: option 'cipher' (-C, --cipher) must be a cipher suite number");
    else if (cipher === '0' && !options.flag('allow_insecure')) {
      errors.push("Failed: option 'cipher' (-C, --cipher): cipher suite 0 sends no authentication; set 'allow_insecure' to use it");
    } else if (cipher === '1' && !options.flag('allow_insecure')) {
      errors.push("Failed: option 'cipher' (-C, --cipher): cipher suite 1 has no integrity, so a forged \"power is off\" answer would be believed; set 'allow_insecure' to use it");
    } else if (native && cipher !== '0' && !SUPPORTED_CIPHERS.includes(cipher)) {
      errors.push(`Failed: option 'cipher' (-C, --cipher): the native transport supports ${SUPPORTED_CIPHERS.join(', ')}`);
    }
  }
  if (options.string('auth') === 'none' && !options.flag('allow_insecure')) {
    errors.push("Failed: option 'auth' (-A, --auth): auth type none sends no password check; set 'allow_insecure' to use it");
  }
  if (options.string('auth') === 'password' && !options.flag('allow_insecure')) {
    errors.push("Failed: option 'auth' (-A, --auth): auth type password sends the password in clear text in every packet; set 'allow_insecure' to use it");
  }
  const kgBuffer = kgWellFormed ? kgBytes(options) : undefined;
  if (!native && options.flag('lanplus') && kgBuffer) {
    try {
      kgForIpmitoolEnvironment(kgBuffer);
    } catch (err) {
      errors.push(`Failed: ${(err as Error).message}`);
    }
  }
  if (native && options.has('target')) {
    errors.push("Failed: option 'target' (--target): IPMI bridging needs transport=ipmitool");
  }
  const port = options.number('ipport');
  if (port !== undefined && (port < 1 || port > 65535)) errors.push("Failed: option 'ipport' (-u, --ipport) must be 1-65535");
  return errors;
}

/** The BMC as a power device, over the transport connect() opened for the whole invocation. */
class Bmc implements PowerDevice {
  constructor(private readonly transport: BmcTransport) {}
  getPower(_plug: string | undefined, ctx: OperationContext): Promise<PowerState> {
    return this.transport.power(ctx);
  }
  setPower(_plug: string | undefined, state: PowerState, ctx: OperationContext): Promise<void> {
    return this.transport.control(state, ctx);
  }
  cycle(_plug: string | undefined, ctx: OperationContext): Promise<void> {
    return this.transport.control('cycle', ctx);
  }
  diag(_plug: string | undefined, ctx: OperationContext): Promise<void> {
    return this.transport.control('diag', ctx);
  }
  monitor(ctx: OperationContext): Promise<void> {
    return this.transport.identify(ctx);
  }
  close(): Promise<void> {
    return this.transport.close();
  }
}

/**
 * What the agent needs from either transport (the `transport` option): native-transport.ts speaks IPMI
 * itself over one RMCP+ or IPMI 1.5 session, ipmitool-transport.ts runs ipmitool once per operation.
 */
export interface BmcTransport {
  power(ctx: OperationContext): Promise<PowerState>;
  control(op: 'on' | 'off' | 'cycle' | 'diag', ctx: OperationContext): Promise<void>;
  identify(ctx: OperationContext): Promise<void>;
  close(): Promise<void>;
}

/** What both transports need: the client's own target description, plus IPMI bridging for ipmitool. */
export interface BmcSettings {
  target: IpmiTarget;
  bridgeTarget: string | undefined;
}

export function bmcSettings(options: IpmiOptions): BmcSettings {
  const host = options.flag('port_as_ip') && options.has('plug') ? options.string('plug')! : options.string('ip')!;
  return {
    target: {
      host,
      port: options.number('ipport'),
      username: options.string('username') ?? '',
      password: options.string('password') ?? '',
      kg: kgBytes(options),
      version: options.flag('lanplus') ? '2.0' : '1.5',
      // validate() admitted only suites the chosen transport supports (0 only with allow_insecure). Unset
      // cipher and auth are negotiated with the BMC, as ipmitool does.
      cipherSuite: options.string('cipher') ? (Number(options.string('cipher')) as NonNullable<IpmiTarget['cipherSuite']>) : undefined,
      privilege: options.string('privlvl'),
      authType: options.string('auth'),
      allowInsecure: options.flag('allow_insecure'),
    },
    bridgeTarget: options.string('target'),
  };
}

export const ipmiAgent = declareAgent<IpmiOptionTypes>({
  name: 'fence_kit_ipmi',
  shortdesc: 'Fence agent for IPMI',
  longdesc:
    'fence_kit_ipmi powers a node off, on or through a reboot through its baseboard management controller over IPMI 2.0 (RMCP+, with lanplus) or IPMI 1.5. It speaks IPMI itself, so the password never appears in any process argument list; transport=ipmitool runs ipmitool instead, with the password in its environment. Off is reported only once the BMC reports the chassis off. With method=cycle the BMC only acknowledges a power cycle, which cannot be confirmed: prefer onoff.',
  vendorUrl: 'https://www.intel.com/content/www/us/en/products/docs/servers/ipmi/ipmi-second-gen-interface-spec-v2-rev1-1.html',
  symlinks: [
    { name: 'fence_kit_ilo3', shortdesc: 'Fence agent for HP iLO3', defaults: { lanplus: '1', power_wait: '4' } },
    { name: 'fence_kit_ilo4', shortdesc: 'Fence agent for HP iLO4', defaults: { lanplus: '1' } },
    { name: 'fence_kit_ilo5', shortdesc: 'Fence agent for HP iLO5', defaults: { lanplus: '1' } },
    { name: 'fence_kit_ipmilanplus', shortdesc: 'Fence agent for IPMIv2 lanplus', defaults: { lanplus: '1' } },
    { name: 'fence_kit_imm', shortdesc: 'Fence agent for IBM Integrated Management Module' },
    { name: 'fence_kit_idrac', shortdesc: 'Fence agent for Dell iDRAC' },
  ],
  options: IPMI_OPTIONS,
  defaults: IPMI_DEFAULTS,
  target: 'device',
  cycle: true,
  diag: true,
  validate,
  protocol(options) {
    const via = options.string('transport') === 'ipmitool' ? ' via ipmitool' : '';
    return options.flag('lanplus')
      ? `IPMI 2.0 RMCP+ cipher suite ${options.string('cipher') || '17 if the BMC offers it, else 3'}, privilege ${options.string('privlvl')}${via}`
      : `IPMI 1.5 auth ${options.string('auth') ?? 'chosen from what the BMC offers (MD5 first)'}, privilege ${options.string('privlvl')}${via}`;
  },
  async connect(options, ctx) {
    const settings = bmcSettings(options);
    if (options.string('transport') === 'ipmitool') {
      const { openIpmitoolTransport } = await import('./ipmitool-transport.js');
      return new Bmc(openIpmitoolTransport(settings, options, ctx));
    }
    const { openNativeTransport } = await import('./native-transport.js');
    return new Bmc(await openNativeTransport(settings, ctx));
  },
});

/** The BMC settings of fence_kit_ipmi options the library resolved (fencekit verify-wiring); refuses another agent's. */
export function bmcSettingsOf(agent: AgentDeclaration, options: Options): BmcSettings {
  if (agent !== ipmiAgent) throw new FenceError('internal', `${agent.name} is not an IPMI agent`);
  // Resolved from ipmiAgent's own declaration (declareAgent), so they are fence_kit_ipmi's options.
  return bmcSettings(options as unknown as IpmiOptions);
}
