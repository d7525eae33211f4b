// The native RMCP+/1.5 client behind the agent's BmcSession: one IPMI session for the whole invocation.
import type { OperationContext, PowerState } from '../../lib/agent/declaration.js';
import { IpmiClient } from '../../lib/ipmi/index.js';
import type { BmcSession, BmcSettings } from './agent.js';

export async function openNativeSession(s: BmcSettings, ctx: OperationContext): Promise<BmcSession> {
  // serialise: agents of this host take turns at one BMC, so a monitor during a fence cannot use up its slots.
  const client = await IpmiClient.open(s.target, { deadline: ctx.deadline, logger: ctx.logger, serialise: true });
  return {
    async power(op: OperationContext): Promise<PowerState> {
      client.extendDeadline(op.deadline);
      return client.getChassisPower();
    },
    async control(what, op) {
      client.extendDeadline(op.deadline);
      await client.chassisControl(what);
    },
    async identify(op) {
      client.extendDeadline(op.deadline);
      await client.getDeviceId();
    },
    close: () => client.close(),
  };
}
