// What sg3_utils' sg_persist and sg_turs print, turned into values. Pure: no processes, so the tests feed it
// outputs captured from a real target (an LIO iSCSI LUN, test/fixtures/scsi/). Formats are sg3_utils 1.4x.

/** A reservation key as sg_persist prints and accepts it: lower-case hex, no 0x, no leading zeros. */
export type ReservationKey = string;

/** Type 5 in PERSISTENT RESERVE OUT: only registered initiators may write; everyone may read. */
export const WRITE_EXCLUSIVE_REGISTRANTS_ONLY = 5;

export function normaliseKey(key: string): ReservationKey {
  const hex = key.trim().toLowerCase().replace(/^0x/, '').replace(/^0+(?=.)/, '');
  return hex;
}

/** A key sg_persist can send: 1 to 16 hex digits, not zero (zero means "no key" in PR OUT). */
export function isValidKey(key: string): boolean {
  const k = normaliseKey(key);
  return /^[0-9a-f]{1,16}$/.test(k) && k !== '0';
}

export interface Reservation {
  readonly key: ReservationKey;
  /** e.g. "Write Exclusive, registrants only". */
  readonly type: string;
  readonly scope: string;
}

export interface Registration {
  readonly key: ReservationKey;
  readonly holder: boolean;
  /** The registrant's transport id as printed (iSCSI name, FC WWPN...), when READ FULL STATUS gave it. */
  readonly initiator?: string;
}

/** The persistent-reservation state of one LUN as seen through one path. */
export interface PrState {
  readonly generation: number;
  readonly keys: readonly ReservationKey[];
  readonly reservation?: Reservation;
  /** Only from READ FULL STATUS. */
  readonly registrations?: readonly Registration[];
}

const GENERATION = /PR generation=0x([0-9a-f]+)/i;

/**
 * A key as read back from the device: at most 16 hex digits (8 bytes, SPC-4). A longer one is a garbled
 * line, and must not pass for a key that merely differs from the victim's (found by fuzzing,
 * test/faults/fuzz-parsers.test.ts: "0xffffffffffffffffffa1b20001" read as a key, the victim's absent).
 */
function keyRead(hex: string): ReservationKey {
  const key = normaliseKey(hex);
  if (!/^[0-9a-f]{1,16}$/.test(key)) throw new SyntaxError(`not a reservation key in sg_persist output: 0x${hex.slice(0, 40)}`);
  return key;
}

function generationOf(out: string): number {
  const m = GENERATION.exec(out);
  if (!m) throw new SyntaxError(`no "PR generation" in sg_persist output: ${JSON.stringify(out.slice(0, 200))}`);
  return Number.parseInt(m[1]!, 16);
}

/**
 * sg_persist's PR IN buffer (MX_ALLOC_LEN, its default and maximum allocation length). A device with more to
 * say returns only this much, and sg_persist's text output then trusts the device's own additional length:
 * it prints descriptors read past what was returned. So an answer that cannot fit is a truncated one.
 */
export const SG_PERSIST_BUFFER_BYTES = 8192;
/** The PR IN header: PR generation (4 bytes) and additional length (4 bytes). */
const PR_IN_HEADER_BYTES = 8;

/** A registered key as read back: zero is no key (registering 0 unregisters), so a 0 here is garbage. */
function registeredKey(hex: string): ReservationKey {
  const key = keyRead(hex);
  if (key === '0') throw new SyntaxError('a registration with key 0 in sg_persist output');
  return key;
}

/**
 * `sg_persist -n -i -k`: READ KEYS. The count sg_persist declares ("N registered reservation keys follow",
 * from the device's additional length) must be the count of keys listed, and must fit sg_persist's buffer:
 * otherwise a key may be missing, and a missing victim key would read as "fenced".
 */
