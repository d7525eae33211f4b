// The BMC as a PowerDevice: power state, control, monitor, over one of two transports (native-transport.ts
// speaks IPMI itself, ipmitool-transport.ts runs ipmitool). What either transport is given and must do is
// declared here, so that neither needs the declaration (agent.ts).
import type { OperationContext, PowerDevice, PowerState } from '../../lib/agent/declaration.js';
import type { IpmiTarget } from '../../lib/ipmi/index.js';

/** The BMC as a power device, over the transport connect() opened for the whole invocation. */
export class Bmc implements PowerDevice {
  constructor(private readonly transport: BmcTransport) {}
  getPower(_plug: string | undefined, ctx: OperationContext): Promise<PowerState> {
    return this.transport.power(ctx);
  }
  setPower(_plug: string | undefined, state: PowerState, ctx: OperationContext): Promise<void> {
    return this.transport.control(state, ctx);
  }
  cycle(_plug: string | undefined, ctx: OperationContext): Promise<void> {
    return this.transport.control('cycle', ctx);
  }
  diag(_plug: string | undefined, ctx: OperationContext): Promise<void> {
    return this.transport.control('diag', ctx);
  }
  monitor(ctx: OperationContext): Promise<void> {
    return this.transport.identify(ctx);
  }
  close(): Promise<void> {
    return this.transport.close();
  }
}

/**
 * What the agent needs from either transport (the `transport` option): native-transport.ts speaks IPMI
 * itself over one RMCP+ or IPMI 1.5 session, ipmitool-transport.ts runs ipmitool once per operation.
 */
export interface BmcTransport {
  power(ctx: OperationContext): Promise<PowerState>;
  control(op: 'on' | 'off' | 'cycle' | 'diag', ctx: OperationContext): Promise<void>;
  identify(ctx: OperationContext): Promise<void>;
  close(): Promise<void>;
}

/** What both transports need: the client's own target description, plus IPMI bridging for ipmitool. */
export interface BmcSettings {
  target: IpmiTarget;
  bridgeTarget: string | undefined;
}
