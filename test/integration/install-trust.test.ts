// `fencekit install` (development checkouts) through the real binary, on copies of bin/ and dist/: the
// launchers make pacemaker-fenced run the node binary and the bundles as root, so install refuses unless
// they and every directory above them are root's alone, and it names the node binary by its real path.
// The copies live in a scratch directory inside the checkout, whose ancestors install already trusts.
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAgentBinary, ROOT } from '../support/run-agent.js';

const NOBODY = 65534;
let scratch: string;
let copy: string;

/** A fresh copy of bin/ and dist/, and an empty prefix to install into. */
function freshCopy(): { fencekit: string; dist: string; prefix: string } {
  copy = mkdtempSync(join(scratch, 'copy-'));
  execFileSync('cp', ['-a', join(ROOT, 'bin'), join(ROOT, 'dist'), copy]);
  const prefix = join(copy, 'sbin');
  mkdirSync(prefix, { mode: 0o755 });
  return { fencekit: join(copy, 'bin', 'fencekit'), dist: join(copy, 'dist'), prefix };
}
const install = (fencekit: string, prefix: string, node?: string) =>
  runAgentBinary(fencekit, { argv: ['install', '--prefix', prefix, ...(node ? ['--node', node] : [])] });

beforeAll(() => {
  expect(process.getuid?.(), 'install checks root ownership: the integration tier runs as root').toBe(0);
  scratch = mkdtempSync(join(ROOT, '.install-trust-'));
  chmodSync(scratch, 0o755);
});
afterAll(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

describe('fencekit install refuses what others could change', () => {
  it('installs from a copy that is root\'s alone, naming the real node binary', async () => {
    const c = freshCopy();
    const link = join(copy, 'node-link');
    symlinkSync(process.execPath, link);
    const r = await install(c.fencekit, c.prefix, link);
    expect(r.code, r.stderr).toBe(0);
    const launcher = readFileSync(join(c.prefix, 'fence_kit_ipmi'), 'utf8');
    expect(launcher.split('\n')[0]).toBe(`#!${process.execPath}`);
    expect(launcher).toContain(`${c.dist}/agents/ipmi.cjs`);
  });

  it('refuses a group-writable bundle file, names it, and writes nothing', async () => {
    const c = freshCopy();
    chmodSync(join(c.dist, 'vendor', 'ssh2.cjs'), 0o664);
    const r = await install(c.fencekit, c.prefix);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${c.dist}/vendor/ssh2.cjs is writable by its group or others (mode 664)`);
    expect(readdirSync(c.prefix)).toEqual([]);
  });

  it('refuses a dist/ file owned by another user, and a world-writable directory above dist/', async () => {
    const c = freshCopy();
    chownSync(join(c.dist, 'agents', 'ipmi.cjs'), NOBODY, NOBODY);
    const owned = await install(c.fencekit, c.prefix);
    expect(owned.code).toBe(1);
    expect(owned.stderr).toContain(`${c.dist}/agents/ipmi.cjs is owned by uid ${NOBODY}, not root`);

    const d = freshCopy();
    chmodSync(copy, 0o777);
    const open = await install(d.fencekit, d.prefix);
    expect(open.code).toBe(1);
    expect(open.stderr).toContain(`${copy} is writable by its group or others (mode 777)`);
    expect(readdirSync(c.prefix)).toEqual([]);
    expect(readdirSync(d.prefix)).toEqual([]);
  });

  it('refuses a node binary another user owns, and a relative --node', async () => {
    const c = freshCopy();
    const node = join(copy, 'node');
    writeFileSync(node, `#!/bin/sh\nexec ${process.execPath} "$@"\n`, { mode: 0o755 });
    chownSync(node, NOBODY, NOBODY);
    const r = await install(c.fencekit, c.prefix, node);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${node} is owned by uid ${NOBODY}, not root`);
    const rel = await install(c.fencekit, c.prefix, 'node');
    expect(rel.code).toBe(1);
    expect(rel.stderr).toMatch(/--node node: give the node binary's absolute path/);
    expect(existsSync(join(c.prefix, 'fence_kit_ipmi'))).toBe(false);
  });
});
