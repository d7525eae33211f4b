// `fencekit install` / `fencekit uninstall`: launchers for every fence_kit_* agent and alias where
// pacemaker-fenced looks for agents. Install checks every path before writing any, so a refusal leaves
// the directory as it was; each launcher is written to a temporary name and renamed into place.
import { closeSync, existsSync, lstatSync, openSync, readSync, readdirSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AGENTS } from '../agents/registry.js';
import { FenceError } from '../lib/errors.js';
import { isOurLauncher, launchersFor, planInstall, type Existing } from '../lib/install/launchers.js';

/** Where pacemaker-fenced runs agents from (Pacemaker's configured fence bindir on Debian). */
export const DEFAULT_PREFIX = '/usr/sbin';

/** The head of a file is enough to recognise a launcher, whatever else sits in the directory. */
function readHead(path: string): string {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(4096);
    return buf.subarray(0, readSync(fd, buf, 0, buf.length, 0)).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

function existing(path: string): Existing {
  let st;
  try {
    st = lstatSync(path);
  } catch {
    return { kind: 'none' };
  }
  if (st.isSymbolicLink()) return { kind: 'other', what: 'a symbolic link' };
  if (!st.isFile()) return { kind: 'other', what: 'not a regular file' };
  return { kind: 'file', text: readHead(path) };
}

export interface InstallOptions {
  readonly prefix: string;
  readonly distDir: string;
  readonly nodePath: string;
  readonly out?: (line: string) => void;
}

export function installCommand(o: InstallOptions): number {
  const out = o.out ?? ((l: string) => process.stdout.write(`${l}\n`));
  if (/\s/.test(o.nodePath)) throw new FenceError('bad-input', `node path "${o.nodePath}" contains white space and cannot be a #! line`);
  if (!existsSync(o.prefix)) throw new FenceError('bad-input', `${o.prefix} does not exist`);
  const launchers = launchersFor(AGENTS, o);
  const missing = [...new Set(launchers.map((l) => l.bundle))].filter((b) => !existsSync(b));
  if (missing.length > 0) throw new FenceError('bad-input', `not built: ${missing.join(', ')} (run npm run build)`);
  const steps = planInstall(launchers, existing);
  const conflicts = steps.filter((s) => s.kind === 'conflict');
  if (conflicts.length > 0) {
    throw new FenceError('bad-input', `refusing to install, nothing written: ${conflicts.map((c) => `${c.launcher.path} is ${c.reason}`).join('; ')}`);
  }
  for (const step of steps) {
    if (step.kind === 'unchanged') {
      out(`unchanged ${step.launcher.path}`);
      continue;
    }
    const tmp = `${step.launcher.path}.fencekit-${process.pid}`;
    writeFileSync(tmp, step.launcher.text, { mode: 0o755 });
    renameSync(tmp, step.launcher.path);
    out(`${step.kind === 'create' ? 'installed' : 'updated  '} ${step.launcher.path}`);
  }
  return 0;
}

export function uninstallCommand(o: { readonly prefix: string; readonly out?: (line: string) => void }): number {
  const out = o.out ?? ((l: string) => process.stdout.write(`${l}\n`));
  if (!existsSync(o.prefix)) throw new FenceError('bad-input', `${o.prefix} does not exist`);
  let removed = 0;
  for (const name of readdirSync(o.prefix).filter((n) => n.startsWith('fence_kit_')).sort()) {
    const path = join(o.prefix, name);
    const now = existing(path);
    if (now.kind !== 'file' || !isOurLauncher(now.text)) {
      out(`kept      ${path} (not written by fencekit)`);
      continue;
    }
    unlinkSync(path);
    out(`removed   ${path}`);
    removed++;
  }
  if (removed === 0) out(`no fencekit launchers in ${o.prefix}`);
  return 0;
}
