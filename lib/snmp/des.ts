// SNMPv3 DES privacy (usmDESPrivProtocol, RFC 3414 §8) on every Node the product ships with, without
// --openssl-legacy-provider. net-snmp encrypts DES with createCipheriv('des-cbc'), and OpenSSL 3 moved
// single DES to its legacy provider, so on Node 17+ every DES request failed ("Unsupported"). Triple DES
// (DES-EDE3) is in the default provider, and EDE3 with the key K|K|K is single DES with K:
// E_K(D_K(E_K(x))) = E_K(x). This module replaces the encrypt and decrypt of net-snmp's DES entry with the
// same computation over des-ede3-cbc: key and pre-IV from the localized privacy key (its first and second
// 8 octets), salt = local engine boots (1, as net-snmp has no persistent state) + a random 32-bit integer,
// IV = pre-IV XOR salt, the scoped PDU padded to whole 8-octet blocks. The known-answer test in
// test/unit/snmp/des.test.ts pins the cipher to FIPS 81's DES-CBC example.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type NetSnmp from 'net-snmp';

const BLOCK = 8;

/** DES-CBC with an 8-octet key, as DES-EDE3-CBC with the key K|K|K. No padding: `data` is whole blocks. */
export function desCbc(direction: 'encrypt' | 'decrypt', key: Buffer, iv: Buffer, data: Buffer): Buffer {
  if (key.length !== BLOCK || iv.length !== BLOCK) throw new Error('DES needs an 8-octet key and IV');
  if (data.length % BLOCK !== 0) throw new Error(`DES data of ${data.length} octets is not whole 8-octet blocks`);
  const ede3Key = Buffer.concat([key, key, key]);
  const cipher = direction === 'encrypt' ? createCipheriv('des-ede3-cbc', ede3Key, iv) : createDecipheriv('des-ede3-cbc', ede3Key, iv);
  cipher.setAutoPadding(false);
  return Buffer.concat([cipher.update(data), cipher.final()]);
}

/** Whether this Node can run DES-EDE3-CBC at all (a FIPS-only OpenSSL may refuse it). */
export function desAvailable(): boolean {
  try {
    desCbc('encrypt', Buffer.alloc(BLOCK, 1), Buffer.alloc(BLOCK), Buffer.alloc(BLOCK));
    return true;
  } catch {
    return false;
  }
}

interface Engine {
  engineID: Buffer;
}

/** The parts of net-snmp's internals this adapter replaces or reads (net-snmp 3.29, index.js). */
interface NetSnmpCrypto {
  Authentication: { passwordToKey(authProtocol: number, password: string, engineID: Buffer): Buffer };
  Encryption: {
    algorithms: Record<number, {
      encryptPdu(scopedPdu: Buffer, privProtocol: number, privPassword: string, authProtocol: number, engine: Engine): { encryptedPdu: Buffer; msgPrivacyParameters: Buffer };
      decryptPdu(encryptedPdu: Buffer, privProtocol: number, privParameters: Buffer, privPassword: string, authProtocol: number, engine: Engine): Buffer;
    }>;
  };
}

/** Key and pre-IV of RFC 3414 §8.1.1.1: the first 16 octets of the privacy key localized with the auth hash. */
function keyAndPreIv(internals: NetSnmpCrypto, authProtocol: number, privPassword: string, engine: Engine) {
  const localized = internals.Authentication.passwordToKey(authProtocol, privPassword, engine.engineID);
  return { key: localized.subarray(0, BLOCK), preIv: localized.subarray(BLOCK, 2 * BLOCK) };
}

const xor = (a: Buffer, b: Buffer) => Buffer.from(a.map((v, i) => v ^ b[i]!));

const installed = new WeakSet<object>();

/**
 * Give net-snmp's DES entry the des-ede3-cbc encrypt and decrypt. Returns false, changing nothing, when
 * net-snmp no longer has the internals this relies on or Node has no DES-EDE3: DES is then refused by
 * name (client.ts), never sent with a cipher that fails or a key that differs.
 */
export function installDesPrivacy(api: NetSnmp.Api): boolean {
  if (installed.has(api)) return true;
  const internals = api as unknown as Partial<NetSnmpCrypto>;
  const entry = internals.Encryption?.algorithms?.[api.PrivProtocols.des];
  if (!entry || typeof internals.Authentication?.passwordToKey !== 'function' || !desAvailable()) return false;
  const crypto = internals as NetSnmpCrypto;
  entry.encryptPdu = (scopedPdu, _privProtocol, privPassword, authProtocol, engine) => {
    const { key, preIv } = keyAndPreIv(crypto, authProtocol, privPassword, engine);
    const salt = Buffer.concat([Buffer.from([0, 0, 0, 1]), randomBytes(4)]);
    const padded = Buffer.alloc(Math.ceil(scopedPdu.length / BLOCK) * BLOCK || BLOCK);
    scopedPdu.copy(padded);
    return { encryptedPdu: desCbc('encrypt', key, xor(preIv, salt), padded), msgPrivacyParameters: salt };
  };
  entry.decryptPdu = (encryptedPdu, _privProtocol, privParameters, privPassword, authProtocol, engine) => {
    // RFC 3414 §8.3.2: privParameters not 8 octets, or a ciphertext not whole blocks, is a decryption error.
    if (privParameters.length !== BLOCK) throw new Error(`DES privacy parameters of ${privParameters.length} octets`);
    const { key, preIv } = keyAndPreIv(crypto, authProtocol, privPassword, engine);
    return desCbc('decrypt', key, xor(preIv, privParameters), encryptedPdu);
  };
  installed.add(api);
  return true;
}
