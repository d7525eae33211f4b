// Power-supply sensors through the BMC: how many supplies a node has and whether each has input. Pure
// encode/decode of the SDR and sensor commands (IPMI v2.0 §33.11 Reserve SDR Repository, §33.12 Get SDR,
// §35.14 Get Sensor Reading, §43.1-43.2 sensor records), plus a reader over any session that can send a
// read-only command. Used by `fencekit audit --live` (count) and `fencekit verify-wiring` (input lost).
import { IpmiDecodeError } from './codec.js';

export const NETFN_SENSOR = 0x04;
export const NETFN_STORAGE = 0x0a;
export const CMD_GET_SENSOR_READING = 0x2d;
export const CMD_RESERVE_SDR_REPOSITORY = 0x22;
export const CMD_GET_SDR = 0x23;
/** Sensor type "Power Supply" (Table 42-3). */
export const SENSOR_TYPE_POWER_SUPPLY = 0x08;
/** Event/reading type "sensor-specific" (Table 42-1). */
export const READING_TYPE_SENSOR_SPECIFIC = 0x6f;
/** The record id that ends the SDR chain. */
export const LAST_RECORD_ID = 0xffff;

/** Power Supply offsets (Table 42-3): each a bit of the state. */
export const PSU_STATE = {
  presence: 0,
  failure: 1,
  predictiveFailure: 2,
  inputLost: 3,
  inputLostOrOutOfRange: 4,
  inputOutOfRange: 5,
  configurationError: 6,
} as const;

function need(buf: Buffer, n: number, what: string): void {
  if (buf.length < n) throw new IpmiDecodeError(`${what}: ${buf.length} bytes, need at least ${n}`);
}

export function encodeGetSdr(reservation: number, recordId: number, offset: number, bytes: number): Buffer {
  const b = Buffer.alloc(6);
  b.writeUInt16LE(reservation, 0);
  b.writeUInt16LE(recordId, 2);
  b[4] = offset;
  b[5] = bytes;
  return b;
}

export function decodeReserveSdr(data: Buffer): number {
  need(data, 2, 'Reserve SDR Repository response');
  return data.readUInt16LE(0);
}

export function decodeGetSdr(data: Buffer): { nextRecordId: number; bytes: Buffer } {
  need(data, 2, 'Get SDR response');
  return { nextRecordId: data.readUInt16LE(0), bytes: Buffer.from(data.subarray(2)) };
}

export interface SensorRecord {
  readonly recordId: number;
  readonly ownerId: number;
  readonly lun: number;
  readonly number: number;
  readonly entityId: number;
  readonly entityInstance: number;
  readonly sensorType: number;
  readonly readingType: number;
  readonly name: string;
}

/** Offset of the ID string type/length byte: full sensor record (type 01h) 47, compact (02h) 31 (§43.1, §43.2). */
const ID_OFFSET: Readonly<Record<number, number>> = { 0x01: 47, 0x02: 31 };

/** A whole SDR (header included); undefined for records that are not sensor records (FRU, MC locator, ...). */
export function decodeSensorRecord(record: Buffer): SensorRecord | undefined {
  need(record, 5, 'SDR header');
  const type = record[3]!;
  const idAt = ID_OFFSET[type];
  if (idAt === undefined) return undefined;
  const length = record[4]!;
  need(record, 5 + length, `SDR ${record.readUInt16LE(0)}`);
  need(record, idAt + 1, `SDR ${record.readUInt16LE(0)} (type ${type})`);
  const idTypeLength = record[idAt]!;
  const n = idTypeLength & 0x1f;
  // 8-bit ASCII+Latin-1 (type 11b) is what BMCs use; other encodings are shown as hex rather than guessed.
  const raw = record.subarray(idAt + 1, Math.min(idAt + 1 + n, 5 + length));
  const name = idTypeLength >> 6 === 3 ? raw.toString('latin1').replace(/\0+$/, '') : raw.toString('hex');
  return {
    recordId: record.readUInt16LE(0),
    ownerId: record[5]!,
    lun: record[6]! & 0x03,
    number: record[7]!,
    entityId: record[8]!,
    entityInstance: record[9]!,
    sensorType: record[12]!,
    readingType: record[13]!,
    name,
  };
}

export interface SensorReading {
  /** Reading unavailable (bit 5) or scanning disabled (bit 6 clear): the state bits mean nothing. */
  readonly available: boolean;
  /** State bits 0-14 for discrete sensors. */
  readonly states: number;
}

