// Pure IPMI wire encoding and decoding: Buffers in, Buffers or typed records out. No sockets, no timers,
// no session state, no key material kept here. Every decoder checks lengths and checksums and throws only
// IpmiDecodeError, so a hostile or broken datagram can never escape as a TypeError/RangeError. An encoder
// given a value the wire cannot carry throws IpmiEncodeError instead: that is never the BMC's doing.
//
// Layout references are to the IPMI v2.0 rev 1.1 specification ("spec").
//
// Only the console's side is here: what a BMC decodes and encodes (requests in, responses out, the BMC half
// of Open Session and RAKP) lives with the simulators in lab/bmc/codec.ts.

export class IpmiDecodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IpmiDecodeError';
  }
}

/**
 * A value an encoder cannot put on the wire (a user name longer than 16 bytes, a payload longer than a
 * length field holds). It is the caller's mistake, never the BMC's answer, so it is not an IpmiDecodeError:
 * code that treats a bad datagram as the BMC's fault must not mistake it for one.
 */
export class IpmiEncodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IpmiEncodeError';
  }
}

/** Read helpers that throw IpmiDecodeError instead of RangeError on a short buffer (lab/bmc/codec.ts reads with it too). */
export class Reader {
  private offset = 0;
  constructor(
    private readonly buf: Buffer,
    private readonly what: string,
  ) {}
  get position(): number {
    return this.offset;
  }
  get remaining(): number {
    return this.buf.length - this.offset;
  }
  private need(n: number): void {
    if (this.offset + n > this.buf.length) {
      throw new IpmiDecodeError(`${this.what}: truncated at byte ${this.offset} (need ${n} more, have ${this.remaining})`);
    }
  }
  u8(): number {
    this.need(1);
    return this.buf[this.offset++]!;
  }
  u16le(): number {
    this.need(2);
    const v = this.buf.readUInt16LE(this.offset);
    this.offset += 2;
    return v;
  }
  u32le(): number {
    this.need(4);
    const v = this.buf.readUInt32LE(this.offset);
    this.offset += 4;
    return v;
  }
  u32be(): number {
    this.need(4);
    const v = this.buf.readUInt32BE(this.offset);
    this.offset += 4;
    return v;
  }
  bytes(n: number): Buffer {
    this.need(n);
    const b = Buffer.from(this.buf.subarray(this.offset, this.offset + n));
    this.offset += n;
    return b;
  }
  rest(): Buffer {
    return this.bytes(this.remaining);
  }
}

export function u32le(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
}

// ---------------------------------------------------------------------------------------------------------
// RMCP (spec §13.1.3, ASF 2.0 §3.2.2)

export const RMCP_VERSION = 0x06;
/** RMCP sequence 0xFF: "no RMCP ACK", which IPMI always uses (spec §13.1.3). */
export const RMCP_SEQ_NO_ACK = 0xff;
export const RMCP_CLASS_ASF = 0x06;
export const RMCP_CLASS_IPMI = 0x07;

export function encodeRmcpHeader(messageClass: number): Buffer {
  return Buffer.from([RMCP_VERSION, 0x00, RMCP_SEQ_NO_ACK, messageClass]);
}

export interface RmcpPacket {
  messageClass: number;
  body: Buffer;
}

export function decodeRmcp(packet: Buffer): RmcpPacket {
  const r = new Reader(packet, 'RMCP header');
  const version = r.u8();
  if (version !== RMCP_VERSION) throw new IpmiDecodeError(`RMCP header: version 0x${version.toString(16)} is not 0x06`);
  r.u8();
  r.u8();
  const messageClass = r.u8() & 0x1f; // bit 7 is the ACK flag
  return { messageClass, body: r.rest() };
}

// ---------------------------------------------------------------------------------------------------------
// Session authentication types (spec §13.6, Table 13-4; 0x06 announces the RMCP+ format of §13.6)

export const AUTH_TYPE = { none: 0x00, md2: 0x01, md5: 0x02, password: 0x04, oem: 0x05, rmcpPlus: 0x06 } as const;

// ---------------------------------------------------------------------------------------------------------
// IPMI 1.5 session wrapper (spec §13.6, Table 13-8). The 16-byte auth code is present iff auth type != none.

