// A reboot's power-on waits power_wait after the BMC confirmed the off, with fence_ipmilan's defaults per
// invoked name (fence_ilo3 4 s, the others 2 s): some BMCs refuse a power-on that follows an off at once.
// Measured from the BMC's side: ipmi_sim's chassis script stamps every command it is asked to run.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startIpmiSim, type IpmiSim } from '../peers/ipmi-sim.js';
import { bmcStdin, runAgentBinary } from '../support/run-agent.js';
import { peerForFile } from '../support/scratch.js';

let bmc: IpmiSim;

peerForFile(() => startIpmiSim({ hostOn: true }), (p) => (bmc = p));
afterEach(async () => {
  if (!bmc.isHostRunning()) await bmc.powerOnHost();
});

interface Call {
  readonly at: number;
  readonly what: string;
}

/** The chassis commands ipmi_sim ran since `from` (a length of calls.log), each with its time in seconds. */
function callsSince(from: number): Call[] {
  return readFileSync(join(bmc.dir, 'calls.log'), 'utf8')
    .slice(from)
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [at, ...rest] = line.split(' ');
      return { at: Number(at), what: rest.filter((w) => !/^0x/.test(w)).join(' ') };
    });
}

const logLength = () => readFileSync(join(bmc.dir, 'calls.log'), 'utf8').length;

/**
 * The gap between the read that confirmed the off and the `set power 1`, in seconds. The simulated chassis
 * kills the host before it answers `set power 0`, so the first `get power` after it is the one that reads
 * off (later reads, such as the power-on's own look before it acts, do not confirm anything).
 */
function gapAfterConfirmedOff(calls: readonly Call[]): number {
  const off = calls.findIndex((c) => c.what === 'set power 0');
  const on = calls.findIndex((c) => c.what === 'set power 1');
  expect(off, JSON.stringify(calls)).toBeGreaterThanOrEqual(0);
  expect(on, JSON.stringify(calls)).toBeGreaterThan(off);
  const confirming = calls.slice(off + 1, on).find((c) => c.what === 'get power');
  expect(confirming, `no status read between the off and the on: ${JSON.stringify(calls)}`).toBeDefined();
  return calls[on]!.at - confirming!.at;
}

describe('reboot: power-on waits power_wait after the confirmed off (fence_ipmilan defaults per name)', () => {
  it.each([
    ['fence_kit_ilo3', {}, 4],
    ['fence_kit_ipmi', {}, 2],
    ['fence_kit_ipmi', { power_wait: '3' }, 3],
  ] as const)('%s %j: the power-on comes at least %d s after the read that confirmed off, and the host restarts', async (binary, extra, seconds) => {
    const before = bmc.hostPid();
    const from = logLength();
    const r = await runAgentBinary(binary, { stdin: bmcStdin(bmc, { action: 'reboot', ...extra }), timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('Success: Rebooted\n');
    expect(bmc.isHostRunning()).toBe(true);
    expect(bmc.hostPid()).not.toBe(before);
    expect(gapAfterConfirmedOff(callsSince(from))).toBeGreaterThanOrEqual(seconds);
  });

  it('power_wait=0 as written by the user: no pause, the power-on follows the confirmed off', async () => {
    const from = logLength();
    const r = await runAgentBinary('fence_kit_ilo3', { stdin: bmcStdin(bmc, { action: 'reboot', power_wait: '0' }), timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(gapAfterConfirmedOff(callsSince(from))).toBeLessThan(2);
  });

  it('an off alone is not delayed by the 4 s: fence_kit_ilo3 reads the chassis off right after the command', async () => {
    const from = logLength();
    const r = await runAgentBinary('fence_kit_ilo3', { stdin: bmcStdin(bmc, { action: 'off' }), timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(bmc.isHostRunning()).toBe(false);
    const calls = callsSince(from);
    const off = calls.find((c) => c.what === 'set power 0');
    const read = calls.find((c) => c.what === 'get power' && off !== undefined && c.at >= off.at);
    expect(off && read, JSON.stringify(calls)).toBeTruthy();
    expect(read!.at - off!.at).toBeLessThan(2);
  });

  it('metadata declares the peer\'s defaults: fence_kit_ilo3 power_wait 4, fence_kit_ipmi 2', async () => {
    for (const [binary, value] of [['fence_kit_ilo3', '4'], ['fence_kit_ipmi', '2']] as const) {
      const r = await runAgentBinary(binary, { argv: ['-o', 'metadata'] });
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`<parameter name="power_wait"[^]*?default="${value}"`));
    }
  });
});
