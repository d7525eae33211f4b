// An independent BMC for the IPMI tests, the fault matrix and the benchmarks: OpenIPMI's ipmi_sim on
// 127.0.0.1 (the lab's BMCs are fencekit's own simulator, lab/bmc; this one is not ours), with a power model
// that makes "off" real. ipmi_sim asks a chassis_control script for the power state and to change it; the
// script starts a real, fully detached process for "on" and kills it (and waits for it) for "off", so a
// test checks the host process itself, not the simulator's word. Everything started here is stopped by PID.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isAlive, signal } from '../../lib/proc.js';
import { labAsset } from '../../lab/assets.js';
import { promisify } from 'node:util';
import { AUTH_TYPE, CMD, NETFN, encodeGetChannelAuthCapabilities, encodeIpmiRequest, encodeSession15 } from '../../lib/ipmi/codec.js';

const execFileAsync = promisify(execFile);

export interface IpmiSimAccount {
  name: string;
  password: string;
}

export interface IpmiSimOptions {
  /** Start with the host process running (default true). */
  hostOn?: boolean;
  /** Slow chassis: the host starts / dies this long after the BMC accepted the command (the BMC answers at once). */
  powerOnDelayMs?: number;
  powerOffDelayMs?: number;
  /** Fixed UDP port; default: a free one. */
  port?: number;
  /** The loopback address the BMC listens on (default 127.0.0.1; ::1 for an IPv6-only BMC). */
  address?: '127.0.0.1' | '::1';
  /**
   * A chassis_control script of the caller's (same calling convention: `[0x20] get power`, `set power 0|1`,
   * `set reset 1`) instead of the built-in one-process host: the lab's nodes share power with their PDUs.
   */
  chassisScript?: string;
  /** Emulator commands (ipmi_sim_cmd(5)) run before the BMC is enabled: sensors and their SDRs. */
  emulatorCommands?: string;
}

export interface IpmiSim {
  host: string;
  port: number;
  /** admin (ADMINISTRATOR), operator (OPERATOR), user (USER-limited) accounts. */
  users: { admin: IpmiSimAccount; operator: IpmiSimAccount; user: IpmiSimAccount };
  /** The BMC's GUID as configured (RAKP 2 carries it). */
  guid: string;
  dir: string;
  bmcPid: number;
  hostPid(): number | undefined;
  isHostRunning(): boolean;
  powerOnHost(): Promise<void>;
  powerOffHost(): Promise<void>;
  /** Change the slow-chassis delays of a running simulator. */
  setDelays(delays: { powerOnDelayMs?: number; powerOffDelayMs?: number }): void;
  /**
   * Cancel the chassis actions a slow chassis still has pending (a delayed off or on), so that the next test
   * starts from a chassis that does nothing on its own: a delayed off left by a test that gave up before it
   * fired would otherwise power the host off in the middle of a later test.
   */
  cancelPending(): void;
  /** SIGSTOP the BMC: it stops answering but keeps its port. */
  freeze(): void;
  thaw(): void;
  stop(): Promise<void>;
}

const USERS = {
  admin: { name: 'admin', password: 'secret' },
  operator: { name: 'oper', password: 'opsecret' },
  user: { name: 'viewer', password: 'usecret' },
};
const GUID = 'a123456789abcdefa123456789abcdef';

/** The lab's pid_file_alive (lab/assets/pid-alive.sh), single-quoted for the chassis script's `source`. */
const PID_ALIVE_SH = `'${labAsset('pid-alive.sh').replace(/'/g, `'\\''`)}'`;

// ipmi_sim runs `chassis.sh [0x20] get power` and `set power 0|1`, `set reset 1` through popen and reads
// the output: the host must be detached from every inherited fd or popen never sees EOF. The host is one
// process (host.pid); delay-on/delay-off files make the chassis slow; a `mode` file makes it faulty without
// restarting the BMC (the fault matrix uses it):
//   normal    off kills the host and waits for it (after delay-off seconds, if set)
//   lying     "set power 0" is acknowledged and nothing happens: the host keeps running
//   flapping  a boot-looping host: `flap-start` starts a detached toggler that starts and kills it every
//             0.3 s until a power command arrives, which stops the toggler first (the command then acts)
export const CHASSIS_SCRIPT = `#!/bin/bash
dir="$(cd "$(dirname "$0")" && pwd)"
echo "$(date +%s.%N) $*" >> "$dir/calls.log" # what ipmi_sim asked, for a failing test's post-mortem
[[ $1 == 0x* ]] && shift
pidfile="$dir/host.pid"
helpers="$dir/helpers.pids"
mode=$(cat "$dir/mode" 2>/dev/null || echo normal)

source ${PID_ALIVE_SH}
alive() { pid_file_alive "$pidfile"; }

delay() { cat "$dir/delay-$1" 2>/dev/null || echo 0; }

host_on() {
  alive && return 0
  setsid sleep 2147483647 </dev/null >/dev/null 2>&1 &
  echo $! > "$pidfile"
}

