// DES-CBC as DES-EDE3-CBC with the key K|K|K (lib/snmp/des.ts), pinned to the DES-CBC example of FIPS 81
// (Appendix C): it runs on OpenSSL 3's default provider, where 'des-cbc' itself is missing.
import { describe, expect, it } from 'vitest';
import { desAvailable, desCbc } from '../../../lib/snmp/des.js';

const key = Buffer.from('0123456789abcdef', 'hex');
const iv = Buffer.from('1234567890abcdef', 'hex');
const plain = Buffer.from('Now is the time for all ', 'latin1');
const cipher = Buffer.from('e5c7cdde872bf27c43e934008c389c0f683788499a7c05f6', 'hex');

describe('desCbc', () => {
  it('is available on this Node', () => {
    expect(desAvailable()).toBe(true);
  });

  it('encrypts and decrypts FIPS 81 DES-CBC example', () => {
    expect(desCbc('encrypt', key, iv, plain).toString('hex')).toBe(cipher.toString('hex'));
    expect(desCbc('decrypt', key, iv, cipher).toString('latin1')).toBe(plain.toString('latin1'));
  });

  it('refuses data that is not whole blocks, and keys or IVs that are not 8 octets', () => {
    expect(() => desCbc('decrypt', key, iv, cipher.subarray(0, 20))).toThrow(/whole 8-octet blocks/);
    expect(() => desCbc('encrypt', Buffer.alloc(16), iv, plain)).toThrow(/8-octet key/);
    expect(() => desCbc('encrypt', key, Buffer.alloc(16), plain)).toThrow(/8-octet key and IV/);
  });
});
