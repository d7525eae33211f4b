// The engine's sequencing rules, driven by a scripted in-memory device. These prove ordering and timing
// decisions only; that an agent really fences is proven against real peers in test/integration.
import { describe, expect, it } from 'vitest';
import { PowerEngine, type EngineSettings } from '../../../lib/actions.js';
import type { OperationContext, PowerDevice, PowerState } from '../../../lib/agent/declaration.js';
import { FenceError } from '../../../lib/errors.js';
import { silentLogger } from '../../../lib/log.js';

const FAST: EngineSettings = { powerTimeoutMs: 400, shellTimeoutMs: 200, powerWaitMs: 0, statusSleepMs: 20, retryOn: 1, method: 'onoff', forceOn: false };

/** Outlets that change state when told to, unless scripted otherwise; every call is journaled. */
class ScriptedDevice implements PowerDevice {
  journal: string[] = [];
  constructor(
    public states: Record<string, PowerState>,
    private behaviour: { lies?: Set<string>; refuses?: Set<string>; unknownAfterOff?: boolean; failOn?: boolean } = {},
  ) {}
  async getPower(plug: string | undefined): Promise<PowerState> {
    this.journal.push(`get ${plug}`);
    return this.states[plug ?? '-']!;
  }
  async setPower(plug: string | undefined, state: PowerState, _ctx: OperationContext): Promise<void> {
    this.journal.push(`set ${plug} ${state}`);
    if (this.behaviour.refuses?.has(plug ?? '-')) throw new FenceError('device-refused', `outlet ${plug} refused`);
    if (state === 'on' && this.behaviour.failOn) throw new FenceError('timeout', 'no answer');
    if (!this.behaviour.lies?.has(plug ?? '-')) this.states[plug ?? '-'] = state;
  }
  async cycle(plug: string | undefined) {
    this.journal.push(`cycle ${plug}`);
  }
  async close() {}
}