export function parseReadKeys(out: string): Pick<PrState, 'generation' | 'keys'> {
  const generation = generationOf(out);
  const lines = out.split('\n');
  const header = lines.findIndex((l) => GENERATION.test(l));
  const none = /there are NO registered reservation keys/.test(lines[header]!);
  const declared = /, (\d+) registered reservation keys? follows?:/.exec(lines[header]!);
  if (!none && !declared) throw new SyntaxError(`no key count in sg_persist READ KEYS output: ${JSON.stringify(lines[header]!.slice(0, 120))}`);
  const keys: ReservationKey[] = [];
  for (const line of lines.slice(header + 1)) {
    if (line.trim() === '') continue;
    const m = /^\s+0x([0-9a-f]+)\s*$/i.exec(line);
    if (!m) throw new SyntaxError(`not a key line in sg_persist READ KEYS output: ${JSON.stringify(line.slice(0, 80))}`);
    keys.push(registeredKey(m[1]!));
  }
  if (none && keys.length > 0) throw new SyntaxError('keys listed after "NO registered reservation keys"');
  const count = declared ? Number(declared[1]) : 0;
  if (count * 8 > SG_PERSIST_BUFFER_BYTES - PR_IN_HEADER_BYTES) {
    throw new SyntaxError(`READ KEYS declares ${count} keys, more than sg_persist's ${SG_PERSIST_BUFFER_BYTES}-byte answer holds: truncated`);
  }
  if (count !== keys.length) throw new SyntaxError(`READ KEYS declares ${count} keys but lists ${keys.length}`);
  return { generation, keys };
}

/** `sg_persist -n -i -r`: READ RESERVATION. */
export function parseReadReservation(out: string): Pick<PrState, 'generation' | 'reservation'> {
  const generation = generationOf(out);
  if (/there is NO reservation held/.test(out)) return { generation };
  const key = /\bKey=0x([0-9a-f]+)/i.exec(out);
  const scopeType = /scope:\s*([^,\n]+),\s*type:\s*(.+)/.exec(out);
  if (!key) throw new SyntaxError(`no reservation key in sg_persist output: ${JSON.stringify(out.slice(0, 200))}`);
  return {
    generation,
    reservation: { key: keyRead(key[1]!), scope: scopeType?.[1]?.trim() ?? 'unknown', type: scopeType?.[2]?.trim() ?? 'unknown' },
  };
}

/**
 * The bytes a READ FULL STATUS descriptor takes in the device's answer: 24 + its TransportID. An iSCSI
 * TransportID carries the printed name (NUL-terminated, padded to 4 bytes) after a 4-byte header; every
 * TransportID is at least 24 bytes (SPC-4 7.6.4).
 */
function descriptorBytes(transportId: string | undefined): number {
  const iscsi = transportId === undefined ? undefined : /iSCSI (?:world wide unique port id|name):\s*(\S+)/.exec(transportId)?.[1];
  const tpid = iscsi === undefined ? 24 : Math.max(24, 4 + Math.ceil((Buffer.byteLength(iscsi) + 1) / 4) * 4);
  return 24 + tpid;
}

/**
 * `sg_persist -n -i -s`: READ FULL STATUS, every registration with its holder flag, in one command.
 * sg_persist prints no count here, so each descriptor must be whole (its target-ports and holder lines), and
 * the descriptors together must fit sg_persist's buffer: past it, what sg_persist prints was never sent.
 */
