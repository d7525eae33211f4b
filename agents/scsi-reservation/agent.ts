// fence_kit_scsi: I/O fencing with SCSI-3 persistent reservations on shared LUNs, a peer of fence_scsi.
// Every node registers its key on the LUNs when it is unfenced (`on`, run on the node itself); the LUNs carry
// a "write exclusive, registrants only" reservation; fencing (`off`, run on a survivor) preempts the victim's
// key, after which the LUNs refuse the victim's writes. Keys, key files and options as fence_scsi's, so a
// cluster can mix the two or move from one to the other.
import { declareAgent } from '../../lib/agent/declaration.js';
import { CORE_OPTIONS, NODENAME_OPTION } from '../../lib/options/common.js';
import type { OptionSpec, OptionTypesOf } from '../../lib/options/spec.js';
import type { Options } from '../../lib/options/values.js';
import { isValidKey } from '../../lib/scsi/sg-output.js';

/** Where Debian and RHEL install sg3_utils' tools: the option defaults, and what fence_kit_scsi_check runs. */
export const SG_PERSIST_PATH = '/usr/bin/sg_persist';
export const SG_TURS_PATH = '/usr/bin/sg_turs';

const SCSI_OPTIONS = [
  { name: 'devices', short: 'd', valueName: 'devices', type: 'string', order: 1,
    shortdesc: 'List of devices to use for current operation. Devices can be comma-separated list of raw devices (eg. /dev/sdc). Each device must support SCSI-3 persistent reservations.',
    helpNote: 'Without it, the physical volumes of clustered or shared LVM volume groups are used. A device-mapper multipath device has the key registered on every path.' },
  { name: 'key', short: 'k', valueName: 'key', type: 'string', order: 1,
    shortdesc: 'Key to use for the current operation. This key should be unique to a node. For the "on" action, the key specifies the key use to register the local node. For the "off" action, this key specifies the key to be removed from the device(s).' },
  { name: 'plug', deprecatedName: 'port', short: 'n', valueName: 'nodename', type: 'string', order: 1,
    shortdesc: 'Name of the node to be fenced. The node name is used to generate the key value used for the current operation. This option will be ignored when used with the -k option.' },
  { ...NODENAME_OPTION, shortdesc: 'Name of the node to be fenced (Pacemaker sets it; it takes precedence over plug, as in fence_scsi)' },
  { name: 'aptpl', short: 'a', type: 'boolean', order: 1,
    shortdesc: "Use the APTPL flag for registrations. This option is only used for the 'on' action." },
  { name: 'readonly', type: 'boolean', order: 4, shortdesc: 'Open DEVICE read-only.' },
  { name: 'key_value', valueName: 'id|hash', type: 'select', choices: ['id', 'hash'], default: 'id', order: 300,
    shortdesc: 'Method used to generate the SCSI key. "id" (default) uses the positional ID from "corosync-cmapctl nodelist" output which can get inconsistent when nodes are removed from cluster without full cluster restart. "hash" uses part of hash made out of node names which is not affected over time but there is theoretical chance that hashes can collide as size of SCSI key is quite limited.' },
  { name: 'corosync_cmap_path', valueName: 'path', type: 'string', default: '/usr/sbin/corosync-cmapctl', order: 300,
    shortdesc: 'Path to corosync-cmapctl binary' },
  { name: 'sg_persist_path', valueName: 'path', type: 'string', default: SG_PERSIST_PATH, order: 300,
    shortdesc: 'Path to sg_persist binary' },
  { name: 'sg_turs_path', valueName: 'path', type: 'string', default: SG_TURS_PATH, order: 300,
    shortdesc: 'Path to sg_turs binary' },
  { name: 'vgs_path', valueName: 'path', type: 'string', default: '/sbin/vgs', order: 300, shortdesc: 'Path to vgs binary' },
  ...CORE_OPTIONS,
] as const satisfies readonly OptionSpec[];

type ScsiOptionTypes = OptionTypesOf<typeof SCSI_OPTIONS>;
/** fence_kit_scsi's options, typed by their declarations. */
export type ScsiOptions = Options<ScsiOptionTypes>;

function validate(options: ScsiOptions): string[] {
  const errors: string[] = [];
  const key = options.string('key');
  if (key !== undefined && key !== '' && !isValidKey(key)) {
    errors.push("Failed: option 'key' (-k, --key) must be 1 to 16 hexadecimal digits and not 0");
  }
  const action = options.string('action');
  // validate-all checks a stonith device, which names no node: Pacemaker passes the victim at fence time.
  if (action !== 'monitor' && action !== 'validate-all' && !named(options)) errors.push(`Failed: ${UNNAMED}`);
  return errors;
}

const UNNAMED = "nodename or key is required: set 'plug' (-n, --plug), 'nodename' or 'key' (-k, --key)";

function named(options: ScsiOptions): boolean {
  return [options.string('nodename'), options.string('plug'), options.string('key')].some((v) => v !== undefined && v !== '');
}

/** validate-all without a node (`pcs stonith create ... devices=...`) passes, as fence_scsi's does, with this warning. */
function advise(options: ScsiOptions): string[] {
  return options.string('action') === 'validate-all' && !named(options) ? [`${UNNAMED} at fence time (Pacemaker sets plug)`] : [];
}

export const scsiAgent = declareAgent<ScsiOptionTypes>({
  name: 'fence_kit_scsi',
  shortdesc: 'Fence agent for SCSI persistent reservation',
  longdesc:
    'fence_kit_scsi is an I/O fencing agent that uses SCSI-3 persistent reservations to control access to shared storage devices, which must support SPC-3 persistent reservations including PREEMPT AND ABORT. Each node registers a key on the devices when it is unfenced (the "on" action, run by Pacemaker on the node itself); the devices carry a "write exclusive, registrants only" reservation. Fencing a node preempts its key: it can still read the devices but its writes fail with a reservation conflict until it is unfenced again, normally after a reboot. Keys are derived as fence_scsi derives them: the cluster name hash followed by the node id (key_value=id) or by the node name hash (key_value=hash, recommended). "off" succeeds only once every device, read back, no longer holds the victim\'s key and carries a reservation; any error answer from a device, including "not ready", is a failure even where the state seems to have changed. Every device\'s state is read with READ FULL STATUS and confirmed by READ KEYS: answers that disagree, or counts that do not match what is listed, are a failure, never an absent victim. "on" runs only on the node it unfences: the key must be this node\'s as corosync names it (nodelist.local_node_pos), or, for a key chosen by hand or without corosync, the key already recorded in this node\'s key file; any other is refused before a file is written or a device touched. The key and devices are recorded in both places fence_scsi has kept them (/var/run/cluster.key and .dev, and /var/run/cluster/fence_scsi.key and .dev). Pair it with fence_kit_scsi_check (or fence_scsi_check) as a watchdog script so that a fenced node reboots itself.',
  vendorUrl: 'https://www.t10.org/',
  options: SCSI_OPTIONS,
  // Each step is one sg_persist run, which takes seconds on a busy or virtual machine (fence_scsi allows
  // each command power_timeout).
  defaults: { shell_timeout: '10' },
  target: 'device',
  fabric: true,
  onTarget: true,
  // `on` always re-registers: a key left by an earlier I_T nexus (another iSCSI session) must be refreshed.
  forceOn: true,
  validate,
  protocol: () => 'SCSI-3 persistent reservations (sg_persist)',
  advise,
  async connect(options, ctx) {
    const { openReservationFabric } = await import('./fabric.js');
    return openReservationFabric(options, ctx);
  },
});
