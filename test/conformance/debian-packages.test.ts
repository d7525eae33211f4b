// The guard behind scripts/setup and .ci/run: every external program the agents, the lab, the tests and the
// benchmarks run comes from a Debian package in .ci/debian-packages (or from one every Debian system has),
// the list holds nothing unused, and the sources run no program that test/support/programs.ts does not
// know. CI runs on the developer's own machine, where a package installed by hand once hid two missing
// install steps; this test reads the list itself, so only the list counts.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { listedPackages, NOT_PROGRAMS, programPath, PROGRAMS, SUPPORT_PACKAGES } from '../support/programs.js';

const ROOT = join(import.meta.dirname, '..', '..');

/** The package that owns a file, asking dpkg for the path, its /usr-less twin (merged /usr) and its target. */
function owner(path: string): string | undefined {
  const candidates = new Set([path, path.replace(/^\/usr(?=\/s?bin\/)/, ''), realpathSync(path)]);
  for (const p of candidates) {
    let out: string;
    try {
      out = execFileSync('dpkg', ['-S', p], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    } catch {
      continue;
    }
    // "pkg: /path", or "pkg1, pkg2: /path"; "diversion by ..." lines are not owners.
    for (const line of out.split('\n')) {
      const m = /^([a-z0-9][\w.+-]*)(?::[\w-]+)?(?:, [^:]+)?: \//.exec(line);
      if (m && !line.startsWith('diversion')) return m[1];
    }
  }
  return undefined;
}

/** Packages every Debian system has (Essential: yes, or Priority: required): no list needs to name them. */
function isBasePackage(pkg: string): boolean {
  try {
    const f = execFileSync('dpkg-query', ['-W', '-f=${Essential} ${Priority}', pkg], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    return /^yes\b|\brequired$/.test(f.trim());
  } catch {
    return false;
  }
}

function sourceFiles(): string[] {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir)) {
      const p = join(dir, e);
      if (statSync(p).isDirectory()) {
        if (!['node_modules', 'out', 'fixtures'].includes(e)) walk(p);
      } else files.push(p);
    }
  };
  for (const d of ['lib', 'lab', 'agents', 'cli', 'test', 'scripts', 'bench']) walk(join(ROOT, d));
  return files;
}

const SHELL_WORDS = new Set(execFileSync('bash', ['-c', 'compgen -b; compgen -k'], { encoding: 'utf8' }).split('\n').filter(Boolean));

/**
 * Words in a program's position in the sources: absolute program paths anywhere; the first literal argument
 * of a call (`spawn('x'`, `run(['x', ...`); the command words of shell scripts. Each word is named with the
 * files it is in.
 */
function programWords(): Map<string, Set<string>> {
  const words = new Map<string, Set<string>>();
  const add = (w: string, f: string) => (words.get(w) ?? words.set(w, new Set()).get(w)!).add(f.slice(ROOT.length + 1));
  for (const f of sourceFiles()) {
    if (f.endsWith('programs.ts') || f.endsWith('debian-packages.test.ts')) continue;
    const text = readFileSync(f, 'utf8');
    const shell = extname(f) === '.sh' || /^#!\/bin\/(ba)?sh/.test(text);
    if (!['.ts', '.mjs', '.py'].includes(extname(f)) && !shell) continue;
    for (const m of text.matchAll(/(?<![\w./-])\/(?:usr\/)?(?:s?bin|lib\/pacemaker)\/([\w+-][\w.+-]*[\w+-])/g)) add(m[1]!, f);
    if (shell) {
      const functions = new Set([...text.matchAll(/^\s*([\w-]+)\s*\(\)/gm)].map((m) => m[1]!));
      for (const raw of text.split('\n')) {
        const line = raw.replace(/\$\(\(.*?\)\)/g, ''); // arithmetic, not commands
        if (/^\s*#/.test(raw)) continue;
        const cmd = /(?:^|[|;&(]|\$\(|\bthen|\bdo|\belse)\s*(?:(?:sudo|exec|timeout\s+\S+|setsid|nsenter(?:\s+-\S+)*)\s+)*([a-z][\w.+-]*)(?![\w=(])/g;
        for (const m of line.matchAll(cmd)) if (!SHELL_WORDS.has(m[1]!) && !functions.has(m[1]!)) add(m[1]!, f);
      }
    } else {
      for (const m of text.matchAll(/\b\w+\(\s*\[?\s*['"`]([a-z][\w.+-]*)['"`]/g)) add(m[1]!, f);
    }
  }
  return words;
}

describe('every program the project runs comes from a listed Debian package', () => {
  const listed = listedPackages(ROOT);

  it('each program of test/support/programs.ts is installed, from the package it names, and that package is listed (or part of every Debian system)', () => {
    const problems: string[] = [];
    for (const [name, p] of Object.entries(PROGRAMS)) {
      const path = programPath(name, { PATH: '/usr/local/bin:/usr/bin:/bin' });
      if (!path) {
        problems.push(`${name}: not installed (Debian package ${p.package}; scripts/setup installs the list)`);
        continue;
      }
      const pkg = owner(path);
      if (pkg !== p.package) problems.push(`${name}: ${path} belongs to ${pkg ?? 'no Debian package'}, not ${p.package}`);
      if (!listed.includes(p.package) && !isBasePackage(p.package)) problems.push(`${name}: its package ${p.package} is not in .ci/debian-packages`);
    }
    expect(problems).toEqual([]);
  });

  it('.ci/debian-packages holds nothing unused: each package ships a program of the table or is a named support package', () => {
    const used = new Set(Object.values(PROGRAMS).map((p) => p.package));
    const unused = listed.filter((p) => !used.has(p) && !(p in SUPPORT_PACKAGES));
    expect(unused).toEqual([]);
  });

  it('the sources run no program that the table does not know (apart from those every Debian system has)', () => {
    const unknown: string[] = [];
    const ours = new Set(readdirSync(join(ROOT, 'bin')));
    for (const [word, files] of programWords()) {
      if (word in PROGRAMS || word in NOT_PROGRAMS || ours.has(word)) continue; // bin/: this repository's own
      const path = programPath(word, { PATH: '/usr/local/bin:/usr/bin:/bin' });
      if (!path) continue; // not a program on this machine: a function, a variable, a word
      const pkg = owner(path);
      if (pkg && isBasePackage(pkg)) continue;
      unknown.push(`${word} (${path}, package ${pkg ?? 'none'}) in ${[...files].join(', ')}`);
    }
    expect(unknown, 'add each to PROGRAMS in test/support/programs.ts and its package to .ci/debian-packages').toEqual([]);
  });
});
