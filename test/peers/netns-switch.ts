// A real Ethernet switch for tests and benchmarks: a Linux bridge in its own network namespace, with veth
// ports to two node namespaces and an out-of-band management port to a manager namespace, managed by
// net-snmp's own snmpd. snmpd's IF-MIB SET of ifAdminStatus really takes the veth down, so a fence is
// proven by traffic (node1 → node2 pings stop) and by the kernel's own link flags, not by SNMP alone.
//
//   manager (198.19.0.2) ── eth0 ═ sw-mgmt (ifIndex 10, 198.19.0.1, snmpd) ┐
//   node1   (198.18.0.1) ── eth0 ═ sw-p1   (ifIndex 11) ──┐                 │ switch namespace
//   node2   (198.18.0.2) ── eth0 ═ sw-p2   (ifIndex 12) ──┴─ br0 (ifIndex 100)┘
//
// Namespaces are named with the creating process's PID and a counter, and only those names are ever
// deleted; snmpd is stopped by the PID it was started with. Addresses are in 198.18.0.0/15 (RFC 2544
// benchmarking space) and exist only inside the namespaces.
import { spawn, execFile, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const SNMPD = '/usr/sbin/snmpd';
const IP = '/usr/sbin/ip';

export const IF_MIB = {
  ifDescr: '1.3.6.1.2.1.2.2.1.2',
  ifAdminStatus: '1.3.6.1.2.1.2.2.1.7',
  ifOperStatus: '1.3.6.1.2.1.2.2.1.8',
  ifName: '1.3.6.1.2.1.31.1.1.1.1',
  ifAlias: '1.3.6.1.2.1.31.1.1.1.18',
} as const;

export interface SwitchPort {
  readonly ifIndex: number;
  /** ifDescr and ifName (net-snmp reports the kernel name for both). */
  readonly name: string;
  /** ifAlias, written through SNMP at start (net-snmp does not read the kernel's alias). */
  readonly alias: string;
}

export interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

export interface SwitchLab {
  readonly id: string;
  readonly ns: { readonly switch: string; readonly node1: string; readonly node2: string; readonly manager: string };
  /** The switch's management address: snmpd listens here, on sw-mgmt. */
  readonly mgmtAddress: string;
  readonly managerAddress: string;
  readonly nodeAddress: { readonly node1: string; readonly node2: string };
  readonly ports: { readonly node1: SwitchPort; readonly node2: SwitchPort; readonly mgmt: SwitchPort; readonly bridge: SwitchPort };
  readonly community: { readonly rw: string; readonly ro: string };
  readonly v3: {
    readonly username: string;
    readonly authProtocol: 'SHA';
    readonly authPassword: string;
    readonly privProtocol: 'AES';
    readonly privPassword: string;
  };
  readonly snmpdPid: number;
  /** Run a program inside the manager namespace (where an agent lives), with a hard time limit. */
  inManager(argv: readonly string[], opts?: { input?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv }): Promise<RunResult>;
  /**
   * Whether pings from node1 reach node2: `count` pings, `waitS` each. With `withinS`, whether one reply
   * comes within that many seconds (ping -w): after a port comes back up, its veth's carrier and the
   * neighbour entries take a moment that grows with load, so a check that traffic returns waits for it.
   */
  nodesTalk(opts?: { count?: number; waitS?: number; withinS?: number }): Promise<boolean>;
  /** The kernel's own view of a switch port: is the link administratively up? */
  kernelAdminUp(port: SwitchPort): boolean;
  /** Put every switch port back up through SNMP, so the agent's view and the kernel agree at once. */
  restorePorts(): Promise<void>;
  /** Write a port's ifAlias through SNMP (what an admin labels it). */
  setAlias(port: SwitchPort, alias: string): Promise<void>;
  /** Freeze / thaw snmpd (SIGSTOP / SIGCONT), for "the switch stops answering". */
  freezeSnmpd(frozen: boolean): void;
  stop(): Promise<void>;
}

let counter = 0;

function ip(args: string[]): string {
  return execFileSync(IP, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function run(argv: readonly string[], opts: { input?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<RunResult> {
  const started = performance.now();
  return new Promise((resolve) => {
    const child = execFile(
      argv[0]!,
      argv.slice(1),
      { encoding: 'utf8', timeout: opts.timeoutMs ?? 30_000, killSignal: 'SIGKILL', env: opts.env ?? process.env },
      (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : null) : 0;
        resolve({ code, stdout, stderr, ms: performance.now() - started });
      },
    );
    if (opts.input !== undefined) child.stdin!.end(opts.input);
    else child.stdin!.end();
  });
}

/** The net-snmp tools, without MIB files (Debian ships none without snmp-mibs-downloader): numeric OIDs only. */
const NO_MIBS: NodeJS.ProcessEnv = { ...process.env, MIBS: '', MIBDIRS: '/nonexistent' };

export async function startSwitchLab(): Promise<SwitchLab> {
  const id = `${process.pid}-${++counter}`;
  const ns = { switch: `fks-sw-${id}`, node1: `fks-n1-${id}`, node2: `fks-n2-${id}`, manager: `fks-mg-${id}` };
  const created: string[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'fk-switch-'));
  let snmpd: ChildProcess | undefined;

  const teardown = async () => {
    if (snmpd?.pid !== undefined && snmpd.exitCode === null && snmpd.signalCode === null) {
      const exited = new Promise<void>((r) => snmpd!.once('exit', () => r()));
      try {
        process.kill(snmpd.pid, 'SIGCONT');
        process.kill(snmpd.pid, 'SIGTERM');
      } catch {
        // already gone
      }
      const killTimer = setTimeout(() => {
        try {
          process.kill(snmpd!.pid!, 'SIGKILL');
        } catch {
          // already gone
        }
      }, 2000);
      await exited;
      clearTimeout(killTimer);
    }
    // Deleting a namespace destroys its veth ends and with them their peers in the other namespaces.
    for (const name of created.reverse()) {
      try {
        ip(['netns', 'delete', name]);
      } catch {
        // already removed
      }
    }
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    for (const name of Object.values(ns)) {
      ip(['netns', 'add', name]);
      created.push(name);
    }
    const sw = ['-n', ns.switch];
    ip([...sw, 'link', 'add', 'br0', 'index', '100', 'type', 'bridge']);
    ip([...sw, 'link', 'add', 'sw-mgmt', 'index', '10', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns.manager]);
    ip([...sw, 'link', 'add', 'sw-p1', 'index', '11', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns.node1]);
    ip([...sw, 'link', 'add', 'sw-p2', 'index', '12', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns.node2]);
    ip([...sw, 'link', 'set', 'sw-p1', 'master', 'br0']);
    ip([...sw, 'link', 'set', 'sw-p2', 'master', 'br0']);
    for (const l of ['lo', 'br0', 'sw-mgmt', 'sw-p1', 'sw-p2']) ip([...sw, 'link', 'set', l, 'up']);
    ip([...sw, 'addr', 'add', '198.19.0.1/24', 'dev', 'sw-mgmt']);
    const addresses: [string, string][] = [
      [ns.node1, '198.18.0.1/24'],
      [ns.node2, '198.18.0.2/24'],
      [ns.manager, '198.19.0.2/24'],
    ];
    for (const [name, cidr] of addresses) {
      ip(['-n', name, 'addr', 'add', cidr, 'dev', 'eth0']);
      ip(['-n', name, 'link', 'set', 'lo', 'up']);
      ip(['-n', name, 'link', 'set', 'eth0', 'up']);
    }

    const community = { rw: `fk-rw-${id}`, ro: `fk-ro-${id}` };
    const v3 = {
      username: 'fkadmin',
      authProtocol: 'SHA' as const,
      authPassword: `fk-auth-${id}`,
      privProtocol: 'AES' as const,
      privPassword: `fk-priv-${id}`,
    };
    // Communities only from the management network; the v3 user needs authPriv to write.
    writeFileSync(
      join(dir, 'snmpd.conf'),
      [
        `rwcommunity ${community.rw} 198.19.0.0/24`,
        `rocommunity ${community.ro} 198.19.0.0/24`,
        `createUser ${v3.username} ${v3.authProtocol} ${v3.authPassword} ${v3.privProtocol} ${v3.privPassword}`,
        `rwuser ${v3.username} priv`,
        'sysName fencekit-test-switch',
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
    snmpd = spawn(
      IP,
      ['netns', 'exec', ns.switch, SNMPD, '-f', '-Lf', join(dir, 'snmpd.log'), '-C', '-c', join(dir, 'snmpd.conf'),
        '-M', '/nonexistent', '-m', '', `--persistentDir=${join(dir, 'persist')}`, 'udp:198.19.0.1:161'],
      { stdio: 'ignore', env: NO_MIBS },
    );
    // `ip netns exec` execs the program after entering the namespace: this PID is snmpd's own.
    const snmpdPid = snmpd.pid!;

    const inManager: SwitchLab['inManager'] = (argv, opts) => run([IP, 'netns', 'exec', ns.manager, ...argv], opts);
    const snmp = (tool: string, args: string[]) =>
      run([IP, 'netns', 'exec', ns.manager, tool, '-On', '-t', '1', '-r', '0', '-v2c', '-c', community.rw, '198.19.0.1', ...args], { env: NO_MIBS, timeoutMs: 5000 });

    // Ready when snmpd answers from the manager namespace (v3 engine boots with it).
    const readyBy = Date.now() + 15_000;
    for (;;) {
      if (snmpd.exitCode !== null) {
        const log = existsSync(join(dir, 'snmpd.log')) ? readFileSync(join(dir, 'snmpd.log'), 'utf8') : '';
        throw new Error(`snmpd exited with ${snmpd.exitCode}: ${log.slice(-500)}`);
      }
      const r = await snmp('snmpget', [`${IF_MIB.ifDescr}.11`]);
      if (r.code === 0 && r.stdout.includes('sw-p1')) break;
      if (Date.now() > readyBy) throw new Error(`snmpd in ${ns.switch} did not answer: ${r.stderr}`);
      await new Promise((res) => setTimeout(res, 100));
    }

    const ports = {
      mgmt: { ifIndex: 10, name: 'sw-mgmt', alias: '' },
      node1: { ifIndex: 11, name: 'sw-p1', alias: 'node1-storage' },
      node2: { ifIndex: 12, name: 'sw-p2', alias: 'node2-storage' },
      bridge: { ifIndex: 100, name: 'br0', alias: '' },
    };
    for (const p of [ports.node1, ports.node2]) {
      const r = await snmp('snmpset', [`${IF_MIB.ifAlias}.${p.ifIndex}`, 's', p.alias]);
      if (r.code !== 0) throw new Error(`cannot set ifAlias of ${p.name}: ${r.stderr}`);
    }

    const lab: SwitchLab = {
      id,
      ns,
      mgmtAddress: '198.19.0.1',
      managerAddress: '198.19.0.2',
      nodeAddress: { node1: '198.18.0.1', node2: '198.18.0.2' },
      ports,
      community,
      v3,
      snmpdPid,
      inManager,
      async nodesTalk({ count = 2, waitS = 1, withinS }: { count?: number; waitS?: number; withinS?: number } = {}) {
        const pings = withinS === undefined ? ['-c', String(count), '-i', '0.2', '-W', String(waitS)] : ['-c', '1', '-i', '0.2', '-w', String(withinS)];
        const r = await run([IP, 'netns', 'exec', ns.node1, 'ping', '-n', '-q', ...pings, '198.18.0.2'], {
          timeoutMs: ((withinS ?? count * waitS) + 5) * 1000,
        });
        const m = /(\d+) received/.exec(r.stdout);
        return m !== null && Number(m[1]) > 0;
      },
      kernelAdminUp(port) {
        const [link] = JSON.parse(ip(['-n', ns.switch, '-j', 'link', 'show', 'dev', port.name])) as { flags: string[] }[];
        return link!.flags.includes('UP');
      },
      async restorePorts() {
        // The management port cannot be reached through itself: bring it up from inside the switch. SETs a
        // manager retransmitted while it was down wait in the manager's neighbour queue and would take it
        // down again as soon as it is up, so drop them first, and check that it stays up.
        for (let attempt = 0; attempt < 5 && !lab.kernelAdminUp(ports.mgmt); attempt++) {
          ip(['-n', ns.manager, 'neigh', 'flush', 'all']);
          ip(['-n', ns.switch, 'link', 'set', ports.mgmt.name, 'up']);
          await new Promise((res) => setTimeout(res, 1500));
        }
        if (!lab.kernelAdminUp(ports.mgmt)) throw new Error('the management port does not stay up');
        for (const p of [ports.node1, ports.node2]) {
          if (!lab.kernelAdminUp(p)) await snmp('snmpset', [`${IF_MIB.ifAdminStatus}.${p.ifIndex}`, 'i', '1']);
        }
      },
      async setAlias(port, alias) {
        const r = await snmp('snmpset', [`${IF_MIB.ifAlias}.${port.ifIndex}`, 's', alias]);
        if (r.code !== 0) throw new Error(`cannot set ifAlias of ${port.name}: ${r.stderr}`);
      },
      freezeSnmpd(frozen) {
        process.kill(snmpdPid, frozen ? 'SIGSTOP' : 'SIGCONT');
      },
      stop: teardown,
    };
    return lab;
  } catch (err) {
    await teardown();
    throw err;
  }
}