host_off() {
  local pid i
  pid=$(cat "$pidfile" 2>/dev/null) || return 0
  [[ -n $pid ]] || return 0
  kill -TERM "$pid" 2>/dev/null
  for i in $(seq 1 300); do alive || break; sleep 0.01; done
  alive && kill -KILL "$pid" 2>/dev/null
  for i in $(seq 1 300); do alive || break; sleep 0.01; done
  : > "$pidfile"
}

stop_flapping() {
  local pid
  pid=$(cat "$dir/flapper.pid" 2>/dev/null) || return 0
  [[ -n $pid ]] && kill -KILL -- "-$pid" 2>/dev/null
  : > "$dir/flapper.pid"
  # the toggler may have been between its two steps: give /proc a moment to settle
  sleep 0.05
}

later() { # run "$0 now-<what>" after a delay, detached, so that ipmi_sim answers at once
  setsid bash -c "sleep $1; exec \\"$0\\" $2" </dev/null >/dev/null 2>&1 &
  echo $! >> "$helpers"
}

off_now_or_later() { local d; d=$(delay off); if [[ $d == 0 ]]; then host_off; else later "$d" now-off; fi; }

case "$1 $2" in
  "get power") if alive; then echo "power:1"; else echo "power:0"; fi ;;
  "set power")
    [[ $mode == flapping ]] && stop_flapping
    if [[ $3 == 1 ]]; then d=$(delay on); if [[ $d == 0 ]]; then host_on; else later "$d" now-on; fi
    elif [[ $mode == lying ]]; then :
    else off_now_or_later; fi ;;
  "set reset")
    [[ $mode == flapping ]] && stop_flapping
    [[ $mode == lying ]] || { if alive; then host_off; host_on; fi; } ;;
  # Soft (ACPI) shutdown: the guest would shut itself down; ours just goes, like "off".
  "set shutdown")
    [[ $mode == flapping ]] && stop_flapping
    [[ $mode == lying ]] || off_now_or_later ;;
  "now-on ") host_on ;;
  "now-off ") host_off ;;
  "flap-start ")
    stop_flapping
    setsid bash -c 'while :; do "$0" now-on; sleep 0.3; "$0" now-off; sleep 0.3; done' "$0" </dev/null >/dev/null 2>&1 &
    echo $! > "$dir/flapper.pid" ;;
  "flap-stop ") stop_flapping ;;
esac
exit 0
`;

function lanConf(dir: string, address: string, port: number): string {
  const auths = 'none md2 md5 straight';
  return `name "fk_bmc"
set_working_mc 0x20
chassis_control "${join(dir, 'chassis.sh')}"
startlan 1
  addr ${address} ${port}
  priv_limit admin
  allowed_auths_callback ${auths}
  allowed_auths_user ${auths}
  allowed_auths_operator ${auths}
  allowed_auths_admin ${auths}
  guid ${GUID}
