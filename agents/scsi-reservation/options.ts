// fence_kit_scsi's options: fence_scsi's, and the types they give. Imported by the declaration (agent.ts),
// the watchdog check (check.ts) and anything else that reads these options.
import { CORE_OPTIONS, LOGFILE_OPTION, NODENAME_OPTION, PLUG_SEPARATOR_OPTION } from '../../lib/options/common.js';
import { withOverrides, type OptionSpec, type OptionTypesOf } from '../../lib/options/spec.js';
import type { Options } from '../../lib/options/values.js';

/** Where Debian and RHEL install sg3_utils' tools: the option defaults, and what fence_kit_scsi_check runs. */
export const SG_PERSIST_PATH = '/usr/bin/sg_persist';
export const SG_TURS_PATH = '/usr/bin/sg_turs';

export const SCSI_OPTIONS = [
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
  // fence_scsi tests it only in its watchdog check (fence_scsi_check), which takes no agent options: the
  // fence agent itself never reads it.
  { name: 'suppress_errors', deprecatedName: 'suppress-errors', type: 'boolean', order: 5,
    shortdesc: 'Error log suppression.',
    noEffect: 'fence_scsi reads it only in its watchdog check, which takes no agent options' },
  { ...LOGFILE_OPTION, order: 6 },
  { name: 'key_value', valueName: 'id|hash', type: 'select', choices: ['id', 'hash'], default: 'id', order: 300,
    shortdesc: 'Method used to generate the SCSI key. "id" (default) uses the positional ID from "corosync-cmapctl nodelist" output which can get inconsistent when nodes are removed from cluster without full cluster restart. "hash" uses part of hash made out of node names which is not affected over time but there is theoretical chance that hashes can collide as size of SCSI key is quite limited.' },
  { name: 'corosync_cmap_path', valueName: 'path', type: 'string', default: '/usr/sbin/corosync-cmapctl', order: 300,
    shortdesc: 'Path to corosync-cmapctl binary' },
  // fence_scsi's getopt spells these --sg_persist-path / --sg_turs-path; ours follow the other options.
  { name: 'sg_persist_path', longAliases: ['sg_persist-path'], valueName: 'path', type: 'string', default: SG_PERSIST_PATH, order: 300,
    shortdesc: 'Path to sg_persist binary' },
  { name: 'sg_turs_path', longAliases: ['sg_turs-path'], valueName: 'path', type: 'string', default: SG_TURS_PATH, order: 300,
    shortdesc: 'Path to sg_turs binary' },
  { name: 'vgs_path', valueName: 'path', type: 'string', default: '/sbin/vgs', order: 300, shortdesc: 'Path to vgs binary' },
  // fencing.py splits plug on it, but fence_scsi makes one key from the whole node name.
  withOverrides(PLUG_SEPARATOR_OPTION, { noEffect: 'the plug is one node name, one key' }),
  // fence_scsi's getopt gives delay the letter -H.
  ...CORE_OPTIONS.map((o) => (o.name === 'delay' ? withOverrides(o, { short: 'H' }) : o)),
] as const satisfies readonly OptionSpec[];

export type ScsiOptionTypes = OptionTypesOf<typeof SCSI_OPTIONS>;
/** fence_kit_scsi's options, typed by their declarations. */
export type ScsiOptions = Options<ScsiOptionTypes>;
