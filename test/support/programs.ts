// Every external program that fencekit's agents, its lab, its tests and its benchmarks run, with the Debian
// package that ships it. One table serves two purposes:
//  - a test that lacks a program says which one and how to get it (`missingPrograms`), in one line, instead of
//    a bare spawn error ("exit null, empty stderr");
//  - the conformance guard (test/conformance/debian-packages.test.ts) checks that each program here comes
//    from a package in .ci/debian-packages (or one every Debian system has), that the list holds nothing
//    unused, and that the sources spawn nothing that is missing from this table.
// A green CI on a developer's machine once hid two missing install steps (pcs, /run/sanlock): the package
// list must be complete on its own.
import { existsSync, readFileSync } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';

export interface Program {
  /** The Debian package that ships it. */
  readonly package: string;
  /** Who runs it. */
  readonly usedBy: string;
}

export const PROGRAMS: Readonly<Record<string, Program>> = {
  // The agents, at run time.
  ipmitool: { package: 'ipmitool', usedBy: 'fence_kit_ipmi transport=ipmitool; IPMI cross-checks' },
  sg_persist: { package: 'sg3-utils', usedBy: 'fence_kit_scsi' },
  sg_turs: { package: 'sg3-utils', usedBy: 'fence_kit_scsi' },
  sanlock: { package: 'sanlock', usedBy: 'fence_kit_sanlock; the sanlock peers' },
  'corosync-cmapctl': { package: 'corosync', usedBy: 'fence_kit_scsi (node ids, as fence_scsi)' },
  // Peers the tests and the lab start.
  ipmi_sim: { package: 'openipmi', usedBy: 'IPMI tests (the independent BMC), the fault matrix, package and pacemaker tiers' },
  ipmipower: { package: 'freeipmi-tools', usedBy: 'FreeIPMI as an independent client of the BMC simulator' },
  'ipmi-chassis': { package: 'freeipmi-tools', usedBy: 'FreeIPMI as an independent client of the BMC simulator' },
  snmpd: { package: 'snmpd', usedBy: 'the lab PDUs; APC and switch tests' },
  python3: { package: 'python3-minimal', usedBy: "the PowerNet emulator behind snmpd; fence_scsi's key derivation" },
  snmpget: { package: 'snmp', usedBy: 'SNMP cross-checks; the namespace switch' },
  snmpset: { package: 'snmp', usedBy: 'SNMP cross-checks; the namespace switch' },
  snmpwalk: { package: 'snmp', usedBy: 'SNMP cross-checks' },
  wdmd: { package: 'sanlock', usedBy: 'the sanlock guest pair' },
  gcc: { package: 'gcc', usedBy: 'the sanlock peers (a small rlimit shim, built with libc6-dev headers)' },
  // Peers from fence-agents, run beside ours.
  fence_ipmilan: { package: 'fence-agents', usedBy: 'peer comparisons' },
  fence_apc: { package: 'fence-agents', usedBy: 'peer comparisons' },
  fence_apc_snmp: { package: 'fence-agents', usedBy: 'peer comparisons' },
  fence_ifmib: { package: 'fence-agents', usedBy: 'peer comparisons' },
  fence_scsi: { package: 'fence-agents', usedBy: 'peer comparisons; key derivation' },
  fence_sbd: { package: 'fence-agents', usedBy: 'bench/metadata (stands in for fence_sanlock)' },
  // Pacemaker as a client, and the two-node cluster.
  pcs: { package: 'pcs', usedBy: 'pacemaker tier: pcs stonith describe' },
  'pacemaker-fenced': { package: 'pacemaker', usedBy: 'pacemaker tier: the stand-alone fencer' },
  pacemakerd: { package: 'pacemaker', usedBy: 'pacemaker tier: the cluster' },
  corosync: { package: 'corosync', usedBy: 'pacemaker tier: the cluster' },
  stonith_admin: { package: 'pacemaker-cli-utils', usedBy: 'pacemaker tier' },
  crm_resource: { package: 'pacemaker-cli-utils', usedBy: 'pacemaker tier' },
  crm_mon: { package: 'pacemaker-cli-utils', usedBy: 'pacemaker tier' },
  crm_simulate: { package: 'pacemaker-cli-utils', usedBy: 'scenario tier (a stalled cluster explained)' },
  crm_attribute: { package: 'pacemaker-cli-utils', usedBy: 'pacemaker tier' },
  cibadmin: { package: 'pacemaker-cli-utils', usedBy: 'pacemaker tier' },
  // Networks, faults and namespaces.
  ip: { package: 'iproute2', usedBy: 'namespaces: the switch, the cluster' },
  bridge: { package: 'iproute2', usedBy: 'the namespace switch' },
  ping: { package: 'iputils-ping', usedBy: 'the namespace switch: a fence is proven by traffic' },
  nft: { package: 'nftables', usedBy: 'fault injection (loss, blackholes)' },
  strace: { package: 'strace', usedBy: 'the secrets audit: every execve of an agent\'s process tree' },
  xmllint: { package: 'libxml2-utils', usedBy: 'metadata against metadata.rng' },
  'ssh-keygen': { package: 'openssh-client', usedBy: 'SSH host keys for the APC CLI peer' },
  ssh: { package: 'openssh-client', usedBy: 'OpenSSH as an independent client of the APC CLI peer' },
  // qemu guests (LIO iSCSI, softdog + wdmd + sanlock).
  'qemu-system-x86_64': { package: 'qemu-system-x86', usedBy: 'guest tier' },
  busybox: { package: 'busybox-static', usedBy: "guest tier: the guests' initramfs" },
  depmod: { package: 'kmod', usedBy: 'guest tier' },
  modprobe: { package: 'kmod', usedBy: 'guest tier' },
  xz: { package: 'xz-utils', usedBy: "guest tier: Debian's kernel image is xz-compressed" },
  zstd: { package: 'zstd', usedBy: 'guest tier: a zstd-compressed kernel image' },
  dmsetup: { package: 'dmsetup', usedBy: 'guest tier: multipath over two iSCSI sessions' },
  iscsiadm: { package: 'open-iscsi', usedBy: 'guest tier' },
  iscsid: { package: 'open-iscsi', usedBy: 'guest tier' },
  udevadm: { package: 'udev', usedBy: 'guest tier: settle after an iSCSI login' },
  // The KVM HA pair (scenario tier): libvirt and VirtualDomain in the cluster nodes, a SAN over NBD.
  'qemu-nbd': { package: 'qemu-utils', usedBy: "scenario tier: the SAN serving the guest's volume over NBD" },
  'qemu-img': { package: 'qemu-utils', usedBy: "scenario tier: each host reaches the SAN's volume through the switch" },
  libvirtd: { package: 'libvirt-daemon', usedBy: 'scenario tier: libvirt on each cluster node (ocf:heartbeat:anything)' },
  virsh: { package: 'libvirt-clients', usedBy: 'scenario tier: ocf:heartbeat:VirtualDomain, and the libvirtd readiness hook' },
  fence_dummy: { package: 'fence-agents', usedBy: "scenario tier: the negative control's broken fence device" },
  // The packages (npm run package) and the package tier.
  git: { package: 'git', usedBy: 'npm run package: the last commit\'s time stamps the packages\' files' },
  rpmbuild: { package: 'rpm', usedBy: 'npm run package: the RPM' },
  rpm: { package: 'rpm', usedBy: 'package tier: the RPM\'s file set and dependencies' },
  lintian: { package: 'lintian', usedBy: 'package tier: Debian\'s package checker on the .deb' },
  rpmlint: { package: 'rpmlint', usedBy: 'package tier: the RPM checker' },
  man: { package: 'man-db', usedBy: 'package tier: the installed manual pages render' },
  // Benchmarks.
  time: { package: 'time', usedBy: 'benchmarks: CPU time and peak memory of a process tree' },
};

