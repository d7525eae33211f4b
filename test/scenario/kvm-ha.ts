// The KVM HA pair (issue 15; the setup as a user builds it and the figures: docs/kvm-ha.md). Built on the
// pacemaker tier's failover lab (test/pacemaker/failover.ts): two hosts as corosync + Pacemaker nodes in
// namespaces, each powered by a BMC (level 1) and two PDU outlets (level 2), fencing configured only from
// `fencekit export cib`. Added here:
//  - the namespace switch (test/peers/netns-switch.ts) carries each host's storage port (stor0) and its
//    cluster port (ring0: corosync's ring runs through the switch), and its management LAN reaches each
//    host's swmgmt0, so the hosts' fencers can switch ports (fabric fencing) over SNMP.
//  - a SAN: a namespace of its own on the switch where qemu-nbd serves the guest's raw volume; cutting a
//    host's storage port really cuts the host off the disk. Addresses: 198.18.10.0/24, inside these
//    namespaces only.
//  - libvirt on each host: libvirtd in the host's namespaces with a private /etc/libvirt (qemu.conf: run
//    qemu as root, no cgroups, no virtlogd), run by Pacemaker as a clone of ocf:heartbeat:anything.
//  - the guest: ocf:heartbeat:VirtualDomain with a domain that boots the guest lab's Debian kernel (TCG) with
//    its volume on qemu's own NBD client (nbd://198.18.10.100:10809/vol), whose job is guest-writer.py.
// The witness (witness.ts) watches both hosts' process tables and the volume.
import { spawn } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { prepareGuestKernel, REPO, STAGE2 } from '../guest/lab.js';
import { fenceSteps, startFailoverLab, type DeviceFamily, type FailoverLab, type FenceStep } from '../pacemaker/failover.js';
import { pacemakerLogFile, type ClusterNode } from '../pacemaker/cluster.js';
import { explain, procStat, run, stopPid, waitFor } from '../pacemaker/proc.js';
import { IF_MIB, startSwitchLab, type SwitchLab, type SwitchPort } from '../peers/netns-switch.js';
import { FENCEKIT } from '../pacemaker/agents.js';
import { Witness } from './witness.js';

const IP = '/usr/sbin/ip';
const QEMU_NBD = '/usr/bin/qemu-nbd';
export const SAN_ADDRESS = '198.18.10.100';
const NBD_PORT = 10809;
const storageAddress = (n: number) => `198.18.10.${n}`;
const WRITER = fileURLToPath(new URL('./guest-writer.py', import.meta.url));
/** The SAN's switch port: the next ifIndex after the switch's own node ports (11, 12: the hosts' storage ports). */
const SAN_PORT_INDEX = 13;
/** Each host's cluster port (its ring0 is the other end). */
export const CLUSTER_PORTS = {
  node1: { ifIndex: 14, name: 'sw-c1', alias: 'node1-cluster' },
  node2: { ifIndex: 15, name: 'sw-c2', alias: 'node2-cluster' },
} as const satisfies Record<string, SwitchPort>;
/** Each host's address on the switch's management LAN (the switch's own is 198.19.0.1, the manager's .2). */
const switchMgmtAddress = (n: number) => `198.19.0.${10 + n}`;
/**
 * The libvirt domain. Each host gets its own copy of the domain XML at the same path (in its private
 * /etc/libvirt), named DOMAIN-HOST: with no PID namespace here, VirtualDomain's probe on a host whose libvirtd
 * is not up yet falls back to `ps awx | grep "qemu-system.*-name guest=NAME"` (pid_status), which would see the
 * other host's qemu and report the guest running on both (seen: Pacemaker then stopped the good instance).
 * Real hosts have their own process tables; the names only keep this lab's hosts apart.
 */
const DOMAIN = 'fkguest';
/** Where VirtualDomain reads the domain: each host's own /etc/libvirt. */
const DOMAIN_CONFIG = `/etc/libvirt/${DOMAIN}.xml`;

