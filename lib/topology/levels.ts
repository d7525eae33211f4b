// Ordered multi-level fencing with Pacemaker's semantics (fenced_remote.c; Pacemaker Explained,
// "Fencing Topologies"), readable top to bottom:
//  - levels are tried in ascending order; the first level whose devices all succeed fences the node;
//  - inside a level devices run one after another, and the first failure abandons the level;
//  - a step counts only as what was asked for: the runner checks the agent's exit status and its result line;
//  - an off is not taken on the agents' word alone: every device of the level is then asked for its status
//    and must read OFF (`confirm-off`); a read-back that fails or reads ON fails the level;
//  - a reboot over two or more devices, or through a device without `reboot` (fabric: switch port, SCSI,
//    sanlock), is all `off`, confirmed, then `on` for the devices whose `on` restores power from here:
//    automatic unfencing (fabric) and on-target devices are skipped, as pacemaker-fenced skips them. An `on`
//    failure is reported but does not undo a confirmed off. A single device with `reboot` gets a plain reboot;
//  - an `on` runs only where it may: a device whose `on` must run on the node itself (on-target: SCSI
//    registration, sanlock lease) is skipped anywhere else, with a warning; a level where nothing may run fails;
//  - one total deadline bounds the whole operation.

export type TopologyAction = 'off' | 'reboot' | 'on';
/** What a device is asked: an agent action, or `confirm-off`: its status, which must read OFF. */
export type DeviceAction = 'off' | 'on' | 'reboot' | 'confirm-off';

export interface LevelDevice {
  /** Device name in the topology. */
  readonly device: string;
  /** Plugs of that device feeding this node (outlets, ports); empty for a BMC. */
  readonly plugs: readonly string[];
  /** The agent has a `reboot` action (fabric agents have none: pacemaker-fenced sends them `off`). */
  readonly reboot: boolean;
  /** The device's `on` is automatic unfencing or does not exist: skipped in a reboot's on phase. */
  readonly skipOnPhase: boolean;
  /** Why this device's `on` may not run here (it must run on the node itself); undefined when it may. */
  readonly onNotHere?: string;
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
  | { type: 'device-skipped'; level: number; device: string; action: DeviceAction; reason: string }
  | { type: 'level-end'; level: number; ok: boolean; reason?: string };

export interface FenceOutcome {
  readonly ok: boolean;
  /** The level that fenced the node, when ok. */
  readonly level?: number;
  /** Power-on failures after a confirmed off, and skipped on-target devices: reported, never turning success into failure. */
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
  /** Each device in turn; the first failure, as "device: message", ends the walk. */
  const runEach = async (level: Level, devices: readonly LevelDevice[], a: DeviceAction): Promise<string | undefined> => {
    for (const d of devices) {
      const outcome = await run(level, d, a);
      if (!outcome.ok) return `${d.device}: ${outcome.message}`;
    }
    return undefined;
  };

  for (const level of [...levels].sort((a, b) => a.index - b.index)) {
    if (Date.now() >= deadline) break;
    emit({ type: 'level-start', level: level.index, devices: level.devices.map((d) => d.device) });

    const devices = action === 'on' ? level.devices.filter((d) => d.onNotHere === undefined) : level.devices;
    for (const d of level.devices.filter((x) => !devices.includes(x))) {
      emit({ type: 'device-skipped', level: level.index, device: d.device, action: 'on', reason: d.onNotHere! });
    }
    const split = action === 'reboot' && (devices.length > 1 || devices.some((d) => !d.reboot));
    const first: DeviceAction = split ? 'off' : action;

    let failed = devices.length === 0 ? 'no device of this level may run on from this host' : await runEach(level, devices, first);
    // The agents said off; now every device must read OFF, before anything counts or any power returns.
    if (failed === undefined && first === 'off') failed = await runEach(level, devices, 'confirm-off');
    if (failed !== undefined) {
      emit({ type: 'level-end', level: level.index, ok: false, reason: failed });
      continue;
    }

    if (split) {
      // Only now, with every device confirmed off, is any power restored.
      for (const d of devices.filter((x) => !x.skipOnPhase && x.onNotHere === undefined)) {
        const outcome = await run(level, d, 'on');
        if (!outcome.ok) warnings.push(`${d.device}: power on after a confirmed off failed: ${outcome.message}`);
      }
    }
    for (const d of level.devices.filter((x) => !devices.includes(x))) warnings.push(`${d.device}: on skipped: ${d.onNotHere}`);
    emit({ type: 'level-end', level: level.index, ok: true });
    return { ok: true, level: level.index, warnings, events };
  }
  return { ok: false, warnings, events };
}
