// The built CLI is self-contained: a copy of dist/ alone, in a directory with no checkout, no node_modules and
// no lab files anywhere above it, answers --version and --help. Two things broke this before: the lab (and
// its asset lookup, which runs when lab/ loads) was imported statically by every command, and the CLI
// bundle left commander in node_modules.
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
let copy: string;

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [join(copy, 'dist', 'fencekit.mjs'), ...args], { cwd: copy, env: { PATH: process.env.PATH ?? '/usr/bin:/bin' }, timeout: 30_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

beforeAll(() => {
  copy = mkdtempSync(join(tmpdir(), 'fk-dist-copy-'));
  cpSync(join(ROOT, 'dist'), join(copy, 'dist'), { recursive: true });
  // Nothing the copy could lean on: no node_modules and no lab/assets in it or above it.
  for (let d = copy; d !== dirname(d); d = dirname(d)) {
    expect(existsSync(join(d, 'node_modules')), `${d}/node_modules`).toBe(false);
    expect(existsSync(join(d, 'lab', 'assets')), `${d}/lab/assets`).toBe(false);
  }
});
afterAll(() => {
  if (copy) rmSync(copy, { recursive: true, force: true });
});

describe('a copy of dist/ in an unrelated directory', () => {
  it('fencekit --version prints the package version', async () => {
    const r = await run(['--version']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version);
  });

  it('fencekit --help lists the commands, the lab among them', async () => {
    const r = await run(['--help']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: fencekit/);
    for (const command of ['fence', 'status', 'lab', 'demo']) expect(r.stdout).toMatch(new RegExp(`^  ${command}\\b`, 'm'));
  });

  it('lab --help needs no lab files either', async () => {
    const r = await run(['lab', '--help']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^  up\b/m);
  });
});
