// fence_kit_ipmi: a node's BMC over IPMI 2.0 (RMCP+) or 1.5, spoken natively; ipmitool as an optional
// transport. Options and invoked-name aliases as fence_ipmilan's, so existing configurations carry over.
import { declareAgent, type AgentDeclaration } from '../../lib/agent/declaration.js';
import type { Options } from '../../lib/options/values.js';
import type { IpmiTarget } from '../../lib/ipmi/index.js';
import { kgForIpmitoolEnvironment } from '../../lib/ipmi/ipmitool-kg.js';
import { FenceError } from '../../lib/errors.js';
import { addressFamily, resolveInFamily, validateAddressFamily } from '../../lib/options/address-family.js';
import type { BmcSettings } from './device.js';
import type { IpmitoolSettings } from './ipmitool-transport.js';
import { IPMI_DEFAULTS, IPMI_OPTIONS, SUPPORTED_CIPHERS, type IpmiOptionTypes, type IpmiOptions } from './options.js';

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
  errors.push(...validateAddressFamily(options, bmcHost(options)));
  return errors;
}

/** The BMC's address: ip, or plug with port_as_ip (fence_ipmilan's rule). */
function bmcHost(options: IpmiOptions): string | undefined {
  return options.flag('port_as_ip') && options.has('plug') ? options.string('plug') : options.string('ip');
}

export function bmcSettings(options: IpmiOptions): BmcSettings {
  const host = bmcHost(options)!;
  const family = addressFamily(options);
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
      ...(family !== undefined ? { family } : {}),
    },
    bridgeTarget: options.string('target'),
  };
}

/** What transport=ipmitool runs, and how. */
function ipmitoolSettings(options: IpmiOptions): IpmitoolSettings {
  return {
    ipmitoolPath: options.string('ipmitool_path'),
    sudoPath: options.flag('use_sudo') ? options.string('sudo_path') : undefined,
    retransmitSeconds: options.number('ipmitool_timeout'),
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
    await resolveInFamily(options, settings.target.host, ctx.deadline);
    const { Bmc } = await import('./device.js');
    if (options.string('transport') === 'ipmitool') {
      const { openIpmitoolTransport } = await import('./ipmitool-transport.js');
      return new Bmc(openIpmitoolTransport(settings, ipmitoolSettings(options), ctx));
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