export interface Session15 {
  authType: number;
  sequence: number;
  sessionId: number;
  /** 16 bytes when authType is not none. */
  authCode?: Buffer;
  message: Buffer;
}

export function encodeSession15(s: Session15): Buffer {
  if (s.message.length > 255) throw new IpmiEncodeError('IPMI 1.5 message longer than 255 bytes');
  const parts = [encodeRmcpHeader(RMCP_CLASS_IPMI), Buffer.from([s.authType]), u32le(s.sequence), u32le(s.sessionId)];
  if (s.authType !== AUTH_TYPE.none) {
    if (!s.authCode || s.authCode.length !== 16) throw new IpmiEncodeError('IPMI 1.5 auth code must be 16 bytes');
    parts.push(s.authCode);
  }
  parts.push(Buffer.from([s.message.length]), s.message);
  return Buffer.concat(parts);
}

export function decodeSession15(packet: Buffer): Session15 {
  const { messageClass, body } = decodeRmcp(packet);
  if (messageClass !== RMCP_CLASS_IPMI) throw new IpmiDecodeError('IPMI 1.5 session: not an IPMI class RMCP message');
  const r = new Reader(body, 'IPMI 1.5 session header');
  const authType = r.u8();
  if (authType === AUTH_TYPE.rmcpPlus) throw new IpmiDecodeError('IPMI 1.5 session: packet is RMCP+ (auth type 6)');
  const sequence = r.u32le();
  const sessionId = r.u32le();
  const authCode = authType !== AUTH_TYPE.none ? r.bytes(16) : undefined;
  const length = r.u8();
  const message = r.bytes(length);
  return authCode ? { authType, sequence, sessionId, authCode, message } : { authType, sequence, sessionId, message };
}

/** The auth type byte right after the RMCP header: 0x06 means RMCP+ (IPMI 2.0), anything else IPMI 1.5. */
export function peekAuthType(packet: Buffer): number {
  if (packet.length < 5) throw new IpmiDecodeError('packet too short to carry an auth type');
  return packet[4]!;
}

// ---------------------------------------------------------------------------------------------------------
// IPMI LAN message (spec §13.8, Table 13-9 request / Table 13-10 response), two 2's-complement checksums.

export const BMC_SLAVE_ADDRESS = 0x20;
/** Remote console software ID 0x81 (spec §5.5: software IDs are odd; 0x81 is "remote console software 1"). */
export const REMOTE_CONSOLE_SWID = 0x81;

export const NETFN = { chassis: 0x00, app: 0x06 } as const;
export const CMD = {
  getDeviceId: 0x01,
  getChassisStatus: 0x01,
  chassisControl: 0x02,
  getChannelAuthCapabilities: 0x38,
  getSessionChallenge: 0x39,
  activateSession: 0x3a,
  setSessionPrivilegeLevel: 0x3b,
  closeSession: 0x3c,
  getChannelCipherSuites: 0x54,
} as const;

export function checksum(bytes: Buffer): number {
  let sum = 0;
  for (const b of bytes) sum = (sum + b) & 0xff;
  return (0x100 - sum) & 0xff;
}

export interface IpmiRequest {
  netFn: number;
  cmd: number;
  /** 6-bit request sequence used to match the response. */
  rqSeq: number;
  data: Buffer;
  rsAddr?: number;
  rqAddr?: number;
}

export interface IpmiResponse {
  /** The response NetFn (request NetFn + 1). */
  netFn: number;
  cmd: number;
  rqSeq: number;
  completionCode: number;
  data: Buffer;
}

export function encodeIpmiRequest(req: IpmiRequest): Buffer {
  const rsAddr = req.rsAddr ?? BMC_SLAVE_ADDRESS;
  const rqAddr = req.rqAddr ?? REMOTE_CONSOLE_SWID;
  const head = Buffer.from([rsAddr, (req.netFn << 2) & 0xfc]);
  const body = Buffer.concat([Buffer.from([rqAddr, (req.rqSeq & 0x3f) << 2, req.cmd]), req.data]);
  return Buffer.concat([head, Buffer.from([checksum(head)]), body, Buffer.from([checksum(body)])]);
}