export function parseReadFullStatus(out: string): PrState {
  const generation = generationOf(out);
  const registrations: Registration[] = [];
  let reservation: Reservation | undefined;
  // Each descriptor starts at "Key=0x..."; its lines run to the next one.
  const [head, ...blocks] = out.split(/^(?=\s+Key=0x)/m);
  const empty = /No full status descriptors/.test(head!);
  if (empty && blocks.length > 0) throw new SyntaxError('descriptors listed after "No full status descriptors"');
  if (!empty && blocks.length === 0) throw new SyntaxError(`neither descriptors nor "No full status descriptors" in sg_persist output: ${JSON.stringify(out.slice(0, 200))}`);
  let bytes = PR_IN_HEADER_BYTES;
  for (const block of blocks) {
    const hex = /Key=0x([0-9a-f]+)/i.exec(block);
    // Found by fuzzing (test/faults/fuzz-parsers.test.ts): "Key=0x" without hex digits was a TypeError.
    if (!hex) throw new SyntaxError(`unreadable key in sg_persist output: ${JSON.stringify(block.slice(0, 80))}`);
    const key = registeredKey(hex[1]!);
    const holder = /<< Reservation holder >>/.test(block);
    if (!/All target ports bit (set|clear)/.test(block) || holder === /not reservation holder/.test(block)) {
      throw new SyntaxError(`incomplete READ FULL STATUS descriptor in sg_persist output: ${JSON.stringify(block.slice(0, 120))}`);
    }
    const initiator = /(?:port id|name|N_Port_Name):\s*(\S+)/i.exec(block)?.[1];
    bytes += descriptorBytes(/Transport Id of initiator:([\s\S]*)/.exec(block)?.[1]);
    registrations.push({ key, holder, ...(initiator ? { initiator } : {}) });
    if (holder && !reservation) {
      const st = /scope:\s*([^,\n]+),\s*type:\s*(.+)/.exec(block);
      reservation = { key, scope: st?.[1]?.trim() ?? 'unknown', type: st?.[2]?.trim() ?? 'unknown' };
    }
  }
  if (bytes > SG_PERSIST_BUFFER_BYTES) {
    throw new SyntaxError(`READ FULL STATUS lists ${registrations.length} registrations (${bytes} bytes), more than sg_persist's ${SG_PERSIST_BUFFER_BYTES}-byte answer holds: truncated`);
  }
  const keys = [...new Set(registrations.map((r) => r.key))];
  return { generation, keys, registrations, ...(reservation ? { reservation } : {}) };
}

/** What a failed sg3_utils command means, from its exit status (sg3_utils(8), EXIT STATUS). */
export type SgFailure =
  | 'syntax' // 1, 31: our command line is wrong
  | 'not-ready' // 2: includes LIO's "logical unit communication failure" when it cannot store PR state
  | 'medium-error' // 3
  | 'illegal-request' // 5: e.g. a service action (READ FULL STATUS) the device does not support
  | 'unit-attention' // 6: something happened earlier (reset, registrations preempted); the command was not run
  | 'data-protect' // 7
  | 'unsupported' // 9: invalid command operation code
  | 'aborted' // 11
  | 'cannot-open' // 15, 50+errno: no such device, permission
  | 'reservation-conflict' // 24
  | 'busy' // 26, 27
  | 'timeout' // 33
  | 'other';

export function classifyExit(code: number): SgFailure {
  switch (code) {
    case 1:
    case 31:
      return 'syntax';
    case 2:
      return 'not-ready';
    case 3:
    case 18:
      return 'medium-error';
    case 5:
    case 17:
      return 'illegal-request';
    case 6:
      return 'unit-attention';
    case 7:
      return 'data-protect';
    case 9:
      return 'unsupported';
    case 11:
      return 'aborted';
    case 24:
      return 'reservation-conflict';
    case 26:
    case 27:
      return 'busy';
    case 33:
      return 'timeout';
    default:
      return code === 15 || (code > 50 && code < 100) ? 'cannot-open' : 'other';
  }
}

/** "Not ready: Logical unit communication failure" from the sense lines sg_persist writes to stderr. */
export function senseSummary(stderr: string): string | undefined {
  const key = /Sense key:\s*([^\n]+)/i.exec(stderr)?.[1]?.trim();
  const asc = /Additional sense:\s*([^\n]+)/i.exec(stderr)?.[1]?.trim();
  if (key || asc) return [key, asc].filter(Boolean).join(': ');
  const last = stderr.trim().split('\n').filter(Boolean).pop();
  return last?.replace(/^sg_persist failed:\s*/, '').trim() || undefined;
}
