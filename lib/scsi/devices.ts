// Which SCSI devices to act on: an explicit list, or the physical volumes of shared/clustered LVM volume
// groups (as fence_scsi finds them), and for a device-mapper multipath device the SCSI paths under it.
import { readdirSync, realpathSync } from 'node:fs';
import { basename } from 'node:path';

/** `devices=` as fence_scsi accepts it: comma- or space-separated. */
export function parseDeviceList(value: string | undefined): string[] {
  return (value ?? '').split(/[\s,]+/).map((d) => d.trim()).filter((d) => d !== '');
}

/** fence_scsi's vgs call: every PV with its VG's attributes, preferring /dev/dm-N names (multipath). */
export const VGS_ARGS = [
  '--noheadings', '--separator', ':', '--sort', 'pv_uuid', '--options', 'vg_attr,pv_name',
  '--config', 'global { locking_type = 0 } devices { preferred_names = [ "^/dev/dm" ] }',
];

/**
 * PVs of volume groups that are clustered (clvmd, vg_attr[5] = 'c') or shared (lvmlockd, 's'). Only the
 * sixth attribute counts: fence_scsi's "'c' in vg_attr" also matches the allocation policy "contiguous".
 */
export function parseSharedVolumeGroupPvs(vgsOutput: string): string[] {
  const pvs: string[] = [];
  for (const line of vgsOutput.split('\n')) {
    const [attr, pv] = line.trim().split(':');
    if (!attr || !pv) continue;
    const shared = attr[5];
    if ((shared === 'c' || shared === 's') && !pvs.includes(pv.trim())) pvs.push(pv.trim());
  }
  return pvs;
}

/**
 * The SCSI paths beneath a device-mapper device (/sys/block/dm-N/slaves, recursively), or the device itself
 * when it is not a dm device. A key must be registered on every path of a multipath LUN: the target keeps
 * one registration per I_T nexus.
 */
export function scsiPaths(device: string, sysBlock = '/sys/block'): string[] {
  let real: string;
  try {
    real = realpathSync(device);
  } catch {
    return [device];
  }
  const name = basename(real);
  return name.startsWith('dm-') ? pathsBelow(name, sysBlock) : [device];
}

function pathsBelow(dm: string, sysBlock: string): string[] {
  const below = readdirSync(`${sysBlock}/${dm}/slaves`).filter((s) => !s.startsWith('.')).sort();
  return below.flatMap((s) => (s.startsWith('dm-') ? pathsBelow(s, sysBlock) : [`/dev/${s}`]));
}
