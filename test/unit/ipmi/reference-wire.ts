// The BMC side of IPMI on the wire, written from the IPMI v2.0 spec tables with node:crypto and nothing from
// lib/ipmi: the in-memory BMC of session.test.ts speaks through this, so the console's codec, crypto and
// framing are checked against an independent reading of the spec instead of against themselves.
// reference-wire.test.ts anchors this file to real peers: it recomputes what ipmi_sim sent ipmitool in the
// captured sessions (test/fixtures/ipmi) and what the cipher suite 17 vectors say.
import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes } from 'node:crypto';

// ---------------------------------------------------------------------------------------------------------
// Field sizes and constants, IPMI v2.0 §13.6 (Table 13-8), §13.17-13.31, §22.

/** RMCP header (ASF 2.0 §3.2.2.1): version 06h, reserved, sequence FFh (no ACK), class 07h (IPMI). */
export const RMCP_IPMI_HEADER = Buffer.from([0x06, 0x00, 0xff, 0x07]);
export const AUTH_NONE = 0x00;
export const AUTH_MD5 = 0x02;
export const AUTH_RMCP_PLUS = 0x06;
/** RMCP+ payload types (Table 13-16). */
export const PT = { ipmi: 0x00, openSessionRequest: 0x10, openSessionResponse: 0x11, rakp1: 0x12, rakp2: 0x13, rakp3: 0x14, rakp4: 0x15 } as const;
/** Algorithm numbers (Tables 13-17, 13-18, 13-19). */
export const ALG = {
  auth: { none: 0x00, hmacSha1: 0x01, hmacSha256: 0x03 },
  integrity: { none: 0x00, hmacSha1_96: 0x01, hmacSha256_128: 0x04 },
  confidentiality: { none: 0x00, aesCbc128: 0x01 },
} as const;

export interface Suite {
  /** Hash of the RAKP exchange and of the integrity HMAC; undefined for RAKP-none. */
  hash?: 'sha1' | 'sha256';
  integrityLength: number; // 12 (HMAC-SHA1-96), 16 (HMAC-SHA256-128), 0 (none)
  aes: boolean;
}

/** The suite an Open Session Request's algorithm triple names (Table 22-20: suites 0, 1, 2, 3 and 17). */
export function suiteOf(auth: number, integrity: number, confidentiality: number): Suite | undefined {
  const key = `${auth}/${integrity}/${confidentiality}`;
  const suites: Record<string, Suite> = {
    '0/0/0': { integrityLength: 0, aes: false },
    '1/0/0': { hash: 'sha1', integrityLength: 0, aes: false },
    '1/1/0': { hash: 'sha1', integrityLength: 12, aes: false },
    '1/1/1': { hash: 'sha1', integrityLength: 12, aes: true },
    '3/4/1': { hash: 'sha256', integrityLength: 16, aes: true },
  };
  return suites[key];
}

const le32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
};

/** Two's-complement checksum: the bytes plus it sum to 0 mod 256 (§13.8). */
export function checksum(bytes: Buffer): number {
  let sum = 0;
  for (const b of bytes) sum = (sum + b) & 0xff;
  return (0x100 - sum) & 0xff;
}

// ---------------------------------------------------------------------------------------------------------
// IPMI LAN messages (§13.8, Table 13-4/13-5): rsAddr, netFn/rsLUN, chk1, rqAddr, rqSeq/rqLUN, cmd, data, chk2.

export interface Request {
  netFn: number;
  rqSeq: number;
  cmd: number;
  data: Buffer;
}

/** A request message from the console, or undefined when it is not one (bad length or checksum). */
export function parseRequest(msg: Buffer): Request | undefined {
  if (msg.length < 7) return undefined;
  if (checksum(msg.subarray(0, 2)) !== msg[2] || checksum(msg.subarray(3, msg.length - 1)) !== msg[msg.length - 1]) return undefined;
  return { netFn: msg[1]! >> 2, rqSeq: msg[4]! >> 2, cmd: msg[5]!, data: Buffer.from(msg.subarray(6, msg.length - 1)) };
}

/** The response to `req`: rqAddr 81h (remote console SWID), netFn + 1, rsAddr 20h (BMC), completion code, data. */
export function responseTo(req: Request, completionCode: number, data: Buffer): Buffer {
  const head = Buffer.from([0x81, ((req.netFn + 1) << 2) & 0xfc]);
  const body = Buffer.concat([Buffer.from([0x20, (req.rqSeq << 2) & 0xfc, req.cmd, completionCode]), data]);
  return Buffer.concat([head, Buffer.from([checksum(head)]), body, Buffer.from([checksum(body)])]);
}

