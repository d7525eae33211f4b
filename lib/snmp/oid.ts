// Object identifiers as dotted text ("1.3.6.1.2.1.1.2.0"), the form net-snmp takes and returns. Agents write
// them from MIB listings, often with a leading dot, so input is normalised once here and every comparison
// is numeric per arc: "1.10" sorts after "1.9", as getnext order requires.
import { FenceError } from '../errors.js';

/** SNMPv2-MIB system group (RFC 3418): what a device says it is. */
export const SYS_DESCR = '1.3.6.1.2.1.1.1.0';
export const SYS_OBJECT_ID = '1.3.6.1.2.1.1.2.0';

const MAX_ARC = 0xffff_ffff; // arcs are unsigned 32-bit on the wire (RFC 2578 §7.1.3)
const MAX_ARCS = 128; // RFC 2578 §3.5

/** Accepts "1.3.6.1..." or ".1.3.6.1..."; returns it without the leading dot, or throws 'bad-input'. */
export function normalizeOid(text: string): string {
  const body = text.startsWith('.') ? text.slice(1) : text;
  if (!/^\d+(\.\d+)+$/.test(body)) throw new FenceError('bad-input', `not an SNMP OID: "${text}"`);
  const arcs = body.split('.').map(Number);
  if (arcs.length > MAX_ARCS) throw new FenceError('bad-input', `SNMP OID has more than ${MAX_ARCS} arcs: "${text}"`);
  if (arcs[0]! > 2 || arcs.some((a) => a > MAX_ARC)) {
    throw new FenceError('bad-input', `SNMP OID arc out of range: "${text}"`);
  }
  // Re-join so "1.03" and "1.3" are the same OID.
  return arcs.join('.');
}

export function oidArcs(oid: string): number[] {
  return oid.split('.').map(Number);
}

/** Negative, zero or positive as a sorts before, equal to or after b in SNMP (getnext) order. */
export function compareOids(a: string, b: string): number {
  const x = oidArcs(a);
  const y = oidArcs(b);
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) {
    if (x[i] !== y[i]) return x[i]! - y[i]!;
  }
  return x.length - y.length;
}

/** True when oid is prefix itself or lies below it (1.3.6.10 is not below 1.3.6.1). */
export function oidIsWithin(prefix: string, oid: string): boolean {
  return oid === prefix || oid.startsWith(prefix + '.');
}

/** The arcs after prefix (a table row's index), or undefined when oid is not below prefix. */
export function oidSuffix(prefix: string, oid: string): number[] | undefined {
  if (!oid.startsWith(prefix + '.')) return undefined;
  return oidArcs(oid.slice(prefix.length + 1));
}
