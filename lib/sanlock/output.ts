// Parsers of the sanlock CLI's text output (sanlock 3.8, src/main.c and src/client.c): pure functions
// from text to typed records, tested against outputs captured from the real daemon.

/** The on-disk leader of a paxos (resource) lease or a delta (lockspace host) lease: `direct read_leader`. */
export interface LeaderRecord {
  readonly magic: number;
  readonly ownerId: number;
  readonly ownerGeneration: number;
  readonly lver: number;
  readonly spaceName: string;
  readonly resourceName: string;
  /** The owner's CLOCK_MONOTONIC seconds at its last renewal (delta) or acquisition (paxos); 0 = free. */
  readonly timestamp: number;
  readonly ioTimeout: number;
}

/** Magic numbers of sanlock's on-disk records (src/leader.h). */
export const PAXOS_DISK_MAGIC = 0x06152010;
export const DELTA_DISK_MAGIC = 0x12212010;

/** `... done N` as printed by the sanlock tool after each command; N < 0 is a sanlock or errno code. */
export function doneCode(text: string, what: string): number | undefined {
  const m = new RegExp(`^${what} done (-?\\d+)\\s*$`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
}

function keyValues(text: string, sep: RegExp): Map<string, string> {
  const map = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = sep.exec(line.trim());
    if (m && !map.has(m[1]!)) map.set(m[1]!, m[2]!);
  }
  return map;
}

const num = (v: string | undefined): number => (v === undefined ? Number.NaN : v.startsWith('0x') ? Number.parseInt(v, 16) : Number(v));

/**
 * `sanlock direct read_leader -r|-s ...`. The tool prints the record even when the read failed (with
 * garbage in it), so the verdict comes from "read_leader done N", never from the fields.
 */
export function parseLeader(text: string): { code: number | undefined; leader?: LeaderRecord } {
  const code = doneCode(text, 'read_leader');
  if (code !== 0) return { code };
  const kv = keyValues(text, /^(\w+) (.*)$/);
  return {
    code,
    leader: {
      magic: num(kv.get('magic')),
      ownerId: num(kv.get('owner_id')),
      ownerGeneration: num(kv.get('owner_generation')),
      lver: num(kv.get('lver')),
      spaceName: kv.get('space_name') ?? '',
      resourceName: kv.get('resource_name') ?? '',
      timestamp: num(kv.get('timestamp')),
      ioTimeout: num(kv.get('io_timeout')),
    },
  };
}

export interface LockspaceEntry {
  readonly name: string;
  readonly hostId: number;
  readonly path: string;
  readonly offset: number;
  /** ADD / REM while the daemon is still joining or leaving. */
  readonly transition?: 'ADD' | 'REM';
  readonly ioTimeout?: number;
  readonly hostGeneration?: number;
  readonly usedByOrphans?: boolean;
}

export interface ResourceEntry {
  readonly lockspace: string;
  readonly name: string;
  readonly path: string;
  readonly offset: number;
  readonly lver: number;
  /** The registered process holding it; for an orphan, the pid that held it last. */
  readonly pid: number;
  readonly orphan: boolean;
}

export interface DaemonStatus {
  readonly hostName: string;
  /** Daemon's CLOCK_MONOTONIC seconds when it answered (`-D` only). */
  readonly monotime?: number;
  readonly useWatchdog?: boolean;
  readonly lockspaces: readonly LockspaceEntry[];
  readonly resources: readonly ResourceEntry[];
}

/**
 * `sanlock client status [-D]`: a `daemon NAME` line, `p PID [NAME]` client lines, `s LS:ID:PATH:OFF [ADD|REM]`
 * lockspace lines and `r LS:RES:PATH:OFF:LVER p PID [ORPHAN]` resource lines; with -D each is followed
 * by indented `key=value` lines. A path containing ':' is escaped by sanlock as '\:'.
 */
export function parseDaemonStatus(text: string): DaemonStatus {
  let hostName = '';
  let section: Record<string, string> | undefined;
  let daemonDetail: Record<string, string> = {};
  const spaces: { head: string[]; transition?: string; detail: Record<string, string> }[] = [];
  const resources: ResourceEntry[] = [];
  for (const raw of text.split('\n')) {
    if (raw.trim() === '') continue;
    if (/^\s/.test(raw)) {
      const m = /^\s+([\w]+)=(.*)$/.exec(raw);
      if (m && section) section[m[1]!] = m[2]!;
      continue;
    }
    const [kind, spec, ...rest] = raw.trim().split(/\s+/);
    section = undefined;
    if (kind === 'daemon') {
      hostName = spec ?? '';
      section = daemonDetail = {};
    } else if (kind === 's' && spec) {
      const entry = { head: splitSpec(spec), transition: rest[0], detail: {} as Record<string, string> };
      spaces.push(entry);
      section = entry.detail;
    } else if (kind === 'r' && spec) {
      const [lockspace, name, path, offset, lver] = splitSpec(spec);
      const pidAt = rest.indexOf('p');
      resources.push({
        lockspace: lockspace ?? '',
        name: name ?? '',
        path: path ?? '',
        offset: Number(offset),
        lver: Number(lver),
        pid: pidAt >= 0 ? Number(rest[pidAt + 1]) : -1,
        orphan: rest.includes('ORPHAN'),
      });
      section = {}; // detail of a resource: not needed
    }
  }
  const n = (v: string | undefined) => (v === undefined ? undefined : Number(v));
  return {
    hostName,
    monotime: n(daemonDetail.monotime),
    useWatchdog: daemonDetail.use_watchdog === undefined ? undefined : daemonDetail.use_watchdog !== '0',
    lockspaces: spaces.map(({ head: [name, hostId, path, offset], transition, detail }) => ({
      name: name ?? '',
      hostId: Number(hostId),
      path: path ?? '',
      offset: Number(offset),
      ...(transition === 'ADD' || transition === 'REM' ? { transition } : {}),
      ...(detail.io_timeout !== undefined ? { ioTimeout: Number(detail.io_timeout) } : {}),
      ...(detail.host_generation !== undefined ? { hostGeneration: Number(detail.host_generation) } : {}),
      ...(detail.used_by_orphans !== undefined ? { usedByOrphans: detail.used_by_orphans !== '0' } : {}),
    })),
    resources,
  };
}