export interface KvmHaLab {
  readonly failover: FailoverLab;
  readonly switchLab: SwitchLab;
  /** The guest's volume: the raw image qemu-nbd serves. */
  readonly volume: string;
  readonly devices: DeviceFamily;
  /** Each host's storage port and cluster port on the switch. */
  readonly ports: { readonly storage: Record<'node1' | 'node2', SwitchPort>; readonly cluster: Record<'node1' | 'node2', SwitchPort> };
  node(name: string): ClusterNode;
  /**
   * Fabric fencing for node2: `fencekit export cib` of the lab's topology with node2's levels replaced by one,
   * the switch (fence_kit_switch, node2's storage and cluster ports, unfence_after_reboot), applied to the CIB.
   * Returns the topology file (readable from the hosts, for `fencekit --topology FILE fence --action on`).
   */
  useFabricFencing(): Promise<string>;
  /** Set a switch port up or down at the switch (an admin at its console: not fencekit), until its link shows it. */
  setPortByHand(port: SwitchPort, up: boolean): Promise<void>;
  /** A witness over both hosts and the volume, sampling from now until its stop(). */
  witness(): Witness;
  /** Where Pacemaker says the guest runs (crm_resource --locate), or undefined. */
  guestHost(): Promise<string | undefined>;
  /** Make the guest run on `host` and wait until it writes there (a stop and a start if it runs elsewhere). */
  placeGuest(w: Witness, host: string, timeoutMs?: number): Promise<void>;
  /** Until a boot not seen before `since` writes from `host`; returns when its first record was seen. */
  waitNewBoot(w: Witness, host: string, since: number, timeoutMs?: number): Promise<number>;
  /** node1's pacemaker.log from a byte offset. */
  node1Log(from?: number): string;
  stop(): Promise<void>;
}

function ip(args: readonly string[]): Promise<void> {
  return run([IP, ...args], { timeoutMs: 10_000 }).then((r) => {
    if (r.code !== 0) throw new Error(explain([IP, ...args], r));
  });
}

async function must(argv: readonly string[], r: ReturnType<typeof run>): Promise<string> {
  const res = await r;
  if (res.code !== 0) throw new Error(explain(argv, res));
  return res.stdout;
}

// qemu runs as root: the 9p shares and the NBD volume need no ownership changes, and there are no cgroups,
// no per-VM mount namespaces and no virtlogd inside these nodes.
const QEMU_CONF = ['user = "root"', 'group = "root"', 'dynamic_ownership = 0', 'remember_owner = 0', 'security_driver = "none"', 'cgroup_controllers = [ ]', 'namespaces = [ ]', 'stdio_handler = "file"', ''].join('\n');
const LIBVIRTD_CONF = ['unix_sock_group = "root"', 'auth_unix_rw = "none"', 'auth_unix_ro = "none"', ''].join('\n');
const LIBVIRT_DIRS = { etc: '/etc/libvirt', lib: '/var/lib/libvirt', cache: '/var/cache/libvirt', log: '/var/log/libvirt' } as const;

const xmlEscape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/'/g, '&apos;').replace(/"/g, '&quot;');

function domainXml(kernel: { vmlinux: string; initrd: string; modulesDir: string }, outDir: string, name: string): string {
  const cmdline = ['console=ttyS0', 'quiet', 'panic=-1', 'oops=panic', `fk.stage2=${STAGE2}`, `fk.modules=${kernel.modulesDir}`, `fk.repo=${REPO}`].join(' ');
  return `<domain type='qemu'>
  <name>${name}</name>
  <memory unit='MiB'>384</memory>
  <vcpu>1</vcpu>
  <cpu mode='maximum'/>
  <os>
    <type arch='x86_64' machine='q35'>hvm</type>
    <kernel>${xmlEscape(kernel.vmlinux)}</kernel>
    <initrd>${xmlEscape(kernel.initrd)}</initrd>
    <cmdline>${xmlEscape(cmdline)}</cmdline>
  </os>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>destroy</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <disk type='network' device='disk'>
      <driver name='qemu' type='raw' cache='none'/>
      <source protocol='nbd' name='vol'>
        <host name='${SAN_ADDRESS}' port='${NBD_PORT}'/>
      </source>
      <target dev='vda' bus='virtio'/>
    </disk>
    <filesystem type='mount' accessmode='passthrough' multidevs='remap'>
      <source dir='/'/>
      <target dir='root'/>
      <readonly/>
    </filesystem>
    <filesystem type='mount' accessmode='passthrough' multidevs='remap'>
      <source dir='${xmlEscape(outDir)}'/>
      <target dir='out'/>
    </filesystem>
    <serial type='file'>
      <source path='/var/log/libvirt/qemu/fkguest.console'/>
    </serial>
    <memballoon model='none'/>
  </devices>
</domain>
`;
}