/**
 * Packages in .ci/debian-packages that ship no program of the table: what they are for. The guard refuses any
 * other package that nothing uses.
 */
export const SUPPORT_PACKAGES: Readonly<Record<string, string>> = {
  python3: 'the standard library for python3-minimal\'s interpreter (the PowerNet emulator imports socket, json, …)',
  'python3-pyghmi': "pyghmi's BMC server (the basis of virtualbmc): the second BMC implementation of the IPMI tests",
  'libc6-dev': 'headers and crt files for gcc (the sanlock peers\' rlimit shim)',
  'libvirt-daemon-driver-qemu': "libvirtd's qemu driver (the scenario tier's guests)",
  'libvirt-daemon-system': "the libvirt-qemu user libvirtd's qemu driver resolves at start, even when qemu.conf runs qemu as root",
  'resource-agents': 'ocf:heartbeat:VirtualDomain and ocf:heartbeat:anything, which Pacemaker runs in the scenario tier',
  'util-linux': 'unshare, nsenter, flock, setsid, mount (Essential on Debian, listed because the tests depend on it)',
};

/**
 * Words the source scan finds in a program's position that are not programs run here: subcommands, actions,
 * style names. Each says why.
 */
export const NOT_PROGRAMS: Readonly<Record<string, string>> = {
  reboot: 'a fence action, not /sbin/reboot',
  reset: 'an IPMI chassis control, not /usr/bin/reset',
  install: 'the fencekit install subcommand',
  red: 'a terminal colour',
  route: 'an `ip` subcommand',
  link: 'an `ip` subcommand',
  init: 'a sanlock / emulator subcommand',
  node: 'the Node.js runtime that runs everything (not a Debian package of the list)',
  npm: "Node.js's package manager, part of the development Node (npm ci; npm run runtimes fetches official Node builds with it)",
  awk: "a shell script's awk: Debian's awk alternative comes from mawk (Priority: required)",
};

/** Where a program is: an absolute name as is, else the first match on PATH plus the sbin directories. */
export function programPath(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (isAbsolute(name)) return existsSync(name) ? name : undefined;
  const dirs = [...(env.PATH ?? '').split(delimiter), '/usr/local/sbin', '/usr/sbin', '/sbin', '/usr/lib/pacemaker'];
  for (const d of dirs) if (d && existsSync(join(d, name))) return join(d, name);
  return undefined;
}

/** One line for each missing program: what is missing and the package that brings it. */
export function missingPrograms(names: readonly string[]): string[] {
  return names.flatMap((n) => {
    const base = n.split('/').pop()!;
    if (programPath(n)) return [];
    const pkg = PROGRAMS[base]?.package;
    return [`${n} is missing: install the Debian package ${pkg ?? '(not in test/support/programs.ts)'} (apt-get install ${pkg ?? '?'}, or scripts/setup)`];
  });
}

/** Throws one line per missing program; call before spawning a peer. */
export function requirePrograms(names: readonly string[]): void {
  const missing = missingPrograms(names);
  if (missing.length > 0) throw new Error(missing.join('\n'));
}

/** The package list that scripts/setup and .ci/run install. */
export function listedPackages(root: string): string[] {
  return readFileSync(join(root, '.ci/debian-packages'), 'utf8')
    .split('\n')
    .map((l) => l.replace(/#.*/, '').trim())
    .filter(Boolean);
}