// ---------------------------------------------------------------------------------------------------------
// IPMI 1.5 session wrapper (Table 13-8): auth type, sequence (4), session id (4), [auth code (16)], length, message.

export interface Packet15 {
  authType: number;
  sequence: number;
  sessionId: number;
  authCode?: Buffer;
  message: Buffer;
}

export function parse15(d: Buffer): Packet15 | undefined {
  if (d.length < 14 || !d.subarray(0, 4).equals(RMCP_IPMI_HEADER) || d[4] === AUTH_RMCP_PLUS) return undefined;
  const authType = d[4]!;
  const at = authType === AUTH_NONE ? 13 : 29;
  if (d.length < at + 1 || d.length !== at + 1 + d[at]!) return undefined;
  return {
    authType,
    sequence: d.readUInt32LE(5),
    sessionId: d.readUInt32LE(9),
    authCode: authType === AUTH_NONE ? undefined : Buffer.from(d.subarray(13, 29)),
    message: Buffer.from(d.subarray(at + 1)),
  };
}

/** MD5 auth code (§22.17.1): MD5(password padded to 16, session id, message, session sequence, password). */
export function md5Code(password: string, sessionId: number, message: Buffer, sequence: number): Buffer {
  const pw = Buffer.alloc(16);
  Buffer.from(password).copy(pw);
  return createHash('md5').update(pw).update(le32(sessionId)).update(message).update(le32(sequence)).update(pw).digest();
}

export function build15(authType: number, sequence: number, sessionId: number, message: Buffer, password: string): Buffer {
  const authCode = authType === AUTH_NONE ? Buffer.alloc(0) : md5Code(password, sessionId, message, sequence);
  return Buffer.concat([RMCP_IPMI_HEADER, Buffer.from([authType]), le32(sequence), le32(sessionId), authCode, Buffer.from([message.length]), message]);
}

// ---------------------------------------------------------------------------------------------------------
// RMCP+ session wrapper (Table 13-8): auth type 06h, payload type (bit 7 encrypted, bit 6 authenticated),
// session id (4), sequence (4), payload length (2), payload, then when authenticated the integrity pad (FFh)
// making auth type .. next header a multiple of 4, pad length, next header 07h, and the auth code.

export interface PacketPlus {
  payloadType: number;
  encrypted: boolean;
  authenticated: boolean;
  sessionId: number;
  sequence: number;
  payload: Buffer;
  /** Auth type through next header: what the auth code covers (§13.28.4). */
  covered?: Buffer;
  authCode?: Buffer;
}

export function parsePlus(d: Buffer, integrityLength: number): PacketPlus | undefined {
  if (d.length < 16 || !d.subarray(0, 4).equals(RMCP_IPMI_HEADER) || d[4] !== AUTH_RMCP_PLUS) return undefined;
  const length = d.readUInt16LE(14);
  if (d.length < 16 + length) return undefined;
  const p: PacketPlus = {
    payloadType: d[5]! & 0x3f,
    encrypted: (d[5]! & 0x80) !== 0,
    authenticated: (d[5]! & 0x40) !== 0,
    sessionId: d.readUInt32LE(6),
    sequence: d.readUInt32LE(10),
    payload: Buffer.from(d.subarray(16, 16 + length)),
  };
  if (!p.authenticated) return d.length === 16 + length ? p : undefined;
  const coveredEnd = d.length - integrityLength;
  if (integrityLength === 0 || coveredEnd < 16 + length + 2 || d[coveredEnd - 1] !== 0x07) return undefined;
  const padLength = d[coveredEnd - 2]!;
  if (coveredEnd - 2 - padLength !== 16 + length || (coveredEnd - 4) % 4 !== 0) return undefined;
  return { ...p, covered: Buffer.from(d.subarray(4, coveredEnd)), authCode: Buffer.from(d.subarray(coveredEnd)) };
}

export function buildPlus(
  h: { payloadType: number; sessionId: number; sequence: number },
  payload: Buffer,
  protect?: { suite: Suite; k1: Buffer },
): Buffer {
  const authenticated = protect !== undefined && protect.suite.integrityLength > 0;
  const encrypted = protect !== undefined && protect.suite.aes;
  const header = Buffer.alloc(12);
  header[0] = AUTH_RMCP_PLUS;
  header[1] = (encrypted ? 0x80 : 0) | (authenticated ? 0x40 : 0) | h.payloadType;
  header.writeUInt32LE(h.sessionId >>> 0, 2);
  header.writeUInt32LE(h.sequence >>> 0, 6);
  header.writeUInt16LE(payload.length, 10);
  if (!authenticated) return Buffer.concat([RMCP_IPMI_HEADER, header, payload]);
  const padLength = (4 - ((12 + payload.length + 2) % 4)) % 4;
  const covered = Buffer.concat([header, payload, Buffer.alloc(padLength, 0xff), Buffer.from([padLength, 0x07])]);
  return Buffer.concat([RMCP_IPMI_HEADER, covered, integrityCode(protect.suite, protect.k1, covered)]);
}

