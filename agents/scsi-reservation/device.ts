// The shared LUNs as one fabric "device" whose power state is whether a node's key is registered on them.
// Loaded only by connect(): metadata and validate-all never reach it.
import { statSync } from 'node:fs';
import { hostname } from 'node:os';
import type { OperationContext, PowerDevice, PowerState } from '../../lib/agent/declaration.js';
import { FenceError } from '../../lib/errors.js';
import { run } from '../../lib/exec.js';
import { parseDeviceList, parseSharedVolumeGroupPvs, scsiPaths, VGS_ARGS } from '../../lib/scsi/devices.js';
import type { NodelistNode } from '../../lib/scsi/keys.js';
import { SgClient, SgCommandError } from '../../lib/scsi/sg-persist.js';
import { normaliseKey, type PrState, type ReservationKey } from '../../lib/scsi/sg-output.js';
import { remaining } from '../../lib/timing.js';
import { KeyStore } from './store.js';

type Action = 'on' | 'off' | 'status' | 'monitor';

/** The options the fabric acts on (agent.ts reads them), each as the user gave it. */
export interface ReservationSettings {
  /** The action asked for: the runner has already turned a fabric's enable/disable into on/off. */
  readonly action: string | undefined;
  readonly key: string | undefined;
  /** nodename, else plug: the node whose key is derived when no key is given. */
  readonly node: string | undefined;
  readonly keyValue: 'id' | 'hash';
  readonly devices: string | undefined;
  readonly aptpl: boolean;
  readonly readonly: boolean;
  readonly corosyncCmapPath: string;
  readonly sgPersistPath: string;
  readonly sgTursPath: string;
  readonly vgsPath: string;
}

/** What corosync answered in this invocation, by program and key: the key derivation and the on-target check ask the same. */
const cmapAnswers = new Map<string, string>();

async function cmap(given: ReservationSettings, key: string, ctx: OperationContext): Promise<string> {
  const path = given.corosyncCmapPath;
  const known = cmapAnswers.get(`${path}\0${key}`);
  if (known !== undefined) return known;
  const r = await run(path, [key], { timeoutMs: Math.max(1, Math.min(remaining(ctx.deadline), 60_000)), logger: ctx.logger });
  if (r.code !== 0) throw new FenceError('bad-input', `cannot read ${key} from corosync (${path} exited ${r.code ?? r.signal}): ${r.stderr.trim()}`);
  cmapAnswers.set(`${path}\0${key}`, r.stdout);
  return r.stdout;
}

/** The key of the node named by nodename/plug, derived as fence_scsi derives it, or the key given. */
export async function targetKey(given: ReservationSettings, ctx: OperationContext): Promise<ReservationKey> {
  if (given.key) return normaliseKey(given.key);
  const node = given.node;
  if (!node) throw new FenceError('bad-input', 'nodename or key is required');
  // Imported here, not at the top: node:crypto is slow to load and an explicit key does not need it.
  const { keyFromNodeName, keyFromPosition, nodePosition, parseClusterName } = await import('../../lib/scsi/keys.js');
  const cluster = parseClusterName(await cmap(given, 'totem.cluster_name', ctx));
  if (!cluster) throw new FenceError('bad-input', 'cannot get cluster name');
  if (given.keyValue === 'hash') return keyFromNodeName(cluster, node);
  const position = nodePosition(await cmap(given, 'nodelist', ctx), node);
  if (position === undefined) throw new FenceError('bad-input', `unable to parse output of corosync-cmapctl or node ${node} does not exist`);
  return keyFromPosition(cluster, position);
}

/** `corosync-cmapctl KEY`, or undefined where corosync does not answer (not installed, not running). */
async function cmapIfRunning(given: ReservationSettings, key: string, ctx: OperationContext): Promise<string | undefined> {
  try {
    return await cmap(given, key, ctx);
  } catch (err) {
    // A corosync-cmapctl that ran out of time says nothing about corosync: that is a timeout (retried
    // within the login budget), never "corosync does not run here".
    if (err instanceof FenceError && err.kind === 'timeout') throw err;
    ctx.logger.debug(`corosync cannot tell which node this is: ${(err as Error).message}`);
    return undefined;
  }
}

/**
 * `on` registers this node's key, preempts that key's older registrations and records it in this node's key
 * file: run for another node it would give this host that node's identity on the LUNs and cut the other
 * node's own registrations. So the key must be this node's, checked before any file
 * is written or device touched:
 * - where corosync names this node (nodelist.local_node_pos), the key of this node under key_value passes,
 *   the key of any other node in the nodelist is refused (either key_value derivation), and a key derived from no node (a key chosen by
 *   hand) passes only if this node's key file already records it;
 * - where corosync cannot tell (not running), only the key this node's key file records passes: writing it
 *   there first is how an administrator declares a hand-chosen key to be this node's.
 */
