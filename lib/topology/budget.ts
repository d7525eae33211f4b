// The time budget of a topology under Pacemaker, in whole seconds: how long each device may take by its own
// bounds, what pcmk_<action>_timeout that asks of Pacemaker, what a level and a node's whole topology take,
// and whether a given set of Pacemaker timeouts covers every level. Pure arithmetic over the topology and
// the agents' declarations; used by `fencekit export` (to write the timeouts) and `fencekit check --cib`
// (to warn about a live configuration). Pacemaker's rules (docs/pacemaker-timeouts.md):
//  - a device's action runs under pcmk_<action>_timeout, or the cluster's stonith-timeout when unset; a
//    reboot through a device without `reboot` runs as `off` under pcmk_off_timeout;
//  - a static delay (pcmk_delay_base) or priority-fencing-delay is waited out before the agent starts, and
//    Pacemaker 2.1 leaves it out of the device's timer, so the device's timeout must cover it;
//  - the whole operation's timer is 1.2 x the sum of the timeouts of every device of every level (2.1:
//    fenced_remote.c get_op_total_timeout), so a node's total is that sum and needs no separate setting;
//  - a reboot over two or more devices of one level is `off` on each (pcmk_off_timeout), then `on`.
import { effectiveDefaults, type AgentDeclaration } from '../agent/declaration.js';
import { FenceError } from '../errors.js';
import type { RawInput } from '../options/parse.js';
import { resolveValues } from '../options/values.js';
import type { DeviceConfig, LevelConfig, Topology } from './file.js';

/** The fencing action Pacemaker asks of a topology (the cluster's stonith-action). */
export type FencingAction = 'reboot' | 'off';

/** One addend of a bound, for the arithmetic shown to the user. */
export interface Term {
  readonly name: string;
  readonly seconds: number;
}

export interface Bound {
  readonly seconds: number;
  /** The terms that add up to `seconds` (a term may be a product, named so). */
  readonly terms: readonly Term[];
}

/** How long a device's agent may take by its own bounds (delay, login_timeout, power_timeout, ...). */
export interface DeviceBound {
  readonly device: string;
  readonly agent: string;
  readonly off: Bound;
  /** Undefined for agents without reboot (fabric): Pacemaker runs `off` for them. */
  readonly reboot?: Bound;
  readonly monitor: Bound;
}

const sum = (terms: readonly Term[]): Bound => ({ terms, seconds: Math.ceil(terms.reduce((s, t) => s + t.seconds, 0)) });

/** "delay 0 + login_timeout 5 + power_timeout 20 = 25 s" */
export function arithmetic(b: Bound): string {
  return `${b.terms.map((t) => `${t.name} ${t.seconds}`).join(' + ')} = ${b.seconds} s`;
}

function hasReboot(agent: AgentDeclaration): boolean {
  return !agent.fabric;
}

/**
 * The device's own bound, from its options and the defaults its agent declares:
 *  off    = delay + login_timeout + max(power_timeout, what the agent says an off needs) + power_wait
 *  reboot = delay + login_timeout + (1 + retry_on) x (power_timeout + power_wait)
 *  monitor = login_timeout + 4 x shell_timeout (a plug list, the longest query)
 * fencekit's agents poll an off at once and sleep power_wait only in a reboot, between the confirmed off and
 * the power-on; fence-agents sleeps it after every command, on top of power_timeout. The exported
 * configuration serves both, so it counts on top. A limit of 0 (no limit) or disable_timeout gives the
 * device no bound of its own: refused, since no Pacemaker timeout could then be derived from it.
 */
