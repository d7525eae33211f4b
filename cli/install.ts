// `fencekit install` / `fencekit uninstall`: launchers for every fence_kit_* agent and alias where
// pacemaker-fenced looks for agents, for development checkouts (production installs use the Debian or RPM
// package). Install refuses unless the node binary and the checkout's dist/, and every directory above
// them, are root's alone, and the launchers name the node binary by its real absolute path. Install checks every path before writing any, so a refusal leaves
// the directory as it was; each launcher is written to a temporary name and renamed into place.
import { closeSync, existsSync, lstatSync, openSync, readSync, readdirSync, realpathSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { AGENTS } from '../agents/registry.js';
import { FenceError } from '../lib/errors.js';
import { isOurLauncher, launchersFor, planInstall, untrustedBecause, type Existing } from '../lib/install/launchers.js';

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

/** A path and every directory above it. */
function withAncestors(path: string): string[] {
  const out = [path];
  for (let d = dirname(path); d !== out.at(-1); d = dirname(d)) out.push(d);
  return out;
}

/** Every file and directory of a tree, symbolic links refused (they could point anywhere). */
function treeProblems(dir: string): string[] {
  const problems: string[] = [];
  const walk = (p: string) => {
    const st = lstatSync(p);
    if (st.isSymbolicLink()) return problems.push(`${p} is a symbolic link`);
    const why = untrustedBecause(p, st);
    if (why) problems.push(why);
    if (st.isDirectory()) for (const e of readdirSync(p)) walk(join(p, e));
    return undefined;
  };
  walk(dir);
  return problems;
}

/**
 * The launchers make root run the node binary and the code in dist/: both, and every directory above them,
 * must be root's alone. Returns the real paths of both, which the launchers name.
 */
function checkTrust(distDir: string, nodePath: string): { node: string; dist: string } {
  if (!isAbsolute(nodePath)) throw new FenceError('bad-input', `--node ${nodePath}: give the node binary's absolute path`);
  let node: string;
  try {
    node = realpathSync(nodePath);
  } catch (err) {
    throw new FenceError('bad-input', `--node ${nodePath}: ${(err as NodeJS.ErrnoException).code ?? err}`);
  }
  if (!statSync(node).isFile()) throw new FenceError('bad-input', `--node ${nodePath} is not a file`);
  const dist = realpathSync(distDir);
  const problems = [
    ...withAncestors(node).flatMap((p) => untrustedBecause(p, statSync(p), p === node ? 'itself' : 'ancestor') ?? []),
    ...withAncestors(dirname(dist)).flatMap((p) => untrustedBecause(p, statSync(p), 'ancestor') ?? []),
    ...treeProblems(dist),
  ];
  if (problems.length > 0) {
    const shown = problems.slice(0, 5).join('; ') + (problems.length > 5 ? `; and ${problems.length - 5} more` : '');
    throw new FenceError('bad-input', `refusing to install, nothing written: pacemaker-fenced would run these as root: ${shown}`);
  }
  return { node, dist };
}

export function installCommand(o: InstallOptions): number {
  const out = o.out ?? ((l: string) => process.stdout.write(`${l}\n`));
  if (/\s/.test(o.nodePath)) throw new FenceError('bad-input', `node path "${o.nodePath}" contains white space and cannot be a #! line`);
  if (!existsSync(o.prefix)) throw new FenceError('bad-input', `${o.prefix} does not exist`);
  const trusted = checkTrust(o.distDir, o.nodePath);
  if (/\s/.test(trusted.node)) throw new FenceError('bad-input', `node path "${trusted.node}" contains white space and cannot be a #! line`);
  const launchers = launchersFor(AGENTS, { prefix: o.prefix, nodePath: trusted.node, distDir: trusted.dist });
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
