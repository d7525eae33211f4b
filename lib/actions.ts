// The power engine shared by every agent: read the state first, act, and report success only once the
// device itself reports the target in the asked-for state. A timeout, an unreachable device or a state
// that is neither on nor off is a failure, never a success.
import type { ActionResult, OperationContext, PlugInfo, PowerDevice, PowerState } from './agent/declaration.js';
import { FenceError, asFenceError, endsRetries } from './errors.js';
import type { Logger } from './log.js';
import { deadlineIn, remaining, sleep, sleepUntil } from './timing.js';

export interface EngineSettings {
  /** How long an on/off may take to be confirmed; Infinity when timeouts are disabled. */
  readonly powerTimeoutMs: number;
  /** Bound on one device command (a status read, a set). */
  readonly shellTimeoutMs: number;
  readonly powerWaitMs: number;
  readonly statusSleepMs: number;
  /**
   * How long a target may still read on after its off was acknowledged before the off is sent again
   * (PowerEngine.switchAndConfirm). Unset: never sent again.
   */
  readonly offResendMs?: number;
  /** Extra attempts to power on (fence-agents' retry_on). */
  readonly retryOn: number;
  readonly method: 'onoff' | 'cycle';
  readonly forceOn: boolean;
  /**
   * When the fence itself must be over (epoch ms): off, and the off half of a reboot, end by then
   * whatever the phases' own timeouts say. The agent runner sets it to login_timeout + power_timeout
   * from its start, so a login that took most of its budget does not get a fresh power_timeout on top.
   */
  readonly fenceDeadline?: number;
}

export type { ActionResult };

/** Plugs to act on: undefined for a single-target device, otherwise every plug named. */
export type Targets = readonly (string | undefined)[];

const upper = (s: PowerState) => s.toUpperCase();

export class PowerEngine {
  /**
   * settings.fenceDeadline while an off (or a reboot's off half) runs; lifted (Infinity) for an on and for a
   * reboot's on half, which are not the fence.
   */
  private fenceDeadline: number;
  /** Why the first status read got no answer, if it got none: the error to report if nothing ever answers. */
  private firstSilence: FenceError | undefined;

  constructor(
    private readonly device: PowerDevice,
    private readonly targets: Targets,
    private readonly settings: EngineSettings,
    private readonly logger: Logger,
  ) {
    this.fenceDeadline = settings.fenceDeadline ?? Number.POSITIVE_INFINITY;
  }

  /**
   * The targets of an action on targets. With none, every "for each plug" is empty and an off would
   * read "Already OFF": the runner refuses a plug option naming no plug, and this is the same rule where
   * it matters. (list and monitor address the device and may run without a target.)
   */
  private requireTargets(): void {
    if (this.targets.length === 0) throw new FenceError('internal', 'the power engine was given no target to act on');
  }

  /** A phase deadline `ms` from now, never past the fence deadline. */
  private within(ms: number): number {
    return Math.min(deadlineIn(ms), this.fenceDeadline);
  }

  /**
   * The state before acting. A read that fails transiently (a lost packet, a slow answer) does not end a
   * fence: the command is sent anyway and confirmed by the polls that follow, which retry until the deadline.
   * A refusal, or an answer that is neither on nor off, still ends it at once.
   */
  private async statesBefore(): Promise<PowerState[] | undefined> {
    try {
      return await this.readStates(this.within(this.settings.shellTimeoutMs * 2));
    } catch (err) {
      const e = asFenceError(err);
      // Only silence is worth acting through; an answer we cannot read (testing(3), an unknown value)
      // still fails at once, with nothing sent.
      if (endsRetries(e) || (e.kind !== 'timeout' && e.kind !== 'unreachable')) throw e;
      this.logger.debug(`status before acting failed (${e.kind}): ${e.message}; sending the command anyway`);
      this.firstSilence ??= e;
      return undefined;
    }
  }

  private ctx(phaseDeadline: number): OperationContext {
    return { deadline: Math.min(phaseDeadline, deadlineIn(this.settings.shellTimeoutMs)), logger: this.logger };
  }

  /** State of every target; the aggregate is off only when every plug is off. */
  async readStates(phaseDeadline: number): Promise<PowerState[]> {
    const states: PowerState[] = [];
    for (const plug of this.targets) states.push(await this.device.getPower(plug, this.ctx(phaseDeadline)));
    return states;
  }