/** Split `a:b:c\:d:e` on unescaped colons (sanlock escapes ':' in paths as '\:'). */
export function splitSpec(spec: string): string[] {
  const parts: string[] = [];
  let cur = '';
  for (let i = 0; i < spec.length; i++) {
    const c = spec[i]!;
    if (c === '\\' && spec[i + 1] === ':') {
      cur += ':';
      i++;
    } else if (c === ':') {
      parts.push(cur);
      cur = '';
    } else cur += c;
  }
  parts.push(cur);
  return parts;
}

/** What this node's daemon knows of another host's delta lease (`client host_status -s LS -D`). */
export interface HostStatus {
  readonly hostId: number;
  /** The host's own monotime at its last renewal as last read by our daemon; 0 = free. */
  readonly timestamp: number;
  /** Our daemon's monotime when it last read that host's lease / last saw its timestamp change. */
  readonly lastCheck: number;
  readonly lastLive: number;
  readonly ownerGeneration: number;
  readonly ioTimeout: number;
  readonly ownerName: string;
}

export function parseHostStatus(text: string): Map<number, HostStatus> {
  const hosts = new Map<number, HostStatus>();
  let cur: Record<string, string> | undefined;
  let id = 0;
  const flush = () => {
    if (!cur) return;
    hosts.set(id, {
      hostId: id,
      timestamp: Number(cur.timestamp ?? 0),
      lastCheck: Number(cur.last_check ?? 0),
      lastLive: Number(cur.last_live ?? 0),
      ownerGeneration: Number(cur.owner_generation ?? 0),
      ioTimeout: Number(cur.io_timeout ?? 0),
      ownerName: cur.owner_name ?? '',
    });
  };
  for (const raw of text.split('\n')) {
    const head = /^(\d+) timestamp (\d+)/.exec(raw);
    if (head) {
      flush();
      id = Number(head[1]);
      cur = { timestamp: head[2]! };
      continue;
    }
    const kv = /^\s+(\w+)=(.*)$/.exec(raw);
    if (kv && cur) cur[kv[1]!] = kv[2]!;
  }
  flush();
  return hosts;
}

export type HostState = 'FREE' | 'LIVE' | 'FAIL' | 'DEAD' | 'UNKNOWN';

/** `sanlock client gets -h 1`: `h ID gen G timestamp T STATE` lines under each `s` line. */
export function parseHostStates(text: string, lockspace: string): Map<number, { generation: number; timestamp: number; state: HostState }> {
  const out = new Map<number, { generation: number; timestamp: number; state: HostState }>();
  let inSpace = false;
  for (const line of text.split('\n')) {
    const s = /^s ([^:]+):/.exec(line);
    if (s) {
      inSpace = s[1] === lockspace;
      continue;
    }
    const h = /^h (\d+) gen (\d+) timestamp (\d+) (\w+)/.exec(line);
    if (h && inSpace) out.set(Number(h[1]), { generation: Number(h[2]), timestamp: Number(h[3]), state: h[4] as HostState });
  }
  return out;
}

/** One lease that `sanlock direct dump` lists: an owner has written it (free sectors are not listed). */
export interface DumpedLease {
  readonly offset: number;
  readonly lockspace: string;
  /** The host name (delta lease) or the resource name (paxos lease). */
  readonly resource: string;
  /** The owner's CLOCK_MONOTONIC seconds at its last renewal or acquisition; 0 once released. */
  readonly timestamp: number;
  readonly ownerId: number;
  readonly ownerGeneration: number;
  /** Paxos leases only. */
  readonly lver?: number;
}

/**
 * `sanlock direct dump PATH:0` (src/direct.c direct_dump): a header line, then one row per written lease:
 * offset, lockspace, resource, timestamp, owner id, owner generation, and lver for paxos leases.
 */
export function parseDump(text: string): DumpedLease[] {
  const rows: DumpedLease[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*(\d+)\s+(\S+)\s+(\S*)\s+(\d+)\s+(\d+)\s+(\d+)(?:\s+(\d+))?\s*$/.exec(line);
    if (!m) continue;
    rows.push({
      offset: Number(m[1]),
      lockspace: m[2]!,
      resource: m[3]!,
      timestamp: Number(m[4]),
      ownerId: Number(m[5]),
      ownerGeneration: Number(m[6]),
      ...(m[7] !== undefined ? { lver: Number(m[7]) } : {}),
    });
  }
  return rows;
}
