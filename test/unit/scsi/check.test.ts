// fence_kit_scsi_check's decisions that need no device: watchdog(8)'s "repair N", a node never unfenced,
// and /etc/sysconfig/stonith. (Registered vs preempted on a real LUN: test/integration/scsi-guest.test.ts.)
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EXIT_REGISTERED, parseStonithSysconfig, scsiCheck } from '../../../agents/scsi-reservation/check.js';
import { KeyStore } from '../../../agents/scsi-reservation/store.js';
import { silentLogger } from '../../../lib/log.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'fk-scsi-check-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('fence_kit_scsi_check', () => {
  it('hands watchdog its own code back for "repair N"', async () => {
    expect(await scsiCheck({ argv: ['repair', '7'], hardReboot: false, store: new KeyStore([join(dir, 'none')]), log: silentLogger })).toBe(7);
  });
  it('does not ask for a reboot of a node that was never unfenced (no device or key file)', async () => {
    const store = new KeyStore([join(dir, 'cluster')]);
    expect(await scsiCheck({ argv: ['test'], hardReboot: false, store, log: silentLogger, sysconfig: join(dir, 'x') })).toBe(EXIT_REGISTERED);
    writeFileSync(store.deviceFiles[0]!, '/dev/sdb\n');
    expect(await scsiCheck({ argv: ['test'], hardReboot: false, store, log: silentLogger, sysconfig: join(dir, 'x') })).toBe(EXIT_REGISTERED);
  });
  it('reads retry, retry-sleep and verbose from /etc/sysconfig/stonith as fence_scsi_check does', () => {
    expect(parseStonithSysconfig('retry=2\n retry-sleep = 0.5\nVERBOSE=yes\n# comment\n')).toEqual({ retry: 2, retrySleepMs: 500, verbose: true });
    expect(parseStonithSysconfig('')).toEqual({ retry: 0, retrySleepMs: 1000, verbose: false });
    expect(parseStonithSysconfig('retry=lots\n').retry).toBe(0);
  });
  it('reads the key and device files in fence_scsi\'s format', () => {
    const store = new KeyStore([join(dir, 'cluster')]);
    writeFileSync(store.keyFiles[0]!, '0xA1B20002\n');
    writeFileSync(store.deviceFiles[0]!, '/dev/sdb\n\n/dev/sdc\n');
    expect(store.readKey()).toBe('a1b20002');
    store.addDevice('/dev/sdb');
    store.addDevice('/dev/sdd');
    expect(store.readDevices()).toEqual(['/dev/sdb', '/dev/sdc', '/dev/sdd']);
  });
  it('writes the key and devices where both fence_scsi layouts keep them, and reads either', () => {
    const debian = join(dir, 'run', 'cluster');
    const upstream = join(dir, 'run', 'cluster', 'fence_scsi');
    const store = new KeyStore([debian, upstream]);
    store.writeKey('a1b20002');
    store.addDevice('/dev/sdb');
    expect(readFileSync(`${debian}.key`, 'utf8')).toBe('a1b20002\n');
    expect(readFileSync(`${upstream}.key`, 'utf8')).toBe('a1b20002\n');
    expect(readFileSync(`${debian}.dev`, 'utf8')).toBe('/dev/sdb\n');
    expect(readFileSync(`${upstream}.dev`, 'utf8')).toBe('/dev/sdb\n');
    // A node unfenced by an upstream fence_scsi has only the upstream files
    const onlyUpstream = new KeyStore([join(dir, 'other'), upstream]);
    expect(onlyUpstream.readKey()).toBe('a1b20002');
    expect(onlyUpstream.readDevices()).toEqual(['/dev/sdb']);
  });
  it('refuses two key files that name different keys, and the check then asks for no reboot', async () => {
    const store = new KeyStore([join(dir, 'a'), join(dir, 'b')]);
    writeFileSync(join(dir, 'a.key'), 'a1b20002\n');
    writeFileSync(join(dir, 'b.key'), 'a1b20001\n');
    writeFileSync(join(dir, 'a.dev'), '/dev/sdb\n');
    expect(() => store.readKey()).toThrow(/key files disagree/);
    expect(await scsiCheck({ argv: ['test'], hardReboot: false, store, log: silentLogger, sysconfig: join(dir, 'x') })).toBe(EXIT_REGISTERED);
  });
});
