// transport=ipmitool: the agent's BmcTransport over ipmitool; each operation is one ipmitool run (no session
// is kept between them), the password in IPMI_PASSWORD (-E), never argv.
import type { OperationContext } from '../../lib/agent/declaration.js';
import type { Options } from '../../lib/options/values.js';
import { IpmitoolRunner } from '../../lib/ipmi/ipmitool.js';
import type { BmcTransport, BmcSettings } from './agent.js';

export function openIpmitoolTransport(s: BmcSettings, options: Options, ctx: OperationContext): BmcTransport {
  const tool = new IpmitoolRunner({
    ipmitoolPath: options.string('ipmitool_path') ?? '/usr/bin/ipmitool',
    sudoPath: options.flag('use_sudo') ? (options.string('sudo_path') ?? '/usr/bin/sudo') : undefined,
    retransmitSeconds: Number(options.string('ipmitool_timeout') ?? '2') || 2,
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
