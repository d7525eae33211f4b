// Processes for the Pacemaker tier: run a command with a hard limit, and stop what we started by its PID
// (and start time) only. There is no PID namespace here: nothing is ever looked up by name.
import { execFile } from 'node:child_process';
import { missingPrograms } from '../support/programs.js';

export interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

export function run(argv: readonly string[], opts: { input?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<RunResult> {
  const started = performance.now();
  return new Promise((resolve) => {
    const child = execFile(
      argv[0]!,
      argv.slice(1),
      { encoding: 'utf8', timeout: opts.timeoutMs ?? 60_000, killSignal: 'SIGKILL', env: opts.env ?? process.env, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : null) : 0;
        // A program that is not installed: say which and the package that brings it, not "exit null".
        if ((err as { code?: unknown } | null)?.code === 'ENOENT') stderr = missingPrograms([argv[0]!]).join('\n') || String(err);
        resolve({ code, stdout, stderr, ms: performance.now() - started });
      },
    );
    child.stdin!.on('error', () => undefined); // a child that never reads its stdin
    child.stdin!.end(opts.input ?? '');
  });
}

/** Everything a failure message needs about a command. */
export const explain = (argv: readonly string[], r: RunResult) => `${argv.join(' ')} → exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;

import { isAlive, signal } from '../../lib/proc.js';
export { isAlive, procStat, signal } from '../../lib/proc.js';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs: number, everyMs = 100): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** SIGTERM, then SIGKILL after grace; only while the PID is still the process we started. */
export async function stopPid(pid: number, startTime: number | undefined, graceMs = 5000): Promise<void> {
  if (!isAlive(pid, startTime)) return;
  signal(pid, 'SIGCONT');
  signal(pid, 'SIGTERM');
  const until = Date.now() + graceMs;
  while (isAlive(pid, startTime) && Date.now() < until) await sleep(20);
  if (isAlive(pid, startTime)) signal(pid, 'SIGKILL');
  const hard = Date.now() + 2000;
  while (isAlive(pid, startTime) && Date.now() < hard) await sleep(20);
}
