// verify-wiring's safety rules, against a modelled rack (outlets → supplies of nodes). That the real thing
// works on the lab's BMCs and PDUs is test/integration/fencekit-audit.test.ts.
import { describe, expect, it } from 'vitest';
import { verifyWiring, type Outlet, type SupplyReading, type WiringIo } from '../../../lib/topology/verify-wiring.js';

/** A rack: which node supply each outlet really feeds; a node runs while any of its supplies has input. */
function rack(cabling: Record<string, string>, opts: { faulty?: string[]; failSwitch?: string; stuckSupply?: string; onOff?: (outlet: string) => void } = {}) {
  const off = new Set<string>();
  const journal: string[] = [];
  let maxOff = 0;
  let powerLost = false;
  const suppliesOf = (node: string) => Object.entries(cabling).filter(([, s]) => s.startsWith(`${node}/`)).map(([o, s]) => ({ outlet: o, supply: s.split('/')[1]! }));
  const reading = (node: string): SupplyReading[] =>
    suppliesOf(node).map(({ outlet, supply }) => {
      const inputLost = off.has(outlet) || (opts.stuckSupply === supply && journal.some((j) => j.startsWith('off')));
      return { name: supply, inputLost, healthy: !inputLost && !(opts.faulty ?? []).includes(supply) };
    });
  const running = (node: string) => !powerLost && reading(node).some((s) => !s.inputLost);
  const io = (node: string): WiringIo => ({
    readSupplies: async () => reading(node),
    readPower: async () => (running(node) ? 'on' : 'off'),
    switchOutlet: async (o: Outlet, state) => {
      const name = `${o.device}:${o.plug}`;
      journal.push(`${state} ${name}`);
      if (opts.failSwitch === `${state} ${name}`) throw new Error('the PDU refused');
      if (state === 'off') off.add(name);
      else off.delete(name);
      maxOff = Math.max(maxOff, off.size);
      if (state === 'off') opts.onOff?.(name);
    },
    othersWithoutInput: async () => [...new Set(Object.values(cabling).map((s) => s.split('/')[0]!))].filter((n) => n !== node && reading(n).some((s) => s.inputLost)),
    sleep: async () => undefined,
  });
  return { io, journal, off, maxOff: () => maxOff, loseAllPower: () => (powerLost = true) };
}

const LEVEL: Outlet[] = [{ device: 'pdu-a', plug: '1' }, { device: 'pdu-b', plug: '1' }];
const TIMING = { settleMs: 50, pollMs: 1 };
const WIRED = { 'pdu-a:1': 'node1/PS1', 'pdu-b:1': 'node1/PS2', 'pdu-a:2': 'node2/PS1', 'pdu-b:2': 'node2/PS2' };

describe('verify-wiring safety rules', () => {
  it('proves each outlet feeds one supply of the node, one outlet off at a time, every outlet on at the end', async () => {
    const r = rack(WIRED);
    const result = await verifyWiring('node1', LEVEL, r.io('node1'), TIMING);
    expect(result).toMatchObject({ ok: true, unfed: [] });
    expect(result.outlets).toEqual([{ outlet: 'pdu-a:1', ok: true, supply: 'PS1' }, { outlet: 'pdu-b:1', ok: true, supply: 'PS2' }]);
    expect(r.journal).toEqual(['off pdu-a:1', 'on pdu-a:1', 'off pdu-b:1', 'on pdu-b:1']);
    expect(r.maxOff()).toBe(1);
    expect(r.off.size).toBe(0);
  });

  it('fails on swapped outlets, naming the outlet and the node it really feeds', async () => {
    const r = rack({ ...WIRED, 'pdu-b:1': 'node2/PS2', 'pdu-b:2': 'node1/PS2' });
    const result = await verifyWiring('node1', LEVEL, r.io('node1'), TIMING);
    expect(result.ok).toBe(false);
    expect(result.outlets[1]).toEqual({ outlet: 'pdu-b:1', ok: false, problem: 'no supply of node1 lost its input; it feeds node2' });
    expect(result.unfed).toEqual(['PS2']);
    expect(r.maxOff()).toBe(1);
    expect(r.off.size).toBe(0);
  });

  it('refuses to start, touching nothing, unless the node runs on two or more healthy supplies', async () => {
    const unhealthy = rack(WIRED, { faulty: ['PS2'] });
    expect((await verifyWiring('node1', LEVEL, unhealthy.io('node1'), TIMING)).aborted).toMatch(/not every supply reads healthy \(PS2/);
    expect(unhealthy.journal).toEqual([]);
    const single = rack({ 'pdu-a:1': 'node1/PS1' });
    expect((await verifyWiring('node1', LEVEL, single.io('node1'), TIMING)).aborted).toMatch(/reports 1 power supply/);
    expect(single.journal).toEqual([]);
    const off = rack(WIRED);
    off.loseAllPower();
    expect((await verifyWiring('node1', LEVEL, off.io('node1'), TIMING)).aborted).toMatch(/the node is off/);
    expect(off.journal).toEqual([]);
  });

  it('aborts and switches the outlet back on at once when the node\'s power state changes, touching no further outlet', async () => {
    let r: ReturnType<typeof rack>;
    r = rack(WIRED, { onOff: () => r.loseAllPower() });
    const result = await verifyWiring('node1', LEVEL, r.io('node1'), TIMING);
    expect(result).toMatchObject({ ok: false, aborted: "the node's power state changed while an outlet was off" });
    expect(r.journal).toEqual(['off pdu-a:1', 'on pdu-a:1']);
  });

  it('an outlet the PDU will not switch off ends the run, and is switched on again anyway', async () => {
    const r = rack(WIRED, { failSwitch: 'off pdu-a:1' });
    const result = await verifyWiring('node1', LEVEL, r.io('node1'), TIMING);
    expect(result.ok).toBe(false);
    expect(result.aborted).toContain('pdu-a:1: the PDU refused');
    expect(r.journal).toEqual(['off pdu-a:1', 'on pdu-a:1']);
  });

  it('an outlet that will not switch on again ends the run and says so', async () => {
    const r = rack(WIRED, { failSwitch: 'on pdu-a:1' });
    const result = await verifyWiring('node1', LEVEL, r.io('node1'), TIMING);
    expect(result.aborted).toContain('pdu-a:1 could not be switched on again (the PDU refused): switch it on by hand');
    expect(r.journal).toEqual(['off pdu-a:1', 'on pdu-a:1']);
  });

  it('a supply that does not recover stops the run before the next outlet', async () => {
    const r = rack(WIRED, { stuckSupply: 'PS1' });
    const result = await verifyWiring('node1', LEVEL, r.io('node1'), TIMING);
    expect(result.aborted).toMatch(/not every supply of node1 reads healthy/);
    expect(r.journal).toEqual(['off pdu-a:1', 'on pdu-a:1']);
  });
});