export function decodeSensorReading(data: Buffer): SensorReading {
  need(data, 2, 'Get Sensor Reading response');
  const flags = data[1]!;
  const available = (flags & 0x20) === 0 && (flags & 0x40) !== 0;
  const states = (data.length > 2 ? data[2]! : 0) | (data.length > 3 ? (data[3]! & 0x7f) << 8 : 0);
  return { available, states };
}

export interface SupplyState {
  readonly name: string;
  readonly sensor: number;
  readonly entityInstance: number;
  readonly readable: boolean;
  readonly present: boolean;
  /** No input: input lost, or lost/out of range. */
  readonly inputLost: boolean;
  /** Failure, predictive failure, input out of range or configuration error. */
  readonly faulty: boolean;
}

export function supplyState(record: SensorRecord, reading: SensorReading): SupplyState {
  const bit = (n: number) => (reading.states & (1 << n)) !== 0;
  return {
    name: record.name,
    sensor: record.number,
    entityInstance: record.entityInstance,
    readable: reading.available,
    present: reading.available && bit(PSU_STATE.presence),
    inputLost: reading.available && (bit(PSU_STATE.inputLost) || bit(PSU_STATE.inputLostOrOutOfRange)),
    faulty: reading.available && (bit(PSU_STATE.failure) || bit(PSU_STATE.predictiveFailure) || bit(PSU_STATE.inputOutOfRange) || bit(PSU_STATE.configurationError)),
  };
}

/** A supply that is present, readable, has input and reports no fault. */
export const isHealthy = (s: SupplyState): boolean => s.readable && s.present && !s.inputLost && !s.faulty;

/** What the reader needs from a session: one read-only command, its response data back. */
export interface SensorSession {
  readCommand(what: string, netFn: number, cmd: number, data: Buffer): Promise<Buffer>;
}

const SDR_CHUNK = 16;
const MAX_RECORDS = 1024;

/** Every sensor record in the BMC's SDR repository (header, then the body in small chunks, as ipmitool reads). */
export async function readSensorRecords(session: SensorSession): Promise<SensorRecord[]> {
  const reservation = decodeReserveSdr(await session.readCommand('Reserve SDR Repository', NETFN_STORAGE, CMD_RESERVE_SDR_REPOSITORY, Buffer.alloc(0)));
  const out: SensorRecord[] = [];
  let id = 0;
  for (let n = 0; id !== LAST_RECORD_ID; n++) {
    if (n >= MAX_RECORDS) throw new IpmiDecodeError(`the SDR chain does not end after ${MAX_RECORDS} records`);
    const head = decodeGetSdr(await session.readCommand('Get SDR', NETFN_STORAGE, CMD_GET_SDR, encodeGetSdr(reservation, id, 0, 5)));
    need(head.bytes, 5, `SDR ${id} header`);
    const length = head.bytes[4]!;
    const parts = [head.bytes.subarray(0, 5)];
    for (let offset = 5; offset < 5 + length; offset += SDR_CHUNK) {
      const take = Math.min(SDR_CHUNK, 5 + length - offset);
      const part = decodeGetSdr(await session.readCommand('Get SDR', NETFN_STORAGE, CMD_GET_SDR, encodeGetSdr(reservation, id, offset, take)));
      need(part.bytes, take, `SDR ${id} at ${offset}`);
      parts.push(part.bytes.subarray(0, take));
    }
    const record = decodeSensorRecord(Buffer.concat(parts));
    if (record) out.push(record);
    if (head.nextRecordId === id) throw new IpmiDecodeError(`SDR ${id} names itself as the next record`);
    id = head.nextRecordId;
  }
  return out;
}

export function isPowerSupplySensor(r: SensorRecord): boolean {
  return r.sensorType === SENSOR_TYPE_POWER_SUPPLY && r.readingType === READING_TYPE_SENSOR_SPECIFIC;
}

/** The state of each power-supply sensor in `records`. */
export async function readSupplies(session: SensorSession, records: readonly SensorRecord[]): Promise<SupplyState[]> {
  const out: SupplyState[] = [];
  for (const r of records.filter(isPowerSupplySensor)) {
    const data = await session.readCommand(`Get Sensor Reading (${r.name})`, NETFN_SENSOR, CMD_GET_SENSOR_READING, Buffer.from([r.number]));
    out.push(supplyState(r, decodeSensorReading(data)));
  }
  return out;
}
