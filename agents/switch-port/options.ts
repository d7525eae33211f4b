// fence_kit_switch's options: fence_ifmib's, and the types they give. Imported by the declaration
// (agent.ts) and by anything that reads these options.
import { CONNECTION_OPTIONS, CORE_OPTIONS, PLUG_OPTIONS } from '../../lib/options/common.js';
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
  ...CORE_OPTIONS,
] as const satisfies readonly OptionSpec[];

export const SWITCH_DEFAULTS = { snmp_version: '2c', ipport: '161' } as const;
export type SwitchOptionTypes = OptionTypesOf<typeof SWITCH_OPTIONS, keyof typeof SWITCH_DEFAULTS>;
