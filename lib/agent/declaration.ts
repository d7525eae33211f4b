// What an agent is: a small declaration of its device. Everything about stdin, getopt, retries, polling,
// exit codes and XML lives in the library; an agent says which options it has, how to connect, how to read
// the power state, how to change it and how to list its plugs.
import type { Logger } from '../log.js';
import type { OptionSpec } from '../options/spec.js';
import type { LibraryOptionTypes } from '../options/common.js';
import type { Options } from '../options/values.js';

export type PowerState = 'on' | 'off';

export interface PlugInfo {
  readonly id: string;
  readonly alias: string;
  /** Real state where the device tells it in the same read; 'unknown' is printed as UNKNOWN, never as OFF. */
  readonly state?: PowerState | 'unknown';
}

/** Every device operation gets an absolute deadline (Date.now() milliseconds) it must not outlive. */
export interface OperationContext {
  readonly deadline: number;
  readonly logger: Logger;
}

/**
 * A connected device. Plug is undefined for single-target devices (a BMC).
 *
 * How the engine (lib/actions.ts) confirms a power change is part of this contract, not of the engine's
 * call order: a device never relies on which call comes after which.
 * - By default a resolved setPower proves nothing: the engine reports success only after getPower reads
 *   every target in the asked-for state.
 * - A device whose setPower itself proves the new state (a lease on the target acquired, a key read back
 *   gone from every LUN) lists that state in `confirmedBySet`; see there.
 */
export interface PowerDevice {
  getPower(plug: string | undefined, ctx: OperationContext): Promise<PowerState>;
  /**
   * Ask for `state`. Resolving means the device took the command; it is a confirmation only for a state
   * listed in `confirmedBySet`.
   */
  setPower(plug: string | undefined, state: PowerState, ctx: OperationContext): Promise<void>;
  /**
   * The states this device's setPower confirms by itself: for these, setPower resolves only once the device
   * has proven the target in that state by its own means, and rejects otherwise. The engine then takes the
   * resolved set as the confirmation and reads no state after it. An off listed here is the whole fence: the
   * engine sends it without a status read first and gives it all of power_timeout as its deadline, so a
   * device whose proof is the act itself, or whose earliest possible confirmation time is known and far
   * beyond any polling interval (a lease that expires on a schedule), waits for that time itself.
   * Absent or empty: every change is confirmed by status reads.
   */
  readonly confirmedBySet?: readonly PowerState[];
  /** Device-side power cycle (method=cycle); success means the device acknowledged a cycle. */
  cycle?(plug: string | undefined, ctx: OperationContext): Promise<void>;
  /** Diagnostic interrupt (NMI), for agents that advertise `diag`. */
  diag?(plug: string | undefined, ctx: OperationContext): Promise<void>;
  list?(ctx: OperationContext): Promise<PlugInfo[]>;
  /** Proves the device answers; defaults to list (plug devices) or a status read. */
  monitor?(ctx: OperationContext): Promise<void>;
  close(): Promise<void>;
}

export interface SymlinkDeclaration {
  readonly name: string;
  readonly shortdesc: string;
  /** Defaults that differ when the agent is invoked under this name (fence_ilo3: lanplus=1, power_wait=4). */
  readonly defaults?: Readonly<Record<string, string>>;
}

/** The result of one action, the engine's or an extra one: lines for stdout and the exit code. */
export interface ActionResult {
  readonly exitCode: number;
  readonly stdout: readonly string[];
}

/**
 * An agent-specific action beyond the fence-agents set (fence_sanlock's `sanlock_init`, a lease holder).
 * It runs after the same parsing and validation as every action, but outside the power engine.
 */
export interface ExtraAction<T extends LibraryOptionTypes = LibraryOptionTypes> {
  readonly name: string;
  /** For --help and the man page. */
  readonly shortdesc: string;
  /** Listed in metadata's <actions>; false for helpers Pacemaker must never call. */
  readonly advertised: boolean;
  /** Required options this action does without (formatting storage needs no host). */
  readonly notRequired?: readonly string[];
  run(options: Options<T>, ctx: OperationContext): Promise<ActionResult>;
}

/**
 * T is the name → value type map of `options` (OptionTypesOf): validate, connect and the actions get options
 * typed by the agent's own declaration. The library sees every agent as AgentDeclaration<LibraryOptionTypes>.
 */
