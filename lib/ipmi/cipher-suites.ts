// RMCP+ cipher suites we speak (spec §22.15.2, Table 22-20). Each suite names one algorithm per role;
// the numbers are the ones carried in the Open Session algorithm records (spec §13.28).
import type { CipherSuiteRecord } from './codec.js';

export type AuthAlgorithm = 'rakp-none' | 'rakp-hmac-sha1' | 'rakp-hmac-sha256';
export type IntegrityAlgorithm = 'none' | 'hmac-sha1-96' | 'hmac-sha256-128';
export type ConfidentialityAlgorithm = 'none' | 'aes-cbc-128';

export const AUTH_ALGORITHM_NUMBER: Record<AuthAlgorithm, number> = { 'rakp-none': 0, 'rakp-hmac-sha1': 1, 'rakp-hmac-sha256': 3 };
export const INTEGRITY_ALGORITHM_NUMBER: Record<IntegrityAlgorithm, number> = {
  none: 0,
  'hmac-sha1-96': 1,
  'hmac-sha256-128': 4,
};
export const CONFIDENTIALITY_ALGORITHM_NUMBER: Record<ConfidentialityAlgorithm, number> = { none: 0, 'aes-cbc-128': 1 };

export interface CipherSuite {
  id: number;
  auth: AuthAlgorithm;
  integrity: IntegrityAlgorithm;
  confidentiality: ConfidentialityAlgorithm;
  /** Suite 0 authenticates nothing: any password opens a session (ipmi_sim, and many real BMCs). */
  insecure: boolean;
}

export const CIPHER_SUITES: Readonly<Record<0 | 1 | 2 | 3 | 17, CipherSuite>> = {
  0: { id: 0, auth: 'rakp-none', integrity: 'none', confidentiality: 'none', insecure: true },
  1: { id: 1, auth: 'rakp-hmac-sha1', integrity: 'none', confidentiality: 'none', insecure: false },
  2: { id: 2, auth: 'rakp-hmac-sha1', integrity: 'hmac-sha1-96', confidentiality: 'none', insecure: false },
  3: { id: 3, auth: 'rakp-hmac-sha1', integrity: 'hmac-sha1-96', confidentiality: 'aes-cbc-128', insecure: false },
  17: { id: 17, auth: 'rakp-hmac-sha256', integrity: 'hmac-sha256-128', confidentiality: 'aes-cbc-128', insecure: false },
};

export type CipherSuiteId = keyof typeof CIPHER_SUITES;

export function cipherSuite(id: number): CipherSuite | undefined {
  return (CIPHER_SUITES as Record<number, CipherSuite>)[id];
}

/** Whether a standard record lists every algorithm of `suite`: the triple counts, not the number it is filed under. */
export function recordOffers(record: CipherSuiteRecord, suite: CipherSuite): boolean {
  return (
    !record.oem &&
    record.auth.includes(AUTH_ALGORITHM_NUMBER[suite.auth]) &&
    record.integrity.includes(INTEGRITY_ALGORITHM_NUMBER[suite.integrity]) &&
    record.confidentiality.includes(CONFIDENTIALITY_ALGORITHM_NUMBER[suite.confidentiality])
  );
}

/**
 * The suite for a session when the user named none, as ipmitool 1.8.19 chooses (ipmi_find_best_cipher_suite):
 * 17 if the BMC offers it, else 3, which the spec requires every BMC to support. Unlike ipmitool, "offers"
 * means a record with suite 17's full algorithm triple: Open Session carries algorithms, never the ID, so a
 * record numbered 17 with other algorithms would only make Open Session fail.
 */
export function preferredCipherSuite(records: readonly CipherSuiteRecord[]): CipherSuite {
  return records.some((r) => recordOffers(r, CIPHER_SUITES[17])) ? CIPHER_SUITES[17] : CIPHER_SUITES[3];
}
