// A real two-node corosync + Pacemaker cluster on one machine, in network namespaces (recipe and
// measurements: docs/pacemaker-lab.md). Each node is a holder process made by `unshare --mount --uts --net`,
// with private tmpfs on /run and /dev/shm, its own /etc/corosync, /var/lib/{corosync,pacemaker} and
// /var/log/{corosync,pacemaker} bind-mounted from a per-node directory, and its own hostname. The nodes
// talk over a veth pair (ring 198.18.0.0/24, knet) unless the caller wires the ring itself (the KVM HA lab
// puts it on a switch port); each also has a management veth to the host, where test peers are reached
// through UDP relays on 198.19.255.254 (addresses exist only on these links).
//
// Power is node-power.sh's model: the node's processes run while its chassis and one of its supplies
// have power. Each boot runs the node in a time namespace of its own whose boot clock starts at zero, so
// /proc/uptime on the node is the time since its last power-on, as on a real host (what an agent that asks
// "has this node rebooted since ..." reads). Everything is selected by the holder's mount namespace or by PIDs we recorded; there is
// no PID namespace and nothing is ever selected by name. stop() removes every process and link made here.
import { spawn, execFileSync } from 'node:child_process';
import { chownSync, cpSync, existsSync, mkdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isAlive, procStat, run, signal, stopPid, waitFor, type RunResult } from './proc.js';
import { startUdpRelay, type UdpRelay } from './udp-relay.js';

/** test/pacemaker/node-power.sh, from the source tree or from a bundle run at the repository root (bench). */
export const NODE_POWER = [fileURLToPath(new URL('./node-power.sh', import.meta.url)), join(process.cwd(), 'test/pacemaker/node-power.sh')].find((p) => existsSync(p)) ?? 'node-power.sh not found';
/** The host's end of every management link: what devices in the CIB point at. */
export const MGMT_HOST = '198.19.255.254';
const IP = '/usr/sbin/ip';

export interface ClusterNode {
  readonly name: string;
  readonly nodeid: number;
  readonly ringAddress: string;
  readonly mgmtAddress: string;
  readonly dir: string;
  readonly holderPid: number;
  /** A command inside the node's namespaces (and its current boot's clock: /proc/uptime counts from its power-on). */
  exec(argv: readonly string[], opts?: { input?: string; timeoutMs?: number }): Promise<RunResult>;
  /** The node's processes (its mount namespace minus the holder). */
  pids(): number[];
  /** The node's corosync, found among its own processes by executable. */
  corosyncPid(): number | undefined;
  /** node-power.sh's log of power changes. */
  events(): string;
  /** The tail of the node's /var/log/pacemaker/pacemaker.log. */
  pacemakerLog(bytes?: number): string;
}

export interface Cluster {
  readonly nodes: readonly [ClusterNode, ClusterNode];
  node(name: string): ClusterNode;
  /** A relay on MGMT_HOST to a peer on the host's loopback; closed by stop(). */
  relay(target: { host: string; port: number }): Promise<UdpRelay>;
  /** Until crm_mon on `from` shows every named node online and a DC elected. */
  waitOnline(names: readonly string[], timeoutMs: number, from?: ClusterNode): Promise<void>;
  stop(): Promise<void>;
}

let clusters = 0;

