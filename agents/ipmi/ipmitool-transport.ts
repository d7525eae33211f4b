// transport=ipmitool: the agent's BmcTransport over ipmitool; each operation is one ipmitool run (no session
// is kept between them), the password in IPMI_PASSWORD (-E), never argv.
import type { OperationContext } from '../../lib/agent/declaration.js';
import { IpmitoolRunner } from '../../lib/ipmi/ipmitool.js';
import type { BmcTransport, BmcSettings, IpmiOptions } from './agent.js';

export function openIpmitoolTransport(s: BmcSettings, options: IpmiOptions, ctx: OperationContext): BmcTransport {
  const tool = new IpmitoolRunner({
    ipmitoolPath: options.string('ipmitool_path'),
    sudoPath: options.flag('use_sudo') ? options.string('sudo_path') : undefined,
    retransmitSeconds: options.number('ipmitool_timeout'),
    bridgeTarget: s.bridgeTarget,
    target: s.target,
    logger: ctx.logger,
  });
  return {
    power: (op) => tool.getChassisPower(op.deadline),
    control: (what, op) => tool.chassisControl(what, op.deadline),
    identify: async (op) => {
      await tool.getChassisPower(op.deadline);
    },
    close: async () => undefined,
  };
}
