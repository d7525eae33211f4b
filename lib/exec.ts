// Running other programs (ipmitool, sg_persist, sanlock, password scripts). Never through a shell: the
// argument vector is passed as is. Secrets travel in the environment or on stdin, never in argv, because
// argv is readable by every user in /proc/PID/cmdline.
//
// A child belongs to the agent that started it. It stays in the agent's process group, so the group kill
// pacemaker-fenced (or the fencekit CLI) sends at its timeout reaches it and whatever it started; a child
// in a group of its own outlived that SIGKILL and ran on with no bound at all (review finding 9). Its own
// timeout kills everything it started (sudo and the ipmitool under it, a script and what it forked, even
// what it left behind when it exited), and a SIGTERM/SIGINT/SIGHUP to the agent kills all that for every
// live child before the agent dies of the signal.
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { FenceError } from './errors.js';
import { procStat, signal } from './proc.js';
import { timerMs } from './timing.js';
import type { Logger } from './log.js';

export interface RunOptions {
  /** Kill the child and everything it started (SIGKILL) after this many ms; 0, Infinity or undefined = no limit. */
  timeoutMs?: number;
  /** Extra environment variables (merged over process.env). Put secrets here, not in args. */
  env?: Record<string, string>;
  /** Written to the child's stdin, then stdin is closed. */
  input?: string;
  logger?: Logger;
  /** Do not log the output (it may be a secret, as with password_script). */
  quietOutput?: boolean;
  cwd?: string;
}

/** A child killed at its own timeout: a timeout of that program, not an answer from any device it talks to. */
export class ChildTimeout extends FenceError {
  constructor(message: string) {
    super('timeout', message);
  }
}

export interface RunResult {
  code: number | null; // null when killed by a signal
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Run `file` with `args`; resolves with the exit status; rejects only if it cannot start or times out. */
export function run(file: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const log = opts.logger;
  log?.debug(`Running command: ${[file, ...args].join(' ')}`);
  return new Promise((resolve, reject) => {
    let child;
    const run: Run = { marker: `${process.pid}.${++runs}` };
    try {
      child = spawn(file, [...args], {
        env: { ...process.env, ...opts.env, [MARKER]: run.marker },
        stdio: ['pipe', 'pipe', 'pipe'],
        cwd: opts.cwd,
      });
    } catch (err) {
      reject(new FenceError('bad-input', `cannot run ${file}: ${(err as Error).message}`, { cause: err }));
      return;
    }
    const out: Buffer[] = [];
    const errOut: Buffer[] = [];
    let timedOut = false;
    let timer: NodeJS.Timeout | undefined;
    if (opts.timeoutMs && opts.timeoutMs > 0 && Number.isFinite(opts.timeoutMs)) {
      timer = setTimeout(() => {
        timedOut = true;
        killRun(run);
      }, timerMs(opts.timeoutMs));
    }
    run.pid = child.pid;
    adopt(run, child);
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => errOut.push(b));
    child.stdin.on('error', () => {
      // The child may exit without reading its input; that is its business.
    });
    child.on('error', (err: NodeJS.ErrnoException) => {
      if (timer) clearTimeout(timer);
      const what = err.code === 'ENOENT' ? 'not found' : err.message;
      reject(new FenceError('bad-input', `cannot run ${file}: ${what}`, { cause: err }));
    });
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      const result = { code, signal, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(errOut).toString() };
      if (timedOut) {
        reject(new ChildTimeout(`${file} timed out after ${opts.timeoutMs} ms`));
        return;
      }
      if (!opts.quietOutput) {
        log?.debug(`${file} exited ${code ?? signal}${result.stdout ? `, stdout: ${result.stdout.trimEnd()}` : ''}${result.stderr ? `, stderr: ${result.stderr.trimEnd()}` : ''}`);
      }
      resolve(result);
    });
    child.stdin.end(opts.input ?? '');
  });
}

/**
 * Every child carries this variable, and so does whatever it starts (unless it clears its environment, as
 * sudo does, but sudo waits for its command): it finds what a child left running when it exited, which no
 * longer descends from it.
 */
const MARKER = 'FENCEKIT_CHILD_OF';
let runs = 0;

interface Run {
  readonly marker: string;
  pid?: number;
}

/** Runs whose output is not closed yet: the child, or something it started, may still be running. */
const live = new Set<Run>();
const SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const;

function adopt(run: Run, child: ChildProcess): void {
  if (run.pid === undefined) return;
  if (live.size === 0) {
    for (const sig of SIGNALS) process.on(sig, onSignal);
    process.on('exit', killLiveRuns);
  }
  live.add(run);
  // Reaped: from now on the pid may belong to someone else; what the child left behind carries the marker.
  child.once('exit', () => {
    run.pid = undefined;
  });
  child.once('close', () => {
    live.delete(run);
    if (live.size === 0) release();
  });
}

function release(): void {
  for (const sig of SIGNALS) process.off(sig, onSignal);
  process.off('exit', killLiveRuns);
}

function killLiveRuns(): void {
  for (const run of live) killRun(run);
}

/**
 * Listening to a signal turns off Node's default of dying from it, so once the children are killed the
 * signal is raised again: the agent ends as killed by it (a killed fence is never a success). A process
 * with a handler of its own for the signal (the sanlock lease holder) keeps it and decides for itself.
 */
function onSignal(sig: NodeJS.Signals): void {
  killLiveRuns();
  release();
  if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
}

interface ProcEntry {
  readonly ppid: number;
  readonly marker: () => string | undefined;
}

/** Every process's parent, and a reader of its marker, from /proc (Linux). */
function processTable(): Map<number, ProcEntry> {
  const table = new Map<number, ProcEntry>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = procStat(Number(entry));
    if (stat) table.set(Number(entry), { ppid: stat.ppid, marker: () => markerOf(Number(entry)) }); // else gone meanwhile
  }
  return table;
}

function markerOf(pid: number): string | undefined {
  try {
    const env = readFileSync(`/proc/${pid}/environ`, 'latin1');
    const prefix = `${MARKER}=`;
    return env.split('\0').find((v) => v.startsWith(prefix))?.slice(prefix.length);
  } catch {
    return undefined; // gone, or not ours to read (then not ours to signal either)
  }
}

/**
 * SIGKILL the child of `run` (unless reaped), everything that descends from it, and everything carrying
 * its marker. Each member is stopped as it is found, so that nothing in the set forks or is re-parented
 * while the set is read; then all are killed. The child's pid is used only while it has not been reaped,
 * so it cannot have been reused.
 */
function killRun(run: Run): void {
  const doomed = new Set<number>();
  const take = (pid: number) => {
    if (pid === process.pid || doomed.has(pid)) return false;
    signal(pid, 'SIGSTOP');
    doomed.add(pid);
    return true;
  };
  if (run.pid !== undefined) take(run.pid);
  for (let grew = true; grew; ) {
    grew = false;
    for (const [pid, p] of processTable()) {
      if (doomed.has(pid)) continue;
      if (doomed.has(p.ppid) || p.marker() === run.marker) grew = take(pid) || grew;
    }
  }
  for (const pid of doomed) signal(pid, 'SIGKILL');
}