/** The cluster resources: libvirtd on every host, the guest where libvirtd runs, preferring node2. */
function resourcesXml(domainFile: string): { resources: string[]; constraints: string[] } {
  const nv = (id: string, name: string, value: string) => `<nvpair id="${id}-${name}" name="${name}" value="${xmlEscape(value)}"/>`;
  // anything's start returns once libvirtd's PID lives; the hook makes start (and monitor) wait for its socket.
  const hook = '( for i in $(seq 100); do virsh -c qemu:///system version >/dev/null 2>&1 && exit 0; sleep 0.1; done; exit 1 )';
  return {
    resources: [
      `<clone id="libvirtd-clone"><primitive id="libvirtd" class="ocf" provider="heartbeat" type="anything"><instance_attributes id="libvirtd-ia">${nv('libvirtd', 'binfile', '/usr/sbin/libvirtd')}${nv('libvirtd', 'cmdline_options', '--config /etc/libvirt/libvirtd.conf')}${nv('libvirtd', 'monitor_hook', hook)}</instance_attributes><operations><op id="libvirtd-start" name="start" interval="0" timeout="30s"/><op id="libvirtd-monitor" name="monitor" interval="10s" timeout="30s"/></operations></primitive></clone>`,
      `<primitive id="guest" class="ocf" provider="heartbeat" type="VirtualDomain"><instance_attributes id="guest-ia">${nv('guest', 'config', domainFile)}${nv('guest', 'hypervisor', 'qemu:///system')}${nv('guest', 'force_stop', 'true')}</instance_attributes><meta_attributes id="guest-meta">${nv('guest', 'resource-stickiness', '1000')}${nv('guest', 'target-role', 'Stopped')}</meta_attributes><operations><op id="guest-start" name="start" interval="0" timeout="60s"/><op id="guest-stop" name="stop" interval="0" timeout="60s"/><op id="guest-monitor" name="monitor" interval="2s" timeout="30s"/></operations></primitive>`,
    ],
    constraints: [
      '<rsc_order id="libvirtd-before-guest" first="libvirtd-clone" then="guest" kind="Mandatory"/>',
      '<rsc_colocation id="guest-with-libvirtd" rsc="guest" with-rsc="libvirtd-clone" score="INFINITY"/>',
      '<rsc_location id="guest-prefers-node2" rsc="guest" node="node2" score="100"/>',
    ],
  };
}

