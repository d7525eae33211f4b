// transport=native: fencekit's own RMCP+/1.5 client behind the agent's BmcTransport, one IPMI session
// (lib/ipmi/session.ts) for the whole invocation.
import type { OperationContext, PowerState } from '../../lib/agent/declaration.js';
import { IpmiClient } from '../../lib/ipmi/index.js';
import type { BmcTransport, BmcSettings } from './device.js';

export async function openNativeTransport(s: BmcSettings, ctx: OperationContext): Promise<BmcTransport> {
  // serialise: agents of this host take turns at one BMC, so a monitor during a fence cannot use up its slots.
  const client = await IpmiClient.open(s.target, { deadline: ctx.deadline, logger: ctx.logger, serialise: true });
  return {
    async power(op: OperationContext): Promise<PowerState> {
      client.setDeadline(op.deadline);
      return client.getChassisPower();
    },
    async control(what, op) {
      client.setDeadline(op.deadline);
      await client.chassisControl(what);
    },
    async identify(op) {
      client.setDeadline(op.deadline);
      await client.getDeviceId();
    },
    close: () => client.close(),
  };
}
