// The engine's reboot: power_wait passes between the read that confirmed the off and the power-on, only when
// this reboot turned the node off (a node found off is powered on at once, as fence-agents does).
import { describe, expect, it } from 'vitest';
import { PowerEngine, type EngineSettings } from '../../../lib/actions.js';
import type { PowerDevice, PowerState } from '../../../lib/agent/declaration.js';
import { silentLogger } from '../../../lib/log.js';

const SETTINGS: EngineSettings = { powerTimeoutMs: 5_000, shellTimeoutMs: 200, powerWaitMs: 300, statusSleepMs: 20, retryOn: 0, method: 'onoff', forceOn: false };

/** A device whose state follows each set at once; every call journaled with its time. */
class Instant implements PowerDevice {
  journal: { what: string; at: number }[] = [];
  constructor(private state: PowerState, readonly confirmedBySet?: readonly PowerState[]) {}
  async getPower(): Promise<PowerState> {
    this.journal.push({ what: `get ${this.state}`, at: Date.now() });
    return this.state;
  }
  async setPower(_p: string | undefined, s: PowerState): Promise<void> {
    this.journal.push({ what: `set ${s}`, at: Date.now() });
    this.state = s;
  }
  async close() {}
  /** Time from the first event named `from` to the first event named `to` after it. */
  gap(from: string, to: string): number {
    const i = this.journal.findIndex((e) => e.what === from);
    const j = this.journal.findIndex((e, k) => k > i && e.what === to);
    expect(i, JSON.stringify(this.journal)).toBeGreaterThanOrEqual(0);
    expect(j, JSON.stringify(this.journal)).toBeGreaterThan(i);
    return this.journal[j]!.at - this.journal[i]!.at;
  }
}

describe('reboot waits power_wait after the confirmed off before power-on', () => {
  it('polled off: the power-on comes power_wait after the read that confirmed it', async () => {
    const dev = new Instant('on');
    const r = await new PowerEngine(dev, [undefined], SETTINGS, silentLogger).reboot();
    expect(r.stdout).toEqual(['Success: Rebooted']);
    expect(dev.gap('get off', 'set on')).toBeGreaterThanOrEqual(SETTINGS.powerWaitMs - 5);
  });

  it('an off the device confirms by itself (confirmedBySet): the power-on comes power_wait after it', async () => {
    const dev = new Instant('on', ['off']);
    await new PowerEngine(dev, [undefined], SETTINGS, silentLogger).reboot();
    expect(dev.gap('set off', 'set on')).toBeGreaterThanOrEqual(SETTINGS.powerWaitMs - 5);
  });

  it('a node found off is powered on without the pause (nothing was turned off)', async () => {
    const dev = new Instant('off');
    const started = Date.now();
    await new PowerEngine(dev, [undefined], SETTINGS, silentLogger).reboot();
    const on = dev.journal.find((e) => e.what === 'set on');
    expect(on).toBeDefined();
    expect(on!.at - started).toBeLessThan(SETTINGS.powerWaitMs);
  });

  it('power_wait 0: no pause', async () => {
    const dev = new Instant('on');
    await new PowerEngine(dev, [undefined], { ...SETTINGS, powerWaitMs: 0 }, silentLogger).reboot();
    expect(dev.gap('get off', 'set on')).toBeLessThan(100);
  });

  it('an off alone is confirmed at once, without waiting power_wait (the pause belongs before a power-on)', async () => {
    const dev = new Instant('on');
    const r = await new PowerEngine(dev, [undefined], SETTINGS, silentLogger).off();
    expect(r.stdout).toEqual(['Success: Powered OFF']);
    expect(dev.gap('set off', 'get off')).toBeLessThan(SETTINGS.powerWaitMs / 2);
  });
});