export async function startKvmHaLab(devices: DeviceFamily = 'fencekit'): Promise<KvmHaLab> {
  const scratch = mkdtempSync(join(tmpdir(), 'fk-kvmha-'));
  const stops: (() => Promise<unknown>)[] = [
    async () => {
      // FK_PACEMAKER_KEEP_LOGS=DIR (the cluster's post-mortem switch) keeps libvirt's logs and the guest's console
      // too: only the log folders (libvirt's state folders hold sockets, which cannot be copied).
      const keep = process.env.FK_PACEMAKER_KEEP_LOGS;
      try {
        for (const n of ['node1', 'node2']) {
          const logs = join(scratch, n, 'libvirt', 'log');
          if (keep && existsSync(logs)) cpSync(logs, join(keep, `kvmha-${basename(scratch)}`, n), { recursive: true });
        }
      } finally {
        rmSync(scratch, { recursive: true, force: true });
      }
    },
  ];
  const stop = async () => {
    for (const s of stops.splice(0).reverse()) await s().catch(() => undefined);
  };
  try {
    const kernel = await prepareGuestKernel();
    const switchLab = await startSwitchLab();
    stops.push(() => switchLab.stop());
    const sw = ['-n', switchLab.ns.switch];
    const inHolder = (pid: number, args: readonly string[]) => must(['nsenter', '-t', String(pid), '-n', IP, ...args], run(['nsenter', '-t', String(pid), '-n', '--', IP, ...args], { timeoutMs: 10_000 }));
    // The cluster ring through the switch: each host's ring0 is the far end of its cluster port.
    const ring = async (nodes: readonly { holderPid: number; ringAddress: string }[]) => {
      for (const [i, n] of nodes.entries()) {
        const port = i === 0 ? CLUSTER_PORTS.node1 : CLUSTER_PORTS.node2;
        await ip([...sw, 'link', 'add', port.name, 'index', String(port.ifIndex), 'type', 'veth', 'peer', 'name', 'ring0', 'netns', String(n.holderPid)]);
        await ip([...sw, 'link', 'set', port.name, 'master', 'br0']);
        await ip([...sw, 'link', 'set', port.name, 'up']);
        await inHolder(n.holderPid, ['addr', 'add', `${n.ringAddress}/24`, 'dev', 'ring0']);
        await inHolder(n.holderPid, ['link', 'set', 'ring0', 'up']);
      }
    };
    const failover = await startFailoverLab(devices, 'default', { ring });
    stops.push(() => failover.stop());
    const { cluster } = failover;

    // The switch's management LAN reaches the hosts: the manager's link to the switch becomes a bridge port,
    // and each host gets a port on that bridge (swmgmt0). The switch's snmpd takes communities from there.
    const mg = ['-n', switchLab.ns.manager];
    await ip([...mg, 'addr', 'flush', 'dev', 'eth0']);
    await ip([...mg, 'link', 'add', 'mbr', 'type', 'bridge']);
    await ip([...mg, 'link', 'set', 'eth0', 'master', 'mbr']);
    await ip([...mg, 'addr', 'add', `${switchLab.managerAddress}/24`, 'dev', 'mbr']);
    await ip([...mg, 'link', 'set', 'mbr', 'up']);
    for (const [i, n] of cluster.nodes.entries()) {
      await ip([...mg, 'link', 'add', `mn${i + 1}`, 'type', 'veth', 'peer', 'name', 'swmgmt0', 'netns', String(n.holderPid)]);
      await ip([...mg, 'link', 'set', `mn${i + 1}`, 'master', 'mbr']);
      await ip([...mg, 'link', 'set', `mn${i + 1}`, 'up']);
      await inHolder(n.holderPid, ['addr', 'add', `${switchMgmtAddress(i + 1)}/24`, 'dev', 'swmgmt0']);
      await inHolder(n.holderPid, ['link', 'set', 'swmgmt0', 'up']);
    }

    // Each host's storage port: the switch lab's node veth ends move into the cluster nodes' namespaces.
    for (const [i, n] of cluster.nodes.entries()) {
      const swNs = i === 0 ? switchLab.ns.node1 : switchLab.ns.node2;
      await ip(['-n', swNs, 'addr', 'flush', 'dev', 'eth0']);
      await ip(['-n', swNs, 'link', 'set', 'eth0', 'netns', String(n.holderPid)]);
      for (const argv of [['ip', 'link', 'set', 'eth0', 'name', 'stor0'], ['ip', 'addr', 'add', `${storageAddress(i + 1)}/24`, 'dev', 'stor0'], ['ip', 'link', 'set', 'stor0', 'up']]) {
        await must(argv, n.exec(argv));
      }
    }
    // The SAN: a namespace with one port on the switch's bridge.
    const sanNs = `fks-san-${switchLab.id}`;
    await ip(['netns', 'add', sanNs]);
    stops.push(() => ip(['netns', 'delete', sanNs]));
    await ip([...sw, 'link', 'add', 'sw-san', 'index', String(SAN_PORT_INDEX), 'type', 'veth', 'peer', 'name', 'eth0', 'netns', sanNs]);
    await ip([...sw, 'link', 'set', 'sw-san', 'master', 'br0']);
    await ip([...sw, 'link', 'set', 'sw-san', 'up']);
    await ip(['-n', sanNs, 'addr', 'add', `${SAN_ADDRESS}/24`, 'dev', 'eth0']);
    await ip(['-n', sanNs, 'link', 'set', 'lo', 'up']);
    await ip(['-n', sanNs, 'link', 'set', 'eth0', 'up']);

    // 64 MiB: 131072 records, 3.6 hours of writing at 10 a second; sparse until written.
    const volume = join(scratch, 'vol.raw');
    writeFileSync(volume, '');
    truncateSync(volume, 64 << 20);
    // `ip netns exec` execs qemu-nbd after entering the namespace: the PID is qemu-nbd's own.
    const nbd = spawn(IP, ['netns', 'exec', sanNs, QEMU_NBD, '--format=raw', '--export-name=vol', `--bind=${SAN_ADDRESS}`, `--port=${NBD_PORT}`, '--persistent', '--shared=4', '--cache=none', '--aio=threads', volume], {
      stdio: ['ignore', 'ignore', 'pipe'],
      detached: true,
    });
    let nbdErr = '';
    nbd.stderr!.on('data', (b: Buffer) => (nbdErr += b.toString()));
    const nbdPid = nbd.pid!;
    const nbdStart = procStat(nbdPid)?.startTime;
    stops.push(() => stopPid(nbdPid, nbdStart, 3000));
    // Ready when a host reaches the export through the switch with qemu's own NBD client.
    for (const n of cluster.nodes) {
      const argv = ['qemu-img', 'info', '--output=json', `nbd://${SAN_ADDRESS}:${NBD_PORT}/vol`];
      await waitFor(`the SAN's volume from ${n.name}`, async () => {
        if (nbd.exitCode !== null) throw new Error(`qemu-nbd exited ${nbd.exitCode}: ${nbdErr}`);
        return (await n.exec(argv, { timeoutMs: 5000 })).code === 0;
      }, 20_000, 200);
    }

    const outDir = join(scratch, 'guest-out');
    mkdirSync(outDir);
    chmodSync(outDir, 0o777);
    writeFileSync(join(outDir, 'job.sh'), `#!/bin/bash\n# The guest's job: the witness's writer, on the SAN volume.\nexec python3 '${WRITER}' /dev/vda\n`, { mode: 0o755 });
    // libvirt on each host: private config, state, cache and logs, bound into the host's mount namespace
    // (they stay across the host's power cycles: the namespace holder keeps them).
    for (const n of cluster.nodes) {
      const base = join(scratch, n.name, 'libvirt');
      for (const d of Object.keys(LIBVIRT_DIRS)) mkdirSync(join(base, d), { recursive: true });
      mkdirSync(join(base, 'log', 'qemu'), { recursive: true });
      writeFileSync(join(base, 'etc', 'qemu.conf'), QEMU_CONF);
      writeFileSync(join(base, 'etc', 'libvirtd.conf'), LIBVIRTD_CONF);
      writeFileSync(join(base, 'etc', 'libvirt.conf'), '');
      writeFileSync(join(base, 'etc', `${DOMAIN}.xml`), domainXml(kernel, outDir, `${DOMAIN}-${n.name}`));
      for (const [d, target] of Object.entries(LIBVIRT_DIRS)) {
        const argv = ['sh', '-c', `mkdir -p '${target}' && mount --bind '${join(base, d)}' '${target}'`];
        await must(argv, n.exec(argv));
      }
    }

    const node1 = cluster.node('node1');
    const { resources, constraints } = resourcesXml(DOMAIN_CONFIG);
    for (const x of resources) await must(['cibadmin', '--create', '--scope', 'resources'], node1.exec(['cibadmin', '--create', '--scope', 'resources', '--xml-text', x]));
    for (const x of constraints) await must(['cibadmin', '--create', '--scope', 'constraints'], node1.exec(['cibadmin', '--create', '--scope', 'constraints', '--xml-text', x]));
    // The guest was created stopped: started only now that it has its constraints, so it starts once, on node2.
    const start = ['crm_resource', '--resource', 'guest', '--meta', '--delete-parameter', 'target-role'];
    await must(start, node1.exec(start));

    const guestHost = async () => {
      const r = await node1.exec(['crm_resource', '--locate', '--resource', 'guest'], { timeoutMs: 10_000 });
      return /is running on: (\S+)/.exec(r.stdout)?.[1];
    };
    const waitNewBoot = async (w: Witness, host: string, since: number, timeoutMs = 120_000) => {
      let found: number | undefined;
      await waitFor(`the guest writing from ${host}`, () => {
        const b = w.bootsSeen().find((x) => x.at >= since && x.host === host);
        found = b?.at;
        return found !== undefined;
      }, timeoutMs, 50).catch((err: Error) => {
        throw new Error(`${err.message}\n${w.stop().story}\n${node1.pacemakerLog(4000)}`);
      });
      return found!;
    };
    const ports = { storage: { node1: switchLab.ports.node1, node2: switchLab.ports.node2 }, cluster: CLUSTER_PORTS };
    // A guest whose host's storage port is down cannot write: the witness does not count it as a writer (a fabric
    // fence leaves it running). Asked only while two instances run; the kernel's own port flag, at most 250 ms old.
    const cutOffAt = new Map<string, { at: number; cut: boolean }>();
    const cutOff = (host: string) => {
      const known = cutOffAt.get(host);
      if (known && Date.now() - known.at < 250) return known.cut;
      const port = host === 'node1' ? ports.storage.node1 : host === 'node2' ? ports.storage.node2 : undefined;
      const cut = port !== undefined && !switchLab.kernelAdminUp(port);
      cutOffAt.set(host, { at: Date.now(), cut });
      return cut;
    };
    const snmpEnv = { ...process.env, MIBS: '', MIBDIRS: '/nonexistent' };
    const snmpAtSwitch = (tool: 'snmpget' | 'snmpset', args: readonly string[]) =>
      switchLab.inManager([tool, '-On', '-t', '1', '-r', '2', '-v2c', '-c', switchLab.community.rw, switchLab.mgmtAddress, ...args], { env: snmpEnv, timeoutMs: 15_000 });
    const lab: KvmHaLab = {
      failover,
      switchLab,
      volume,
      devices,
      ports,
      node: (name) => cluster.node(name),
      witness: () => new Witness(cluster.nodes.map((n) => ({ name: n.name, holderPid: n.holderPid })), volume, DOMAIN, () => powerStory(cluster.nodes), cutOff),
      async useFabricFencing() {
        // snmpd learns of ports made after its start when it reloads its interface table.
        for (const p of Object.values(CLUSTER_PORTS)) {
          await waitFor(`the switch's snmpd answering for port ${p.ifIndex}`, async () => /INTEGER: [12]\b/.test((await snmpAtSwitch('snmpget', [`${IF_MIB.ifAdminStatus}.${p.ifIndex}`])).stdout), 60_000, 500);
        }
        const communityFile = join(scratch, 'switch.community');
        writeFileSync(communityFile, `${switchLab.community.rw}\n`, { mode: 0o600 });
        const device = ['  switch:', '    agent: fence_kit_switch', `    ip: ${switchLab.mgmtAddress}`, '    snmp_version: 2c', `    community: { file: ${communityFile} }`, '    unfence_after_reboot: 1', ''].join('\n');
        const plugs = `${ports.storage.node2.ifIndex},${ports.cluster.node2.ifIndex}`;
        const withDevice = failover.topology.replace(/^nodes:\n/m, `${device}nodes:\n`);
        const yaml = withDevice.replace(/^  node2:\n(?: {4}- .*\n)+/m, `  node2:\n    # node2's storage and cluster ports, both off before the fence succeeds\n    - ["switch:${plugs}"]\n`);
        if (withDevice === failover.topology || yaml === withDevice) throw new Error(`cannot make the fabric variant of:\n${failover.topology}`);
        const file = join(scratch, 'fabric-topology.yaml');
        writeFileSync(file, yaml);
        const argv = [FENCEKIT, '--topology', file, 'export', 'cib', '--with-secrets'];
        const exported = await must(argv, run(argv, { env: { ...process.env, FK_PDU_COMMUNITY: failover.pdus[0].communities.rw } }));
        const cibFile = join(scratch, 'fabric-fencing.xml');
        writeFileSync(cibFile, exported);
        // modify adds the switch and keeps the other devices; node2's old levels go with the replaced topology.
        // A device with provides=unfencing added while the cluster still starts resources can stall it (seen
        // with Pacemaker 2.1.5: docs/kvm-ha.md "The fabric variant"); as an admin would, add it to a settled one.
        const settle = ['crm_resource', '--wait', '--timeout', '300s'];
        await must(settle, node1.exec(settle, { timeoutMs: 320_000 }));
        const logOf = (n: string) => pacemakerLogFile(cluster.node(n));
        const logSizes = new Map(['node1', 'node2'].map((n) => [n, existsSync(logOf(n)) ? readFileSync(logOf(n)).length : 0]));
        const modify = ['cibadmin', '--modify', '--scope', 'configuration', '--xml-file', cibFile];
        await must(modify, node1.exec(modify));
        const levels = /<fencing-topology>[\s\S]*<\/fencing-topology>/.exec(exported)?.[0];
        if (!levels) throw new Error(`export wrote no fencing-topology:\n${exported}`);
        const replace = ['cibadmin', '--replace', '--scope', 'fencing-topology', '--xml-text', levels];
        await must(replace, node1.exec(replace));
        // Usually some seconds; the bound leaves room for a start that fails once and is recovered by the cluster,
        // and a failure prints the cluster's view (one CI run timed out at 60 s with no more said).
        const addedAt = Date.now();
        try {
          await waitFor('the switch registered on node1 and started', async () => {
            const mon = await node1.exec(['crm_mon', '-1', '--output-as', 'xml']);
            if (!/<resource id="switch"[^>]* role="Started"[^>]* failed="false"/.test(mon.stdout)) return false;
            return (await node1.exec(['stonith_admin', '--list-registered'])).stdout.split('\n').some((l) => l.trim() === 'switch');
          }, 120_000, 500);
          const failed = /Failed Resource Actions:[\s\S]*/.exec((await node1.exec(['crm_mon', '-1', '-f'])).stdout)?.[0];
          console.log(`fabric: the switch started and registered on node1 ${((Date.now() - addedAt) / 1000).toFixed(1)} s after it was added${failed ? `, after failures:\n${failed}` : ''}`);
        } catch (err) {
          // What the cluster made of it: the resource's state, failed actions, the fencer's devices and history.
          const show = async (argv: string[]) => `$ ${argv.join(' ')}\n${(await node1.exec(argv)).stdout}`;
          const state = [
            await show(['crm_mon', '-1', '-r', '-f']),
            await show(['stonith_admin', '--list-registered']),
            await show(['stonith_admin', '--history', '*', '--verbose']),
            await show(['crm_simulate', '-Ls']),
            ...['node1', 'node2'].map((n) => {
              const lines = existsSync(logOf(n)) ? readFileSync(logOf(n)).subarray(logSizes.get(n)).toString().split('\n') : [];
              const telling = lines.filter((l) => /unfenc|schedulerd|fenced|transition|error|warning/i.test(l)).slice(-80);
              return `${n}'s pacemaker.log since the switch was added (scheduler, fencer, transitions):\n${telling.join('\n')}`;
            }),
          ];
          throw new Error(`${(err as Error).message}\n${state.join('\n')}`);
        }
        return file;
      },
      async setPortByHand(port, up) {
        const r = await snmpAtSwitch('snmpset', [`${IF_MIB.ifAdminStatus}.${port.ifIndex}`, 'i', up ? '1' : '2']);
        if (r.code !== 0) throw new Error(`snmpset of port ${port.ifIndex}: ${r.stderr}`);
        // Done when the switch itself shows the link in that state: net-snmp notices (and dates, ifLastChange)
        // a link change only at its next interface-table reload, up to 3 s later (docs/switch-port.md).
        const want = new RegExp(`INTEGER: ${up ? 1 : 2}\\b`);
        await waitFor(`the switch showing port ${port.ifIndex}'s link ${up ? 'up' : 'down'}`, async () => want.test((await snmpAtSwitch('snmpget', [`${IF_MIB.ifOperStatus}.${port.ifIndex}`])).stdout), 15_000, 250);
      },
      guestHost,
      waitNewBoot,
      async placeGuest(w, host, timeoutMs = 180_000) {
        const since = Date.now();
        const current = await guestHost();
        if (current === host && w.bootsSeen().some((b) => b.host === host) && w.running().size === 1) return;
        if (current === undefined || current === host) {
          // Starting (the first placement): whatever boot writes from `host` first.
          await waitNewBoot(w, host, 0, timeoutMs);
          return;
        }
        const move = ['crm_resource', '--move', '--resource', 'guest', '--node', host];
        await must(move, node1.exec(move));
        try {
          await waitNewBoot(w, host, since, timeoutMs);
        } finally {
          await node1.exec(['crm_resource', '--clear', '--resource', 'guest']);
        }
      },
      node1Log: (from = 0) => {
        const f = pacemakerLogFile(node1);
        return existsSync(f) ? readFileSync(f, 'utf8').slice(from) : '';
      },
      stop,
    };
    return lab;
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Each host's power changes (node-power.sh's log), for the witness's story. */
function powerStory(nodes: readonly ClusterNode[]): string {
  return ['power:', ...nodes.flatMap((n) => n.events().split('\n').filter(Boolean).slice(-20).map((l) => {
    const [t, ...rest] = l.split(' ');
    return `  ${new Date(Number(t) * 1000).toISOString().slice(11, 23)} ${n.name} ${rest.join(' ')}`;
  }))].join('\n');
}

/** A pacemaker.log line's time (epoch ms), taking today's date: the log writes only the time of day, in UTC here. */
export function logLineTime(line: string, now = new Date()): number | undefined {
  const m = /^\w{3} \d{1,2} (\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?/.exec(line);
  if (!m) return undefined;
  const day = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  let t = day + ((Number(m[1]) * 60 + Number(m[2])) * 60 + Number(m[3])) * 1000 + (m[4] ? Math.round(Number(`0.${m[4]}`) * 1000) : 0);
  if (t > now.getTime() + 3_600_000) t -= 86_400_000; // written before midnight
  return t;
}

/** The split of one failover: failure → first fence request (detection), each level, fence done → guest writing. */
export interface FailoverSplit {
  readonly totalS: number;
  readonly detectionS: number | undefined;
  readonly level1S: number | undefined;
  readonly level2S: number | undefined;
  readonly guestStartS: number | undefined;
  readonly steps: readonly FenceStep[];
}

/** `level1` says which devices are level 1 (the BMC in the lab's topology; the switch in its fabric variant). */
export function splitFromLog(log: string, target: string, failedAt: number, writingAt: number, level1: RegExp = /-bmc$/): FailoverSplit {
  const steps = fenceSteps(log, target);
  const lines = log.split('\n');
  const firstRequest = lines.find((l) => new RegExp(`Requesting that \\S+ perform '\\w+' action targeting ${target} using`).test(l));
  const lastResult = [...lines].reverse().find((l) => l.includes('(log_async_result)') && l.includes(`targeting ${target} using`));
  const reqAt = firstRequest ? logLineTime(firstRequest) : undefined;
  const doneAt = lastResult ? logLineTime(lastResult) : undefined;
  const sum = (xs: readonly FenceStep[]) => (xs.length === 0 ? undefined : xs.reduce((a, s) => a + (s.ms ?? 0), 0) / 1000);
  return {
    totalS: (writingAt - failedAt) / 1000,
    detectionS: reqAt !== undefined ? (reqAt - failedAt) / 1000 : undefined,
    level1S: sum(steps.filter((s) => level1.test(s.device))),
    level2S: sum(steps.filter((s) => !level1.test(s.device))),
    guestStartS: doneAt !== undefined ? (writingAt - doneAt) / 1000 : undefined,
    steps,
  };
}