export function deviceBound(device: DeviceConfig): DeviceBound {
  const values = new Map<string, string | boolean>(Object.entries(device.options));
  const raw: RawInput = { source: 'stdin', values, counts: new Map(), warnings: [], errors: [] };
  const { options } = resolveValues(raw, device.agent.options, effectiveDefaults(device.agent, device.agent.name));
  const disabled = options.string('disable_timeout');
  if (disabled !== undefined && ['1', 'yes', 'on', 'true'].includes(disabled.toLowerCase())) {
    throw new FenceError('bad-input', `device "${device.name}": disable_timeout lifts the agent's own bounds, so no Pacemaker timeout can be derived for it; remove it`);
  }
  const seconds = (name: 'delay' | 'login_timeout' | 'power_timeout' | 'power_wait' | 'shell_timeout'): number => {
    const v = options.number(name);
    if (v === 0 && ['login_timeout', 'power_timeout', 'shell_timeout'].includes(name)) {
      throw new FenceError('bad-input', `device "${device.name}": ${name} 0 means no limit, so no Pacemaker timeout can be derived for it; give it a limit`);
    }
    return v;
  };
  const delay = seconds('delay');
  const login = seconds('login_timeout');
  const power = seconds('power_timeout');
  const powerWait = seconds('power_wait');
  const shell = seconds('shell_timeout');
  const retryOn = Math.max(0, options.number('retry_on'));
  const needed = device.agent.offSecondsNeeded?.(options);
  const offPower: Term = needed !== undefined && needed > power ? { name: `${device.agent.name} off needs`, seconds: needed } : { name: 'power_timeout', seconds: power };
  const off = sum([{ name: 'delay', seconds: delay }, { name: 'login_timeout', seconds: login }, offPower, { name: 'power_wait', seconds: powerWait }]);
  const reboot = hasReboot(device.agent)
    ? sum([
        { name: 'delay', seconds: delay },
        { name: 'login_timeout', seconds: login },
        { name: `${1 + retryOn} x (power_timeout + power_wait)`, seconds: (1 + retryOn) * (power + powerWait) },
      ])
    : undefined;
  const monitor = sum([{ name: 'login_timeout', seconds: login }, { name: '4 x shell_timeout', seconds: 4 * shell }]);
  return { device: device.name, agent: device.agent.name, off, reboot, monitor };
}

/** What a device asks of Pacemaker: its own bound plus the delay Pacemaker waits before starting it. */
export interface DeviceTimeouts {
  readonly device: string;
  readonly pcmk_off_timeout: Bound;
  /** Undefined for agents without reboot (Pacemaker then uses pcmk_off_timeout). */
  readonly pcmk_reboot_timeout?: Bound;
  readonly pcmk_monitor_timeout: Bound;
}

export function deviceTimeouts(bound: DeviceBound, pacemakerDelaySeconds = 0): DeviceTimeouts {
  const withDelay = (b: Bound): Bound => (pacemakerDelaySeconds > 0 ? sum([...b.terms, { name: 'Pacemaker delay', seconds: pacemakerDelaySeconds }]) : b);
  return {
    device: bound.device,
    pcmk_off_timeout: withDelay(bound.off),
    ...(bound.reboot ? { pcmk_reboot_timeout: withDelay(bound.reboot) } : {}),
    pcmk_monitor_timeout: bound.monitor,
  };
}

/** The timeout Pacemaker runs `action` through this device under, by its own rules. */
export function timeoutFor(t: DeviceTimeouts, action: FencingAction): Bound {
  if (action === 'reboot' && t.pcmk_reboot_timeout) return t.pcmk_reboot_timeout;
  return t.pcmk_off_timeout;
}

export interface LevelBudget {
  readonly index: number;
  readonly devices: readonly { readonly device: string; readonly parameter: string; readonly seconds: number }[];
  /** Pacemaker's share of its total timer for this level: the sum of its devices' timeouts. */
  readonly seconds: number;
}

export interface NodeBudget {
  readonly node: string;
  readonly action: FencingAction;
  readonly levels: readonly LevelBudget[];
  /** Sum over every level: what Pacemaker's whole-operation timer is 1.2 x of, and stonith-timeout should be. */
  readonly total: number;
}

/** The parameter Pacemaker reads for `action` on this device. */
function parameterFor(t: DeviceTimeouts, action: FencingAction): string {
  return action === 'reboot' && t.pcmk_reboot_timeout ? 'pcmk_reboot_timeout' : 'pcmk_off_timeout';
}

export function levelBudget(level: LevelConfig, timeouts: ReadonlyMap<string, DeviceTimeouts>, action: FencingAction): LevelBudget {
  const devices = level.devices.map(({ device }) => {
    const t = timeouts.get(device);
    if (!t) throw new FenceError('internal', `no timeouts for device "${device}"`);
    return { device, parameter: parameterFor(t, action), seconds: timeoutFor(t, action).seconds };
  });
  return { index: level.index, devices, seconds: devices.reduce((s, d) => s + d.seconds, 0) };
}

export function nodeBudget(topology: Topology, node: string, timeouts: ReadonlyMap<string, DeviceTimeouts>, action: FencingAction = 'reboot'): NodeBudget {
  const cfg = topology.nodes.get(node);
  if (!cfg) throw new FenceError('bad-input', `node "${node}" is not in ${topology.path}`);
  const levels = cfg.levels.map((l) => levelBudget(l, timeouts, action));
  return { node, action, levels, total: levels.reduce((s, l) => s + l.seconds, 0) };
}