// ---------------------------------------------------------------------------------------------------------
// RAKP key exchange (§13.31, §13.32). "m" is the remote console, "c" the managed system (the BMC).

export interface Exchange {
  sidM: number;
  sidC: number;
  rM: Buffer;
  rC: Buffer;
  guidC: Buffer;
  /** The RAKP 1 role byte as sent (privilege and the name-only lookup bit). */
  roleM: number;
  nameM: Buffer;
}

const hmac = (hash: 'sha1' | 'sha256', key: Buffer, ...parts: Buffer[]): Buffer => {
  const h = createHmac(hash, key);
  for (const p of parts) h.update(p);
  return h.digest();
};
const roleAndName = (x: Exchange) => Buffer.concat([Buffer.from([x.roleM, x.nameM.length]), x.nameM]);

/** RAKP 2 key exchange auth code: HMAC_Kuid(SIDm, SIDc, Rm, Rc, GUIDc, ROLEm, ULENGTHm, UNAMEm). */
export const rakp2Code = (hash: 'sha1' | 'sha256', kuid: Buffer, x: Exchange) =>
  hmac(hash, kuid, le32(x.sidM), le32(x.sidC), x.rM, x.rC, x.guidC, roleAndName(x));
/** RAKP 3 auth code: HMAC_Kuid(Rc, SIDm, ROLEm, ULENGTHm, UNAMEm). */
export const rakp3Code = (hash: 'sha1' | 'sha256', kuid: Buffer, x: Exchange) => hmac(hash, kuid, x.rC, le32(x.sidM), roleAndName(x));
/** SIK: HMAC_Kg(Rm, Rc, ROLEm, ULENGTHm, UNAMEm), with Kuid as Kg when the BMC has no Kg. */
export const sik = (hash: 'sha1' | 'sha256', kg: Buffer, x: Exchange) => hmac(hash, kg, x.rM, x.rC, roleAndName(x));
/** RAKP 4 integrity check value: HMAC_SIK(Rm, SIDc, GUIDc), 12 bytes for SHA1, 16 for SHA256. */
export const rakp4Icv = (hash: 'sha1' | 'sha256', key: Buffer, x: Exchange) =>
  hmac(hash, key, x.rM, le32(x.sidC), x.guidC).subarray(0, hash === 'sha1' ? 12 : 16);
/**
 * K1 and K2: HMAC_SIK over 20 bytes of 01h / 02h. Twenty for SHA-256 too: ipmitool's lanplus_generate_k1/k2
 * and OpenBMC's netipmid use a 20-byte constant whatever the hash, so that is what a BMC answers with.
 */
export const k1k2 = (hash: 'sha1' | 'sha256', key: Buffer) => ({ k1: hmac(hash, key, Buffer.alloc(20, 1)), k2: hmac(hash, key, Buffer.alloc(20, 2)) });

/** Per-packet auth code: HMAC-SHA1-96 or HMAC-SHA256-128 keyed with K1 (§13.28.4). */
export function integrityCode(suite: Suite, k1: Buffer, covered: Buffer): Buffer {
  return hmac(suite.integrityLength === 12 ? 'sha1' : 'sha256', k1, covered).subarray(0, suite.integrityLength);
}

/** AES-CBC-128 payload (§13.29): IV, then data, pad bytes 01h, 02h, ... and the pad length, in whole blocks; key = K2[0..15]. */
export function aesEncrypt(k2: Buffer, data: Buffer, iv: Buffer = randomBytes(16)): Buffer {
  const padLength = (16 - ((data.length + 1) % 16)) % 16;
  const plain = Buffer.concat([data, Buffer.from(Array.from({ length: padLength }, (_, i) => i + 1)), Buffer.from([padLength])]);
  const c = createCipheriv('aes-128-cbc', k2.subarray(0, 16), iv).setAutoPadding(false);
  return Buffer.concat([iv, c.update(plain), c.final()]);
}

export function aesDecrypt(k2: Buffer, payload: Buffer): Buffer | undefined {
  if (payload.length < 32 || payload.length % 16 !== 0) return undefined;
  const d = createDecipheriv('aes-128-cbc', k2.subarray(0, 16), payload.subarray(0, 16)).setAutoPadding(false);
  const plain = Buffer.concat([d.update(payload.subarray(16)), d.final()]);
  const padLength = plain[plain.length - 1]!;
  if (padLength > 15) return undefined;
  return plain.subarray(0, plain.length - 1 - padLength);
}
