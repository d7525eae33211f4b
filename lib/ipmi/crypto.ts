// RMCP+ key exchange and per-packet protection (spec §13.28-13.31), and the IPMI 1.5 MD5 auth code
// (spec §22.17.1). Pure functions over Buffers, node:crypto only; no key is stored or logged here.
import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { AuthAlgorithm, ConfidentialityAlgorithm, IntegrityAlgorithm } from './cipher-suites.js';
import { IpmiDecodeError } from './codec.js';

function u32le(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
}

function hashOf(auth: AuthAlgorithm): 'sha1' | 'sha256' | undefined {
  return auth === 'rakp-hmac-sha1' ? 'sha1' : auth === 'rakp-hmac-sha256' ? 'sha256' : undefined;
}

function hmac(hash: 'sha1' | 'sha256', key: Buffer, ...parts: Buffer[]): Buffer {
  const h = createHmac(hash, key);
  for (const p of parts) h.update(p);
  return h.digest();
}

/** Constant-time comparison that also accepts unequal lengths (as a mismatch). */
export function sameBytes(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** What both sides put into the RAKP HMACs (spec §13.31, names as in the spec's "m" = console, "c" = BMC). */
export interface RakpExchange {
  consoleSessionId: number; // SIDm
  bmcSessionId: number; // SIDc
  consoleRandom: Buffer; // Rm, 16 bytes
  bmcRandom: Buffer; // Rc, 16 bytes
  bmcGuid: Buffer; // GUIDc, 16 bytes
  role: number; // ROLEm: the whole RAKP 1 role byte, lookup bit included
  username: Buffer; // UNAMEm
}

function nameField(x: RakpExchange): Buffer {
  return Buffer.concat([Buffer.from([x.role, x.username.length]), x.username]);
}

/** RAKP 2 key exchange auth code: HMAC_Kuid(SIDm, SIDc, Rm, Rc, GUIDc, ROLEm, ULENGTHm, UNAMEm) (§13.31). */
export function rakp2AuthCode(auth: AuthAlgorithm, kuid: Buffer, x: RakpExchange): Buffer {
  const hash = hashOf(auth);
  if (!hash) return Buffer.alloc(0);
  return hmac(hash, kuid, u32le(x.consoleSessionId), u32le(x.bmcSessionId), x.consoleRandom, x.bmcRandom, x.bmcGuid, nameField(x));
}

/** RAKP 3 auth code: HMAC_Kuid(Rc, SIDm, ROLEm, ULENGTHm, UNAMEm) (§13.31). */
export function rakp3AuthCode(auth: AuthAlgorithm, kuid: Buffer, x: RakpExchange): Buffer {
  const hash = hashOf(auth);
  if (!hash) return Buffer.alloc(0);
  return hmac(hash, kuid, x.bmcRandom, u32le(x.consoleSessionId), nameField(x));
}

/** Session Integrity Key: HMAC_Kg(Rm, Rc, ROLEm, ULENGTHm, UNAMEm); Kg is the user key when no Kg is set (§13.31). */
export function sessionIntegrityKey(auth: AuthAlgorithm, kg: Buffer, x: RakpExchange): Buffer {
  const hash = hashOf(auth);
  if (!hash) return Buffer.alloc(0);
  return hmac(hash, kg, x.consoleRandom, x.bmcRandom, nameField(x));
}

/**
 * K1 = HMAC_SIK(0x01 repeated), K2 = HMAC_SIK(0x02 repeated) (§13.32). The constant is 20 bytes for SHA-256
 * too: what ipmitool, FreeIPMI and OpenBMC use, hence what BMCs accept (a 32-byte one made every suite-17
 * session fail its first in-session packet against ipmitool; test/integration/bmc-sim.test.ts).
 */
export function additionalKeys(auth: AuthAlgorithm, sik: Buffer): { k1: Buffer; k2: Buffer } {
  const hash = hashOf(auth);
  if (!hash) return { k1: Buffer.alloc(0), k2: Buffer.alloc(0) };
  return { k1: hmac(hash, sik, Buffer.alloc(20, 0x01)), k2: hmac(hash, sik, Buffer.alloc(20, 0x02)) };
}

/** RAKP 4 integrity check value: HMAC_SIK(Rm, SIDc, GUIDc), truncated to 96 bits (SHA1) or 128 bits (SHA256). */
export function rakp4IntegrityCheck(auth: AuthAlgorithm, sik: Buffer, x: RakpExchange): Buffer {
  const hash = hashOf(auth);
  if (!hash) return Buffer.alloc(0);
  return hmac(hash, sik, x.consoleRandom, u32le(x.bmcSessionId), x.bmcGuid).subarray(0, hash === 'sha1' ? 12 : 16);
}

export function integrityCodeLength(integrity: IntegrityAlgorithm): number {
  return integrity === 'hmac-sha1-96' ? 12 : integrity === 'hmac-sha256-128' ? 16 : 0;
}

/** Per-packet auth code over the covered bytes (auth type .. next header), keyed with K1 (§13.28.4). */
export function integrityAuthCode(integrity: IntegrityAlgorithm, k1: Buffer, covered: Buffer): Buffer {
  if (integrity === 'hmac-sha1-96') return hmac('sha1', k1, covered).subarray(0, 12);
  if (integrity === 'hmac-sha256-128') return hmac('sha256', k1, covered).subarray(0, 16);
  return Buffer.alloc(0);
}

const AES_BLOCK = 16;

/**
 * AES-CBC-128 payload (§13.29): IV, then the data followed by confidentiality pad bytes 1, 2, 3, ... and a pad
 * length byte, so that the encrypted part is a whole number of blocks. The key is the first 16 bytes of K2.
 */
export function encryptPayload(conf: ConfidentialityAlgorithm, k2: Buffer, plaintext: Buffer, iv: Buffer = randomBytes(AES_BLOCK)): Buffer {
  if (conf === 'none') return plaintext;
  const padLength = (AES_BLOCK - ((plaintext.length + 1) % AES_BLOCK)) % AES_BLOCK;
  const pad = Buffer.from(Array.from({ length: padLength }, (_, i) => i + 1));
  const cipher = createCipheriv('aes-128-cbc', k2.subarray(0, 16), iv);
  cipher.setAutoPadding(false);
  return Buffer.concat([iv, cipher.update(Buffer.concat([plaintext, pad, Buffer.from([padLength])])), cipher.final()]);
}

export function decryptPayload(conf: ConfidentialityAlgorithm, k2: Buffer, payload: Buffer): Buffer {
  if (conf === 'none') return payload;
  if (payload.length < 2 * AES_BLOCK || payload.length % AES_BLOCK !== 0) {
    throw new IpmiDecodeError(`AES-CBC-128 payload of ${payload.length} bytes is not IV plus whole blocks`);
  }
  const decipher = createDecipheriv('aes-128-cbc', k2.subarray(0, 16), payload.subarray(0, AES_BLOCK));
  decipher.setAutoPadding(false);
  const plain = Buffer.concat([decipher.update(payload.subarray(AES_BLOCK)), decipher.final()]);
  const padLength = plain[plain.length - 1]!;
  if (padLength >= AES_BLOCK || padLength + 1 > plain.length) throw new IpmiDecodeError(`AES-CBC-128: confidentiality pad length ${padLength} invalid`);
  const dataLength = plain.length - 1 - padLength;
  for (let i = 0; i < padLength; i++) {
    if (plain[dataLength + i] !== i + 1) throw new IpmiDecodeError('AES-CBC-128: confidentiality pad bytes are not 1, 2, 3, ...');
  }
  return plain.subarray(0, dataLength);
}

/** IPMI 1.5 password as carried on the wire: NUL padded to 16 bytes. */
export function password16(password: Buffer): Buffer {
  const b = Buffer.alloc(16);
  password.copy(b, 0, 0, 16);
  return b;
}

/** IPMI 1.5 MD5 auth code: MD5(password, session id, message, session sequence, password) (§22.17.1). */
export function md5AuthCode15(password: Buffer, sessionId: number, message: Buffer, sequence: number): Buffer {
  const pw = password16(password);
  return createHash('md5').update(pw).update(u32le(sessionId)).update(message).update(u32le(sequence)).update(pw).digest();
}