  private describe(plug: string | undefined): string {
    return plug === undefined ? 'target' : `plug ${plug}`;
  }

  /** The device declares that its setPower(state) proves the state by itself (PowerDevice.confirmedBySet). */
  private confirmedBySet(state: PowerState): boolean {
    return this.device.confirmedBySet?.includes(state) ?? false;
  }

  /**
   * Switch every target to `want` and poll until the device reports all of them there, within
   * power_timeout. A set that fails transiently is sent again on the next poll; a set the device
   * refuses fails at once. A device that acknowledges but never changes fails at the deadline.
   * For a device whose set of `want` confirms itself, the set is the confirmation and no poll follows:
   * every target then either read `want` before or had a set that proved it.
   */
  async switchAndConfirm(want: PowerState, current?: readonly PowerState[] | null): Promise<void> {
    const deadline = this.within(this.settings.powerTimeoutMs);
    const unsent = new Set<number>();
    // null: the states are unknown (the first read failed transiently), so every target gets the command.
    const states = current === null ? [] : (current ?? (await this.statesBefore()) ?? []);
    this.targets.forEach((_, i) => {
      if (states[i] !== want || (want === 'on' && this.settings.forceOn)) unsent.add(i);
    });
    let answered = false;
    const send = async () => {
      for (const i of [...unsent]) {
        const plug = this.targets[i];
        try {
          this.logger.debug(`Sending power ${want} to ${this.describe(plug)}`);
          await this.device.setPower(plug, want, this.ctx(deadline));
          answered = true;
          unsent.delete(i);
        } catch (err) {
          const e = asFenceError(err);
          if (endsRetries(e) || e.kind === 'internal') throw e;
          this.logger.debug(`power ${want} to ${this.describe(plug)} not acknowledged (${e.kind}): ${e.message}; will resend`);
        }
      }
    };
    await send();
    let offSentAt = Date.now();
    // power_wait is the pause around a power-on (fence-agents: "Wait X seconds after issuing ON/OFF"). An
    // off is confirmed by polling the device at once: a blind wait there only delays the fence, and the
    // pause a BMC needs before power-on is taken after the confirmed off (powerOnAfterConfirmedOff).
    if (want === 'on' && this.settings.powerWaitMs > 0) await sleepUntil(deadline, this.settings.powerWaitMs);
    let lastProblem = '';
    for (;;) {
      if (unsent.size === 0) {
        if (this.confirmedBySet(want)) return;
        try {
          const now = await this.readStates(deadline);
          answered = true;
          const notYet = this.targets.filter((_, i) => now[i] !== want);
          if (notYet.length === 0) return;
          lastProblem = `${notYet.map((p) => this.describe(p)).join(', ')} still ${want === 'off' ? 'on' : 'off'}`;
          if (want === 'off' && Date.now() - offSentAt >= (this.settings.offResendMs ?? Number.POSITIVE_INFINITY)) {
            await this.sendOffAgain(notYet, deadline);
            offSentAt = Date.now();
          }
        } catch (err) {
          const e = asFenceError(err);
          if (endsRetries(e) || e.kind === 'internal') throw e;
          lastProblem = e.message;
          this.logger.debug(`status read failed (${e.kind}): ${e.message}`);
        }
      } else {
        await send();
        offSentAt = Date.now();
        if (unsent.size === 0) continue;
        lastProblem = `power ${want} not acknowledged`;
      }
      if (remaining(deadline) <= 0) break;
      await sleepUntil(deadline, this.settings.statusSleepMs);
      // A read started at the deadline could only fail for lack of time and would hide what the device
      // last said ("plug 5 still on"): stop with that instead.
      if (remaining(deadline) <= 0) break;
    }
    // A device silent from the first read to the deadline: say so as the first read found it (unreachable,
    // a wrong community), not as a power change that timed out.
    if (!answered && this.firstSilence) throw this.firstSilence;
    throw new FenceError('timeout', `Timed out waiting to power ${upper(want)}${lastProblem ? ` (${lastProblem})` : ''}`);
  }

