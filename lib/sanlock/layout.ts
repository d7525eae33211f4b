// Where fencing leases live on the shared storage, and sanlock's timing rules (src/timeouts.c). The
// layout is fence_sanlock's, so storage formatted by either can be read by the other: lockspace `fence`
// at offset 0, and host N's own lease, resource `h<N>`, at N MiB (512-byte sectors, 1 MiB alignment).

export const FENCE_LOCKSPACE = 'fence';
export const ALIGN_BYTES = 1024 * 1024;
/** sanlock's limit for 512-byte sectors with 1 MiB alignment. */
export const MAX_HOST_ID = 2000;
/** sanlock's default watchdog_fire_timeout (sanlock.conf), the "60" of 8 x io_timeout + 60. */
export const WATCHDOG_FIRE_SECONDS = 60;

export interface LeaseArea {
  readonly path: string;
}

/** `fence:<hostId>:<path>:0` — the lockspace as host `hostId` joins it (0 to format it). */
export function lockspaceSpec(area: LeaseArea, hostId: number): string {
  return `${FENCE_LOCKSPACE}:${hostId}:${area.path}:0`;
}

/** `fence:h<N>:<path>:<N MiB>[:lver]` — host N's lease. */
export function hostLeaseSpec(area: LeaseArea, hostId: number, lver?: number): string {
  const base = `${FENCE_LOCKSPACE}:${hostLeaseName(hostId)}:${area.path}:${hostId * ALIGN_BYTES}`;
  return lver === undefined ? base : `${base}:${lver}`;
}

export function hostLeaseName(hostId: number): string {
  return `h${hostId}`;
}

/** Bytes the storage must have for leases of hosts 1..maxHostId. */
export function areaBytes(maxHostId: number): number {
  return (maxHostId + 1) * ALIGN_BYTES;
}

/** The sanlock tool splits its LOCKSPACE / RESOURCE arguments on every ':' (src/main.c parse_arg_*). */
export function usablePath(path: string): boolean {
  return path !== '' && !/[:\s]/.test(path) && path.length <= 1024;
}

/** A host whose delta lease was not renewed for this long is dead: its watchdog must have fired. */
export function hostDeadSeconds(ioTimeout: number): number {
  return 8 * ioTimeout + WATCHDOG_FIRE_SECONDS;
}

/** How often a host renews its delta lease. */
export function renewalSeconds(ioTimeout: number): number {
  return 2 * ioTimeout;
}

/**
 * The earliest CLOCK_MONOTONIC millisecond at which this node's daemon will grant another host's lease:
 * paxos_lease_acquire proceeds once `now - last_live > host_dead_seconds` in whole seconds, where
 * last_live is when our daemon last saw the owner's delta lease change. Without a last_live (our daemon
 * never saw the owner renew), the daemon starts that wait when the acquire begins: undefined here.
 */
export function earliestAcquisitionMs(lastLive: number, ownerIoTimeout: number): number | undefined {
  if (!lastLive || !ownerIoTimeout) return undefined;
  return (lastLive + hostDeadSeconds(ownerIoTimeout) + 1) * 1000;
}

/** CLOCK_MONOTONIC in milliseconds: the clock sanlock's timestamps and last_live are read from. */
export function monotonicMs(): number {
  return Number(process.hrtime.bigint() / 1_000_000n);
}
