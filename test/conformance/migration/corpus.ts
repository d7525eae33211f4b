// The migration corpus (issue 14): configurations people run with fence-agents today, one row each, with
// where it comes from, the peer agent it was written for and the fencekit agent that replaces it. The
// suite runs each through both (conformance: validate-all; integration: status and off on the lab's
// simulators for the rows with a `device`; pacemaker: pcs stonith create).
//
// expect:
//   'same'                          validate-all gives both the same exit code
//   { differs: 'README-KEY' }       a difference on purpose: README.md's table "Differences from
//                                   fence-agents, on purpose" has a row naming this row's id
//   { pending: 'issue 14 item N' }  differs until that item lands; the test asserts it still differs, so
//                                   the day it is fixed the test says to update this row
// pcs: the same for `pcs stonith create --agent-validation` where it differs from validate-all alone.
// Pacemaker's validation hands the agent port=node1 (a dummy target) besides the configured options, so a
// fixed plug without pcmk_host_argument=plug is a plug given twice (README: refused on purpose).

export type Expectation = 'same' | { readonly differs: string } | { readonly pending: `issue 14 item ${number}` };

/** A simulator of the lab a row can run against: its address and credentials replace the row's. */
export type LabDevice = 'ipmi_sim' | 'snmpd-powernet';

export interface MigrationRow {
  readonly id: string;
  /** Where the configuration comes from: a man page, a documentation URL, a typical pcs command. */
  readonly source: string;
  /** The fence-agents agent (in /usr/sbin) and the fencekit agent (in bin/) that replaces it. */
  readonly peer: string;
  readonly ours: string;
  /** Options as Pacemaker sends them (stdin, key=value), or a command line (argv, as a script runs it). */
  readonly stdin?: Readonly<Record<string, string>>;
  readonly argv?: readonly string[];
  readonly expect: Expectation;
  /** For `pcs stonith create`, where it differs from `expect` (pcs also refuses options the metadata lacks). */
  readonly pcs?: Expectation;
  /**
   * Pacemaker's own parameters of the pcs command (pcmk_host_list, pcmk_host_argument, ...): given to pcs
   * only, since Pacemaker keeps them from the agent.
   */
  readonly pcmk?: Readonly<Record<string, string>>;
  readonly device?: LabDevice;
}

const CFS = 'https://clusterlabs.org/pacemaker/doc/2.1/Clusters_from_Scratch/html/fencing.html';
const RHEL = 'https://docs.redhat.com/en/documentation/red_hat_enterprise_linux/9/html/configuring_and_managing_high_availability_clusters/assembly_configuring-fencing-configuring-and-managing-high-availability-clusters';
const man = (agent: string) => `${agent}(8), Debian fence-agents 4.12 (man -l /usr/share/man/man8/${agent}.8.gz)`;
const pcs = (command: string) => `typical pcs command: ${command}`;

const BMC = { ip: '192.0.2.10', username: 'admin', password: 'secret' } as const;
const PDU = { ip: '192.0.2.20' } as const;
const SWITCH = { ip: '192.0.2.30' } as const;

