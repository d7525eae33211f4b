// Pacemaker's own fencer, stand-alone (`pacemaker-fenced -s`): no corosync, no CIB, devices registered
// and operations requested with stonith_admin. It runs agents exactly as in a cluster (fork/exec of
// /usr/sbin/<agent>, parameters on stdin), which is what this tier proves. One fencer per network
// namespace (its IPC server is an abstract socket): pass netns to run it beside a namespaced peer.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { procStat, run, stopPid, waitFor, type RunResult } from './proc.js';

export const FENCED = '/usr/lib/pacemaker/pacemaker-fenced';
export const STONITH_ADMIN = '/usr/sbin/stonith_admin';
const IP = '/usr/sbin/ip';

export interface Fencer {
  readonly pid: number;
  readonly logFile: string;
  log(): string;
  /** stonith_admin against this fencer (in its namespace). */
  admin(args: readonly string[], timeoutMs?: number): Promise<RunResult>;
  /** Any command in the fencer's namespace. */
  exec(argv: readonly string[], timeoutMs?: number): Promise<RunResult>;
  stop(): Promise<void>;
}

export async function startFencer(opts: { netns?: string } = {}): Promise<Fencer> {
  const dir = mkdtempSync(join(tmpdir(), 'fk-fenced-'));
  const logFile = join(dir, 'fenced.log');
  const wrap = (argv: readonly string[]) => (opts.netns ? [IP, 'netns', 'exec', opts.netns, ...argv] : [...argv]);
  // What the fencer passes on to agents is its own environment: keep it close to systemd's.
  const env: NodeJS.ProcessEnv = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8' };
  const argv = wrap([FENCED, '-s', '-l', logFile]);
  // `ip netns exec` execs the fencer in place: the PID spawned is the fencer's.
  const child = spawn(argv[0]!, argv.slice(1), { detached: true, stdio: 'ignore', env, cwd: dir });
  const pid = child.pid!;
  child.unref();
  const startTime = procStat(pid)?.startTime;
  const log = () => {
    try {
      return readFileSync(logFile, 'utf8');
    } catch {
      return '';
    }
  };
  const stop = async () => {
    await stopPid(pid, startTime);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitFor('pacemaker-fenced to accept connections', () => {
      if (child.exitCode !== null) throw new Error(`pacemaker-fenced exited (${child.exitCode}):\n${log()}`);
      return log().includes('successfully started and accepting connections');
    }, 10_000, 50);
  } catch (err) {
    await stop();
    throw err;
  }
  const exec = (a: readonly string[], timeoutMs = 120_000) => run(wrap(a), { timeoutMs, env });
  return {
    pid,
    logFile,
    log,
    exec,
    admin: (args, timeoutMs) => exec([STONITH_ADMIN, ...args], timeoutMs),
    stop,
  };
}

/** `-o key=value` pairs for stonith_admin --register. */
export const registerArgs = (device: string, agent: string, params: Readonly<Record<string, string>>) => [
  '--register',
  device,
  '--agent',
  agent,
  ...Object.entries(params).flatMap(([k, v]) => ['-o', `${k}=${v}`]),
];