  /**
   * An off the device acknowledged while the target still reads on: sent once more. Two fences of one node
   * at once (an admin racing the cluster, two fencers) can interleave so that the other's reboot powers the
   * node on again after our off and before our first read that could have seen it off; only an off of our
   * own that the device then reports confirms this fence. A slow device gets offResendMs (half of
   * power_timeout) between two sends, so one that restarts its change on each command still has time to
   * finish it. The first off was acknowledged: a repeat the device refuses or does not answer is logged and
   * the polls go on, and success still needs a read that says off.
   */
  private async sendOffAgain(plugs: readonly (string | undefined)[], deadline: number): Promise<void> {
    for (const plug of plugs) {
      try {
        this.logger.debug(`${this.describe(plug)} still reads on after its acknowledged off: sending power off again`);
        await this.device.setPower(plug, 'off', this.ctx(deadline));
      } catch (err) {
        const e = asFenceError(err);
        if (e.kind === 'internal') throw e;
        this.logger.debug(`repeated power off to ${this.describe(plug)} not acknowledged (${e.kind}): ${e.message}`);
      }
    }
  }

  async status(): Promise<ActionResult> {
    this.requireTargets();
    const states = await this.readStates(deadlineIn(this.settings.shellTimeoutMs * 2));
    const on = states.some((s) => s === 'on');
    return { exitCode: on ? 0 : 2, stdout: [`Status: ${on ? 'ON' : 'OFF'}`] };
  }

  /**
   * The off of a device whose off confirms itself: the set is the fence, so it is sent whatever the state,
   * gets the whole power_timeout and is not polled.
   */
  private async confirmedOff(): Promise<void> {
    const deadline = this.within(this.settings.powerTimeoutMs);
    for (const plug of this.targets) {
      this.logger.debug(`Sending power off to ${this.describe(plug)} (confirmed by the device)`);
      await this.device.setPower(plug, 'off', { deadline, logger: this.logger });
    }
  }

  async off(): Promise<ActionResult> {
    this.requireTargets();
    if (this.confirmedBySet('off')) {
      await this.confirmedOff();
      return { exitCode: 0, stdout: ['Success: Powered OFF'] };
    }
    const states = await this.statesBefore();
    if (states?.every((s) => s === 'off')) return this.alreadyOff();
    await this.switchAndConfirm('off', states ?? null);
    return { exitCode: 0, stdout: ['Success: Powered OFF'] };
  }

  /**
   * A target that reads off may only be between two boots of a reset loop (a flapping node): one read is
   * no fence. Off is commanded anyway and confirmed like any off; it is idempotent on every device here.
   * A device that refuses an off to a target already off (a read-only account) is believed after a
   * second read that still says off.
   */
  private async alreadyOff(): Promise<ActionResult> {
    try {
      await this.switchAndConfirm('off', null);
    } catch (err) {
      const e = asFenceError(err);
      if (!endsRetries(e)) throw e;
      const again = await this.readStates(this.within(this.settings.shellTimeoutMs * 2));
      if (!again.every((s) => s === 'off')) throw e;
      this.logger.debug(`off refused (${e.message}) but the target reads off again`);
    }
    return { exitCode: 0, stdout: ['Success: Already OFF'] };
  }

  async on(): Promise<ActionResult> {
    this.requireTargets();
    // An on is not a fence: retry_on attempts each get power_timeout, as in fence-agents.
    this.fenceDeadline = Number.POSITIVE_INFINITY;
    const states = await this.statesBefore();
    if (!this.settings.forceOn && states?.every((s) => s === 'on')) return { exitCode: 0, stdout: ['Success: Already ON'] };
    await this.attemptsToPowerOn(1 + this.settings.retryOn, states ?? null);
    return { exitCode: 0, stdout: ['Success: Powered ON'] };
  }

  private async attemptsToPowerOn(attempts: number, states?: readonly PowerState[] | null): Promise<void> {
    let last: FenceError | undefined;
    for (let n = 1; n <= Math.max(1, attempts); n++) {
      try {
        await this.switchAndConfirm('on', n === 1 ? states : undefined);
        return;
      } catch (err) {
        last = asFenceError(err);
        if (endsRetries(last)) throw last;
        this.logger.warn(`Power on attempt ${n} of ${attempts} failed: ${last.message}`);
      }
    }
    throw last!;
  }

