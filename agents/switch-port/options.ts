// fence_kit_switch's options: fence_ifmib's, and the types they give. Imported by the declaration
// (agent.ts) and by anything that reads these options.
import { CONNECTION_OPTIONS, CORE_OPTIONS, NODENAME_OPTION, PLUG_OPTIONS } from '../../lib/options/common.js';
import { SNMP_OPTIONS } from '../../lib/options/snmp.js';
import { withOverrides, type OptionSpec, type OptionTypesOf } from '../../lib/options/spec.js';

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
  { name: 'unfence_after_reboot', type: 'boolean', order: 2,
    shortdesc: 'Unfence (on) only on the node itself, and only if it booted after its ports went down',
    helpNote: "For on only: it must run on the node named by nodename, and each port to switch on must have been down longer (switch sysUpTime minus the port's ifLastChange) than this host has been up (/proc/uptime). ifLastChange follows the port's link state as the switch's SNMP agent last saw it: a link already down before the fence, or a flap the agent missed, makes a port look down for longer than it has been fenced. See docs/switch-port.md." },
  withOverrides(NODENAME_OPTION, {
    shortdesc: 'Name of the node to be fenced or unfenced (Pacemaker sets it)',
    helpNote: 'Read only with unfence_after_reboot, as the node being unfenced.',
  }),
  ...CORE_OPTIONS,
] as const satisfies readonly OptionSpec[];

export const SWITCH_DEFAULTS = { snmp_version: '2c', ipport: '161' } as const;
export type SwitchOptionTypes = OptionTypesOf<typeof SWITCH_OPTIONS, keyof typeof SWITCH_DEFAULTS>;