/** Every device's timeouts, given the Pacemaker delay each one waits (static or priority delay). */
export function topologyTimeouts(topology: Topology, pacemakerDelay: (device: string) => number = () => 0): Map<string, DeviceTimeouts> {
  const out = new Map<string, DeviceTimeouts>();
  for (const d of topology.devices.values()) out.set(d.name, deviceTimeouts(deviceBound(d), pacemakerDelay(d.name)));
  return out;
}

// ---- checking a configuration Pacemaker already has ----

/** Timeouts as configured in a CIB, in seconds; undefined = not set. */
export interface PacemakerDeviceSettings {
  readonly timeouts: Readonly<Partial<Record<'off' | 'reboot' | 'monitor', number>>>;
  /** pcmk_delay_base for each target node (a per-node map resolved), or one value for all. */
  readonly delayBase: (node: string) => number;
  /** pcmk_delay_max: the longest random delay. */
  readonly delayMax: number;
}

export interface PacemakerSettings {
  /** The cluster's stonith-timeout (fencing-timeout); Pacemaker's default is 60 s. */
  readonly stonithTimeout: number;
  /** stonith-action: reboot (default) or off. */
  readonly action: FencingAction;
  /** priority-fencing-delay, applied to the first device of the first level at most. */
  readonly priorityFencingDelay: number;
  readonly devices: ReadonlyMap<string, PacemakerDeviceSettings>;
}

export interface TimeoutProblem {
  readonly node: string;
  readonly level: number;
  readonly device: string;
  /** One line naming the parameter, the configured value and what the device may take. */
  readonly message: string;
}

/**
 * Whether the configured timeouts let every level run to its own end: for each level of each node, every
 * device's timeout for the phase it runs in (reboot, or off when the level splits a reboot or the agent has
 * none) must cover its bound plus the delay Pacemaker waits first. A device missing from the configuration
 * is a problem too: Pacemaker cannot run that level at all.
 */
export function checkTimeouts(topology: Topology, settings: PacemakerSettings): TimeoutProblem[] {
  const problems: TimeoutProblem[] = [];
  for (const node of topology.nodes.values()) {
    for (const level of node.levels) {
      const split = settings.action === 'reboot' && level.devices.length > 1;
      level.devices.forEach(({ device }, i) => {
        const bound = deviceBound(topology.devices.get(device)!);
        const configured = settings.devices.get(device);
        if (!configured) {
          problems.push({ node: node.name, level: level.index, device, message: `${node.name} level ${level.index}: device ${device} is not configured in Pacemaker` });
          return;
        }
        const action: 'off' | 'reboot' = settings.action === 'reboot' && !split && bound.reboot ? 'reboot' : 'off';
        const own = action === 'reboot' ? bound.reboot! : bound.off;
        const delay = Math.max(configured.delayBase(node.name), configured.delayMax) + (level.index === node.levels[0]!.index && i === 0 ? settings.priorityFencingDelay : 0);
        const set = configured.timeouts[action];
        const value = set ?? settings.stonithTimeout;
        const need = own.seconds + delay;
        if (value < need) {
          const what = set !== undefined ? `pcmk_${action}_timeout ${value} s` : `no pcmk_${action}_timeout, so stonith-timeout ${value} s`;
          problems.push({
            node: node.name,
            level: level.index,
            device,
            message: `${node.name} level ${level.index}: ${device}: ${what} cannot cover its ${action}: ${arithmetic(delay > 0 ? sum([...own.terms, { name: 'Pacemaker delay', seconds: delay }]) : own)}`,
          });
        }
      });
    }
  }
  return problems;
}

/**
 * A Pacemaker time value in seconds, as the fencer reads it. Pacemaker up to 2.1.7 reads pcmk_*_timeout
 * with atoi ("1m" is 1 s there), later ones with units ("1m" is 60 s): both readings are returned, and a
 * check should trust the smaller. Undefined when the text is no time at all.
 */
export function pacemakerSeconds(text: string): { seconds: number; legacySeconds: number } | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|msec|us|usec|s|sec|m|min|h|hr)?\s*$/i.exec(text);
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = (m[2] ?? 's').toLowerCase();
  const factor = unit.startsWith('ms') ? 0.001 : unit.startsWith('us') ? 0.000001 : unit.startsWith('m') ? 60 : unit.startsWith('h') ? 3600 : 1;
  return { seconds: n * factor, legacySeconds: Math.trunc(n) };
}
