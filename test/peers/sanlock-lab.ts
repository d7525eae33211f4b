// Real sanlock daemons on this machine, one per simulated node: each in its own mount namespace with a
// private /run/sanlock (so each has its own socket and pid file), all sharing one lease file on ext4
// (sanlock needs O_DIRECT, which tmpfs lacks). `-w 0`: no watchdog here (the machine has no softdog);
// `-l 0`: no mlockall. The container lacks CAP_SYS_RESOURCE and the daemon exits when setrlimit fails,
// so an LD_PRELOAD shim, compiled here with gcc, clamps setrlimit to the hard limit.
// Everything started is stopped by PID or by mount namespace, never by process name.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, runAgentBinary, type AgentRun, type RunAgentOptions } from '../support/run-agent.js';

const SHIM = `#define _GNU_SOURCE
#include <dlfcn.h>
#include <sys/resource.h>
int setrlimit(__rlimit_resource_t res, const struct rlimit *rl) {
  int (*real)(__rlimit_resource_t, const struct rlimit *) = dlsym(RTLD_NEXT, "setrlimit");
  struct rlimit cur, want = *rl;
  if (getrlimit(res, &cur) == 0) {
    if (want.rlim_max > cur.rlim_max) want.rlim_max = cur.rlim_max;
    if (want.rlim_cur > want.rlim_max) want.rlim_cur = want.rlim_max;
  }
  return real(res, &want);
}
`;

export interface SanlockNode {
  readonly hostId: number;
  readonly name: string;
  /** PID of this node's sanlock daemon (also the anchor of its mount namespace). */
  readonly daemonPid: number;
  /** Wall-clock ms of each delta-lease renewal the daemon logged (-R 1). */
  readonly renewals: number[];
  /** Run fence_kit_sanlock inside this node's namespace. */
  agent(argv: string[], opts?: RunAgentOptions): Promise<AgentRun>;
  /** Run the sanlock tool inside this node's namespace. */
  sanlock(args: string[]): string;
  /** PIDs in this node's namespace whose command line (NUL-separated, as /proc shows it) matches. */
  pids(cmdline: RegExp): number[];
  /** SIGKILL the daemon and every process in this node's namespace: the node dies, its lease stays. */
  kill(): void;
  alive(): boolean;
}

export interface SanlockLab {
  readonly dir: string;
  readonly leases: string;
  readonly ioTimeout: number;
  readonly nodes: SanlockNode[];
  /** Options every agent run needs, as argv. */
  argv(hostId: number): string[];
  stop(): Promise<void>;
}

function mountNs(pid: number): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/ns/mnt`);
  } catch {
    return undefined;
  }
}

/** PIDs whose mount namespace is `ns` (the daemon, its helper, lease holders started in it). */
function pidsIn(ns: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    if (mountNs(Number(entry)) === ns) pids.push(Number(entry));
  }
  return pids;
}

export async function startSanlockLab(opts: { nodes: number; ioTimeout: number }): Promise<SanlockLab> {
  const dir = mkdtempSync(join(tmpdir(), 'fk-sanlock-'));
  chmodSync(dir, 0o755); // the daemons run as user sanlock
  const shimSrc = join(dir, 'rlimit-shim.c');
  const shim = join(dir, 'rlimit-shim.so');
  writeFileSync(shimSrc, SHIM);
  execFileSync('gcc', ['-shared', '-fPIC', '-O2', '-o', shim, shimSrc, '-ldl']);
  const leases = join(dir, 'leases');
  const argv = (hostId: number) => [`--path=${leases}`, `--host-id=${hostId}`, `--io-timeout=${opts.ioTimeout}`];

  // The agent formats the storage (direct I/O, no daemon needed).
  const init = await runAgentBinary('fence_kit_sanlock', { argv: ['-o', 'sanlock_init', `--path=${leases}`, `--io-timeout=${opts.ioTimeout}`, `--max-host-id=${opts.nodes + 1}`] });
  if (init.code !== 0) throw new Error(`sanlock_init failed: ${init.stderr}${init.stdout}`);
  chmodSync(leases, 0o666);

  const nodes: SanlockNode[] = [];
  const children: ChildProcess[] = [];
  for (let hostId = 1; hostId <= opts.nodes; hostId++) {
    const name = `node${hostId}`;
    // unshare execs sh, which mounts a private /run/sanlock and execs the daemon: the child PID is the daemon.
    // Debian's sanlock package creates /run/sanlock only through systemd-tmpfiles, which a machine without
    // systemd never runs: the mount point is made here (an empty directory on the host's /run).
    const child = spawn('unshare', ['--mount', '--propagation', 'private', '--', '/bin/sh', '-c',
      `mkdir -p /run/sanlock && mount -t tmpfs -o mode=0775 none /run/sanlock && chown sanlock:sanlock /run/sanlock && exec env LD_PRELOAD=${shim} sanlock daemon -D -w 0 -l 0 -R 1 -L -1 -S -1 -e ${name}`],
      { stdio: ['ignore', 'ignore', 'pipe'] });
    children.push(child);
    const renewals: number[] = [];
    let log = '';
    let buffered = '';
    child.stderr!.on('data', (b: Buffer) => {
      const now = Date.now();
      buffered += b.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines) {
        log += line + '\n';
        if (/ s\d+ renewed \d+/.test(line)) renewals.push(now);
      }
    });
    const pid = child.pid!;
    const started = Date.now();
    while (!/sanlock daemon started/.test(log)) {
      if (child.exitCode !== null || Date.now() - started > 10_000) throw new Error(`sanlock daemon for ${name} did not start: ${log}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const ns = mountNs(pid)!;
    nodes.push({
      hostId,
      name,
      daemonPid: pid,
      renewals,
      agent: (a, o = {}) => runAgentBinary('/usr/bin/nsenter', { ...o, argv: ['-t', String(pid), '-m', '--', join(BIN, 'fence_kit_sanlock'), ...a] }),
      sanlock: (args) => execFileSync('nsenter', ['-t', String(pid), '-m', '--', 'sanlock', ...args]).toString(),
      pids: (cmdline) => pidsIn(ns).filter((p) => {
        try {
          return cmdline.test(readFileSync(`/proc/${p}/cmdline`, 'utf8'));
        } catch {
          return false;
        }
      }),
      kill: () => {
        for (const p of pidsIn(ns)) {
          try {
            process.kill(p, 'SIGKILL');
          } catch {
            // already gone
          }
        }
      },
      alive: () => mountNs(pid) === ns,
    });
  }
  return {
    dir,
    leases,
    ioTimeout: opts.ioTimeout,
    nodes,
    argv,
    async stop() {
      for (const n of nodes) n.kill();
      await new Promise((r) => setTimeout(r, 200));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
