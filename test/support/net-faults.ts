// Packet loss and blackholes with nftables (this kernel has no netem), scoped to the test's own UDP/TCP
// ports on loopback, in a table of our own that is deleted afterwards.
import { execFileSync } from 'node:child_process';

export interface NetFault {
  readonly table: string;
  remove(): void;
}

let counter = 0;

/**
 * Drop `percent` % of packets to (`toPeer`) and/or from (`fromPeer`) the given ports on loopback;
 * percent 100 is a blackhole. Returns a handle whose remove() deletes the whole table.
 */
export function injectLoss(opts: { ports: number[]; percent: number; toPeer?: boolean; fromPeer?: boolean; proto?: 'udp' | 'tcp' }): NetFault {
  const table = `fk_fault_${process.pid}_${++counter}`;
  const proto = opts.proto ?? 'udp';
  const ports = `{ ${opts.ports.join(', ')} }`;
  const drop = opts.percent >= 100 ? 'drop' : `numgen random mod 100 < ${opts.percent} drop`;
  const rules: string[] = [];
  if (opts.toPeer ?? true) rules.push(`add rule inet ${table} input iifname "lo" ${proto} dport ${ports} ${drop}`);
  if (opts.fromPeer ?? true) rules.push(`add rule inet ${table} input iifname "lo" ${proto} sport ${ports} ${drop}`);
  const script = [`add table inet ${table}`, `add chain inet ${table} input { type filter hook input priority -10; policy accept; }`, ...rules].join('\n');
  execFileSync('nft', ['-f', '-'], { input: script });
  return {
    table,
    remove: () => {
      try {
        execFileSync('nft', ['delete', 'table', 'inet', table], { stdio: 'ignore' });
      } catch {
        // already removed
      }
    },
  };
}
