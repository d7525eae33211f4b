// Launchers for pacemaker-fenced. The fencer runs agents only from its own directory (/usr/sbin on
// Debian), with a bare environment and no argv: each launcher names the Node binary and the checkout's
// built bundle by absolute path, so neither PATH nor the working directory matters. A launcher is a file
// of its own for every agent name and alias (not a symlink): the agent takes its name (metadata's
// <resource-agent name>, an alias's defaults such as fence_kit_ilo3's lanplus) from the file it was
// started as, and the header line marks it as ours, so that install never overwrites and uninstall never
// removes anything fencekit did not write.
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import type { AgentDeclaration } from '../agent/declaration.js';

/** The second line of every launcher; its presence is what makes a file ours. */
export const LAUNCHER_MARK = '// fencekit launcher: written by `fencekit install`, removed by `fencekit uninstall`.';

export interface Launcher {
  /** Agent name as Pacemaker knows it (fence_kit_ipmi, fence_kit_ilo3, ...). */
  readonly name: string;
  readonly path: string;
  /** The built agent it runs. */
  readonly bundle: string;
  readonly text: string;
}

/**
 * The launcher's text. A dynamic import() of a file: URL is valid both where Node reads the launcher as
 * CommonJS (no package.json above /usr/sbin) and as an ES module (a prefix inside a "type": "module" tree).
 */
export function launcherText(nodePath: string, bundlePath: string): string {
  const url = JSON.stringify(pathToFileURL(bundlePath).href);
  return [
    `#!${nodePath}`,
    LAUNCHER_MARK,
    `// Runs ${bundlePath}; the agent takes its name from this file's name.`,
    `import(${url}).catch((err) => {`,
    `  process.stderr.write(\`Failed: cannot load ${bundlePath.replace(/[`$\\]/g, '\\$&')}: \${err && err.message}\\n\`);`,
    '  process.exit(1);',
    '});',
    '',
  ].join('\n');
}

export function isOurLauncher(text: string): boolean {
  return text.split('\n', 3)[1] === LAUNCHER_MARK;
}

/** Every agent name and alias, each with the bundle that runs it (dist/agents/<bundle>.cjs, the registry key). */
export function launchersFor(
  agents: Readonly<Record<string, AgentDeclaration>>,
  opts: { readonly prefix: string; readonly distDir: string; readonly nodePath: string },
): Launcher[] {
  const out: Launcher[] = [];
  for (const [dir, agent] of Object.entries(agents)) {
    const bundle = join(opts.distDir, 'agents', `${dir}.cjs`);
    for (const name of [agent.name, ...(agent.symlinks ?? []).map((l) => l.name)]) {
      out.push({ name, path: join(opts.prefix, name), bundle, text: launcherText(opts.nodePath, bundle) });
    }
  }
  return out;
}

/** What install needs to know of a path the launchers make root run: its owner and permission bits. */
export interface PathOwner {
  readonly uid: number;
  readonly mode: number;
}

/**
 * Why root must not run (or read code from) a path: pacemaker-fenced runs the launchers as root, so anyone
 * who can change the node binary, a bundle, or a directory above either, would run as root at the next
 * monitor. Only root may own it and only root may write it; undefined when that holds.
 */
export function untrustedBecause(path: string, st: PathOwner, role: 'itself' | 'ancestor' = 'itself'): string | undefined {
  if (st.uid !== 0) return `${path} is owned by uid ${st.uid}, not root`;
  // A directory above the code may be a root-owned sticky one such as /tmp: there nobody but root may rename or
  // remove root's entries, and the entry below it on the path is checked in turn (it must be root's too).
  const stickyAncestor = role === 'ancestor' && (st.mode & 0o170000) === 0o040000 && (st.mode & 0o1000) !== 0;
  if (st.mode & 0o022 && !stickyAncestor) return `${path} is writable by its group or others (mode ${(st.mode & 0o7777).toString(8)})`;
  return undefined;
}

/** What is at a launcher's path now. */
export type Existing = { readonly kind: 'none' } | { readonly kind: 'file'; readonly text: string } | { readonly kind: 'other'; readonly what: string };

export type InstallStep =
  | { readonly kind: 'create' | 'update' | 'unchanged'; readonly launcher: Launcher }
  | { readonly kind: 'conflict'; readonly launcher: Launcher; readonly reason: string };

export function planInstall(launchers: readonly Launcher[], existing: (path: string) => Existing): InstallStep[] {
  return launchers.map((launcher): InstallStep => {
    const now = existing(launcher.path);
    if (now.kind === 'none') return { kind: 'create', launcher };
    if (now.kind === 'other') return { kind: 'conflict', launcher, reason: `${now.what}, not written by fencekit` };
    if (!isOurLauncher(now.text)) return { kind: 'conflict', launcher, reason: 'a file not written by fencekit' };
    return { kind: now.text === launcher.text ? 'unchanged' : 'update', launcher };
  });
}
