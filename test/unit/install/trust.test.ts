// Which paths `fencekit install` lets root run: owned by root, writable by root alone.
import { describe, expect, it } from 'vitest';
import { untrustedBecause } from '../../../lib/install/launchers.js';

describe('untrustedBecause', () => {
  it('accepts a root-owned file or directory that only root can write', () => {
    expect(untrustedBecause('/usr/bin/node', { uid: 0, mode: 0o100755 })).toBeUndefined();
    expect(untrustedBecause('/usr/lib', { uid: 0, mode: 0o40755 })).toBeUndefined();
    expect(untrustedBecause('/root/x', { uid: 0, mode: 0o100700 })).toBeUndefined();
  });

  it('refuses another owner, naming the uid', () => {
    expect(untrustedBecause('/home/dev/.nvm/node', { uid: 1000, mode: 0o100755 })).toBe('/home/dev/.nvm/node is owned by uid 1000, not root');
  });

  it('refuses group- or world-writable paths, sticky directories included where the code itself lives', () => {
    expect(untrustedBecause('/srv/fk/dist', { uid: 0, mode: 0o40775 })).toMatch(/writable by its group or others \(mode 775\)/);
    expect(untrustedBecause('/srv/fk/dist/x.cjs', { uid: 0, mode: 0o100646 })).toMatch(/mode 646/);
    expect(untrustedBecause('/tmp', { uid: 0, mode: 0o41777 })).toMatch(/mode 1777/);
    expect(untrustedBecause('/srv/open', { uid: 0, mode: 0o40777 }, 'ancestor')).toMatch(/mode 777/);
  });

  it('accepts a root-owned sticky directory such as /tmp above the code: nobody else may replace root\'s entry in it', () => {
    expect(untrustedBecause('/tmp', { uid: 0, mode: 0o41777 }, 'ancestor')).toBeUndefined();
    expect(untrustedBecause('/tmp', { uid: 1000, mode: 0o41777 }, 'ancestor')).toMatch(/uid 1000/);
  });
});
