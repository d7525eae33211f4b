// Review finding 1: `reboot` with method=cycle reported "Success: Rebooted" having sent no cycle at all when
// the fence deadline was spent before the first attempt (a status read that timed out exactly at the
// deadline), and silently skipped a later plug of a multi-plug cycle once an earlier plug used up the
// deadline. A reboot by cycle succeeds only for plugs the device acknowledged a cycle for. Scripted
// in-memory devices: these prove the engine's sequencing only.
import { describe, expect, it } from 'vitest';
import { PowerEngine, type EngineSettings } from '../../../lib/actions.js';
import type { OperationContext, PowerDevice, PowerState } from '../../../lib/agent/declaration.js';
import { FenceError } from '../../../lib/errors.js';
import { silentLogger } from '../../../lib/log.js';
import { remaining, sleep } from '../../../lib/timing.js';

const CYCLE: EngineSettings = { powerTimeoutMs: 5_000, shellTimeoutMs: 1_000, powerWaitMs: 0, statusSleepMs: 20, retryOn: 1, method: 'cycle', forceOn: false };

/** Every call is journaled; reads and cycles take as long as `slow` says, up to the deadline they are given. */
class CyclingDevice implements PowerDevice {
  journal: string[] = [];
  constructor(private readonly slow: { readsTimeOut?: boolean; cycleUsesDeadline?: Set<string> } = {}) {}
  async getPower(plug: string | undefined, ctx: OperationContext): Promise<PowerState> {
    this.journal.push(`get ${plug}`);
    if (this.slow.readsTimeOut) {
      // A BMC that has gone quiet: the read waits for its whole deadline, then times out.
      await sleep(remaining(ctx.deadline));
      throw new FenceError('timeout', 'no answer to Get Chassis Status');
    }
    return 'on';
  }
  async setPower(plug: string | undefined, state: PowerState): Promise<void> {
    this.journal.push(`set ${plug} ${state}`);
  }
  async cycle(plug: string | undefined, ctx: OperationContext): Promise<void> {
    this.journal.push(`cycle ${plug}`);
    if (this.slow.cycleUsesDeadline?.has(plug ?? '-')) await sleep(remaining(ctx.deadline));
  }
  async close() {}
}

describe('reboot by method=cycle needs a cycle sent and acknowledged for every plug', () => {
  it('fails as a timeout, not "Rebooted", when the status read ran the fence deadline out before any cycle', async () => {
    const dev = new CyclingDevice({ readsTimeOut: true });
    const settings = { ...CYCLE, fenceDeadline: Date.now() + 300 };
    await expect(new PowerEngine(dev, [undefined], settings, silentLogger).reboot()).rejects.toMatchObject({ kind: 'timeout' });
    expect(dev.journal.filter((j) => j.startsWith('cycle'))).toEqual([]);
  });

  it('fails as a timeout when a later plug of a multi-plug cycle was never attempted', async () => {
    const dev = new CyclingDevice({ cycleUsesDeadline: new Set(['a']) });
    const settings = { ...CYCLE, shellTimeoutMs: 5_000, fenceDeadline: Date.now() + 300 };
    const err = await new PowerEngine(dev, ['a', 'b'], settings, silentLogger).reboot().catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'timeout', message: expect.stringContaining('plug b') });
    expect(dev.journal.filter((j) => j.startsWith('cycle'))).toEqual(['cycle a']);
  });

  it('still succeeds when every plug is cycled within the deadline', async () => {
    const dev = new CyclingDevice();
    const r = await new PowerEngine(dev, ['a', 'b'], { ...CYCLE, fenceDeadline: Date.now() + 2_000 }, silentLogger).reboot();
    expect(r).toEqual({ exitCode: 0, stdout: ['Success: Rebooted'] });
    expect(dev.journal.filter((j) => j.startsWith('cycle'))).toEqual(['cycle a', 'cycle b']);
  });
});

describe('the engine refuses an empty target list', () => {
  // readOptions refuses a plug option naming no plug; the engine must not turn an empty list into
  // "Success: Already OFF" (or a reboot of nothing) if a caller ever forgets that check.
  it.each(['off', 'on', 'reboot', 'status', 'diag'] as const)('%s throws an internal error and contacts nothing', async (action) => {
    const dev = new CyclingDevice();
    await expect(new PowerEngine(dev, [], CYCLE, silentLogger)[action]()).rejects.toMatchObject({ kind: 'internal', message: expect.stringMatching(/no target/) });
    expect(dev.journal).toEqual([]);
  });
});
