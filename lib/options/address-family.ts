// inet4_only / inet6_only (fencing.py's -4 / -6), honoured: the device address is used in the family asked
// for, or not at all. A literal of the other family is refused by validate (no lookup needed); a host name is
// looked up in that family before the first packet, and one without an address in it is refused by name.
// The transports enforce the family again themselves (IpmiTarget.family, the SSH session's family), so a
// caller that skipped this check still cannot reach the other family.
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { FenceError } from '../errors.js';
import { withDeadline } from '../timing.js';
import { ADDRESS_FAMILY_OPTIONS } from './common.js';
import type { OptionTypesOf } from './spec.js';
import { describeOption, type Options } from './values.js';

export type AddressFamily = 4 | 6;
/** Options of an agent that may declare them (the SNMP options' view: an SNMP agent may not). */
type FamilyOptions = Options<Partial<OptionTypesOf<typeof ADDRESS_FAMILY_OPTIONS>>>;

const [INET4_ONLY, INET6_ONLY] = ADDRESS_FAMILY_OPTIONS;

/** The family the options ask for; undefined: any. (Both together are refused by their conflictsWith.) */
export function addressFamily(options: FamilyOptions): AddressFamily | undefined {
  if (options.flag('inet6_only')) return 6;
  if (options.flag('inet4_only')) return 4;
  return undefined;
}

const optionOf = (family: AddressFamily) => describeOption(family === 4 ? INET4_ONLY : INET6_ONLY);

/** A host as written in `ip`: an IPv6 literal may come in brackets ([::1]), as in a URL. */
function unbracketed(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/** validate(): an address literal of the other family. Names are left to resolveInFamily. */
export function validateAddressFamily(options: FamilyOptions, host: string | undefined): string[] {
  const family = addressFamily(options);
  if (family === undefined || host === undefined) return [];
  const literal = isIP(unbracketed(host));
  if (literal === 0 || literal === family) return [];
  return [`Failed: option ${optionOf(family)}: the device address is an IPv${literal} address`];
}

/**
 * connect(): a host name must have an address in the family asked for. Refused as bad input (not retried),
 * naming the option; a lookup that fails for another reason is the name's problem, left to the transport.
 */
export async function resolveInFamily(options: FamilyOptions, host: string, deadline: number): Promise<void> {
  const family = addressFamily(options);
  if (family === undefined) return;
  const address = unbracketed(host);
  const literal = isIP(address);
  if (literal !== 0) {
    if (literal !== family) throw new FenceError('bad-input', `option ${optionOf(family)}: the device address is an IPv${literal} address`);
    return;
  }
  try {
    await withDeadline(lookup(address, { family }), deadline, `resolving ${host}`);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // getaddrinfo's answers for "the name exists, but not in this family" (glibc: ENOTFOUND or ENODATA).
    if (code === 'ENOTFOUND' || code === 'ENODATA') {
      throw new FenceError('bad-input', `option ${optionOf(family)}: ${host} has no IPv${family} address`, { cause: err });
    }
    throw err;
  }
}