/** The LAN frame of a request or a response, checksums checked (lab/bmc/codec.ts decodes requests with it). */
export function decodeLanFrame(msg: Buffer, what: string): { a1: number; netFnLun: number; a2: number; seqLun: number; cmd: number; rest: Buffer } {
  if (msg.length < 7) throw new IpmiDecodeError(`${what}: ${msg.length} bytes, shorter than the 7-byte minimum`);
  if (checksum(msg.subarray(0, 2)) !== msg[2]) throw new IpmiDecodeError(`${what}: header checksum mismatch`);
  if (checksum(msg.subarray(3, msg.length - 1)) !== msg[msg.length - 1]) throw new IpmiDecodeError(`${what}: data checksum mismatch`);
  return { a1: msg[0]!, netFnLun: msg[1]!, a2: msg[3]!, seqLun: msg[4]!, cmd: msg[5]!, rest: Buffer.from(msg.subarray(6, msg.length - 1)) };
}

export function decodeIpmiResponse(msg: Buffer): IpmiResponse {
  const f = decodeLanFrame(msg, 'IPMI response');
  if (f.rest.length < 1) throw new IpmiDecodeError('IPMI response: no completion code');
  return { netFn: f.netFnLun >> 2, rqSeq: f.seqLun >> 2, cmd: f.cmd, completionCode: f.rest[0]!, data: Buffer.from(f.rest.subarray(1)) };
}

// ---------------------------------------------------------------------------------------------------------
// RMCP+ session wrapper (spec §13.6, Table 13-8 "IPMI v2.0 RMCP+ Session Header" and §13.28.4 trailer).

export const PAYLOAD = {
  ipmi: 0x00,
  openSessionRequest: 0x10,
  openSessionResponse: 0x11,
  rakp1: 0x12,
  rakp2: 0x13,
  rakp3: 0x14,
  rakp4: 0x15,
} as const;
const PAYLOAD_OEM_EXPLICIT = 0x02;
/** Next Header value in the integrity trailer: always 0x07 (spec §13.6). */
const NEXT_HEADER_RMCP = 0x07;

export interface RmcpPlusHeader {
  payloadType: number;
  encrypted: boolean;
  authenticated: boolean;
  sessionId: number;
  sequence: number;
}

export interface RmcpPlusPacket {
  header: RmcpPlusHeader;
  /** The payload as carried (still encrypted if header.encrypted). */
  payload: Buffer;
  /** Bytes covered by the integrity auth code: from the auth type byte through Next Header (spec §13.28.4). */
  covered?: Buffer;
  authCode?: Buffer;
}

/**
 * Encode an RMCP+ packet. When the header says authenticated, `sign` receives the covered bytes (auth type
 * through Next Header, with the integrity pad making that a multiple of 4 bytes) and returns the auth code.
 */
export function encodeRmcpPlus(header: RmcpPlusHeader, payload: Buffer, sign?: (covered: Buffer) => Buffer): Buffer {
  if (payload.length > 0xffff) throw new IpmiEncodeError('RMCP+ payload longer than 65535 bytes');
  const h = Buffer.alloc(12);
  h[0] = AUTH_TYPE.rmcpPlus;
  h[1] = (header.encrypted ? 0x80 : 0) | (header.authenticated ? 0x40 : 0) | (header.payloadType & 0x3f);
  h.writeUInt32LE(header.sessionId >>> 0, 2);
  h.writeUInt32LE(header.sequence >>> 0, 6);
  h.writeUInt16LE(payload.length, 10);
  const rmcp = encodeRmcpHeader(RMCP_CLASS_IPMI);
  if (!header.authenticated) return Buffer.concat([rmcp, h, payload]);
  if (!sign) throw new IpmiEncodeError('RMCP+ authenticated packet needs a signer');
  // Pad so that (header + payload + pad + pad length + next header) is a multiple of 4.
  const padLength = (4 - ((h.length + payload.length + 2) % 4)) % 4;
  const covered = Buffer.concat([h, payload, Buffer.alloc(padLength, 0xff), Buffer.from([padLength, NEXT_HEADER_RMCP])]);
  return Buffer.concat([rmcp, covered, sign(covered)]);
}

