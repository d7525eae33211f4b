// Processes by PID (and start time), read from /proc: the one home for "is it still running" and "signal it
// if it is still the one we started". Nothing is ever looked up by name.
import { readFileSync } from 'node:fs';

export interface ProcStat {
  /** The state letter of /proc/PID/stat (R, S, D, Z, T, …). */
  readonly state: string;
  /** The parent's PID. */
  readonly ppid: number;
  /** Clock ticks after boot at which it started: with the PID, its identity. */
  readonly startTime: number;
}

export function procStat(pid: number): ProcStat | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    // pid (comm) state ppid ...: comm may hold spaces and parentheses, so read after the last ')'.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: rest[0]!, ppid: Number(rest[1]), startTime: Number(rest[19]) };
  } catch {
    return undefined;
  }
}

/** Running (a zombie waiting to be reaped is not), and, if a start time is given, still that process. */
export function isAlive(pid: number, startTime?: number): boolean {
  const s = procStat(pid);
  return s !== undefined && s.state !== 'Z' && (startTime === undefined || s.startTime === startTime);
}

/** Send a signal; a process already gone is no error. */
export function signal(pid: number, sig: NodeJS.Signals | number): void {
  try {
    process.kill(pid, sig);
  } catch {
    // Already gone.
  }
}
