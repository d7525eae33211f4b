// Which SCSI devices to act on: an explicit list, or the physical volumes of shared/clustered LVM volume
// groups (as fence_scsi finds them), and for a device-mapper multipath device the SCSI paths under it.
import { readdirSync, statSync } from 'node:fs';

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

/** Linux dev_t → "major:minor", as /sys/dev/block names it. */
export function devNumber(rdev: number): string {
  const major = Number((BigInt(rdev) >> 8n) & 0xfffn) | Number((BigInt(rdev) >> 32n) & ~0xfffn);
  const minor = Number(BigInt(rdev) & 0xffn) | Number((BigInt(rdev) >> 12n) & ~0xffn);
  return `${major}:${minor}`;
}

/**
 * The SCSI paths beneath a device-mapper (multipath) device, recursively, or the device itself when nothing
 * is beneath it. A key must be registered on every path of a multipath LUN: the target keeps one
 * registration per I_T nexus. Found by device number (/sys/dev/block/M:m/slaves), so that /dev/mapper/NAME
 * works whether it is a symlink to ../dm-N (udev) or a device node of its own (fence_scsi only sees the former).
 */
export function scsiPaths(device: string, sys = '/sys', rdevOf: (d: string) => number = (d) => statSync(d).rdev): string[] {
  let rdev: number;
  try {
    rdev = rdevOf(device);
  } catch {
    return [device];
  }
  const below = slaves(`${sys}/dev/block/${devNumber(rdev)}`);
  return below.length === 0 ? [device] : below.flatMap((s) => pathsBelow(s, sys));
}

function slaves(sysDevice: string): string[] {
  try {
    return readdirSync(`${sysDevice}/slaves`).filter((s) => !s.startsWith('.')).sort();
  } catch {
    return [];
  }
}

function pathsBelow(name: string, sys: string): string[] {
  const below = slaves(`${sys}/block/${name}`);
  return below.length === 0 ? [`/dev/${name}`] : below.flatMap((s) => pathsBelow(s, sys));
}