/** Decode an RMCP+ packet; `authCodeLength` is what the session's integrity algorithm produces (0 if none). */
export function decodeRmcpPlus(packet: Buffer, authCodeLength: number): RmcpPlusPacket {
  const { messageClass, body } = decodeRmcp(packet);
  if (messageClass !== RMCP_CLASS_IPMI) throw new IpmiDecodeError('RMCP+: not an IPMI class RMCP message');
  const r = new Reader(body, 'RMCP+ session header');
  const authType = r.u8();
  if (authType !== AUTH_TYPE.rmcpPlus) throw new IpmiDecodeError(`RMCP+: auth type 0x${authType.toString(16)} is not 0x06`);
  const pt = r.u8();
  const payloadType = pt & 0x3f;
  if (payloadType === PAYLOAD_OEM_EXPLICIT) throw new IpmiDecodeError('RMCP+: OEM explicit payloads are not supported');
  const header: RmcpPlusHeader = {
    payloadType,
    encrypted: (pt & 0x80) !== 0,
    authenticated: (pt & 0x40) !== 0,
    sessionId: r.u32le(),
    sequence: r.u32le(),
  };
  const length = r.u16le();
  const payload = r.bytes(length);
  if (!header.authenticated) return { header, payload };
  if (authCodeLength <= 0) throw new IpmiDecodeError('RMCP+: authenticated packet but no integrity algorithm in use');
  const trailerLength = r.remaining - authCodeLength;
  if (trailerLength < 2) throw new IpmiDecodeError('RMCP+: integrity trailer truncated');
  const pad = r.bytes(trailerLength - 2);
  const padLength = r.u8();
  const nextHeader = r.u8();
  if (padLength !== pad.length) throw new IpmiDecodeError(`RMCP+: pad length ${padLength} does not match ${pad.length} pad bytes`);
  if (pad.length > 3) throw new IpmiDecodeError('RMCP+: integrity pad longer than 3 bytes');
  if (nextHeader !== NEXT_HEADER_RMCP) throw new IpmiDecodeError(`RMCP+: next header 0x${nextHeader.toString(16)} is not 0x07`);
  const coveredEnd = r.position;
  const authCode = r.bytes(authCodeLength);
  return { header, payload, covered: Buffer.from(body.subarray(0, coveredEnd)), authCode };
}

// ---------------------------------------------------------------------------------------------------------
// RMCP+ Open Session and RAKP messages (spec §13.17-13.23).

export const ALGORITHM_PAYLOAD = { authentication: 0x00, integrity: 0x01, confidentiality: 0x02 } as const;

export interface OpenSessionRequest {
  messageTag: number;
  /** Requested maximum privilege (0 = highest the BMC allows for the cipher suite). */
  maxPrivilege: number;
  consoleSessionId: number;
  authAlgorithm: number;
  integrityAlgorithm: number;
  confidentialityAlgorithm: number;
}

/** One algorithm record of Open Session (spec Table 13-17); the BMC's response carries the same layout. */
export function algorithmRecord(kind: number, algorithm: number): Buffer {
  return Buffer.from([kind, 0, 0, 0x08, algorithm & 0x3f, 0, 0, 0]);
}

export function readAlgorithmRecord(r: Reader, kind: number, what: string): number {
  const type = r.u8();
  r.u16le();
  const length = r.u8();
  if (type !== kind) throw new IpmiDecodeError(`${what}: algorithm record type ${type} where ${kind} expected`);
  if (length !== 8) throw new IpmiDecodeError(`${what}: algorithm record length ${length} is not 8`);
  const algorithm = r.u8() & 0x3f;
  r.bytes(3);
  return algorithm;
}

export function encodeOpenSessionRequest(m: OpenSessionRequest): Buffer {
  return Buffer.concat([
    Buffer.from([m.messageTag & 0xff, m.maxPrivilege & 0x0f, 0, 0]),
    u32le(m.consoleSessionId),
    algorithmRecord(ALGORITHM_PAYLOAD.authentication, m.authAlgorithm),
    algorithmRecord(ALGORITHM_PAYLOAD.integrity, m.integrityAlgorithm),
    algorithmRecord(ALGORITHM_PAYLOAD.confidentiality, m.confidentialityAlgorithm),
  ]);
}

