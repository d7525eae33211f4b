// `fencekit plan NODE`: what a fence of NODE would do, without doing it. The steps come from the topology
// runner itself (levels.ts), run once per level against devices that only say "done": so the plan cannot
// drift from what `fencekit fence` does. Each device is described from its options (protocol, timeouts) and,
// with --live, its plugs are resolved by the device's own read-only `list`.
import { fenceThroughLevels, type DeviceAction, type Level, type TopologyAction } from './levels.js';
import type { DeviceConfig } from './file.js';
import { deviceOptions } from './audit.js';
import type { Options } from '../options/values.js';

export interface PlanStep {
  readonly action: DeviceAction;
  readonly device: string;
  readonly plugs: readonly string[];
  /** Why the runner would skip this step here (an on-target `on` away from its node). */
  readonly skipped?: string;
}

export interface PlugResolution {
  /** As the topology writes it. */
  readonly plug: string;
  /** The device's own id for it (outlet number, ifIndex), when resolved with --live. */
  readonly id?: string;
  readonly alias?: string;
  /** Why it could not be resolved (no such plug, a name carried twice). */
  readonly problem?: string;
}

export interface PlanDevice {
  readonly device: string;
  readonly agent: string;
  /** How the device is spoken to: protocol, version, cipher or security level. */
  readonly protocol: string;
  readonly plugs: readonly PlugResolution[];
  /** The device's own timeouts, seconds, by option name. */
  readonly timeouts: Readonly<Record<string, number>>;
  /** The longest the device's step may take by those timeouts (the budget arithmetic), when known. */
  readonly boundSeconds?: number;
  readonly bound?: string;
}

export interface PlanLevel {
  readonly index: number;
  readonly steps: readonly PlanStep[];
  readonly devices: readonly PlanDevice[];
  readonly boundSeconds?: number;
}

export interface Plan {
  readonly node: string;
  readonly action: TopologyAction;
  readonly levels: readonly PlanLevel[];
  /** Every level in order, each at its worst: the bound of the whole fence. */
  readonly totalSeconds?: number;
}

const TIMEOUT_OPTIONS = ['delay', 'login_timeout', 'power_timeout', 'power_wait', 'shell_timeout', 'retry_on', 'ipmitool_timeout', 'io_timeout'];

/** How each agent speaks to its device, from its options. */
export function protocolOf(device: DeviceConfig, o: Options = deviceOptions(device)): string {
  return device.agent.protocol?.(o) ?? device.agent.name;
}

export interface PlanSources {
  readonly devices: ReadonlyMap<string, DeviceConfig>;
  /** --live: the device's plugs as its `list` reports them (id, alias); undefined without --live. */
  readonly listPlugs?: (device: DeviceConfig) => Promise<readonly { id: string; alias: string }[]>;
  /** The step bound of a device for the action the level runs it with (budget arithmetic). */
  readonly bound?: (device: DeviceConfig, action: 'off' | 'reboot') => { seconds: number; arithmetic: string };
}

/** The plug a name or number resolves to, by the agents' rule: a number is an id, else an exact, unique name. */
export function resolvePlug(plug: string, listed: readonly { id: string; alias: string }[]): PlugResolution {
  const byId = listed.find((p) => p.id === plug);
  if (byId) return { plug, id: byId.id, alias: byId.alias };
  const byName = listed.filter((p) => p.alias === plug);
  if (byName.length === 1) return { plug, id: byName[0]!.id, alias: plug };
  if (byName.length > 1) return { plug, problem: `the name is carried by ${byName.map((p) => p.id).join(' and ')}; the agent refuses it` };
  return { plug, problem: 'the device lists no such plug' };
}

export async function planFence(node: string, levels: readonly Level[], action: TopologyAction, sources: PlanSources): Promise<Plan> {
  const planLevels: PlanLevel[] = [];
  for (const level of [...levels].sort((a, b) => a.index - b.index)) {
    const steps: PlanStep[] = [];
    await fenceThroughLevels([level], action, async () => ({ ok: true, message: 'planned', ms: 0 }), Infinity, (e) => {
      if (e.type === 'device-start') steps.push({ action: e.action, device: e.device, plugs: e.plugs });
      if (e.type === 'device-skipped') steps.push({ action: e.action, device: e.device, plugs: [], skipped: e.reason });
    });
    // The phase each device runs in: reboot when the runner asks it for reboot, else off.
    const phase = (device: string): 'off' | 'reboot' => (steps.some((s) => s.device === device && s.action === 'reboot') ? 'reboot' : 'off');
    const devices: PlanDevice[] = [];
    for (const d of level.devices) {
      const config = sources.devices.get(d.device)!;
      const o = deviceOptions(config);
      const timeouts: Record<string, number> = {};
      for (const name of TIMEOUT_OPTIONS) {
        const spec = config.agent.options.find((s) => s.name === name);
        const v = spec && o.valueOf(spec);
        if (typeof v === 'number') timeouts[name] = v;
      }
      let plugs: PlugResolution[] = d.plugs.map((plug) => ({ plug }));
      if (sources.listPlugs && d.plugs.length > 0) {
        try {
          const listed = await sources.listPlugs(config);
          plugs = d.plugs.map((p) => resolvePlug(p, listed));
        } catch (err) {
          plugs = d.plugs.map((plug) => ({ plug, problem: `list failed: ${(err as Error).message}` }));
        }
      }
      const bound = sources.bound?.(config, phase(d.device));
      devices.push({ device: d.device, agent: config.agent.name, protocol: protocolOf(config, o), plugs, timeouts, ...(bound ? { boundSeconds: bound.seconds, bound: bound.arithmetic } : {}) });
    }
    const known = devices.every((d) => d.boundSeconds !== undefined);
    planLevels.push({ index: level.index, steps, devices, ...(known ? { boundSeconds: devices.reduce((s, d) => s + d.boundSeconds!, 0) } : {}) });
  }
  const total = planLevels.every((l) => l.boundSeconds !== undefined) ? planLevels.reduce((s, l) => s + l.boundSeconds!, 0) : undefined;
  return { node, action, levels: planLevels, ...(total !== undefined ? { totalSeconds: total } : {}) };
}
