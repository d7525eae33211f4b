import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseDeviceList, parseSharedVolumeGroupPvs, scsiPaths } from '../../../lib/scsi/devices.js';

describe('devices', () => {
  it('accepts comma- and space-separated lists', () => {
    expect(parseDeviceList('/dev/sdb,/dev/sdc  /dev/sdd, ')).toEqual(['/dev/sdb', '/dev/sdc', '/dev/sdd']);
    expect(parseDeviceList(undefined)).toEqual([]);
  });
  it('takes PVs of clustered (c) and shared (s) VGs only, by the sixth vg_attr letter', () => {
    const vgs = ['  wz--nc:/dev/dm-3', '  wz--ns:/dev/dm-4', '  wz--n-:/dev/sda2', '  wz-pc-:/dev/sdz', '  wz--ns:/dev/dm-4', ''].join('\n');
    // "wz-pc-": partial, contiguous allocation, not clustered: fence_scsi's "'c' in attr" would take it.
    expect(parseSharedVolumeGroupPvs(vgs)).toEqual(['/dev/dm-3', '/dev/dm-4']);
  });
  it('resolves a multipath dm device to its SCSI paths, through stacked dm devices', () => {
    const sys = mkdtempSync(join(tmpdir(), 'fk-sysblock-'));
    try {
      for (const [dm, slaves] of [['dm-0', ['sdb', 'sdc']], ['dm-1', ['dm-0']]] as const) {
        mkdirSync(join(sys, dm, 'slaves'), { recursive: true });
        for (const s of slaves) writeFileSync(join(sys, dm, 'slaves', s), '');
      }
      const dev = join(sys, 'mpatha');
      symlinkSync(join(sys, 'dm-1'), dev);
      expect(scsiPaths(dev, sys)).toEqual(['/dev/sdb', '/dev/sdc']);
      expect(scsiPaths('/dev/sdq', sys)).toEqual(['/dev/sdq']);
    } finally {
      rmSync(sys, { recursive: true, force: true });
    }
  });
});