export interface OpenSessionResponse {
  messageTag: number;
  statusCode: number;
  maxPrivilege: number;
  consoleSessionId: number;
  /** Present only when statusCode is 0: a BMC may truncate an error response after the console session id. */
  bmcSessionId?: number;
  authAlgorithm?: number;
  integrityAlgorithm?: number;
  confidentialityAlgorithm?: number;
}

export function decodeOpenSessionResponse(payload: Buffer): OpenSessionResponse {
  const r = new Reader(payload, 'Open Session Response');
  const messageTag = r.u8();
  const statusCode = r.u8();
  const maxPrivilege = r.u8() & 0x0f;
  r.u8();
  const consoleSessionId = r.u32le();
  if (statusCode !== 0) return { messageTag, statusCode, maxPrivilege, consoleSessionId };
  return {
    messageTag,
    statusCode,
    maxPrivilege,
    consoleSessionId,
    bmcSessionId: r.u32le(),
    authAlgorithm: readAlgorithmRecord(r, 0, 'Open Session Response'),
    integrityAlgorithm: readAlgorithmRecord(r, 1, 'Open Session Response'),
    confidentialityAlgorithm: readAlgorithmRecord(r, 2, 'Open Session Response'),
  };
}

export interface Rakp1 {
  messageTag: number;
  bmcSessionId: number;
  consoleRandom: Buffer; // 16 bytes
  /** The whole role byte as sent: privilege in bits 3:0, bit 4 = name-only lookup. Fed to the HMACs as is. */
  role: number;
  username: Buffer; // 0-16 bytes
}

export function encodeRakp1(m: Rakp1): Buffer {
  if (m.consoleRandom.length !== 16) throw new IpmiEncodeError('RAKP 1: console random must be 16 bytes');
  if (m.username.length > 16) throw new IpmiEncodeError('RAKP 1: user name longer than 16 bytes');
  return Buffer.concat([
    Buffer.from([m.messageTag, 0, 0, 0]),
    u32le(m.bmcSessionId),
    m.consoleRandom,
    Buffer.from([m.role, 0, 0, m.username.length]),
    m.username,
  ]);
}

export interface Rakp2 {
  messageTag: number;
  statusCode: number;
  consoleSessionId: number;
  /** Present only when statusCode is 0. */
  bmcRandom?: Buffer;
  bmcGuid?: Buffer;
  /** Key exchange auth code: 20 bytes (SHA1), 32 (SHA256), 0 (RAKP-none). */
  authCode?: Buffer;
}

export function decodeRakp2(payload: Buffer): Rakp2 {
  const r = new Reader(payload, 'RAKP 2');
  const messageTag = r.u8();
  const statusCode = r.u8();
  r.u16le();
  const consoleSessionId = r.u32le();
  if (statusCode !== 0) return { messageTag, statusCode, consoleSessionId };
  return { messageTag, statusCode, consoleSessionId, bmcRandom: r.bytes(16), bmcGuid: r.bytes(16), authCode: r.rest() };
}

export interface Rakp3 {
  messageTag: number;
  statusCode: number;
  bmcSessionId: number;
  authCode: Buffer;
}

export function encodeRakp3(m: Rakp3): Buffer {
  return Buffer.concat([Buffer.from([m.messageTag, m.statusCode, 0, 0]), u32le(m.bmcSessionId), m.authCode]);
}

export interface Rakp4 {
  messageTag: number;
  statusCode: number;
  consoleSessionId: number;
  /** Integrity check value: 12 bytes (SHA1-96), 16 (SHA256-128), 0 (RAKP-none). */
  integrityCheck: Buffer;
}

export function decodeRakp4(payload: Buffer): Rakp4 {
  const r = new Reader(payload, 'RAKP 4');
  const messageTag = r.u8();
  const statusCode = r.u8();
  r.u16le();
  const consoleSessionId = r.u32le();
  return { messageTag, statusCode, consoleSessionId, integrityCheck: statusCode === 0 ? r.rest() : Buffer.alloc(0) };
}

