// fence_kit_scsi: I/O fencing with SCSI-3 persistent reservations on shared LUNs, a peer of fence_scsi.
// Every node registers its key on the LUNs when it is unfenced (`on`, run on the node itself); the LUNs carry
// a "write exclusive, registrants only" reservation; fencing (`off`, run on a survivor) preempts the victim's
// key, after which the LUNs refuse the victim's writes. Keys, key files and options as fence_scsi's, so a
// cluster can mix the two or move from one to the other.
import { declareAgent } from '../../lib/agent/declaration.js';
import { isValidKey } from '../../lib/scsi/sg-output.js';
import type { ReservationSettings } from './device.js';
import { SCSI_OPTIONS, type ScsiOptionTypes, type ScsiOptions } from './options.js';

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

/** The options the fabric acts on. */
function reservationSettings(options: ScsiOptions): ReservationSettings {
  return {
    action: options.string('action'),
    key: options.string('key'),
    node: options.string('nodename') || options.string('plug'),
    keyValue: options.string('key_value'),
    devices: options.string('devices'),
    aptpl: options.flag('aptpl'),
    readonly: options.flag('readonly'),
    corosyncCmapPath: options.string('corosync_cmap_path'),
    sgPersistPath: options.string('sg_persist_path'),
    sgTursPath: options.string('sg_turs_path'),
    vgsPath: options.string('vgs_path'),
  };
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
  advise,
  protocol: () => 'SCSI-3 persistent reservations (sg_persist)',
  async connect(options, ctx) {
    const { openReservationFabric } = await import('./device.js');
    return openReservationFabric(reservationSettings(options), ctx);
  },
});
