import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { devNumber, parseDeviceList, parseSharedVolumeGroupPvs, scsiPaths } from '../../../lib/scsi/devices.js';

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
  it('resolves a multipath dm device to its SCSI paths by device number, through stacked dm devices', () => {
    const sys = mkdtempSync(join(tmpdir(), 'fk-sys-'));
    try {
      // dm-1 (253:1, e.g. /dev/mapper/mpatha as a node of its own) over dm-0 over sdb and sdc
      for (const [dm, below] of [['dm-0', ['sdb', 'sdc']], ['dm-1', ['dm-0']], ['sdb', []], ['sdc', []]] as const) {
        mkdirSync(join(sys, 'block', dm, 'slaves'), { recursive: true });
        for (const s of below) writeFileSync(join(sys, 'block', dm, 'slaves', s), '');
      }
      mkdirSync(join(sys, 'dev', 'block'), { recursive: true });
      symlinkSync(join(sys, 'block', 'dm-1'), join(sys, 'dev', 'block', '253:1'));
      symlinkSync(join(sys, 'block', 'sdb'), join(sys, 'dev', 'block', '8:16'));
      const rdev: Record<string, number> = { '/dev/mapper/mpatha': (253 << 8) | 1, '/dev/sdb': (8 << 8) | 16 };
      const rdevOf = (d: string) => rdev[d] ?? (() => { throw new Error('ENOENT'); })();
      expect(scsiPaths('/dev/mapper/mpatha', sys, rdevOf)).toEqual(['/dev/sdb', '/dev/sdc']);
      expect(scsiPaths('/dev/sdb', sys, rdevOf)).toEqual(['/dev/sdb']);
      expect(scsiPaths('/dev/sdq', sys, rdevOf)).toEqual(['/dev/sdq']);
    } finally {
      rmSync(sys, { recursive: true, force: true });
    }
  });
  it('decodes Linux device numbers, large minors included', () => {
    expect(devNumber((8 << 8) | 16)).toBe('8:16');
    expect(devNumber(1114924)).toBe('259:300'); // glibc makedev(259, 300)
  });
});