/** RMCP+ and RAKP message status codes (spec §13.24, Table 13-15). */
export const RAKP_STATUS: Record<number, string> = {
  0x01: 'insufficient resources to create a session',
  0x02: 'invalid session ID',
  0x03: 'invalid payload type',
  0x04: 'invalid authentication algorithm',
  0x05: 'invalid integrity algorithm',
  0x06: 'no matching authentication payload',
  0x07: 'no matching integrity payload',
  0x08: 'inactive session ID',
  0x09: 'invalid role',
  0x0a: 'unauthorized role or privilege level requested',
  0x0b: 'insufficient resources to create a session at the requested role',
  0x0c: 'invalid name length',
  0x0d: 'unauthorized name',
  0x0e: 'unauthorized GUID',
  0x0f: 'invalid integrity check value',
  0x10: 'invalid confidentiality algorithm',
  0x11: 'no cipher suite match with proposed security algorithms',
  0x12: 'illegal or unrecognized parameter',
};

// ---------------------------------------------------------------------------------------------------------
// Command data (request data encoders, response data decoders). Response data excludes the completion code.

/** Privilege level numbers (spec §6.8, Table 22-18 request data). */
export const PRIVILEGE = { callback: 0x01, user: 0x02, operator: 0x03, administrator: 0x04 } as const;
export type PrivilegeName = keyof typeof PRIVILEGE;

export function privilegeName(level: number): string {
  const found = (Object.keys(PRIVILEGE) as PrivilegeName[]).find((k) => PRIVILEGE[k] === level);
  return found ?? `level ${level}`;
}

/** Get Channel Authentication Capabilities (spec §22.13). Bit 7 of the channel byte asks for IPMI 2.0 data. */
export function encodeGetChannelAuthCapabilities(requestIpmi20: boolean, privilege: number): Buffer {
  return Buffer.from([(requestIpmi20 ? 0x80 : 0) | 0x0e, privilege & 0x0f]);
}

export interface ChannelAuthCapabilities {
  channel: number;
  /** IPMI 1.5 auth types supported at the requested privilege. */
  authTypes: { none: boolean; md2: boolean; md5: boolean; password: boolean; oem: boolean };
  /** Bit 7 of byte 2: the BMC answered with IPMI 2.0 extended data. */
  extendedCapabilities: boolean;
  perMessageAuthDisabled: boolean;
  userLevelAuthDisabled: boolean;
  kgNonZero: boolean;
  supportsIpmi15: boolean;
  supportsIpmi20: boolean;
  oemId: number;
}

export function decodeChannelAuthCapabilities(data: Buffer): ChannelAuthCapabilities {
  const r = new Reader(data, 'Get Channel Authentication Capabilities response');
  const channel = r.u8();
  const types = r.u8();
  const flags = r.u8();
  const ext = r.u8();
  const oem = r.bytes(3);
  r.u8();
  const extendedCapabilities = (types & 0x80) !== 0;
  return {
    channel,
    authTypes: {
      none: (types & 0x01) !== 0,
      md2: (types & 0x02) !== 0,
      md5: (types & 0x04) !== 0,
      password: (types & 0x10) !== 0,
      oem: (types & 0x20) !== 0,
    },
    extendedCapabilities,
    kgNonZero: (flags & 0x20) !== 0,
    perMessageAuthDisabled: (flags & 0x10) !== 0,
    userLevelAuthDisabled: (flags & 0x08) !== 0,
    // Without extended data a BMC is IPMI 1.5 only (spec §22.13 byte 4 is reserved then).
    supportsIpmi15: extendedCapabilities ? (ext & 0x01) !== 0 : true,
    supportsIpmi20: extendedCapabilities && (ext & 0x02) !== 0,
    oemId: oem[0]! | (oem[1]! << 8) | (oem[2]! << 16),
  };
}

function padded16(name: Buffer, what: string): Buffer {
  if (name.length > 16) throw new IpmiEncodeError(`${what}: longer than 16 bytes`);
  const b = Buffer.alloc(16);
  name.copy(b);
  return b;
}