async function assertOwnKey(given: ReservationSettings, key: ReservationKey, store: KeyStore, ctx: OperationContext): Promise<void> {
  const { keysOfNode, localNodePosition, nodelistNodes, parseClusterName } = await import('../../lib/scsi/keys.js');
  const recorded = store.readKey();
  const nodelist = await cmapIfRunning(given, 'nodelist', ctx);
  const local = nodelist === undefined ? undefined : localNodePosition(nodelist);
  const cluster = local === undefined ? undefined : parseClusterName((await cmapIfRunning(given, 'totem.cluster_name', ctx)) ?? '');
  if (nodelist !== undefined && local !== undefined && cluster) {
    const nodes = nodelistNodes(nodelist);
    const here = nodes.get(local)?.name ?? `position ${local}`;
    // Both derivations: a key is the same node's whichever key_value produced it.
    const keysOf = (node: NodelistNode) =>
      (['id', 'hash'] as const).flatMap((mode) => keysOfNode(cluster, mode, node, node.position === local ? hostname() : undefined));
    const other = [...nodes.values()].find((node) => node.position !== local && keysOf(node).includes(key));
    if (other) {
      throw new FenceError('bad-input', `key ${key} is node ${other.name ?? other.addresses[0] ?? other.position}'s, not this node's (${here}): on (unfencing) must run on the node it unfences`);
    }
    const self = nodes.get(local);
    if (self && keysOf(self).includes(key)) return;
    if (recorded === key) return;
    throw new FenceError('bad-input', `key ${key} is not this node's: corosync gives this node (${here}) another key, and this node's key file records ${recorded ?? 'none'}; on (unfencing) must run on the node it unfences`);
  }
  if (recorded === key) return;
  throw new FenceError('bad-input', `cannot tell whether key ${key} is this node's: corosync does not name this node and this node's key file (${store.keyFiles[0]}) records ${recorded ?? 'no key'}; on (unfencing) must run on the node it unfences`);
}

async function discoverDevices(given: ReservationSettings, ctx: OperationContext): Promise<string[]> {
  const listed = parseDeviceList(given.devices);
  if (listed.length > 0) return listed;
  const vgs = given.vgsPath;
  const r = await run(vgs, VGS_ARGS, { timeoutMs: Math.max(1, Math.min(remaining(ctx.deadline), 60_000)), logger: ctx.logger });
  if (r.code !== 0) throw new FenceError('bad-input', `cannot get the devices of shared volume groups (${vgs} exited ${r.code ?? r.signal})`);
  return parseSharedVolumeGroupPvs(r.stdout);
}

function assertBlockDevice(device: string): void {
  let isBlock = false;
  try {
    isBlock = statSync(device).isBlockDevice();
  } catch {
    throw new FenceError('bad-input', `device "${device}" does not exist`);
  }
  if (!isBlock) throw new FenceError('bad-input', `device "${device}" is not a block device`);
}

/** Run `step` on every device at once; fail after all were tried, naming every device that failed. */
async function onEveryDevice(devices: readonly string[], step: (device: string) => Promise<void>): Promise<void> {
  const results = await Promise.allSettled(devices.map(step));
  const failed = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
  if (failed.length === 0) return;
  const first = failed[0] instanceof FenceError ? failed[0] : new FenceError('internal', String(failed[0]));
  if (failed.length === 1) throw first;
  throw new FenceError(first.kind, `${failed.length} of ${devices.length} devices failed: ${failed.map((f) => (f as Error).message).join('; ')}`);
}

export class ReservationFabric implements PowerDevice {
  /**
   * Both sets end with a read of every device proving the result (the key registered and a reservation
   * held; the key gone and a reservation held), so the engine neither polls after them nor reads before an off.
   */
  readonly confirmedBySet: readonly PowerState[] = ['on', 'off'];
  /** The state each device showed in the last read, so that acting does not read it a second time. */
  private readonly seen = new Map<string, PrState>();

  constructor(
    private readonly client: SgClient,
    private readonly devices: readonly string[],
    private readonly key: ReservationKey,
    private readonly action: Action,
    private readonly store: KeyStore,
    private readonly aptpl: boolean,
    /** This node's key, the preempting one; only for off. */
    private readonly ownKey?: ReservationKey,
  ) {}

  private async read(device: string, ctx: OperationContext): Promise<PrState> {
    const state = await this.client.readState(device, ctx);
    this.seen.set(device, state);
    return state;
  }

  /**
   * ON when the key is registered: for `on` (unfencing) on every device, otherwise on at least one, as
   * fence_scsi reports it. An off therefore needs the key gone from every device.
   */
  async getPower(_plug: string | undefined, ctx: OperationContext): Promise<PowerState> {
    const states = await Promise.all(this.devices.map((d) => this.read(d, ctx)));
    const registered = states.map((s) => s.keys.includes(this.key));
    const on = this.action === 'on' ? registered.every(Boolean) : registered.some(Boolean);
    return on ? 'on' : 'off';
  }

  /** on: unfence every device; off: fence every device. Each resolves only once read back (confirmedBySet). */
  async setPower(_plug: string | undefined, state: PowerState, ctx: OperationContext): Promise<void> {
    if (state === 'on') await onEveryDevice(this.devices, (d) => this.unfence(d, ctx));
    else await onEveryDevice(this.devices, (d) => this.fence(d, ctx));
  }

