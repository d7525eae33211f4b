// The engine with a device whose off confirms itself (PowerDevice.confirmedBySet = ['off'], declared by
// sanlock's lease takeover and the SCSI fabric): no status-first short-circuit, no polling, the whole power_timeout as its deadline.
import { describe, expect, it } from 'vitest';
import { PowerEngine, type EngineSettings } from '../../../lib/actions.js';
import type { OperationContext, PowerDevice, PowerState } from '../../../lib/agent/declaration.js';
import { FenceError } from '../../../lib/errors.js';
import { silentLogger } from '../../../lib/log.js';

const SETTINGS: EngineSettings = { powerTimeoutMs: 5_000, shellTimeoutMs: 200, powerWaitMs: 0, statusSleepMs: 20, retryOn: 1, method: 'onoff', forceOn: false };

class SelfConfirming implements PowerDevice {
  readonly confirmedBySet: readonly PowerState[] = ['off'];
  journal: string[] = [];
  deadlines: number[] = [];
  constructor(private readonly outcome: 'ok' | 'timeout', private readonly state: PowerState = 'off') {}
  async getPower(): Promise<PowerState> {
    this.journal.push('get');
    return this.state;
  }
  async setPower(_p: string | undefined, s: PowerState, ctx: OperationContext): Promise<void> {
    if (s === 'on') {
      this.journal.push('set on');
      return;
    }
    this.journal.push('confirmed-off');
    this.deadlines.push(ctx.deadline);
    if (this.outcome === 'timeout') throw new FenceError('timeout', 'Timed out waiting to power OFF: lease not granted');
  }
  async close() {}
}

describe('power engine with a self-confirming off', () => {
  it('runs the device\'s own confirmed off even when status already says off (no "Already OFF" shortcut)', async () => {
    const dev = new SelfConfirming('ok', 'off');
    const r = await new PowerEngine(dev, [undefined], SETTINGS, silentLogger).off();
    expect(r).toEqual({ exitCode: 0, stdout: ['Success: Powered OFF'] });
    expect(dev.journal).toEqual(['confirmed-off']);
  });

  it('gives it the whole power_timeout, not the per-command shell_timeout', async () => {
    const dev = new SelfConfirming('ok');
    const before = Date.now();
    await new PowerEngine(dev, [undefined], SETTINGS, silentLogger).off();
    expect(dev.deadlines[0]! - before).toBeGreaterThanOrEqual(SETTINGS.powerTimeoutMs - 50);
  });

  it('passes its failure through: a fence that was not confirmed is never reported off', async () => {
    const dev = new SelfConfirming('timeout', 'on');
    await expect(new PowerEngine(dev, [undefined], SETTINGS, silentLogger).off()).rejects.toMatchObject({ kind: 'timeout' });
    expect(dev.journal).toEqual(['confirmed-off']);
  });

  it('uses it for the off half of a reboot', async () => {
    const dev = new SelfConfirming('ok', 'on');
    const r = await new PowerEngine(dev, [undefined], { ...SETTINGS, powerTimeoutMs: 100 }, silentLogger).reboot();
    expect(r.stdout).toEqual(['Success: Rebooted']);
    expect(dev.journal[0]).toBe('confirmed-off');
  });
});