describe('power engine', () => {
  it('reports Already OFF when every plug reads off, after commanding off and confirming it (one read of a boot-looping node is no fence)', async () => {
    const dev = new ScriptedDevice({ a: 'off', b: 'off' });
    const r = await new PowerEngine(dev, ['a', 'b'], FAST, silentLogger).off();
    expect(r.stdout).toEqual(['Success: Already OFF']);
    expect(dev.journal.filter((j) => j.startsWith('set'))).toEqual(['set a off', 'set b off']);
    expect(dev.journal.at(-1)).toMatch(/^get/);
  });

  it('Already OFF on a device that refuses off to a plug already off, once a second read still says off', async () => {
    const dev = new ScriptedDevice({ a: 'off' }, { refuses: new Set(['a']) });
    const r = await new PowerEngine(dev, ['a'], FAST, silentLogger).off();
    expect(r.stdout).toEqual(['Success: Already OFF']);
  });

  it('switches every plug off and confirms each before success', async () => {
    const dev = new ScriptedDevice({ a: 'on', b: 'on' });
    const r = await new PowerEngine(dev, ['a', 'b'], FAST, silentLogger).off();
    expect(r).toEqual({ exitCode: 0, stdout: ['Success: Powered OFF'] });
    expect(dev.states).toEqual({ a: 'off', b: 'off' });
  });

  it('fails when the device acknowledges off but the plug stays on (a lying outlet)', async () => {
    const dev = new ScriptedDevice({ a: 'on', b: 'on' }, { lies: new Set(['b']) });
    const started = Date.now();
    await expect(new PowerEngine(dev, ['a', 'b'], FAST, silentLogger).off()).rejects.toMatchObject({ kind: 'timeout', message: expect.stringMatching(/Timed out waiting to power OFF.*plug b/) });
    expect(Date.now() - started).toBeLessThan(FAST.powerTimeoutMs + 300);
  });

  it('an off overtaken by another fence\'s power-on is sent again after offResendMs, and succeeds only once a read says off', async () => {
    // The other reboot's on lands between our acknowledged off and our first read: the plug reads on.
    const dev = new ScriptedDevice({ a: 'on' });
    let overtaken = false;
    const getPower = dev.getPower.bind(dev);
    dev.getPower = async (plug) => {
      if (!overtaken && dev.states.a === 'off') {
        overtaken = true;
        dev.states.a = 'on';
      }
      return getPower(plug);
    };
    const r = await new PowerEngine(dev, ['a'], { ...FAST, powerTimeoutMs: 2_000, offResendMs: 100 }, silentLogger).off();
    expect(r.stdout).toEqual(['Success: Powered OFF']);
    const sets = dev.journal.filter((j) => j.startsWith('set'));
    expect(sets).toEqual(['set a off', 'set a off']);
    // the second off was sent only after reads that said on for offResendMs, and a read after it said off
    expect(dev.journal.at(-1)).toBe('get a');
    expect(dev.states.a).toBe('off');
  });

  it('an off that stays on is sent again every offResendMs and still fails at the deadline; a refused repeat does not end the polls', async () => {
    const lying = new ScriptedDevice({ a: 'on' }, { lies: new Set(['a']) });
    await expect(new PowerEngine(lying, ['a'], { ...FAST, powerTimeoutMs: 500, offResendMs: 200 }, silentLogger).off()).rejects.toMatchObject({ kind: 'timeout' });
    // at 0, then no sooner than 200 ms after the last send: twice, or three times when the timers keep time
    const resent = lying.journal.filter((j) => j.startsWith('set')).length;
    expect(resent).toBeGreaterThanOrEqual(2);
    expect(resent).toBeLessThanOrEqual(3);

    let sets = 0;
    const refusesRepeats = new ScriptedDevice({ a: 'on' }, { lies: new Set(['a']) });
    const setPower = refusesRepeats.setPower.bind(refusesRepeats);
    refusesRepeats.setPower = async (plug, state, ctx) => {
      if (++sets > 1) throw new FenceError('device-refused', 'not in present state');
      return setPower(plug, state, ctx);
    };
    const started = Date.now();
    await expect(new PowerEngine(refusesRepeats, ['a'], { ...FAST, powerTimeoutMs: 500, offResendMs: 100 }, silentLogger).off()).rejects.toMatchObject({ kind: 'timeout', message: expect.stringMatching(/still on/) });
    expect(Date.now() - started).toBeGreaterThanOrEqual(450);
    expect(sets).toBeGreaterThan(2);
  });

  it('without offResendMs an acknowledged off is sent once', async () => {
    const lying = new ScriptedDevice({ a: 'on' }, { lies: new Set(['a']) });
    await expect(new PowerEngine(lying, ['a'], FAST, silentLogger).off()).rejects.toMatchObject({ kind: 'timeout' });
    expect(lying.journal.filter((j) => j.startsWith('set'))).toEqual(['set a off']);
  });

  it('fails at once when the device refuses, without waiting out power_timeout', async () => {
    const dev = new ScriptedDevice({ a: 'on' }, { refuses: new Set(['a']) });
    const started = Date.now();
    await expect(new PowerEngine(dev, ['a'], { ...FAST, powerTimeoutMs: 10_000 }, silentLogger).off()).rejects.toMatchObject({ kind: 'device-refused' });
    expect(Date.now() - started).toBeLessThan(500);
  });

  it('reboot: every off is confirmed before any on is sent', async () => {
    const dev = new ScriptedDevice({ a: 'on', b: 'on' });
    const r = await new PowerEngine(dev, ['a', 'b'], FAST, silentLogger).reboot();
    expect(r.stdout).toEqual(['Success: Rebooted']);
    const firstOn = dev.journal.indexOf('set a on');
    const lastOffConfirm = dev.journal.lastIndexOf('get b', firstOn);
    expect(dev.journal.slice(0, firstOn)).toContain('set b off');
    expect(lastOffConfirm).toBeGreaterThan(dev.journal.indexOf('set b off'));
    expect(dev.states).toEqual({ a: 'on', b: 'on' });
  });

  it('reboot succeeds when power-on fails after a confirmed off (the off half decides)', async () => {
    const dev = new ScriptedDevice({ a: 'on' }, { failOn: true });
    const r = await new PowerEngine(dev, ['a'], FAST, silentLogger).reboot();
    expect(r).toEqual({ exitCode: 0, stdout: ['Success: Rebooted'] });
    expect(dev.states.a).toBe('off');
  });

  it('method=cycle on a target that is already off powers it on instead of sending cycle', async () => {
    const dev = new ScriptedDevice({ '-': 'off' });
    const r = await new PowerEngine(dev, [undefined], { ...FAST, method: 'cycle' }, silentLogger).reboot();
    expect(r.stdout).toEqual(['Success: Rebooted']);
    expect(dev.journal).not.toContain('cycle undefined');
    expect(dev.states['-']).toBe('on');
  });

  it('status exits 0 for on and 2 for off; any plug on makes the aggregate on', async () => {
    expect((await new PowerEngine(new ScriptedDevice({ a: 'off', b: 'on' }), ['a', 'b'], FAST, silentLogger).status()).exitCode).toBe(0);
    expect((await new PowerEngine(new ScriptedDevice({ a: 'off', b: 'off' }), ['a', 'b'], FAST, silentLogger).status())).toEqual({ exitCode: 2, stdout: ['Status: OFF'] });
  });
});

