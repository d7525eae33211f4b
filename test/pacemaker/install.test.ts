// `fencekit install` / `uninstall` on a scratch directory and on /usr/sbin itself (where pacemaker-fenced
// runs agents from). Real peer: the file system and the installed launchers run as Pacemaker runs them,
// with an empty environment and options on stdin.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, lstatSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LAUNCHER_MARK } from '../../lib/install/launchers.js';
import { AGENT_NAMES, SBIN, installLaunchers, uninstallLaunchers } from './agents.js';
import { explain, run } from './proc.js';

const scratch: string[] = [];
const scratchDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'fk-install-'));
  scratch.push(d);
  return d;
};
/** Run a launcher the way the fencer does: no argv, no PATH, options on stdin. */
const runBare = (path: string, stdin: string) => run([path], { input: stdin, env: {} });

afterAll(() => {
  for (const d of scratch) rmSync(d, { recursive: true, force: true });
});

describe('fencekit install --prefix DIR', () => {
  it('writes one marked, executable launcher per agent and alias, each answering metadata under its own name with no environment', async () => {
    const prefix = scratchDir();
    const r = await installLaunchers(prefix);
    expect(r.code, explain(['fencekit', 'install'], r)).toBe(0);
    expect(readdirSync(prefix).sort()).toEqual([...AGENT_NAMES].sort());
    for (const name of AGENT_NAMES) {
      const path = join(prefix, name);
      const st = lstatSync(path);
      expect(st.isFile()).toBe(true);
      expect(st.mode & 0o777).toBe(0o755);
      const text = readFileSync(path, 'utf8');
      expect(text.split('\n')[0]).toBe(`#!${process.execPath}`);
      expect(text.split('\n')[1]).toBe(LAUNCHER_MARK);
      const meta = await runBare(path, 'action=metadata\n');
      expect(meta.code, explain([path], meta)).toBe(0);
      expect(meta.stdout).toContain(`<resource-agent name="${name}"`);
    }
  });

  it('is idempotent: a second install changes nothing, and an outdated launcher of ours is rewritten', async () => {
    const prefix = scratchDir();
    expect((await installLaunchers(prefix)).code).toBe(0);
    const before = Object.fromEntries(AGENT_NAMES.map((n) => [n, statSync(join(prefix, n)).ino]));
    const again = await installLaunchers(prefix);
    expect(again.code).toBe(0);
    expect(again.stdout.split('\n').filter((l) => l.startsWith('unchanged'))).toHaveLength(AGENT_NAMES.length);
    for (const n of AGENT_NAMES) expect(statSync(join(prefix, n)).ino).toBe(before[n]);

    const path = join(prefix, 'fence_kit_ipmi');
    writeFileSync(path, `#!/usr/bin/node\n${LAUNCHER_MARK}\nimport("file:///old/checkout/dist/agents/ipmi.mjs");\n`, { mode: 0o755 });
    const update = await installLaunchers(prefix);
    expect(update.code).toBe(0);
    expect(update.stdout).toMatch(/updated\s+\S*fence_kit_ipmi\n/);
    expect(readFileSync(path, 'utf8')).not.toContain('/old/checkout');
  });

  it('refuses, writing nothing, when a file or a symlink it did not write holds an agent name', async () => {
    for (const plant of ['file', 'symlink'] as const) {
      const prefix = scratchDir();
      const foreign = join(prefix, 'fence_kit_apc');
      if (plant === 'file') writeFileSync(foreign, '#!/bin/sh\n# someone else\n', { mode: 0o755 });
      else symlinkSync('/bin/true', foreign);
      const r = await installLaunchers(prefix);
      expect(r.code, plant).toBe(1);
      expect(r.stderr).toContain('refusing to install');
      expect(r.stderr).toContain(foreign);
      expect(readdirSync(prefix)).toEqual(['fence_kit_apc']);
      if (plant === 'file') expect(readFileSync(foreign, 'utf8')).toContain('someone else');
      else expect(lstatSync(foreign).isSymbolicLink()).toBe(true);
    }
  });

  it('uninstall removes its launchers and keeps every other file, fence_kit_* or not', async () => {
    const prefix = scratchDir();
    expect((await installLaunchers(prefix)).code).toBe(0);
    writeFileSync(join(prefix, 'fence_kit_local'), '#!/bin/sh\n', { mode: 0o755 });
    writeFileSync(join(prefix, 'fence_other'), '#!/bin/sh\n', { mode: 0o755 });
    const r = await uninstallLaunchers(prefix);
    expect(r.code).toBe(0);
    expect(readdirSync(prefix).sort()).toEqual(['fence_kit_local', 'fence_other']);
    expect(r.stdout).toContain('kept');
    const again = await uninstallLaunchers(prefix);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('no fencekit launchers');
  });

  it('launchers work under a "type": "module" package.json too (Node reads them as ES modules there)', async () => {
    const tree = scratchDir();
    writeFileSync(join(tree, 'package.json'), '{ "type": "module" }\n');
    const prefix = join(tree, 'sbin');
    (await import('node:fs')).mkdirSync(prefix);
    expect((await installLaunchers(prefix)).code).toBe(0);
    const meta = await runBare(join(prefix, 'fence_kit_apc'), 'action=metadata\n');
    expect(meta.code, explain(['fence_kit_apc'], meta)).toBe(0);
    expect(meta.stdout).toContain('<resource-agent name="fence_kit_apc"');
  });
});

describe('fencekit install into /usr/sbin (pacemaker-fenced\'s directory)', () => {
  let alreadyThere: string[] = [];
  beforeAll(() => {
    alreadyThere = readdirSync(SBIN).filter((n) => !n.startsWith('fence_kit_'));
  });
  afterAll(async () => {
    await uninstallLaunchers();
  });

  it('installs every agent beside fence-agents\' own, then uninstall leaves /usr/sbin as it found it', async () => {
    const r = await installLaunchers();
    expect(r.code, explain(['fencekit', 'install'], r)).toBe(0);
    for (const name of AGENT_NAMES) expect(existsSync(join(SBIN, name)), name).toBe(true);
    const meta = await runBare(join(SBIN, 'fence_kit_ilo4'), 'action=metadata\n');
    expect(meta.stdout).toContain('<resource-agent name="fence_kit_ilo4"');
    const u = await uninstallLaunchers();
    expect(u.code).toBe(0);
    for (const name of AGENT_NAMES) expect(existsSync(join(SBIN, name)), name).toBe(false);
    expect(readdirSync(SBIN).filter((n) => !n.startsWith('fence_kit_'))).toEqual(alreadyThere);
  });
});
