// Run a built agent binary the way Pacemaker (stdin) or an admin (argv) does, and capture everything.
import { spawn } from 'node:child_process';
import { readdirSync, lstatSync } from 'node:fs';
import { procStat, signal } from '../../lib/proc.js';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BIN = join(ROOT, 'bin');

export interface AgentRun {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** A run killed by a signal (its time limit, or anything else) has no exit code: `code` is null and `signal` says
 * which, so a test expecting exit 1 fails on a hang instead of reading it as a refusal. */
export interface BinaryRun extends AgentRun {
  signal: NodeJS.Signals | null;
  /** At the time limit: the binary and every process below it, each killed by PID. */
  killed?: number[];
}

export interface RunAgentOptions {
  argv?: string[];
  stdin?: string;
  env?: Record<string, string | undefined>;
  timeoutMs?: number;
  cwd?: string;
  /** Called with all stdout so far each time more arrives, and the child's PID. */
  onStdout?: (text: string, pid: number) => void;
}

/** `pid` and every process below it now (children first found through /proc's ppid), by PID. */
function processTree(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    const child = Number(entry);
    if (!Number.isInteger(child)) continue;
    const ppid = procStat(child)?.ppid;
    if (ppid !== undefined) children.set(ppid, [...(children.get(ppid) ?? []), child]);
  }
  const tree = [pid];
  for (let i = 0; i < tree.length; i++) tree.push(...(children.get(tree[i]!) ?? []));
  return tree;
}

export function runAgentBinary(binary: string, opts: RunAgentOptions = {}): Promise<BinaryRun> {
  const started = Date.now();
  const env: Record<string, string | undefined> = { ...process.env, NODE_EXTRA_CA_CERTS: undefined, PCMK_service: undefined, ...opts.env };
  for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k];
  return new Promise((resolve, reject) => {
    const child = spawn(binary.includes('/') ? binary : join(BIN, binary), opts.argv ?? [], { env: env as NodeJS.ProcessEnv, cwd: opts.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    // At the time limit the binary and everything it started die by PID: the fencekit CLI runs each agent in a
    // process group of its own, so killing the CLI alone would leave its agents running.
    let killed: number[] | undefined;
    const timer = setTimeout(() => {
      killed = processTree(child.pid!);
      for (const pid of killed) signal(pid, 'SIGKILL');
    }, opts.timeoutMs ?? 60_000);
    child.stdout.on('data', (b: Buffer) => {
      out.push(b);
      opts.onStdout?.(Buffer.concat(out).toString(), child.pid!);
    });
    child.stderr.on('data', (b) => err.push(b));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString(), ms: Date.now() - started, ...(killed ? { killed } : {}) });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.stdin ?? '');
  });
}

/** bin/fencekit as an admin runs it; a test that fences gives `lockDir` (FENCEKIT_LOCK_DIR) for its fence locks. */
export function runFencekit(args: string[], opts: Omit<RunAgentOptions, 'argv'> & { lockDir?: string } = {}): Promise<BinaryRun> {
  const { lockDir, ...rest } = opts;
  return runAgentBinary('fencekit', { ...rest, argv: args, env: { ...(lockDir === undefined ? {} : { FENCEKIT_LOCK_DIR: lockDir }), ...rest.env } });
}

/** Every fence_kit_* in bin/, canonical agents and their alias symlinks. */
export function agentBinaries(): { name: string; isAlias: boolean }[] {
  return readdirSync(BIN)
    .filter((f) => f.startsWith('fence_kit_'))
    .sort()
    .map((name) => ({ name, isAlias: lstatSync(join(BIN, name)).isSymbolicLink() }));
}

/** key=value lines, as Pacemaker writes an agent's stdin. */
export const stdinOf = (options: Record<string, string | number>): string => Object.entries(options).map(([k, v]) => `${k}=${v}`).join('\n') + '\n';

/** stdin for fence_kit_ipmi against a BMC peer (ipmi_sim, pyghmi, the simulator), logged in as its admin over RMCP+. */
export function bmcStdin(bmc: { host: string; port: number; users: { admin: { name: string; password: string } } }, extra: Record<string, string> = {}): string {
  return stdinOf({ ip: bmc.host, ipport: String(bmc.port), username: bmc.users.admin.name, password: bmc.users.admin.password, lanplus: '1', ...extra });
}
