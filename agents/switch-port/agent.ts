// fence_kit_switch: fabric fencing at a managed switch's port over SNMP (IF-MIB ifAdminStatus), a peer of
// fence_ifmib with the same options. A node is fenced when every port it has on the switch (bonded NICs,
// multipath iSCSI) reads administratively down; a port the switch does not have is an error, never "off".
import { declareAgent } from '../../lib/agent/declaration.js';
import { CONNECTION_OPTIONS, CORE_OPTIONS, PLUG_OPTIONS } from '../../lib/options/common.js';
import { SNMP_OPTIONS, snmpProtocol, snmpTargetFrom, validateSnmpOptions } from '../../lib/options/snmp.js';
import { withOverrides, type OptionSpec, type OptionTypesOf } from '../../lib/options/spec.js';
import type { Options } from '../../lib/options/values.js';

export const SWITCH_OPTIONS = [
  ...CONNECTION_OPTIONS,
  ...SNMP_OPTIONS,
  ...PLUG_OPTIONS.map((o) =>
    o.name === 'plug'
      ? withOverrides(o, {
          helpNote: 'A switch port: its ifIndex (all digits), or its exact ifDescr, ifName or ifAlias. A name two ports carry, in the same column or in two (one port\'s ifDescr, another\'s ifAlias), is refused: name that port by its ifIndex. Several ports, separated by plug_separator, are all fenced before success is reported.',
        })
      : o,
  ),
  { name: 'confirm_oper_status', type: 'boolean', order: 2,
    shortdesc: 'Report a port OFF only once ifOperStatus also says its link is down',
    helpNote: 'Some switches report the operational state only after a delay (net-snmp: up to ~3 s).' },
  ...CORE_OPTIONS,
] as const satisfies readonly OptionSpec[];

export const SWITCH_DEFAULTS = { snmp_version: '2c', ipport: '161' } as const;
type SwitchOptionTypes = OptionTypesOf<typeof SWITCH_OPTIONS, keyof typeof SWITCH_DEFAULTS>;

function plugsOf(options: Options<SwitchOptionTypes>): string[] {
  const sep = options.string('plug_separator') || ',';
  return (options.string('plug') ?? '').split(sep).map((p) => p.trim()).filter((p) => p !== '');
}

export const switchPortAgent = declareAgent<SwitchOptionTypes>({
  name: 'fence_kit_switch',
  shortdesc: 'Fence agent for IF MIB',
  longdesc:
    'fence_kit_switch fences a node at its switch ports: it sets IF-MIB::ifAdminStatus of each port down (off) or up (on) over SNMP v1, v2c or v3 and reports success only when the switch reads every port back in that state. It works with any SNMP IF-MIB capable device, typically a managed Ethernet switch carrying iSCSI or other storage traffic. Ports are named by ifIndex, or by ifDescr, ifName or ifAlias; a name that two ports carry in any of these columns is refused, a port the switch does not have is an error, and a port in testing(3) is neither on nor off. It refuses to shut the port that carries the switch\'s own management address when the switch says which one that is. The community and passwords are never passed to another program.',
  vendorUrl: 'http://www.ietf.org/wg/concluded/ifmib.html',
  options: SWITCH_OPTIONS,
  defaults: SWITCH_DEFAULTS,
  target: 'plugs',
  fabric: true,
  validate: validateSnmpOptions,
  protocol: (options) => snmpProtocol(options, 'IF-MIB ifAdminStatus'),
  async connect(options, ctx) {
    const target = await snmpTargetFrom(options, ctx.logger, ctx.deadline);
    const { SwitchPorts } = await import('./switch.js');
    return SwitchPorts.open({ target, plugs: plugsOf(options), confirmOperStatus: options.flag('confirm_oper_status') }, ctx);
  },
});
