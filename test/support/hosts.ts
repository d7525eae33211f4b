// Names the machine's /etc/hosts gives, for tests of address families that need a name without a DNS server.
import { readFileSync } from 'node:fs';
import { isIPv4, isIPv6 } from 'node:net';

/** A name /etc/hosts gives IPv4 addresses only. */
export function ipv4OnlyHostName(): string {
  const families = new Map<string, Set<number>>();
  for (const line of readFileSync('/etc/hosts', 'utf8').split('\n')) {
    const [address, ...names] = line.replace(/#.*/, '').trim().split(/\s+/);
    if (!address || names.length === 0) continue;
    const family = isIPv4(address) ? 4 : isIPv6(address) ? 6 : 0;
    for (const n of names) families.set(n, new Set([...(families.get(n) ?? []), family]));
  }
  const name = [...families].find(([, f]) => f.size === 1 && f.has(4))?.[0];
  if (!name) throw new Error('/etc/hosts names no host with an IPv4 address only (Debian lists the host name at 127.0.1.1)');
  return name;
}
