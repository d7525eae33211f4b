// What a varbind means to an agent: net-snmp hands back ASN.1 type tags and Buffers; agents want a named
// type and a number or a string. Pure, so it is tested without a network and without loading net-snmp.

export type SnmpValueType =
  | 'integer'
  | 'octetString'
  | 'oid'
  | 'counter'
  | 'gauge'
  | 'timeticks'
  | 'ipaddress'
  | 'null'
  | 'noSuchObject'
  | 'noSuchInstance'
  | 'endOfMibView'
  | 'other';

export interface SnmpValue {
  oid: string;
  type: SnmpValueType;
  /** integer/counter/gauge/timeticks: number (a Counter64 beyond 2^53 as a decimal string); null for
   *  null and the exceptions; text otherwise (octet strings: see decodeOctetString). */
  value: number | string | null;
}

/** The SET types agents need: outlet/port commands are INTEGER, names are OCTET STRING. */
export type SnmpSetVarbind =
  | { oid: string; type: 'integer'; value: number }
  | { oid: string; type: 'octetString'; value: string };

// ASN.1 / SMI tags (RFC 3416 §3, X.690). Fixed by the protocol, so no need to ask net-snmp for them.
export const AsnTag = {
  Boolean: 1,
  Integer: 2,
  BitString: 3,
  OctetString: 4,
  Null: 5,
  ObjectIdentifier: 6,
  IpAddress: 64,
  Counter32: 65,
  Gauge32: 66,
  TimeTicks: 67,
  Opaque: 68,
  Counter64: 70,
  NoSuchObject: 128,
  NoSuchInstance: 129,
  EndOfMibView: 130,
} as const;

const TYPE_BY_TAG: ReadonlyMap<number, SnmpValueType> = new Map<number, SnmpValueType>([
  [AsnTag.Integer, 'integer'],
  [AsnTag.OctetString, 'octetString'],
  [AsnTag.Null, 'null'],
  [AsnTag.ObjectIdentifier, 'oid'],
  [AsnTag.IpAddress, 'ipaddress'],
  [AsnTag.Counter32, 'counter'],
  [AsnTag.Counter64, 'counter'],
  [AsnTag.Gauge32, 'gauge'],
  [AsnTag.TimeTicks, 'timeticks'],
  [AsnTag.NoSuchObject, 'noSuchObject'],
  [AsnTag.NoSuchInstance, 'noSuchInstance'],
  [AsnTag.EndOfMibView, 'endOfMibView'],
]);

/** The v2c/v3 per-varbind exceptions: the object is not there (RFC 3416 §4.2.1). */
export function isSnmpException(type: SnmpValueType): boolean {
  return type === 'noSuchObject' || type === 'noSuchInstance' || type === 'endOfMibView';
}

export function isNumericType(type: SnmpValueType): boolean {
  return type === 'integer' || type === 'counter' || type === 'gauge' || type === 'timeticks';
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * DisplayString text. Valid UTF-8 is read as UTF-8; anything else as Latin-1, which old PDU firmware
 * uses for names and which keeps every byte (Buffer.from(text, 'latin1') gives the bytes back).
 */
export function decodeOctetString(bytes: Uint8Array): string {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return Buffer.from(bytes).toString('latin1');
  }
}

function counter64(bytes: Uint8Array): number | string {
  let n = 0n;
  for (const b of bytes) n = (n << 8n) | BigInt(b);
  return n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n.toString();
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

/** A varbind as net-snmp decodes it: a type tag and a JS value (number, Buffer, string or null). */
export interface RawVarbind {
  oid: string;
  type: number;
  value: unknown;
}

export function toSnmpValue(vb: RawVarbind): SnmpValue {
  const type = TYPE_BY_TAG.get(vb.type) ?? 'other';
  const v = vb.value;
  if (type === 'null' || isSnmpException(type)) return { oid: vb.oid, type, value: null };
  if (v instanceof Uint8Array) {
    if (type === 'octetString') return { oid: vb.oid, type, value: decodeOctetString(v) };
    if (vb.type === AsnTag.Counter64) return { oid: vb.oid, type, value: counter64(v) };
    return { oid: vb.oid, type, value: hex(v) }; // Opaque, BitString: rare, shown as hex
  }
  if (typeof v === 'number' || typeof v === 'string') return { oid: vb.oid, type, value: v };
  if (typeof v === 'boolean') return { oid: vb.oid, type, value: v ? 1 : 0 };
  return { oid: vb.oid, type, value: v === null || v === undefined ? null : String(v) };
}

/** One line for logs and error messages: `integer 1`, `octetString "Outlet 3"`. */
export function describeValue(v: SnmpValue): string {
  if (v.value === null) return v.type;
  return typeof v.value === 'string' && v.type !== 'oid' ? `${v.type} ${JSON.stringify(v.value)}` : `${v.type} ${v.value}`;
}
