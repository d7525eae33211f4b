// Silence fails fast, even under Pacemaker (issue 16). Under pacemaker-fenced every internal bound is
// lifted (disable_timeout, as in fence-agents), so a device that never answers — a BMC that lost power with
// its node, a wrong address — was retried until Pacemaker killed the agent, and every level of a topology
// behind it waited out its whole action timeout. A network device that has answered nothing at all within
// login_timeout now fails its action with "Unable to connect", so the next level runs at once. Once the
// device has answered anything, the action continues within the bound it had before (Pacemaker's own
// deadline under pacemaker-fenced, login_timeout + power_timeout otherwise). A failure fences nobody: it
// only hands over to the next level, so failing early is safe.
//
// "Answered" is read from the error kinds every protocol client already gives (lib/errors.ts): 'unreachable'
// means nothing came back on that connection; any other device verdict ('timeout' after a partial answer, an
// auth or privilege refusal, a device "no") means something did. A device operation that succeeds is an
// answer; a connect that succeeds is not (some transports send nothing to connect).
import type { OperationContext, PowerDevice } from './declaration.js';
import { FenceError, asFenceError } from '../errors.js';
import { ChildTimeout } from '../exec.js';
import { remaining } from '../timing.js';

/** Kinds only a device that answered can produce. */
const ANSWERED = new Set(['timeout', 'auth', 'privilege', 'device-refused', 'no-such-plug', 'unconfirmed']);

export class SilenceWatch {
  private heard = false;

  /**
   * @param deadline when silence becomes a failure (epoch ms), or Infinity for no such bound
   *   (login_timeout=0, or a device that is not reached over the network)
   * @param loginTimeoutS for the message
   */
  constructor(
    private readonly deadline: number,
    private readonly loginTimeoutS: number,
  ) {}

  /** An operation's deadline: no later than the silence deadline until the device has answered. */
  cap(deadline: number): number {
    return this.heard ? deadline : Math.min(deadline, this.deadline);
  }

  /**
   * Run one exchange with the device, note whether it answered, and end the action if it stayed silent
   * too long. `success` says whether a success proves an answer: a device operation's does, a connect's
   * does not (with transport=ipmitool, or an SNMP client, connecting sends nothing).
   */
  async observe<T>(exchange: () => Promise<T>, success: 'answered' | 'proves-nothing' = 'answered'): Promise<T> {
    try {
      const result = await exchange();
      if (success === 'answered') this.heard = true;
      return result;
    } catch (err) {
      const e = asFenceError(err);
      // A child (ipmitool) killed at its deadline says nothing about the device: that is silence too.
      const silent = e.kind === 'unreachable' || e instanceof ChildTimeout;
      if (!silent && ANSWERED.has(e.kind)) this.heard = true;
      else if (silent && !this.heard && Number.isFinite(this.deadline) && remaining(this.deadline) <= 0) {
        // Final: neither the login retries nor the engine's polls may go on after this.
        throw new FenceError('unreachable', `nothing answered within login_timeout (${this.loginTimeoutS} s): ${e.message}`, { cause: e, final: true });
      }
      throw e;
    }
  }

  private ctx(ctx: OperationContext): OperationContext {
    return { ...ctx, deadline: this.cap(ctx.deadline) };
  }

  /** The device with every exchange observed, and bounded by the silence deadline until it has answered. */
  watch(d: PowerDevice): PowerDevice {
    const watched: PowerDevice = {
      getPower: (plug, ctx) => this.observe(() => d.getPower(plug, this.ctx(ctx))),
      setPower: (plug, state, ctx) => this.observe(() => d.setPower(plug, state, this.ctx(ctx))),
      close: () => d.close(),
      // The confirmation contract passes through unchanged: without it the engine would poll a device
      // whose set is its proof.
      ...(d.confirmedBySet ? { confirmedBySet: d.confirmedBySet } : {}),
    };
    // Optional operations stay absent when the device lacks them: the engine checks their presence.
    if (d.cycle) watched.cycle = (plug, ctx) => this.observe(() => d.cycle!(plug, this.ctx(ctx)));
    if (d.diag) watched.diag = (plug, ctx) => this.observe(() => d.diag!(plug, this.ctx(ctx)));
    if (d.list) watched.list = (ctx) => this.observe(() => d.list!(this.ctx(ctx)));
    if (d.monitor) watched.monitor = (ctx) => this.observe(() => d.monitor!(this.ctx(ctx)));
    return watched;
  }
}
