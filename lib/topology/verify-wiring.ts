// `fencekit verify-wiring NODE`: proof that the outlets of NODE's power level feed NODE, one supply each.
// For each outlet in turn: switch it off, watch NODE's BMC until exactly one supply reports its input lost,
// switch it on again, wait until every supply reads healthy, then the next outlet. The safety rules, each
// enforced here and nowhere else:
//  - refuse to start unless the node is on and has two or more supplies that all read healthy (present,
//    input, no fault): with one supply, or one already without input, switching an outlet could stop the node;
//  - never two outlets off at once: the next outlet is touched only after the previous one is on again and
//    every supply reads healthy; a supply that does not recover ends the run;
//  - abort at once, and switch the outlet back on, if the node's power state changes while an outlet is off;
//  - an outlet whose off or on the device does not confirm ends the run (after trying to switch it back on).
// Nothing here talks to a device: the caller supplies the reads and the switch (verify-wiring's CLI, the tests).

export interface SupplyReading {
  /** The sensor's name, as the BMC's SDR gives it. */
  readonly name: string;
  readonly healthy: boolean;
  readonly inputLost: boolean;
}

export interface Outlet {
  readonly device: string;
  readonly plug: string;
}

export const outletName = (o: Outlet): string => `${o.device}:${o.plug}`;

export interface WiringIo {
  /** The node's power supplies as its BMC reports them now. */
  readSupplies(): Promise<readonly SupplyReading[]>;
  /** The node's power state as its BMC reports it now. */
  readPower(): Promise<'on' | 'off'>;
  /** Switch one outlet; resolves only when the device confirmed the state, rejects otherwise. */
  switchOutlet(outlet: Outlet, state: 'on' | 'off'): Promise<void>;
  /** Other nodes whose supplies report input lost now (to name where a miswired outlet goes); optional. */
  othersWithoutInput?(): Promise<readonly string[]>;
  sleep(ms: number): Promise<void>;
}

export interface WiringTiming {
  /** How long to wait for the BMC to report a supply without input (or recovered). */
  readonly settleMs: number;
  readonly pollMs: number;
}

export type OutletVerdict =
  | { readonly outlet: string; readonly ok: true; readonly supply: string }
  | { readonly outlet: string; readonly ok: false; readonly problem: string };

export interface WiringResult {
  readonly node: string;
  readonly ok: boolean;
  /** Why the run did not start or stopped early; undefined when every outlet was tried. */
  readonly aborted?: string;
  readonly outlets: readonly OutletVerdict[];
  /** Supplies no outlet of the level fed. */
  readonly unfed: readonly string[];
}

export type WiringEvent =
  | { type: 'supplies'; supplies: readonly SupplyReading[] }
  | { type: 'outlet'; outlet: string; state: 'on' | 'off' }
  | { type: 'verdict'; verdict: OutletVerdict };

/** Why the run may not start, or undefined when it may. */
export function refusalBeforeStart(supplies: readonly SupplyReading[], power: 'on' | 'off', outlets: readonly Outlet[]): string | undefined {
  if (power !== 'on') return 'the node is off: its supplies can only be told apart while it runs';
  if (supplies.length < 2) return `the BMC reports ${supplies.length} power suppl${supplies.length === 1 ? 'y' : 'ies'}: switching an outlet off could stop the node, so nothing is switched`;
  const unhealthy = supplies.filter((s) => !s.healthy);
  if (unhealthy.length > 0) return `not every supply reads healthy (${unhealthy.map((s) => `${s.name}${s.inputLost ? ': input lost' : ': fault or not present'}`).join(', ')}): switching an outlet off could stop the node`;
  if (outlets.length === 0) return 'the node has no power level with outlets to verify';
  return undefined;
}

class Abort extends Error {}

export async function verifyWiring(node: string, outlets: readonly Outlet[], io: WiringIo, timing: WiringTiming, onEvent: (e: WiringEvent) => void = () => undefined): Promise<WiringResult> {
  const initial = await io.readSupplies();
  onEvent({ type: 'supplies', supplies: initial });
  const refusal = refusalBeforeStart(initial, await io.readPower(), outlets);
  if (refusal) return { node, ok: false, aborted: refusal, outlets: [], unfed: [] };

  const verdicts: OutletVerdict[] = [];
  const fedBy = new Map<string, string>();
  const verdict = (v: OutletVerdict) => {
    verdicts.push(v);
    onEvent({ type: 'verdict', verdict: v });
  };
  /** Poll until `done` holds (true) or the settle time passes (false); abort if the node's power changes. */
  const watch = async (done: (s: readonly SupplyReading[]) => boolean): Promise<readonly SupplyReading[] | undefined> => {
    const until = Date.now() + timing.settleMs;
    for (;;) {
      if ((await io.readPower()) !== 'on') throw new Abort('the node\'s power state changed while an outlet was off');
      const s = await io.readSupplies();
      if (done(s)) return s;
      if (Date.now() >= until) return undefined;
      await io.sleep(timing.pollMs);
    }
  };

  let aborted: string | undefined;
  for (const outlet of outlets) {
    const name = outletName(outlet);
    let off = false;
    try {
      onEvent({ type: 'outlet', outlet: name, state: 'off' });
      off = true; // from here on the outlet may be off, even if the switch says it failed
      await io.switchOutlet(outlet, 'off');
      const lost = await watch((s) => s.some((x) => x.inputLost));
      const without = (lost ?? []).filter((x) => x.inputLost).map((x) => x.name);
      if (without.length === 1) {
        const earlier = fedBy.get(without[0]!);
        if (earlier) verdict({ outlet: name, ok: false, problem: `feeds ${without[0]}, which ${earlier} feeds too` });
        else {
          fedBy.set(without[0]!, name);
          verdict({ outlet: name, ok: true, supply: without[0]! });
        }
      } else if (without.length > 1) {
        verdict({ outlet: name, ok: false, problem: `feeds ${without.length} supplies of ${node} (${without.join(', ')}), expected one` });
      } else {
        const elsewhere = (await io.othersWithoutInput?.()) ?? [];
        verdict({ outlet: name, ok: false, problem: `no supply of ${node} lost its input${elsewhere.length ? `; it feeds ${elsewhere.join(', ')}` : ''}` });
      }
    } catch (err) {
      aborted = err instanceof Abort ? err.message : `${name}: ${(err as Error).message}`;
    } finally {
      if (off) {
        onEvent({ type: 'outlet', outlet: name, state: 'on' });
        try {
          await io.switchOutlet(outlet, 'on');
        } catch (err) {
          const stuck = `${name} could not be switched on again (${(err as Error).message}): switch it on by hand`;
          aborted = aborted ? `${aborted}; ${stuck}` : stuck;
        }
      }
    }
    if (aborted) break;
    // The next outlet only once every supply has its input again.
    try {
      const back = await watch((s) => s.length === initial.length && s.every((x) => x.healthy));
      if (!back) {
        aborted = `after ${name} was switched on again, not every supply of ${node} reads healthy within ${timing.settleMs / 1000} s; stopping`;
        break;
      }
    } catch (err) {
      aborted = (err as Error).message;
      break;
    }
  }
  const unfed = aborted ? [] : initial.map((s) => s.name).filter((n) => !fedBy.has(n));
  const ok = !aborted && verdicts.length === outlets.length && verdicts.every((v) => v.ok) && unfed.length === 0;
  return { node, ok, ...(aborted ? { aborted } : {}), outlets: verdicts, unfed };
}