function ip(args: readonly string[]): void {
  execFileSync(IP, args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

function corosyncConf(nodes: readonly { name: string; nodeid: number; ring: string }[]): string {
  // corosync's parser rejects anything after `{` on the same line: one token per line.
  return [
    'totem {',
    '    version: 2',
    '    cluster_name: fencekit',
    '    transport: knet',
    '    crypto_cipher: none',
    '    crypto_hash: none',
    '    token: 3000',
    '}',
    'nodelist {',
    ...nodes.flatMap((n) => ['    node {', `        name: ${n.name}`, `        nodeid: ${n.nodeid}`, `        ring0_addr: ${n.ring}`, '    }']),
    '}',
    'quorum {',
    '    provider: corosync_votequorum',
    '    two_node: 1',
    '}',
    'logging {',
    '    to_logfile: yes',
    '    logfile: /var/log/corosync/corosync.log',
    '    to_syslog: no',
    '    to_stderr: no',
    '    timestamp: on',
    '}',
    '',
  ].join('\n');
}

/**
 * Starts corosync, waits until it answers, then pacemakerd; detached, and recorded for node-power.sh. Every
 * process of the boot runs in a new time namespace whose boot clock is set back by the host's uptime (whole
 * seconds, written to boot-offset for exec()), so the node's /proc/uptime starts near 0 at each power-on.
 */
function bootScript(dir: string): string {
  return `#!/bin/sh
# Boot one namespaced cluster node: corosync, then pacemakerd, fully detached. Run by node-power.sh (on the host).
echo $$ > "${dir}/boot.pid"
h=$(cat "${dir}/holder.pid")
offset=$(cut -d. -f1 /proc/uptime)
echo "$offset" > "${dir}/boot-offset"
ns="nsenter -t $h -m -u -n -- unshare --time --boottime -$offset --"
$ns sh -c 'rm -rf /dev/shm/* /run/* 2>/dev/null; mkdir -p /run/crm; chown hacluster:haclient /run/crm'
setsid $ns /usr/sbin/corosync -f </dev/null >>"${dir}/corosync.out" 2>&1 &
i=0
until $ns corosync-cfgtool -s >/dev/null 2>&1; do
  i=$((i + 1)); [ $i -gt 100 ] && break; sleep 0.1
done
setsid $ns /usr/sbin/pacemakerd </dev/null >>"${dir}/pacemakerd.out" 2>&1 &
: > "${dir}/boot.pid"
`;
}

/** How the nodes' cluster ring is wired: by default a veth pair between them. */
export interface ClusterOptions {
  /**
   * Wire the ring yourself: give each node (its holder's PID: `ip link set ... netns PID`) a link named ring0,
   * up, with its ring address (198.18.0.N/24). Called after the namespaces exist, before corosync starts.
   */
  readonly ring?: (nodes: readonly { holderPid: number; ringAddress: string }[]) => Promise<void>;
}

/** Where a lab node's Pacemaker daemons write their log (its private /var/log/pacemaker). */
export function pacemakerLogFile(node: { readonly dir: string }): string {
  return join(node.dir, 'var/log/pacemaker/pacemaker.log');
}

export async function startCluster(options: ClusterOptions = {}): Promise<Cluster> {
  const tag = `${(process.pid % 46656).toString(36)}${(++clusters).toString(36)}`;
  const root = join(tmpdir(), `fk-cluster-${tag}`);
  rmSync(root, { recursive: true, force: true });
  const specs = [1, 2].map((id) => ({ name: `node${id}`, nodeid: id, ring: `198.18.0.${id}`, mgmt: `198.19.${id}.1`, dir: join(root, `node${id}`) }));
  const hostLinks: string[] = [];
  const holders: { pid: number; start: number | undefined }[] = [];
  const relays: UdpRelay[] = [];
  const nodes: ClusterNode[] = [];

  const stop = async () => {
    for (const r of relays.splice(0)) await r.close().catch(() => undefined);
    for (const n of specs) {
      if (!existsSync(join(n.dir, 'holder.pid'))) continue;
      const boot = Number(readFileSync(join(n.dir, 'boot.pid'), 'utf8').trim() || 0);
      if (boot > 0) signal(boot, 'SIGKILL');
      await run([NODE_POWER, n.dir, 'off'], { timeoutMs: 20_000 });
    }
    for (const h of holders.splice(0)) await stopPid(h.pid, h.start, 2000);
    for (const l of hostLinks.splice(0)) {
      try {
        ip(['link', 'del', l]);
      } catch {
        // Gone with its namespace.
      }
    }
    // FK_PACEMAKER_KEEP_LOGS=DIR keeps each node's corosync and pacemaker logs for a post-mortem.
    const keep = process.env.FK_PACEMAKER_KEEP_LOGS;
    if (keep) {
      for (const n of specs) {
        if (existsSync(join(n.dir, 'var/log'))) cpSync(join(n.dir, 'var/log'), join(keep, tag, n.name), { recursive: true });
        if (existsSync(join(n.dir, 'events.log'))) cpSync(join(n.dir, 'events.log'), join(keep, tag, n.name, 'power-events.log'));
      }
    }
    rmSync(root, { recursive: true, force: true });
  };

  try {
    const [uid, gid] = [Number(execFileSync('id', ['-u', 'hacluster']).toString()), Number(execFileSync('id', ['-g', 'hacluster']).toString())];
    for (const n of specs) {
      for (const d of ['etc/corosync', 'var/lib/corosync', 'var/log/corosync', 'var/lib/pacemaker', 'var/log/pacemaker']) mkdirSync(join(n.dir, d), { recursive: true });
      for (const d of ['cib', 'pengine', 'blackbox', 'cores']) {
        mkdirSync(join(n.dir, 'var/lib/pacemaker', d), { recursive: true, mode: 0o750 });
        chownSync(join(n.dir, 'var/lib/pacemaker', d), uid, gid);
      }
      chownSync(join(n.dir, 'var/log/pacemaker'), uid, gid);
      writeFileSync(join(n.dir, 'etc/corosync/corosync.conf'), corosyncConf(specs));
      writeFileSync(join(n.dir, 'boot.sh'), bootScript(n.dir), { mode: 0o755 });
      writeFileSync(join(n.dir, 'boot.pid'), '');
      for (const f of ['chassis', 'psu-a', 'psu-b']) writeFileSync(join(n.dir, f), '0\n');

      const binds = ['etc/corosync', 'var/lib/corosync', 'var/lib/pacemaker', 'var/log/corosync', 'var/log/pacemaker']
        .map((d) => `mount --bind '${join(n.dir, d)}' /${d}`)
        .join(' && ');
      const setup = [
        'mount -t tmpfs -o mode=755 tmpfs /run',
        'mount -t tmpfs -o mode=1777 tmpfs /dev/shm',
        binds,
        `hostname ${n.name}`,
        'ip link set lo up',
        `touch '${join(n.dir, 'ready')}'`,
        'exec sleep 2147483647',
      ].join(' && ');
      // unshare execs the shell, which execs sleep: the PID spawned is the holder's for its whole life.
      const child = spawn('unshare', ['--mount', '--uts', '--net', '--propagation', 'private', '--', '/bin/sh', '-c', setup], { detached: true, stdio: 'ignore' });
      child.unref();
      const pid = child.pid!;
      holders.push({ pid, start: procStat(pid)?.startTime });
      writeFileSync(join(n.dir, 'holder.pid'), `${pid}\n`);
      await waitFor(`${n.name}'s namespaces`, () => {
        if (child.exitCode !== null) throw new Error(`${n.name}: namespace setup failed (${child.exitCode})`);
        return existsSync(join(n.dir, 'ready'));
      }, 10_000, 20);
    }
    const [h1, h2] = holders.map((h) => String(h.pid)) as [string, string];
    const inNs = (pid: string, args: readonly string[]) => execFileSync('nsenter', ['-t', pid, '-n', '--', IP, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });

    if (options.ring) {
      await options.ring(specs.map((s, i) => ({ holderPid: holders[i]!.pid, ringAddress: s.ring })));
    } else {
      // The cluster ring: one veth pair between the nodes.
      ip(['link', 'add', `fk${tag}r1`, 'type', 'veth', 'peer', 'name', `fk${tag}r2`]);
      ip(['link', 'set', `fk${tag}r1`, 'netns', h1]);
      ip(['link', 'set', `fk${tag}r2`, 'netns', h2]);
      for (const [i, h] of [h1, h2].entries()) {
        inNs(h, ['link', 'set', `fk${tag}r${i + 1}`, 'name', 'ring0']);
        inNs(h, ['addr', 'add', `${specs[i]!.ring}/24`, 'dev', 'ring0']);
        inNs(h, ['link', 'set', 'ring0', 'up']);
      }
    }
    // Management: a veth per node to the host, /32 routes both ways.
    for (const [i, h] of [h1, h2].entries()) {
      const host = `fk${tag}m${i + 1}`;
      ip(['link', 'add', host, 'type', 'veth', 'peer', 'name', `${host}n`]);
      hostLinks.push(host);
      ip(['link', 'set', `${host}n`, 'netns', h]);
      ip(['addr', 'add', `${MGMT_HOST}/32`, 'dev', host]);
      ip(['link', 'set', host, 'up']);
      ip(['route', 'add', `${specs[i]!.mgmt}/32`, 'dev', host, 'src', MGMT_HOST]);
      inNs(h, ['link', 'set', `${host}n`, 'name', 'mgmt0']);
      inNs(h, ['addr', 'add', `${specs[i]!.mgmt}/32`, 'dev', 'mgmt0']);
      inNs(h, ['link', 'set', 'mgmt0', 'up']);
      inNs(h, ['route', 'add', `${MGMT_HOST}/32`, 'dev', 'mgmt0', 'src', specs[i]!.mgmt]);
    }

    for (const [i, n] of specs.entries()) {
      const holderPid = holders[i]!.pid;
      const pids = () => {
        const r = execFileSync(NODE_POWER, [n.dir, 'pids'], { encoding: 'utf8' });
        return r.split('\n').filter(Boolean).map(Number);
      };
      nodes.push({
        name: n.name,
        nodeid: n.nodeid,
        ringAddress: n.ring,
        mgmtAddress: n.mgmt,
        dir: n.dir,
        holderPid,
        exec: (argv, opts) => {
          // The clock of the node's last boot (bootScript): before the first boot there is none.
          const offset = existsSync(join(n.dir, 'boot-offset')) ? readFileSync(join(n.dir, 'boot-offset'), 'utf8').trim() : '';
          const clock = /^\d+$/.test(offset) ? ['unshare', '--time', '--boottime', `-${offset}`, '--'] : [];
          return run(['nsenter', '-t', String(holderPid), '-m', '-u', '-n', '--', ...clock, ...argv], { timeoutMs: opts?.timeoutMs ?? 60_000, ...(opts?.input !== undefined ? { input: opts.input } : {}) });
        },
        pids,
        corosyncPid: () =>
          pids().find((p) => {
            try {
              return readlinkSync(`/proc/${p}/exe`) === '/usr/sbin/corosync';
            } catch {
              return false;
            }
          }),
        events: () => (existsSync(join(n.dir, 'events.log')) ? readFileSync(join(n.dir, 'events.log'), 'utf8') : ''),
        pacemakerLog: (bytes = 8000) => {
          const f = pacemakerLogFile(n);
          return existsSync(f) ? readFileSync(f, 'utf8').slice(-bytes) : '';
        },
      });
    }
    // Power on: chassis and both supplies (node-power.sh boots the node on the transition).
    for (const n of specs) {
      for (const f of ['psu-a', 'psu-b']) execFileSync(NODE_POWER, [n.dir, 'set', f, '1']);
      execFileSync(NODE_POWER, [n.dir, 'set', 'chassis', '1']);
    }
  } catch (err) {
    await stop();
    throw err;
  }

  const node = (name: string) => {
    const n = nodes.find((x) => x.name === name);
    if (!n) throw new Error(`no node ${name}`);
    return n;
  };
  return {
    nodes: nodes as unknown as readonly [ClusterNode, ClusterNode],
    node,
    relay: async (target) => {
      const r = await startUdpRelay(MGMT_HOST, target);
      relays.push(r);
      return r;
    },
    waitOnline: async (names, timeoutMs, from = nodes[0]!) => {
      let last = '';
      try {
        await waitFor(`${names.join(', ')} online`, async () => {
          const r = await from.exec(['crm_mon', '-1', '--output-as', 'xml'], { timeoutMs: 10_000 });
          last = r.stdout + r.stderr;
          if (r.code !== 0 || !/<current_dc[^>]* present="true"/.test(r.stdout)) return false;
          return names.every((name) => new RegExp(`<node name="${name}"[^>]* online="true"`).test(r.stdout));
        }, timeoutMs, 500);
      } catch (err) {
        throw new Error(`${(err as Error).message}\ncrm_mon: ${last.slice(-3000)}`);
      }
    },
    stop,
  };
}

export { isAlive };
