// fence_kit_switch: fabric fencing at a managed switch's port over SNMP (IF-MIB ifAdminStatus), a peer of
// fence_ifmib with the same options. A node is fenced when every port it has on the switch (bonded NICs,
// multipath iSCSI) reads administratively down; a port the switch does not have is an error, never "off".
import { hostname } from 'node:os';
import { declareAgent } from '../../lib/agent/declaration.js';
import { splitPlugList } from '../../lib/agent/plugs.js';
import { snmpProtocol, snmpTargetFrom, validateSnmpOptions } from '../../lib/options/snmp.js';
import type { Options } from '../../lib/options/values.js';
import { errorLine } from '../../lib/errors.js';
import { SWITCH_DEFAULTS, SWITCH_OPTIONS, type SwitchOptionTypes } from './options.js';
import { hostRefusal } from './unfence.js';

/** unfence_after_reboot governs `on` only; off, status and the rest are as without it. */
function unfenceGuarded(options: Options<SwitchOptionTypes>): boolean {
  return options.flag('unfence_after_reboot') && options.string('action') === 'on';
}

/** Every plug of this invocation, as the engine will switch them. */
function plugsOf(options: Options<SwitchOptionTypes>): string[] {
  return splitPlugList(options.string('plug'), options.string('plug_separator'));
}

export const switchPortAgent = declareAgent<SwitchOptionTypes>({
  name: 'fence_kit_switch',
  shortdesc: 'Fence agent for IF MIB',
  longdesc:
    'fence_kit_switch fences a node at its switch ports: it sets IF-MIB::ifAdminStatus of each port down (off) or up (on) over SNMP v1, v2c or v3 and reports success only when the switch reads every port back in that state. It works with any SNMP IF-MIB capable device, typically a managed Ethernet switch carrying iSCSI or other storage traffic. Ports are named by ifIndex, or by ifDescr, ifName or ifAlias; a name that two ports carry in any of these columns is refused, a port the switch does not have is an error, and a port in testing(3) is neither on nor off. It refuses to shut the port that carries the switch\'s own management address when the switch says which one that is. With unfence_after_reboot, on runs only on the node being unfenced and only once that node has booted since its ports went down. The community and passwords are never passed to another program.',
  vendorUrl: 'http://www.ietf.org/wg/concluded/ifmib.html',
  options: SWITCH_OPTIONS,
  defaults: SWITCH_DEFAULTS,
  target: 'plugs',
  fabric: true,
  // Pacemaker runs an unfence (the automatic one when a node joins, or stonith_admin --unfence) on the node
  // being unfenced, at its cluster start: the only host that can tell it has rebooted since its fence
  // (unfence_after_reboot). fence_ifmib's `on` lets any node re-enable the ports of a node that is not back.
  onTarget: true,
  validate(options) {
    const errors = validateSnmpOptions(options);
    // The node is named wrongly or not at all: refused before the switch is contacted.
    const host = unfenceGuarded(options) ? hostRefusal(options.string('nodename'), hostname()) : undefined;
    if (host) errors.push(errorLine(host));
    return errors;
  },
  protocol: (options) => snmpProtocol(options, 'IF-MIB ifAdminStatus'),
  async connect(options, ctx) {
    const target = await snmpTargetFrom(options, ctx.logger, ctx.deadline);
    const { SwitchPorts } = await import('./device.js');
    return SwitchPorts.open(
      {
        target,
        plugs: plugsOf(options),
        confirmOperStatus: options.flag('confirm_oper_status'),
        ...(unfenceGuarded(options) ? { unfenceNode: options.string('nodename') ?? '' } : {}),
      },
      ctx,
    );
  },
});
