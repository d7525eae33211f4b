// Ordered multi-level fencing with Pacemaker's semantics (fenced_remote.c; Pacemaker Explained,
// "Fencing Topologies"), readable top to bottom:
//  - levels are tried in ascending order; the first level whose devices all succeed fences the node;
//  - inside a level devices run one after another, and the first failure abandons the level;
//  - a reboot over two or more devices is all `off` (each confirmed by its agent), then all `on`,
//    skipping devices without `on` or with automatic unfencing; an `on` failure is reported but does not
//    undo a confirmed off; a single-device level gets a plain `reboot`;
//  - one total deadline bounds the whole operation.

export type TopologyAction = 'off' | 'reboot' | 'on';
export type DeviceAction = 'off' | 'on' | 'reboot';

export interface LevelDevice {
  /** Device name in the topology. */
  readonly device: string;
  /** Plugs of that device feeding this node (outlets, ports); empty for a BMC. */
  readonly plugs: readonly string[];
  /** The device's `on` is automatic unfencing or does not exist: skipped in a reboot's on phase. */
  readonly skipOnPhase: boolean;
}

export interface Level {
  readonly index: number;
  readonly devices: readonly LevelDevice[];
}

export interface DeviceOutcome {
  readonly ok: boolean;
  /** One line: the agent's result or error. */
  readonly message: string;
  readonly ms: number;
}

export type StepEvent =
  | { type: 'level-start'; level: number; devices: string[] }
  | { type: 'device-start'; level: number; device: string; action: DeviceAction; plugs: readonly string[] }
  | { type: 'device-end'; level: number; device: string; action: DeviceAction; outcome: DeviceOutcome }
  | { type: 'level-end'; level: number; ok: boolean; reason?: string };

export interface FenceOutcome {
  readonly ok: boolean;
  /** The level that fenced the node, when ok. */
  readonly level?: number;
  /** Power-on failures after a confirmed off: reported, never turning success into failure. */
  readonly warnings: readonly string[];
  readonly events: readonly StepEvent[];
}

export type RunDevice = (d: LevelDevice, action: DeviceAction, deadline: number) => Promise<DeviceOutcome>;

export async function fenceThroughLevels(
  levels: readonly Level[],
  action: TopologyAction,
  runDevice: RunDevice,
  deadline: number,
  onEvent: (e: StepEvent) => void = () => undefined,
): Promise<FenceOutcome> {
  const events: StepEvent[] = [];
  const emit = (e: StepEvent) => {
    events.push(e);
    onEvent(e);
  };
  const warnings: string[] = [];
  const run = async (level: Level, d: LevelDevice, a: DeviceAction) => {
    emit({ type: 'device-start', level: level.index, device: d.device, action: a, plugs: d.plugs });
    const outcome =
      Date.now() >= deadline
        ? { ok: false, message: 'Failed: the topology deadline passed (timed out) before this device ran', ms: 0 }
        : await runDevice(d, a, deadline);
    emit({ type: 'device-end', level: level.index, device: d.device, action: a, outcome });
    return outcome;
  };

  for (const level of [...levels].sort((a, b) => a.index - b.index)) {
    if (Date.now() >= deadline) break;
    emit({ type: 'level-start', level: level.index, devices: level.devices.map((d) => d.device) });
    const split = action === 'reboot' && level.devices.length > 1;
    const firstPhase: DeviceAction = split ? 'off' : action;
    let failed: string | undefined;
    for (const d of level.devices) {
      const outcome = await run(level, d, firstPhase);
      if (!outcome.ok) {
        failed = `${d.device}: ${outcome.message}`;
        break;
      }
    }
    if (failed !== undefined) {
      emit({ type: 'level-end', level: level.index, ok: false, reason: failed });
      continue;
    }
    if (split) {
      // Only now, with every device confirmed off, is any power restored.
      for (const d of level.devices.filter((x) => !x.skipOnPhase)) {
        const outcome = await run(level, d, 'on');
        if (!outcome.ok) warnings.push(`${d.device}: power on after a confirmed off failed: ${outcome.message}`);
      }
    }
    emit({ type: 'level-end', level: level.index, ok: true });
    return { ok: true, level: level.index, warnings, events };
  }
  return { ok: false, warnings, events };
}