/** Get Channel Cipher Suites (spec §22.15): this channel, IPMI payload, list by cipher suite, 16-byte chunk `index`. */
export function encodeGetChannelCipherSuites(index: number): Buffer {
  return Buffer.from([0x0e, 0x00, 0x80 | (index & 0x3f)]);
}

/** One chunk of the cipher suite record data (spec Table 22-18): at most 16 bytes; a shorter one is the last. */
export function decodeChannelCipherSuitesChunk(data: Buffer): Buffer {
  const r = new Reader(data, 'Get Channel Cipher Suites response');
  r.u8(); // channel number
  const chunk = r.rest();
  if (chunk.length > 16) throw new IpmiDecodeError(`Get Channel Cipher Suites response: ${chunk.length} bytes of record data, more than 16`);
  return chunk;
}

/** A cipher suite record (spec Table 22-19): its ID and every algorithm number it lists, by role. */
export interface CipherSuiteRecord {
  id: number;
  /** An OEM record (start byte C1h, with an IANA number) rather than a standard one (C0h). */
  oem: boolean;
  auth: number[];
  integrity: number[];
  confidentiality: number[];
}

/**
 * The records in the concatenated record data: C0h id, or C1h id + 3-byte IANA, then algorithm bytes tagged in
 * bits 7:6 (00b authentication, 01b integrity, 10b confidentiality). Anything else is malformed.
 */
export function decodeCipherSuiteRecords(data: Buffer): CipherSuiteRecord[] {
  const records: CipherSuiteRecord[] = [];
  let i = 0;
  while (i < data.length) {
    const start = data[i]!;
    if (start !== 0xc0 && start !== 0xc1) throw new IpmiDecodeError(`cipher suite records: byte ${i} is 0x${start.toString(16)}, not a record start`);
    const oem = start === 0xc1;
    const headerLength = oem ? 5 : 2;
    if (i + headerLength > data.length) throw new IpmiDecodeError('cipher suite records: truncated record header');
    const record: CipherSuiteRecord = { id: data[i + 1]!, oem, auth: [], integrity: [], confidentiality: [] };
    i += headerLength;
    while (i < data.length && (data[i]! & 0xc0) !== 0xc0) {
      const b = data[i]!;
      const tag = b >> 6;
      (tag === 0 ? record.auth : tag === 1 ? record.integrity : record.confidentiality).push(b & 0x3f);
      i++;
    }
    records.push(record);
  }
  return records;
}

/** Get Session Challenge (spec §22.16): auth type and a 16-byte, NUL padded user name. */
export function encodeGetSessionChallenge(authType: number, username: Buffer): Buffer {
  return Buffer.concat([Buffer.from([authType]), padded16(username, 'user name')]);
}

export interface SessionChallenge {
  temporarySessionId: number;
  challenge: Buffer;
}

export function decodeSessionChallenge(data: Buffer): SessionChallenge {
  const r = new Reader(data, 'Get Session Challenge response');
  return { temporarySessionId: r.u32le(), challenge: r.bytes(16) };
}

/** Activate Session (spec §22.17). */
export function encodeActivateSession(authType: number, maxPrivilege: number, challenge: Buffer, initialOutboundSequence: number): Buffer {
  if (challenge.length !== 16) throw new IpmiEncodeError('Activate Session: challenge must be 16 bytes');
  return Buffer.concat([Buffer.from([authType, maxPrivilege]), challenge, u32le(initialOutboundSequence)]);
}

export interface ActivatedSession {
  authType: number;
  sessionId: number;
  /** The sequence number the BMC wants the console to start its outbound messages with. */
  initialInboundSequence: number;
  maxPrivilege: number;
}

export function decodeActivateSession(data: Buffer): ActivatedSession {
  const r = new Reader(data, 'Activate Session response');
  return { authType: r.u8() & 0x0f, sessionId: r.u32le(), initialInboundSequence: r.u32le(), maxPrivilege: r.u8() & 0x0f };
}

export function encodeSetSessionPrivilege(privilege: number): Buffer {
  return Buffer.from([privilege & 0x0f]);
}

