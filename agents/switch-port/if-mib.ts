// IF-MIB (RFC 2863) and IP-MIB (RFC 4293) as far as fencing a switch port needs them, and the pure decisions
// the agent takes on their values: what a port's state means, which ifIndex a plug names, which port the
// switch's management address sits on. No network here, so every rule is unit-tested.
import { FenceError } from '../../lib/errors.js';
import type { PowerState } from '../../lib/agent/declaration.js';
import { listedState, plugNumber, plugState, rowNamed } from '../../lib/agent/plugs.js';

export const OID = {
  /** SNMPv2-MIB sysUpTime.0: TimeTicks since the SNMP agent (re)started; ifLastChange counts on this clock. */
  sysUpTime: '1.3.6.1.2.1.1.3.0',
  /** ifNumber.0: how many interfaces; a cheap "the switch answers IF-MIB" probe. */
  ifNumber: '1.3.6.1.2.1.2.1.0',
  ifDescr: '1.3.6.1.2.1.2.2.1.2',
  ifAdminStatus: '1.3.6.1.2.1.2.2.1.7',
  ifOperStatus: '1.3.6.1.2.1.2.2.1.8',
  /** ifLastChange.<ifIndex>: sysUpTime (TimeTicks) when the port entered its current operational state. */
  ifLastChange: '1.3.6.1.2.1.2.2.1.9',
  ifName: '1.3.6.1.2.1.31.1.1.1.1',
  ifAlias: '1.3.6.1.2.1.31.1.1.1.18',
  /** ipAdEntIfIndex.A.B.C.D: the ifIndex an IPv4 address of the switch is configured on. */
  ipAdEntIfIndex: '1.3.6.1.2.1.4.20.1.2',
} as const;

/** ifAdminStatus values (RFC 2863). */
export const ADMIN = { up: 1, down: 2, testing: 3 } as const;

/** ifOperStatus values that mean no frame can pass: down(2), notPresent(6), lowerLayerDown(7). */
const OPER_LINK_DOWN = new Set([2, 6, 7]);
const OPER_NAMES: Record<number, string> = {
  1: 'up', 2: 'down', 3: 'testing', 4: 'unknown', 5: 'dormant', 6: 'notPresent', 7: 'lowerLayerDown',
};

export function operName(value: number): string {
  return `${OPER_NAMES[value] ?? 'undefined'}(${value})`;
}

export function operLinkDown(value: number): boolean {
  return OPER_LINK_DOWN.has(value);
}

/**
 * ifAdminStatus as a power state. Only up(1) and down(2) are states a fence can rely on: testing(3) passes
 * frames on some switches and not on others, and fence_ifmib's reading of it as "off" would report a node
 * fenced that may still reach its storage. Anything but 1 or 2 is therefore an error, never "off".
 */
export function adminState(value: number, port: string): PowerState {
  const state = plugState(value, ADMIN.up, ADMIN.down);
  if (state) return state;
  const what = value === ADMIN.testing ? 'testing(3)' : `${value}, which IF-MIB does not define`;
  throw new FenceError('unconfirmed', `port ${port} has ifAdminStatus ${what}: neither up nor down, so it cannot be reported as fenced or unfenced`);
}

/** list-status: the same rule, but a listing shows an undecidable port as UNKNOWN instead of failing. */
export function adminStateForList(value: number | undefined): PowerState | 'unknown' {
  return listedState(plugState(value, ADMIN.up, ADMIN.down));
}

/** fence_ifmib: a plug that is all digits is an ifIndex. */
export function plugAsIfIndex(plug: string): number | undefined {
  const n = plugNumber(plug);
  return n !== undefined && Number.isSafeInteger(n) && n >= 1 && n <= 2147483647 ? n : undefined;
}

/** The columns a port name is looked up in (all of them: a name must designate one port in every column). */
export const NAME_COLUMNS = [
  { column: 'ifDescr', oid: OID.ifDescr },
  { column: 'ifName', oid: OID.ifName },
  { column: 'ifAlias', oid: OID.ifAlias },
] as const;

export type NameColumn = (typeof NAME_COLUMNS)[number]['column'];

/**
 * The ifIndex a port name designates within one column, or undefined when no row of it matches exactly. Two
 * rows with the same name are refused rather than guessed: fencing the wrong port leaves the node running and
 * cuts off a healthy one.
 */
export function matchPortName(plug: string, column: NameColumn, values: ReadonlyMap<number, string>): number | undefined {
  const hit = rowNamed(values, plug, ([, name]) => name, (matches) =>
    new FenceError('bad-input', `port name "${plug}" is ambiguous: ${column} of ifIndex ${matches.map(([i]) => i).join(' and ')}; use the ifIndex`),
  );
  return hit?.[0];
}

/**
 * The ifIndex a port name designates, looked up in every name column: a name that is one port's ifDescr or
 * ifName and another port's ifAlias is refused, whichever column comes first, since either port could be the
 * one meant. The same port matching in several columns (net-snmp: ifDescr = ifName) is one port.
 */
export function resolvePortName(
  plug: string,
  columns: readonly { readonly column: NameColumn; readonly values: ReadonlyMap<number, string> }[],
): { ifIndex: number; column: NameColumn } | undefined {
  const hits: { ifIndex: number; column: NameColumn }[] = [];
  for (const { column, values } of columns) {
    const ifIndex = matchPortName(plug, column, values);
    if (ifIndex !== undefined) hits.push({ ifIndex, column });
  }
  const ports = new Set(hits.map((h) => h.ifIndex));
  if (ports.size > 1) {
    const where = [...ports].map((i) => `${hits.filter((h) => h.ifIndex === i).map((h) => h.column).join('/')} of ifIndex ${i}`);
    throw new FenceError('bad-input', `port name "${plug}" is ambiguous: it is the ${where.join(' and the ')}; name the port by its ifIndex number`);
  }
  return hits[0];
}

export function noSuchPortName(plug: string, interfaces: number): FenceError {
  return new FenceError('no-such-plug', `no port named "${plug}" (no exact ifDescr, ifName or ifAlias match among ${interfaces} interfaces)`);
}

/** ipAdEntIfIndex is indexed by the address itself: .A.B.C.D. Undefined for anything but dotted IPv4. */
export function ipAdEntIfIndexOid(address: string): string | undefined {
  const parts = address.split('.');
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) return undefined;
  return `${OID.ipAdEntIfIndex}.${parts.map(Number).join('.')}`;
}

/**
 * The self-port guard's verdict: shutting `ifIndex` would cut the agent off the switch when the address the
 * agent talks to is configured on that very interface. (An address on a VLAN interface or bridge is reached
 * through some member port this cannot name; then nothing is refused.)
 */
export function managementPortRefusal(port: string, ifIndex: number, mgmtAddress: string, mgmtIfIndex: number | undefined): FenceError | undefined {
  if (mgmtIfIndex === undefined || mgmtIfIndex !== ifIndex) return undefined;
  return new FenceError(
    'bad-input',
    `refusing to shut port ${port} (ifIndex ${ifIndex}): the switch's management address ${mgmtAddress}, which this agent talks to, is on that interface (ipAdEntIfIndex), so the switch would become unreachable and the fence could neither be confirmed nor undone`,
  );
}