describe('final errors', () => {
  it('end retries like refusals: nothing listening is not silence that loss could explain', async () => {
    const { retryUntil } = await import('../../../lib/timing.js');
    let attempts = 0;
    const started = Date.now();
    await expect(
      retryUntil(
        async () => {
          attempts++;
          throw new FenceError('unreachable', 'ICMP port unreachable', { final: true });
        },
        { deadline: Date.now() + 5000, intervalMs: 10, logger: silentLogger, what: 'login' },
      ),
    ).rejects.toMatchObject({ kind: 'unreachable' });
    expect(attempts).toBe(1);
    expect(Date.now() - started).toBeLessThan(500);
  });

  it('while plain unreachable errors are retried until the deadline', async () => {
    const { retryUntil } = await import('../../../lib/timing.js');
    let attempts = 0;
    await expect(
      retryUntil(
        async () => {
          attempts++;
          throw new FenceError('unreachable', 'silence');
        },
        { deadline: Date.now() + 200, intervalMs: 20, logger: silentLogger, what: 'login' },
      ),
    ).rejects.toMatchObject({ kind: 'unreachable' });
    expect(attempts).toBeGreaterThan(3);
  });
});

describe('timeout messages', () => {
  it('name the plug the device last reported in the wrong state, not the deadline', async () => {
    const dev = new ScriptedDevice({ a: 'on', b: 'on' }, { lies: new Set(['b']) });
    const err = await new PowerEngine(dev, ['a', 'b'], { ...FAST, statusSleepMs: 150 }, silentLogger).off().catch((e) => e);
    expect(err.message).toMatch(/Timed out waiting to power OFF \(plug b still on\)/);
  });
});

describe('deadlines', () => {
  it('an unbounded deadline (timeouts disabled) is still one a Node timer can hold', async () => {
    const { deadlineIn, timerMs, MAX_TIMER_MS } = await import('../../../lib/timing.js');
    const d = deadlineIn(Number.POSITIVE_INFINITY);
    expect(Number.isFinite(d)).toBe(true);
    expect(d - Date.now()).toBeLessThanOrEqual(MAX_TIMER_MS);
    expect(timerMs(Number.POSITIVE_INFINITY)).toBe(MAX_TIMER_MS);
    expect(timerMs(-5)).toBe(0);
  });
});
