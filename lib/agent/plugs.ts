// How an agent that addresses plugs (outlets, ports) reads the plugs it was given, the same for every such
// agent: a plug that is all digits is a number; anything else is a name, matched exactly (case and spaces
// as written); and a name that two plugs carry is refused, since either could be the one meant and fencing
// the wrong one leaves the node running and cuts a healthy one: the user names it by number instead.
import type { FenceError } from '../errors.js';
import type { PowerState } from './declaration.js';

/** The plugs of one invocation: `plug` split on `plug_separator` (default ","), blanks dropped. */
export function splitPlugList(plug: string | undefined, separator: string | undefined): string[] {
  if (plug === undefined) return [];
  return plug.split(separator || ',').map((p) => p.trim()).filter((p) => p !== '');
}

/** A plug that is all digits, as its number; undefined for a name. */
export function plugNumber(plug: string): number | undefined {
  return /^\d+$/.test(plug) ? Number(plug) : undefined;
}

/**
 * The one row whose name is exactly `name`, or undefined when none is (an empty name names nothing). When
 * two or more are, the caller's `ambiguous` error, which names them and asks for a number, is thrown.
 */
export function rowNamed<T>(rows: Iterable<T>, name: string, nameOf: (row: T) => string, ambiguous: (matches: readonly T[]) => FenceError): T | undefined {
  if (name === '') return undefined;
  const matches = [...rows].filter((row) => nameOf(row) === name);
  if (matches.length > 1) throw ambiguous(matches);
  return matches[0];
}

/**
 * A plug's state as the device reports it: only the device's own value for on and for off count. Any other
 * value (a pending reboot, testing, a word the device has no meaning for) is undefined: a fence refuses it,
 * never reads it as off, and a listing shows it as unknown (`listedState`).
 */
export function plugState<V>(value: V | undefined, on: V, off: V): PowerState | undefined {
  return value === undefined ? undefined : value === on ? 'on' : value === off ? 'off' : undefined;
}

/** list-status: the same reading, with an undecidable plug listed as UNKNOWN instead of failing the list. */
export function listedState(state: PowerState | undefined): PowerState | 'unknown' {
  return state ?? 'unknown';
}
