// transport=ipmitool: the agent's BmcTransport over ipmitool; each operation is one ipmitool run (no session
// is kept between them), the password in IPMI_PASSWORD (-E), never argv.
import type { OperationContext } from '../../lib/agent/declaration.js';
import { IpmitoolRunner } from '../../lib/ipmi/ipmitool.js';
import type { BmcSettings, BmcTransport } from './device.js';

/** The ipmitool binary, sudo if it is run through sudo, and ipmitool's retransmit time (-N). */
export interface IpmitoolSettings {
  readonly ipmitoolPath: string;
  readonly sudoPath: string | undefined;
  readonly retransmitSeconds: number;
}

export function openIpmitoolTransport(s: BmcSettings, program: IpmitoolSettings, ctx: OperationContext): BmcTransport {
  const tool = new IpmitoolRunner({
    ...program,
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
