// Loads the captured ipmi_sim sessions and fixed vectors from test/fixtures/ipmi/ (see capture.ts there).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = join(import.meta.dirname, '../../fixtures/ipmi');

export interface Captured {
  description: string;
  username: string;
  password: string;
  bmcGuid: string;
  datagrams: { from: 'console' | 'bmc'; hex: string }[];
}

export function loadCapture(name: 'ipmitool-lanplus-cipher3-status' | 'ipmitool-lan-md5-status'): Captured & { packets: { from: 'console' | 'bmc'; bytes: Buffer }[] } {
  const c = JSON.parse(readFileSync(join(dir, `${name}.json`), 'utf8')) as Captured;
  return { ...c, packets: c.datagrams.map((d) => ({ from: d.from, bytes: Buffer.from(d.hex, 'hex') })) };
}

export interface Cipher17Vectors {
  username: string;
  password: string;
  kg: string;
  consoleSessionId: number;
  bmcSessionId: number;
  consoleRandom: string;
  bmcRandom: string;
  bmcGuid: string;
  role: number;
  rakp2AuthCode: string;
  rakp3AuthCode: string;
  sikWithKg: string;
  sikWithoutKg: string;
  k1: string;
  k2: string;
  k1WithoutKg: string;
  k2WithoutKg: string;
  rakp4IntegrityCheck: string;
  chassisStatusRequest: { message: string; iv: string; sequence: number; packet: string };
}

export function loadCipher17(): Cipher17Vectors {
  return JSON.parse(readFileSync(join(dir, 'cipher17-vectors.json'), 'utf8')) as Cipher17Vectors;
}

export const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