export function decodeSetSessionPrivilege(data: Buffer): number {
  return new Reader(data, 'Set Session Privilege Level response').u8() & 0x0f;
}

export function encodeCloseSession(sessionId: number): Buffer {
  return u32le(sessionId);
}

export interface DeviceId {
  deviceId: number;
  deviceRevision: number;
  /** "major.minor", minor from BCD, e.g. "9.08". */
  firmware: string;
  /** e.g. "2.0" (spec §20.1: BCD, low nibble major). */
  ipmiVersion: string;
  manufacturerId: number;
  productId: number;
}

function bcd(n: number): string {
  return `${n >> 4}${n & 0x0f}`;
}

export function decodeDeviceId(data: Buffer): DeviceId {
  const r = new Reader(data, 'Get Device ID response');
  const deviceId = r.u8();
  const deviceRevision = r.u8() & 0x0f;
  const major = r.u8() & 0x7f;
  const minor = r.u8();
  const version = r.u8();
  r.u8();
  const m = r.bytes(3);
  const productId = r.u16le();
  return {
    deviceId,
    deviceRevision,
    firmware: `${major}.${bcd(minor)}`,
    ipmiVersion: `${version & 0x0f}.${version >> 4}`,
    manufacturerId: m[0]! | (m[1]! << 8) | ((m[2]! & 0x0f) << 16),
    productId,
  };
}

export interface ChassisStatus {
  powerOn: boolean;
  powerOverload: boolean;
  powerFault: boolean;
  powerRestorePolicy: number;
  lastPowerEvent: number;
  miscState: number;
}

/** Get Chassis Status (spec §28.2): bit 0 of byte 1 is "system power is on". */
export function decodeChassisStatus(data: Buffer): ChassisStatus {
  const r = new Reader(data, 'Get Chassis Status response');
  const power = r.u8();
  const lastPowerEvent = r.u8();
  const miscState = r.u8();
  return {
    powerOn: (power & 0x01) !== 0,
    powerOverload: (power & 0x02) !== 0,
    powerFault: (power & 0x08) !== 0,
    powerRestorePolicy: (power >> 5) & 0x03,
    lastPowerEvent,
    miscState,
  };
}

/** Chassis Control (spec §28.3, Table 28-4). */
export const CHASSIS_CONTROL = { off: 0x00, on: 0x01, cycle: 0x02, reset: 0x03, diag: 0x04, soft: 0x05 } as const;
export type ChassisControlOp = keyof typeof CHASSIS_CONTROL;

export function encodeChassisControl(op: ChassisControlOp): Buffer {
  return Buffer.from([CHASSIS_CONTROL[op]]);
}

/** Generic and command-specific completion codes (spec §5.2, Table 5-2) worth naming in an error. */
export const COMPLETION_CODE: Record<number, string> = {
  0xc0: 'node busy',
  0xc1: 'invalid command',
  0xc2: 'command invalid for given LUN',
  0xc3: 'timeout while processing command',
  0xc4: 'out of space',
  0xc5: 'reservation canceled or invalid reservation ID',
  0xc6: 'request data truncated',
  0xc7: 'request data length invalid',
  0xc8: 'request data field length limit exceeded',
  0xc9: 'parameter out of range',
  0xca: 'cannot return number of requested data bytes',
  0xcb: 'requested sensor, data, or record not present',
  0xcc: 'invalid data field in request',
  0xcd: 'command illegal for specified sensor or record type',
  0xce: 'command response could not be provided',
  0xcf: 'cannot execute duplicated request',
  0xd0: 'SDR repository in update mode',
  0xd1: 'device in firmware update mode',
  0xd2: 'BMC initialization in progress',
  0xd3: 'destination unavailable',
  0xd4: 'insufficient privilege level',
  0xd5: 'command not supported in present state',
  0xd6: 'command sub-function disabled or unavailable',
  0xff: 'unspecified error',
};

export function describeCompletionCode(code: number): string {
  const hex = `0x${code.toString(16).padStart(2, '0')}`;
  const text = COMPLETION_CODE[code];
  return text ? `${text} (${hex})` : `completion code ${hex}`;
}