export interface AgentDeclaration<T extends LibraryOptionTypes = LibraryOptionTypes> {
  readonly name: string;
  readonly shortdesc: string;
  readonly longdesc: string;
  readonly vendorUrl: string;
  readonly symlinks?: readonly SymlinkDeclaration[];
  /** Every option the agent accepts, common groups included, each declared once. */
  readonly options: readonly OptionSpec[];
  /** Agent-wide default overrides of common options (e.g. ipport 623), as the string a user would write. */
  readonly defaults?: { readonly [K in keyof T]?: string };
  /** 'plugs': addressed by plug (outlets, ports), so list / list-status exist and several plugs can be given. */
  readonly target: 'device' | 'plugs';
  /** Fabric fencing (switch port, SCSI): no reboot, `on` is automatic unfencing, enable/disable accepted. */
  readonly fabric?: boolean;
  /**
   * `on` must run on the node being unfenced (metadata on_target="1"): SCSI registration through its own
   * initiator, a sanlock lease, a switch port re-enabled only by the node that rebooted.
   */
  readonly onTarget?: boolean;
  /** `on` is always executed even if status says on (re-registration refreshes a stale key). */
  readonly forceOn?: boolean;
  /** The device supports method=cycle. */
  readonly cycle?: boolean;
  /** The device supports the diag action (NMI). */
  readonly diag?: boolean;
  /** Cross-option checks beyond types and required (e.g. a hex key's format). Returns error lines. */
  validate?(options: Options<T>): string[];
  /**
   * A configuration that is valid but likely to fail at run time (a power_timeout shorter than the
   * device's minimum fence time). validate-all prints these lines on stdout as its report and still
   * exits 0; every other action logs them as warnings.
   */
  advise?(options: Options<T>, limits: { readonly powerTimeoutMs: number }): string[];
  /**
   * Seconds a successful off can need beyond what power_timeout suggests (sanlock: the victim's lease expires
   * on a schedule), so that exported Pacemaker timeouts cover it. Undefined: power_timeout is the bound.
   */
  offSecondsNeeded?(options: Options<T>): number;
  /** How the agent speaks to its device with these options, in a phrase (fencekit plan and audit print it). */
  protocol?(options: Options<T>): string;
  /** Agent-specific actions, dispatched by name after validation. */
  readonly extraActions?: readonly ExtraAction<T>[];
  /** Open the device. Protocol code is imported here, lazily, so metadata never loads it. */
  connect(options: Options<T>, ctx: OperationContext): Promise<PowerDevice>;
}

/**
 * An agent typed by its own option list. The library holds every agent as an AgentDeclaration (of the
 * shared options): the Options it hands an agent are resolved from that agent's own `options` and `defaults`
 * (resolveValues), the list T is computed from, so the agent's typed view of them holds. T must agree with
 * the shared options on every shared name it declares.
 */
export function declareAgent<T extends LibraryOptionTypes>(agent: AgentDeclaration<T>): AgentDeclaration<T> {
  return agent;
}

export interface ActionDeclaration {
  readonly name: string;
  readonly onTarget?: boolean;
  readonly automatic?: boolean;
}

/** The actions an agent advertises, in fence-agents' order (`on` first, as Pacemaker expects). */
export function advertisedActions(agent: AgentDeclaration): ActionDeclaration[] {
  const actions: ActionDeclaration[] = [
    { name: 'on', automatic: !!agent.fabric, ...(agent.onTarget ? { onTarget: true } : {}) },
    { name: 'off' },
  ];
  if (!agent.fabric) actions.push({ name: 'reboot' });
  actions.push({ name: 'status' });
  if (agent.target === 'plugs') actions.push({ name: 'list' }, { name: 'list-status' });
  actions.push({ name: 'monitor' }, { name: 'metadata' }, { name: 'manpage' }, { name: 'validate-all' });
  if (agent.diag) actions.push({ name: 'diag' });
  for (const extra of agent.extraActions ?? []) if (extra.advertised) actions.push({ name: extra.name });
  return actions;
}

/** Defaults in force for the invoked name: the library's, then the agent's, then the symlink's. */
export function effectiveDefaults(agent: AgentDeclaration, invokedName: string): Record<string, string> {
  const link = agent.symlinks?.find((l) => l.name === invokedName);
  return { ...(agent.defaults as Record<string, string> | undefined), ...link?.defaults };
}