  /**
   * Reboot = off (confirmed) then on. The off half decides success: once the node is confirmed off it
   * is fenced, so a failed power-on is reported but does not turn the fence into a failure.
   */
  async reboot(): Promise<ActionResult> {
    this.requireTargets();
    if (this.confirmedBySet('off') && this.settings.method !== 'cycle') {
      await this.confirmedOff();
      return this.powerOnAfterConfirmedOff(true);
    }
    const states = await this.statesBefore();
    const allOff = states?.every((s) => s === 'off') ?? false;
    if (this.settings.method === 'cycle' && !allOff) {
      await this.cycle();
      return { exitCode: 0, stdout: ['Success: Rebooted'] };
    }
    // With method=cycle a node that is already off is fenced: power it on instead of sending a cycle
    // the BMC would reject "in present state" (fence-agents issue 596).
    if (!allOff) await this.switchAndConfirm('off', states ?? null);
    return this.powerOnAfterConfirmedOff(!allOff);
  }

  /**
   * The second half of a reboot, once every plug is confirmed off: the node is fenced, so its power-on gets
   * its own power_timeout (a reboot's bound is login + 2 x power) and a failed power-on is a warning.
   * When this reboot turned the node off, power_wait passes between the confirmed off and the power-on:
   * some BMCs refuse a power-on that follows an off at once (fence_ilo3 waits 4 s, fence_ipmilan 2 s,
   * counted from their off command; counted here from the device's confirmation, so never shorter).
   */
  private async powerOnAfterConfirmedOff(turnedOff: boolean): Promise<ActionResult> {
    this.fenceDeadline = Number.POSITIVE_INFINITY;
    if (turnedOff && this.settings.powerWaitMs > 0) {
      this.logger.debug(`Waiting ${this.settings.powerWaitMs} ms (power_wait) after the confirmed off before power on`);
      await sleep(this.settings.powerWaitMs);
    }
    try {
      await this.attemptsToPowerOn(this.settings.retryOn);
    } catch (err) {
      this.logger.warn(`Timed out waiting to power ON after a confirmed OFF: ${asFenceError(err).message}`);
    }
    return { exitCode: 0, stdout: ['Success: Rebooted'] };
  }

  /**
   * A reboot by cycle succeeds only for plugs whose cycle the device acknowledged: a plug never tried
   * because the deadline was already spent (by a status read that timed out at it, or by the plugs
   * before it) is a timeout, as in fence-agents, never a skipped step.
   */
  private async cycle(): Promise<void> {
    const cycle = this.device.cycle?.bind(this.device);
    if (!cycle) throw new FenceError('bad-input', "this device does not support method 'cycle'");
    const deadline = this.within(this.settings.powerTimeoutMs);
    for (const plug of this.targets) {
      const why = this.firstSilence ? ` (the status read before it: ${this.firstSilence.message})` : '';
      let last = new FenceError('timeout', `Timed out before a power cycle could be sent to ${this.describe(plug)}${why}`);
      let acknowledged = false;
      for (let n = 1; n <= 1 + this.settings.retryOn && remaining(deadline) > 0; n++) {
        try {
          await cycle(plug, this.ctx(deadline));
          acknowledged = true;
          break;
        } catch (err) {
          last = asFenceError(err);
          if (endsRetries(last)) throw last;
        }
      }
      if (!acknowledged) throw last;
    }
    if (this.settings.powerWaitMs > 0) await sleepUntil(deadline, this.settings.powerWaitMs);
  }

  async diag(): Promise<ActionResult> {
    this.requireTargets();
    const diag = this.device.diag?.bind(this.device);
    if (!diag) throw new FenceError('bad-input', 'this device does not support diag');
    for (const plug of this.targets) await diag(plug, this.ctx(deadlineIn(this.settings.powerTimeoutMs)));
    return { exitCode: 0, stdout: ['Success: Diagnostic interrupt sent'] };
  }

  async monitor(): Promise<ActionResult> {
    const ctx = this.ctx(deadlineIn(this.settings.shellTimeoutMs * 2));
    if (this.device.monitor) await this.device.monitor(ctx);
    else if (this.device.list) await this.device.list(ctx);
    else await this.device.getPower(this.targets[0], ctx);
    return { exitCode: 0, stdout: [] };
  }

  async list(withStatus: boolean, separator: string): Promise<ActionResult> {
    if (!this.device.list) return { exitCode: 0, stdout: ['N/A'] };
    const plugs: PlugInfo[] = await this.device.list(this.ctx(deadlineIn(this.settings.shellTimeoutMs * 4)));
    const stdout = plugs.map((p) =>
      withStatus ? [p.id, p.alias, p.state && p.state !== 'unknown' ? upper(p.state) : 'UNKNOWN'].join(separator) : [p.id, p.alias].join(separator),
    );
    return { exitCode: 0, stdout };
  }
}
