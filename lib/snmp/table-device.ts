// What a fencing device that is a row of an SNMP table needs, whatever the table: an APC PDU's outlets
// (PowerNet-MIB) and a switch's ports (IF-MIB) alike. One client for the whole invocation, every call bounded
// by the operation's deadline, the rows a walk of a column returned, and a missing row read as what it is:
// no such plug, never a state.
import { FenceError } from '../errors.js';
import type { Logger } from '../log.js';
import { SnmpClient, type SnmpCallOptions, type SnmpOpenOptions, type SnmpTarget } from './client.js';
import { SnmpNoSuchObjectError } from './failures.js';
import { oidSuffix } from './oid.js';
import type { SnmpValue } from './values.js';

/** A finite bound for the client, which needs one; each call is bounded by the operation's own, shorter deadline. */
const CLIENT_LIFETIME_MS = 24 * 3600_000;

/** The device's client, open for the invocation. `tuning`: a device's own retransmission pace. */
export function openDeviceClient(
  target: SnmpTarget,
  logger: Logger,
  tuning: Pick<SnmpOpenOptions, 'perRequestTimeoutMs' | 'retries'> = {},
): Promise<SnmpClient> {
  return SnmpClient.open(target, { deadline: Date.now() + CLIENT_LIFETIME_MS, logger, ...tuning });
}

/** A call bounded by an operation's deadline; an operation without one (Infinity) leaves the client's. */
export function within(operation: { readonly deadline: number }): SnmpCallOptions | undefined {
  return Number.isFinite(operation.deadline) ? { deadline: operation.deadline } : undefined;
}

/** One row of a walked column: its index (the OID arcs below the column) and its value. */
export interface TableRow {
  readonly index: number[];
  readonly value: SnmpValue;
}

/** The rows a walk of `column` returned; anything not below the column (the walk's end) is left out. */
export function rowsBelow(column: string, values: readonly SnmpValue[]): TableRow[] {
  const rows: TableRow[] = [];
  for (const value of values) {
    const index = oidSuffix(column, value.oid);
    if (index && index.length > 0) rows.push({ index, value });
  }
  return rows;
}

/**
 * A request on one plug's row. noSuchObject / noSuchInstance there means the device has no such row: the
 * plug does not exist (fence_apc_snmp and fence_ifmib read it as "off" and report a node fenced that nothing
 * touched). `missing` says which plug, in the device's words; the agent's message adds the device's answer.
 */
export async function onPlugRow<T>(request: Promise<T>, missing: string): Promise<T> {
  try {
    return await request;
  } catch (err) {
    if (err instanceof SnmpNoSuchObjectError) throw new FenceError('no-such-plug', `${missing} (${err.message})`, { cause: err });
    throw err;
  }
}