  private registerEveryPath(device: string, key: ReservationKey, ctx: OperationContext): Promise<void> {
    return onEveryDevice(scsiPaths(device), (path) => this.client.registerAndIgnore(path, key, { aptpl: this.aptpl }, ctx));
  }

  /** Register this node's key (on every path), refresh a stale registration, and reserve if nobody has. */
  private async unfence(device: string, ctx: OperationContext): Promise<void> {
    const before = this.seen.get(device) ?? (await this.read(device, ctx));
    await this.registerEveryPath(device, this.key, ctx);
    if (before.keys.includes(this.key)) {
      // The key was already there, perhaps from an earlier I_T nexus (a new iSCSI session has a new ISID):
      // preempting one's own key replaces those registrations (fence-agents #529). It also removes the
      // other paths' registrations of this node (and ours, if nobody holds the reservation), so register
      // every path once more: REGISTER AND IGNORE is harmless where the registration survived.
      await this.client.preempt(device, this.key, this.key, ctx);
      await this.registerEveryPath(device, this.key, ctx);
    }
    let now = await this.read(device, ctx);
    if (!now.keys.includes(this.key)) throw new FenceError('unconfirmed', `key ${this.key} is not registered on ${device} after registering it`);
    if (!now.reservation) {
      try {
        await this.client.reserve(device, this.key, ctx);
      } catch (err) {
        // Another node may have reserved between our read and our RESERVE: that is as good.
        if (!(err instanceof SgCommandError && err.failure === 'reservation-conflict')) throw err;
      }
      now = await this.read(device, ctx);
      if (!now.reservation) throw new FenceError('unconfirmed', `no reservation on ${device} after RESERVE`);
    }
    this.store.addDevice(device);
  }

  /** PREEMPT AND ABORT the victim's key with this node's, then read back that it is gone and the device reserved. */
  private async fence(device: string, ctx: OperationContext): Promise<void> {
    const own = this.ownKey!;
    let refused = false;
    try {
      await this.client.preemptAndAbort(device, own, this.key, ctx);
    } catch (err) {
      // A conflict: our own key is not registered here, or the victim has no registration left to preempt.
      if (!(err instanceof SgCommandError && err.failure === 'reservation-conflict')) throw err;
      refused = true;
    }
    let state = await this.read(device, ctx);
    if (refused && !state.keys.includes(own)) {
      // Only a registered initiator may preempt (fence-agents #558): register, then preempt again.
      await this.registerEveryPath(device, own, ctx);
      if (state.keys.includes(this.key)) await this.client.preemptAndAbort(device, own, this.key, ctx);
      state = await this.read(device, ctx);
    }
    if (!state.reservation) {
      // Without a reservation every initiator may write, registered or not: the fence would be a no-op.
      await this.client.reserve(device, own, ctx);
      state = await this.read(device, ctx);
    }
    if (state.keys.includes(this.key)) {
      throw new FenceError(refused ? 'device-refused' : 'unconfirmed', `key ${this.key} is still registered on ${device}${refused ? ' (PREEMPT AND ABORT: reservation conflict)' : ''}`);
    }
    if (!state.reservation) throw new FenceError('unconfirmed', `no reservation exists on ${device}`);
  }

  /** Every device answers TEST UNIT READY and a READ KEYS. */
  async monitor(ctx: OperationContext): Promise<void> {
    await onEveryDevice(this.devices, async (d) => {
      await this.client.testUnitReady(d, ctx);
      await this.client.readKeys(d, ctx);
    });
  }

  async close(): Promise<void> {}
}

export async function openReservationFabric(given: ReservationSettings, ctx: OperationContext): Promise<ReservationFabric> {
  const action = (given.action ?? 'status') as Action;
  const store = new KeyStore();
  const client = new SgClient({
    sgPersistPath: given.sgPersistPath,
    sgTursPath: given.sgTursPath,
    readonly: given.readonly,
    logger: ctx.logger,
  });
  const devices = await discoverDevices(given, ctx);
  if (devices.length === 0) throw new FenceError('bad-input', 'No devices found');
  devices.forEach(assertBlockDevice);
  if (action === 'monitor') return new ReservationFabric(client, devices, '', action, store, false);

  const key = await targetKey(given, ctx);
  if (key === '0' || key === '') throw new FenceError('bad-input', 'key cannot be 0');
  let ownKey: ReservationKey | undefined;
  if (action === 'off') {
    ownKey = store.readKey();
    if (!ownKey) throw new FenceError('bad-input', `this node has no key in ${store.keyFiles.join(' or ')}: it must be unfenced ('on') before it can fence`);
    if (ownKey === key) throw new FenceError('bad-input', 'keys cannot be same. You can not fence yourself.');
  }
  // Unfencing records the key first, so that the watchdog check knows it even if a device then fails.
  if (action === 'on') {
    await assertOwnKey(given, key, store, ctx);
    store.writeKey(key);
  }
  return new ReservationFabric(client, devices, key, action, store, given.aptpl, ownKey);
}
