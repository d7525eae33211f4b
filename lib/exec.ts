// Running other programs (ipmitool, sg_persist, sanlock, password scripts). Never through a shell: the
// argument vector is passed as is. Secrets travel in the environment or on stdin, never in argv, because
// argv is readable by every user in /proc/PID/cmdline.
import { spawn } from 'node:child_process';
import { FenceError } from './errors.js';
import { timerMs } from './timing.js';
import type { Logger } from './log.js';

export interface RunOptions {
  /** Kill the child (SIGKILL, whole process group) after this many ms; 0 or undefined = no limit. */
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
    try {
      child = spawn(file, [...args], {
        env: opts.env ? { ...process.env, ...opts.env } : process.env,
        stdio: ['pipe', 'pipe', 'pipe'],
        detached: true, // own process group, so a timeout kills the grandchildren too
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
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          child.kill('SIGKILL');
        }
      }, timerMs(opts.timeoutMs));
    }
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
        reject(new FenceError('timeout', `${file} timed out after ${opts.timeoutMs} ms`));
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