export const CORPUS: readonly MigrationRow[] = [
  // fence_ipmilan and its names
  { id: 'ipmi-cfs', source: `${CFS}: pcs stonith create ipmi-fencing fence_ipmilan pcmk_host_list="pcmk-1 pcmk-2" ipaddr=10.0.0.1 login=testuser passwd=acd123`,
    peer: 'fence_ipmilan', ours: 'fence_kit_ipmi', stdin: { ipaddr: '192.0.2.10', login: 'testuser', passwd: 'acd123' }, expect: 'same', pcmk: { pcmk_host_list: 'pcmk-1 pcmk-2' } },
  { id: 'ipmi-lanplus', source: `${RHEL}: fence_ipmilan with ip, username, password, lanplus=1`,
    peer: 'fence_ipmilan', ours: 'fence_kit_ipmi', stdin: { ...BMC, lanplus: '1' }, expect: 'same', device: 'ipmi_sim' },
  { id: 'ipmi-cycle', source: man('fence_ipmilan') + ': method (onoff|cycle)',
    peer: 'fence_ipmilan', ours: 'fence_kit_ipmi', stdin: { ...BMC, lanplus: '1', method: 'cycle' }, expect: 'same' },
  { id: 'ipmi-operator', source: man('fence_ipmilan') + ': privlvl',
    peer: 'fence_ipmilan', ours: 'fence_kit_ipmi', stdin: { ...BMC, lanplus: '1', privlvl: 'operator' }, expect: 'same' },
  { id: 'ipmi-cipher3', source: man('fence_ipmilan') + ': cipher (same as ipmitool -C)',
    peer: 'fence_ipmilan', ours: 'fence_kit_ipmi', stdin: { ...BMC, lanplus: '1', cipher: '3' }, expect: 'same', device: 'ipmi_sim' },
  { id: 'ipmi-cipher0', source: man('fence_ipmilan') + ': cipher 0 (ipmitool accepts it)',
    peer: 'fence_ipmilan', ours: 'fence_kit_ipmi', stdin: { ...BMC, lanplus: '1', cipher: '0' }, expect: { differs: 'ipmi-cipher0' } },
  { id: 'ipmi-auth-md5', source: man('fence_ipmilan') + ': auth (IPMI 1.5)',
    peer: 'fence_ipmilan', ours: 'fence_kit_ipmi', stdin: { ...BMC, auth: 'md5' }, expect: 'same' },
  { id: 'ipmi-auth-none', source: man('fence_ipmilan') + ': auth none',
    peer: 'fence_ipmilan', ours: 'fence_kit_ipmi', stdin: { ...BMC, auth: 'none' }, expect: { differs: 'ipmi-auth-none' } },
  { id: 'ipmi-kg', source: man('fence_ipmilan') + ': hexadecimal_kg',
    peer: 'fence_ipmilan', ours: 'fence_kit_ipmi', stdin: { ...BMC, lanplus: '1', hexadecimal_kg: '0x0102030405060708' }, expect: 'same' },
  { id: 'ipmi-port-as-ip', source: pcs('pcs stonith create bmcs fence_ipmilan port_as_ip=1 username=admin password=... lanplus=1 pcmk_host_map="node1:192.0.2.11"'),
    peer: 'fence_ipmilan', ours: 'fence_kit_ipmi', stdin: { port_as_ip: '1', port: '192.0.2.11', username: 'admin', password: 'secret', lanplus: '1' }, expect: 'same' },
  { id: 'ipmi-timeouts', source: pcs('pcs stonith create bmc fence_ipmilan ip=... lanplus=1 power_wait=4 power_timeout=60 delay=5'),
    peer: 'fence_ipmilan', ours: 'fence_kit_ipmi', stdin: { ...BMC, lanplus: '1', power_wait: '4', power_timeout: '60', delay: '5' }, expect: 'same' },
  { id: 'ipmi-password-script', source: man('fence_ipmilan') + ': password_script',
    peer: 'fence_ipmilan', ours: 'fence_kit_ipmi', stdin: { ip: BMC.ip, username: 'admin', password_script: '/bin/echo secret', lanplus: '1' }, expect: 'same' },
  { id: 'ipmi-pacemaker-port', source: 'Pacemaker 2.1 (pacemaker-fenced): adds port=<victim> and nodename=<local node> to a fixed configuration',
    peer: 'fence_ipmilan', ours: 'fence_kit_ipmi', stdin: { ...BMC, lanplus: '1', port: 'node1', nodename: 'node2' }, expect: 'same' },
  { id: 'ipmi-ipmitool-sudo', source: man('fence_ipmilan') + ': ipmitool_path, sudo (deprecated name of use_sudo), sudo_path',
    peer: 'fence_ipmilan', ours: 'fence_kit_ipmi', stdin: { ...BMC, lanplus: '1', ipmitool_path: '/usr/bin/ipmitool', sudo: '1', sudo_path: '/usr/bin/sudo' }, expect: 'same' },
  { id: 'ipmi-target', source: man('fence_ipmilan') + ': target (IPMI bridging, ipmitool -t)',
    peer: 'fence_ipmilan', ours: 'fence_kit_ipmi', stdin: { ...BMC, lanplus: '1', target: '0x82' }, expect: { differs: 'ipmi-target' } },
  { id: 'ipmi-lanplus-malformed', source: 'a typo kept in a CIB for years: lanplus=2 (fence_ipmilan warns and uses the default)',
    peer: 'fence_ipmilan', ours: 'fence_kit_ipmi', stdin: { ...BMC, lanplus: '2' }, expect: { differs: 'ipmi-lanplus-malformed' } },
  { id: 'ipmi-plug-separator-stdin', source: man('fence_ipmilan') + ': plug_separator',
    peer: 'fence_ipmilan', ours: 'fence_kit_ipmi', stdin: { ...BMC, lanplus: '1', plug_separator: ':' }, expect: 'same' },
  { id: 'ipmi-argv', source: man('fence_ipmilan') + ': -a -l -p -P -o',
    peer: 'fence_ipmilan', ours: 'fence_kit_ipmi', argv: ['-a', BMC.ip, '-l', 'admin', '-p', 'secret', '-P', '-o', 'validate-all'], expect: 'same' },
  { id: 'ipmi-argv-long', source: man('fence_ipmilan') + ': --ip --username --password --lanplus --cipher --privlvl',
    peer: 'fence_ipmilan', ours: 'fence_kit_ipmi', argv: ['--ip=192.0.2.10', '--username=admin', '--password=secret', '--lanplus', '--cipher=17', '--privlvl=operator', '--action=validate-all'], expect: 'same' },
  { id: 'ipmi-argv-plug-separator', source: man('fence_ipmilan') + ': --plug-separator',
    peer: 'fence_ipmilan', ours: 'fence_kit_ipmi', argv: ['-a', BMC.ip, '-l', 'admin', '-p', 'secret', '--plug-separator=:', '-o', 'validate-all'], expect: 'same' },
  { id: 'ilo3', source: pcs('pcs stonith create ilo fence_ilo3 ip=... username=... password=...'),
    peer: 'fence_ilo3', ours: 'fence_kit_ilo3', stdin: { ...BMC }, expect: 'same', device: 'ipmi_sim' },
  { id: 'ilo4', source: pcs('pcs stonith create ilo fence_ilo4 ip=... username=... password=...'),
    peer: 'fence_ilo4', ours: 'fence_kit_ilo4', stdin: { ...BMC }, expect: 'same' },
  { id: 'ilo5', source: pcs('pcs stonith create ilo fence_ilo5 ip=... username=... password=...'),
    peer: 'fence_ilo5', ours: 'fence_kit_ilo5', stdin: { ...BMC }, expect: 'same' },
  { id: 'idrac', source: pcs('pcs stonith create idrac fence_idrac ip=... username=root password=... lanplus=1'),
    peer: 'fence_idrac', ours: 'fence_kit_idrac', stdin: { ...BMC, username: 'root', lanplus: '1' }, expect: 'same' },
  { id: 'imm', source: pcs('pcs stonith create imm fence_imm ip=... username=USERID password=... lanplus=1'),
    peer: 'fence_imm', ours: 'fence_kit_imm', stdin: { ...BMC, username: 'USERID', lanplus: '1' }, expect: 'same' },
  { id: 'ipmilanplus', source: pcs('pcs stonith create bmc fence_ipmilanplus ip=... username=... password=...'),
    peer: 'fence_ipmilanplus', ours: 'fence_kit_ipmilanplus', stdin: { ...BMC }, expect: 'same', device: 'ipmi_sim' },

  // fence_apc_snmp (and its Tripp Lite name): fence_kit_apc_snmp
  { id: 'apc-snmp-rhel', source: `${RHEL}: pcs stonith create myapc fence_apc_snmp ipaddr="zapc.example.com" pcmk_host_map="z1.example.com:1;z2.example.com:2" login="apc" passwd="apc"`,
    peer: 'fence_apc_snmp', ours: 'fence_kit_apc_snmp', stdin: { ipaddr: PDU.ip, login: 'apc', passwd: 'apc', port: '1' }, expect: { differs: 'apc-snmp-rhel' }, pcmk: { pcmk_host_map: 'z1.example.com:1;z2.example.com:2' } },
  { id: 'apc-snmp-v1', source: man('fence_apc_snmp') + ': community (default private), SNMP v1',
    peer: 'fence_apc_snmp', ours: 'fence_kit_apc_snmp', stdin: { ...PDU, community: 'private', plug: '1' }, expect: 'same', device: 'snmpd-powernet', pcs: { differs: 'pcs-fixed-plug' } },
  { id: 'apc-snmp-v2c', source: man('fence_apc_snmp') + ': snmp_version 2c',
    peer: 'fence_apc_snmp', ours: 'fence_kit_apc_snmp', stdin: { ...PDU, snmp_version: '2c', community: 'public', plug: '3' }, expect: 'same', device: 'snmpd-powernet', pcs: { differs: 'pcs-fixed-plug' } },
  { id: 'apc-snmp-v3-authpriv', source: man('fence_apc_snmp') + ': SNMPv3 authPriv, SHA and AES',
    peer: 'fence_apc_snmp', ours: 'fence_kit_apc_snmp',
    stdin: { ...PDU, snmp_version: '3', username: 'fence', password: 'authpass1', snmp_sec_level: 'authPriv', snmp_auth_prot: 'SHA', snmp_priv_prot: 'AES', snmp_priv_passwd: 'privpass1', plug: '1' }, expect: 'same', device: 'snmpd-powernet', pcs: { differs: 'pcs-fixed-plug' } },
  { id: 'apc-snmp-v3-authnopriv', source: man('fence_apc_snmp') + ': SNMPv3 authNoPriv, MD5',
    peer: 'fence_apc_snmp', ours: 'fence_kit_apc_snmp', stdin: { ...PDU, snmp_version: '3', username: 'fence', password: 'authpass1', snmp_sec_level: 'authNoPriv', snmp_auth_prot: 'MD5', plug: '1' }, expect: 'same', pcs: { differs: 'pcs-fixed-plug' } },
  { id: 'apc-snmp-switch-outlet', source: man('fence_apc_snmp') + ': plug as switch:outlet (MasterSwitch Plus)',
    peer: 'fence_apc_snmp', ours: 'fence_kit_apc_snmp', stdin: { ...PDU, community: 'private', plug: '2:5' }, expect: 'same', pcs: { differs: 'pcs-fixed-plug' } },
  { id: 'apc-snmp-plug-name', source: man('fence_apc_snmp') + ': plug by outlet name',
    peer: 'fence_apc_snmp', ours: 'fence_kit_apc_snmp', stdin: { ...PDU, community: 'private', plug: 'web1' }, expect: 'same', pcs: { differs: 'pcs-fixed-plug' } },
  { id: 'apc-snmp-no-plug', source: pcs('pcs stonith create pdu fence_apc_snmp ip=... community=... pcmk_host_map="node1:1;node2:2" (no plug: Pacemaker passes it at fence time)'),
    peer: 'fence_apc_snmp', ours: 'fence_kit_apc_snmp', stdin: { ...PDU, community: 'private' }, expect: { differs: 'apc-snmp-no-plug' }, pcs: 'same', pcmk: { pcmk_host_map: 'node1:1;node2:2' } },
  { id: 'apc-snmp-host-argument', source: pcs('pcs stonith create pdu fence_apc_snmp ip=... community=... plug=1 pcmk_host_list=node1 pcmk_host_argument=plug (a fixed outlet, as README advises)'),
    peer: 'fence_apc_snmp', ours: 'fence_kit_apc_snmp', stdin: { ...PDU, community: 'private', plug: '1' }, expect: 'same', pcmk: { pcmk_host_argument: 'plug', pcmk_host_list: 'node1' } },
  { id: 'apc-snmp-tool-paths-stdin', source: man('fence_apc_snmp') + ': snmpget_path, snmpset_path, snmpwalk_path',
    peer: 'fence_apc_snmp', ours: 'fence_kit_apc_snmp', stdin: { ...PDU, community: 'private', plug: '1', snmpget_path: '/usr/bin/snmpget', snmpset_path: '/usr/bin/snmpset', snmpwalk_path: '/usr/bin/snmpwalk' }, expect: 'same', pcmk: { pcmk_host_argument: 'plug', pcmk_host_list: 'node1' } },
  { id: 'apc-snmp-argv-snmpget-path', source: man('fence_apc_snmp') + ': --snmpget-path',
    peer: 'fence_apc_snmp', ours: 'fence_kit_apc_snmp', argv: ['-a', PDU.ip, '-c', 'private', '-n', '1', '--snmpget-path=/usr/bin/snmpget', '-o', 'validate-all'], expect: 'same' },
  { id: 'apc-snmp-sha256', source: 'fencekit addition: snmp_auth_prot=SHA256 (fence_apc_snmp offers MD5 and SHA only)',
    peer: 'fence_apc_snmp', ours: 'fence_kit_apc_snmp', stdin: { ...PDU, snmp_version: '3', username: 'fence', password: 'authpass1', snmp_auth_prot: 'SHA256', plug: '1' }, expect: { differs: 'apc-snmp-sha256' }, pcmk: { pcmk_host_argument: 'plug', pcmk_host_list: 'node1' } },
  { id: 'apc-snmp-v3-community-only', source: 'a v1 configuration moved to snmp_version=3 without a user',
    peer: 'fence_apc_snmp', ours: 'fence_kit_apc_snmp', stdin: { ...PDU, snmp_version: '3', community: 'private', plug: '1' }, expect: { differs: 'apc-snmp-v3-community-only' } },
  { id: 'apc-snmp-argv', source: man('fence_apc_snmp') + ': -a -c -d -n -o',
    peer: 'fence_apc_snmp', ours: 'fence_kit_apc_snmp', argv: ['-a', PDU.ip, '-c', 'private', '-d', '2c', '-n', '3', '-o', 'validate-all'], expect: 'same' },
  { id: 'tripplite-snmp', source: man('fence_apc_snmp') + ': fence_tripplite_snmp (symlink), community and plug',
    peer: 'fence_tripplite_snmp', ours: 'fence_kit_apc_snmp', stdin: { ...PDU, community: 'private', plug: '1' }, expect: 'same', pcs: { differs: 'pcs-fixed-plug' } },

  // fence_apc (command line over telnet or SSH): fence_kit_apc (SSH only)
  { id: 'apc-ssh', source: man('fence_apc') + ': ssh, username, password, plug',
    peer: 'fence_apc', ours: 'fence_kit_apc', stdin: { ...PDU, ssh: '1', username: 'apc', password: 'apc', plug: '1' }, expect: 'same', pcs: { differs: 'pcs-fixed-plug' } },
  { id: 'apc-secure', source: man('fence_apc') + ': secure (deprecated name of ssh), login, passwd, port',
    peer: 'fence_apc', ours: 'fence_kit_apc', stdin: { ipaddr: PDU.ip, secure: '1', login: 'apc', passwd: 'apc', port: '1' }, expect: 'same' },
  { id: 'apc-ssh-cmd-prompt', source: man('fence_apc') + ': cmd_prompt (deprecated name of command_prompt)',
    peer: 'fence_apc', ours: 'fence_kit_apc', stdin: { ...PDU, ssh: '1', username: 'apc', password: 'apc', plug: '1', cmd_prompt: '>' }, expect: 'same', pcs: { differs: 'pcs-fixed-plug' } },
  { id: 'apc-telnet', source: pcs('pcs stonith create apc fence_apc ip=... username=apc password=apc (telnet, fence_apc\'s default)'),
    peer: 'fence_apc', ours: 'fence_kit_apc', stdin: { ...PDU, username: 'apc', password: 'apc', plug: '1' }, expect: { differs: 'apc-telnet' } },
  { id: 'apc-ssh-no-host-key-check', source: 'a common fence_apc tweak: ssh_options="-o StrictHostKeyChecking=no"',
    peer: 'fence_apc', ours: 'fence_kit_apc', stdin: { ...PDU, ssh: '1', username: 'apc', password: 'apc', plug: '1', ssh_options: '-o StrictHostKeyChecking=no' }, expect: { differs: 'apc-ssh-no-host-key-check' } },
  { id: 'apc-argv-ssh-path', source: man('fence_apc') + ': --ssh-path',
    peer: 'fence_apc', ours: 'fence_kit_apc', argv: ['-a', PDU.ip, '-x', '-l', 'apc', '-p', 'apc', '-n', '1', '--ssh-path=/usr/bin/ssh', '-o', 'validate-all'], expect: 'same' },
  { id: 'apc-ssh-tool-paths-stdin', source: man('fence_apc') + ': ssh_path, telnet_path',
    peer: 'fence_apc', ours: 'fence_kit_apc', stdin: { ...PDU, ssh: '1', username: 'apc', password: 'apc', plug: '1', ssh_path: '/usr/bin/ssh', telnet_path: '/usr/bin/telnet' }, expect: 'same', pcmk: { pcmk_host_argument: 'plug', pcmk_host_list: 'node1' } },
  { id: 'apc-argv-command-prompt', source: man('fence_apc') + ': -x -c (command prompt)',
    peer: 'fence_apc', ours: 'fence_kit_apc', argv: ['-a', PDU.ip, '-x', '-l', 'apc', '-p', 'apc', '-n', '1', '-c', 'apc>', '-o', 'validate-all'], expect: 'same' },

  // fence_ifmib
  { id: 'ifmib-name', source: man('fence_ifmib') + ': plug as an interface name',
    peer: 'fence_ifmib', ours: 'fence_kit_switch', stdin: { ...SWITCH, community: 'private', plug: 'Gi1/0/1' }, expect: 'same', pcs: { differs: 'pcs-fixed-plug' } },
  { id: 'ifmib-v2c-index', source: man('fence_ifmib') + ': snmp_version 2c, plug as an ifIndex',
    peer: 'fence_ifmib', ours: 'fence_kit_switch', stdin: { ...SWITCH, snmp_version: '2c', community: 'private', plug: '3' }, expect: 'same', pcs: { differs: 'pcs-fixed-plug' } },
  { id: 'ifmib-v3', source: man('fence_ifmib') + ': SNMPv3 authPriv',
    peer: 'fence_ifmib', ours: 'fence_kit_switch',
    stdin: { ...SWITCH, snmp_version: '3', username: 'fence', password: 'authpass1', snmp_sec_level: 'authPriv', snmp_auth_prot: 'SHA', snmp_priv_prot: 'AES', snmp_priv_passwd: 'privpass1', plug: '3' }, expect: 'same', pcs: { differs: 'pcs-fixed-plug' } },
  { id: 'ifmib-argv', source: man('fence_ifmib') + ': -a -c -n -o',
    peer: 'fence_ifmib', ours: 'fence_kit_switch', argv: ['-a', SWITCH.ip, '-c', 'private', '-n', '3', '-o', 'validate-all'], expect: 'same' },

  // fence_scsi
  { id: 'scsi-rhel', source: `${RHEL}: pcs stonith create my-scsi-shooter fence_scsi devices=/dev/sda meta provides=unfencing`,
    peer: 'fence_scsi', ours: 'fence_kit_scsi', stdin: { devices: '/dev/fencekit-no-such-lun' }, expect: 'same' },
  { id: 'scsi-node', source: man('fence_scsi') + ': devices and plug (nodename)',
    peer: 'fence_scsi', ours: 'fence_kit_scsi', stdin: { devices: '/dev/fencekit-no-such-lun', plug: 'node1' }, expect: 'same' },
  { id: 'scsi-key', source: man('fence_scsi') + ': key',
    peer: 'fence_scsi', ours: 'fence_kit_scsi', stdin: { devices: '/dev/fencekit-no-such-lun', key: '1a2b0001' }, expect: 'same' },
  { id: 'scsi-aptpl', source: man('fence_scsi') + ': aptpl',
    peer: 'fence_scsi', ours: 'fence_kit_scsi', stdin: { devices: '/dev/fencekit-no-such-lun', plug: 'node1', aptpl: '1' }, expect: 'same' },
  { id: 'scsi-malformed-key', source: 'a key that is not hexadecimal: key=zz',
    peer: 'fence_scsi', ours: 'fence_kit_scsi', stdin: { devices: '/dev/fencekit-no-such-lun', key: 'zz' }, expect: { differs: 'scsi-malformed-key' } },
  { id: 'scsi-logfile-stdin', source: man('fence_scsi') + ': logfile',
    peer: 'fence_scsi', ours: 'fence_kit_scsi', stdin: { devices: '/dev/fencekit-no-such-lun', plug: 'node1', logfile: '/dev/null' }, expect: 'same' },
  { id: 'scsi-argv-logfile', source: man('fence_scsi') + ': --logfile',
    peer: 'fence_scsi', ours: 'fence_kit_scsi', argv: ['-d', '/dev/fencekit-no-such-lun', '-n', 'node1', '--logfile=/dev/null', '-o', 'validate-all'], expect: 'same' },
];