endlan
user 2 true "${USERS.admin.name}" "${USERS.admin.password}" admin 10 ${auths}
user 3 true "${USERS.operator.name}" "${USERS.operator.password}" operator 10 ${auths}
user 4 true "${USERS.user.name}" "${USERS.user.password}" user 10 ${auths}
`;
}

const bmcEmu = (extra = '') => `mc_setbmc 0x20
mc_add 0x20 0 no-device-sdrs 0x23 9 8 0x9f 0x1291 0xf02 persist_sdr
sel_enable 0x20 1000 0x0a
${extra}mc_enable 0x20
`;

export async function freeUdpPort(address: '127.0.0.1' | '::1' = '127.0.0.1'): Promise<number> {
  const s = createSocket(address === '::1' ? 'udp6' : 'udp4');
  await new Promise<void>((resolve) => s.bind(0, address, resolve));
  const { port } = s.address();
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

/** Sessionless Get Channel Authentication Capabilities until anything answers. */
async function waitAnswering(address: string, port: number, timeoutMs: number, child: ChildProcess): Promise<void> {
  const s = createSocket(address === '::1' ? 'udp6' : 'udp4');
  const request = encodeSession15({
    authType: AUTH_TYPE.none,
    sequence: 0,
    sessionId: 0,
    message: encodeIpmiRequest({ netFn: NETFN.app, cmd: CMD.getChannelAuthCapabilities, rqSeq: 1, data: encodeGetChannelAuthCapabilities(true, 4) }),
  });
  try {
    await new Promise<void>((resolve, reject) => {
      const until = Date.now() + timeoutMs;
      let timer: NodeJS.Timeout | undefined;
      const done = (err?: Error) => {
        clearTimeout(timer);
        child.off('exit', onExit);
        if (err) reject(err);
        else resolve();
      };
      const onExit = (code: number | null) => done(new Error(`ipmi_sim exited (${code}) before answering`));
      child.on('exit', onExit);
      s.on('message', () => done());
      s.on('error', () => undefined);
      const poke = () => {
        if (Date.now() > until) return done(new Error(`ipmi_sim did not answer on port ${port} within ${timeoutMs} ms`));
        s.send(request, port, address);
        timer = setTimeout(poke, 50);
      };
      poke();
    });
  } finally {
    s.close();
  }
}

async function stopPid(pid: number, graceMs = 2000): Promise<void> {
  signal(pid, 'SIGCONT');
  signal(pid, 'SIGTERM');
  const until = Date.now() + graceMs;
  while (isAlive(pid) && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
  if (isAlive(pid)) signal(pid, 'SIGKILL');
}

/** Simulators still running, stopped synchronously if the test process exits without stopping them. */
const running = new Set<() => void>();
let exitHookInstalled = false;
function stopAllOnExit(kill: () => void): () => void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => {
      for (const k of running) k();
    });
  }
  running.add(kill);
  return () => running.delete(kill);
}

export async function startIpmiSim(opts: IpmiSimOptions = {}): Promise<IpmiSim> {
  const dir = mkdtempSync(join(tmpdir(), 'fk-ipmi-sim-'));
  const stateDir = join(dir, 'state');
  mkdirSync(stateDir);
  const script = join(dir, 'chassis.sh');
  writeFileSync(script, opts.chassisScript ?? CHASSIS_SCRIPT, { mode: 0o755 });
  writeFileSync(join(dir, 'bmc.emu'), bmcEmu(opts.emulatorCommands));
  const setDelays = (d: { powerOnDelayMs?: number; powerOffDelayMs?: number }) => {
    if (d.powerOnDelayMs !== undefined) writeFileSync(join(dir, 'delay-on'), String(d.powerOnDelayMs / 1000));
    if (d.powerOffDelayMs !== undefined) writeFileSync(join(dir, 'delay-off'), String(d.powerOffDelayMs / 1000));
  };
  const chassis = async (...args: string[]) => {
    await execFileAsync(script, args, { timeout: 10_000 });
  };
  const cancelPending = () => {
    const helpers = join(dir, 'helpers.pids');
    if (!existsSync(helpers)) return;
    for (const line of readFileSync(helpers, 'utf8').split('\n')) {
      const pid = Number(line.trim());
      // Each helper is a session of its own (setsid): its group is the sleep and the chassis run it leads to.
      if (pid > 0 && isAlive(pid)) signal(-pid, 'SIGKILL');
    }
    writeFileSync(helpers, '');
  };
  const hostPid = (): number | undefined => {
    try {
      const n = Number(readFileSync(join(dir, 'host.pid'), 'utf8').trim());
      return n > 0 ? n : undefined;
    } catch {
      return undefined;
    }
  };
  if (opts.hostOn ?? true) await chassis('0x20', 'set', 'power', '1');

  // The port comes from the kernel, then is released for ipmi_sim: retry if something grabbed it meanwhile.
  let child: ChildProcess | undefined;
  let port = 0;
  let lastError: unknown;
  const address = opts.address ?? '127.0.0.1';
  for (let attempt = 0; attempt < 5 && !child; attempt++) {
    port = opts.port ?? (await freeUdpPort(address));
    writeFileSync(join(dir, 'lan.conf'), lanConf(dir, address, port));
    const c = spawn('ipmi_sim', ['-c', join(dir, 'lan.conf'), '-f', join(dir, 'bmc.emu'), '-s', stateDir, '-n'], {
      cwd: dir,
      detached: true,
      stdio: ['ignore', 'ignore', 'ignore'],
    });
    c.on('error', (err) => {
      lastError = err;
    });
    try {
      await waitAnswering(address, port, 5000, c);
      child = c;
    } catch (err) {
      lastError = err;
      if (c.pid) await stopPid(c.pid);
    }
  }
  if (!child || !child.pid) {
    const pid = hostPid();
    if (pid) await stopPid(pid);
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`cannot start ipmi_sim: ${(lastError as Error)?.message ?? 'unknown error'}`);
  }
  child.unref();
  setDelays({ powerOnDelayMs: opts.powerOnDelayMs ?? 0, powerOffDelayMs: opts.powerOffDelayMs ?? 0 });
  const bmcPid = child.pid;
  let stopped = false;
  // A test process that dies (an uncaught error, a closed stdout) must not leave a BMC and a host behind.
  const forget = stopAllOnExit(() => {
    signal(bmcPid, 'SIGKILL');
    const pid = hostPid();
    if (pid) signal(pid, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  return {
    host: address,
    port,
    users: USERS,
    guid: GUID,
    dir,
    bmcPid,
    hostPid,
    isHostRunning: () => {
      const pid = hostPid();
      return pid !== undefined && isAlive(pid);
    },
    powerOnHost: () => chassis('now-on'),
    powerOffHost: () => chassis('now-off'),
    setDelays,
    cancelPending,
    freeze: () => signal(bmcPid, 'SIGSTOP'),
    thaw: () => signal(bmcPid, 'SIGCONT'),
    stop: async () => {
      if (stopped) return;
      stopped = true;
      forget();
      await stopPid(bmcPid);
      cancelPending();
      const pid = hostPid();
      if (pid) await stopPid(pid);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
