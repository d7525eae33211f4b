// The confirmation contract between the engine and a device (PowerDevice.confirmedBySet), driven by a
// journaling in-memory device: the engine confirms a change by what the device declares, never by a device
// guessing which call comes next. That the real devices keep their side of it is proven against real peers
// (test/integration/scsi-*.test.ts, sanlock*.test.ts); their declarations are checked at the end here.
import { describe, expect, it } from 'vitest';
import { PowerEngine, type EngineSettings } from '../../../lib/actions.js';
import type { OperationContext, PowerDevice, PowerState } from '../../../lib/agent/declaration.js';
import { SilenceWatch } from '../../../lib/agent/silence.js';
import { silentLogger } from '../../../lib/log.js';

const SETTINGS: EngineSettings = { powerTimeoutMs: 300, shellTimeoutMs: 100, powerWaitMs: 0, statusSleepMs: 20, retryOn: 0, method: 'onoff', forceOn: false };

/**
 * A device whose setPower resolves but changes nothing a read can see: the state it reports is `reads`,
 * whatever was set. Only a set the device declares self-confirming may then count as a success.
 */
class Journaled implements PowerDevice {
  readonly journal: string[] = [];
  readonly setDeadlines: number[] = [];
  readonly confirmedBySet?: readonly PowerState[];
  constructor(
    private readonly reads: PowerState,
    confirmedBySet?: readonly PowerState[],
  ) {
    if (confirmedBySet) this.confirmedBySet = confirmedBySet;
  }
  async getPower(): Promise<PowerState> {
    this.journal.push('get');
    return this.reads;
  }
  async setPower(_plug: string | undefined, state: PowerState, ctx: OperationContext): Promise<void> {
    this.journal.push(`set ${state}`);
    this.setDeadlines.push(ctx.deadline);
  }
  async close() {}
}

const engine = (dev: PowerDevice, settings: EngineSettings = SETTINGS) => new PowerEngine(dev, [undefined], settings, silentLogger);

describe('a device that declares nothing: every change is confirmed by a status read', () => {
  it('off: a set that resolves is no success while reads still say on', async () => {
    const dev = new Journaled('on');
    await expect(engine(dev).off()).rejects.toMatchObject({ kind: 'timeout', message: expect.stringMatching(/Timed out waiting to power OFF/) });
    expect(dev.journal[0]).toBe('get');
    expect(dev.journal.filter((j) => j === 'set off').length).toBe(1);
    expect(dev.journal.at(-1)).toBe('get');
  });

  it('on: a set that resolves is no success while reads still say off', async () => {
    const dev = new Journaled('off');
    await expect(engine(dev).on()).rejects.toMatchObject({ kind: 'timeout', message: expect.stringMatching(/Timed out waiting to power ON/) });
    expect(dev.journal.at(-1)).toBe('get');
  });

  it('a reboot is no success without an off read back', async () => {
    const dev = new Journaled('on');
    await expect(engine(dev).reboot()).rejects.toMatchObject({ kind: 'timeout' });
    expect(dev.journal).not.toContain('set on');
  });

  it('off succeeds once a read after the set says off', async () => {
    let state: PowerState = 'on';
    const journal: string[] = [];
    const dev: PowerDevice = {
      getPower: async () => (journal.push('get'), state),
      setPower: async (_p, s) => {
        journal.push(`set ${s}`);
        state = s;
      },
      close: async () => {},
    };
    expect((await engine(dev).off()).stdout).toEqual(['Success: Powered OFF']);
    expect(journal).toEqual(['get', 'set off', 'get']);
  });
});

describe('a device that declares its off confirmed by the set', () => {
  it('off is the set alone: no read before or after it, and the whole power_timeout as its deadline', async () => {
    const dev = new Journaled('on', ['off']);
    const before = Date.now();
    expect(await engine(dev, { ...SETTINGS, powerTimeoutMs: 5_000 }).off()).toEqual({ exitCode: 0, stdout: ['Success: Powered OFF'] });
    expect(dev.journal).toEqual(['set off']);
    expect(dev.setDeadlines[0]! - before).toBeGreaterThanOrEqual(5_000 - 50);
  });

  it('on is still confirmed by reads: the declaration is per state', async () => {
    const dev = new Journaled('off', ['off']);
    await expect(engine(dev).on()).rejects.toMatchObject({ kind: 'timeout', message: expect.stringMatching(/power ON/) });
    expect(dev.journal.at(-1)).toBe('get');
  });

  it('the declaration survives the silence watch the runner puts around every device', async () => {
    const dev = new Journaled('on', ['off']);
    const watched = new SilenceWatch(Number.POSITIVE_INFINITY, 0).watch(dev);
    expect(watched.confirmedBySet).toEqual(['off']);
    expect((await engine(watched).off()).stdout).toEqual(['Success: Powered OFF']);
    expect(dev.journal).toEqual(['set off']);
  });
});

describe('a device that declares its on confirmed by the set', () => {
  it('on reads the state first, sends the set, and reads nothing after it', async () => {
    const dev = new Journaled('off', ['on']);
    expect(await engine(dev).on()).toEqual({ exitCode: 0, stdout: ['Success: Powered ON'] });
    expect(dev.journal).toEqual(['get', 'set on']);
  });

  it('a target already on is left alone, as for any device', async () => {
    const dev = new Journaled('on', ['on']);
    expect((await engine(dev).on()).stdout).toEqual(['Success: Already ON']);
    expect(dev.journal).toEqual(['get']);
  });

  it('off is still confirmed by reads', async () => {
    const dev = new Journaled('on', ['on']);
    await expect(engine(dev).off()).rejects.toMatchObject({ kind: 'timeout' });
    expect(dev.journal[0]).toBe('get');
    expect(dev.journal.at(-1)).toBe('get');
  });
});
