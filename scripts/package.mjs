// `npm run package`: the Debian and RPM packages, out/fencekit_<version>_all.deb and
// out/fencekit-<version>-1.noarch.rpm, both from one staged tree, so they hold the same files:
//   /usr/sbin/fence_kit_* and /usr/sbin/fencekit   a small file of its own for every agent and alias (the
//                                                  agent takes its name from the file it runs as), 0755
//   /usr/lib/fencekit/dist/                        the self-contained build (scripts/build.mjs)
//   /usr/lib/fencekit/bin/                         links to /usr/sbin/fence_kit_*: the CLI runs the agents
//                                                  in bin/ beside its dist/, as in a checkout
//   /usr/lib/fencekit/lab/assets/                  what the lab runs (fencekit demo, fencekit lab)
//   /usr/share/man/man8/*.8.gz, /usr/share/doc/fencekit/
// Every file is root-owned; nothing runs at install or removal (no maintainer scripts).
// The runtime is the distribution's nodejs (packaging/runtime.json).
// Options: --no-build (package dist/ as it is), --out DIR.
import { execFileSync, spawnSync } from 'node:child_process';
import {
  chmodSync, copyFileSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync,
  statSync, symlinkSync, utimesSync, writeFileSync,
} from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const runtime = JSON.parse(readFileSync(join(root, 'packaging/runtime.json'), 'utf8'));
const args = process.argv.slice(2);
const outDir = args.includes('--out') ? args[args.indexOf('--out') + 1] : join(root, 'out');
const LIB = '/usr/lib/fencekit';
const NODE = '/usr/bin/node';

if (!args.includes('--no-build')) {
  const b = spawnSync(process.execPath, [join(root, 'scripts/build.mjs')], { stdio: 'inherit', cwd: root });
  if (b.status !== 0) process.exit(1);
}
// The packages' files carry the time of the last commit, so two builds of one commit are the same.
const epoch = Number(process.env.SOURCE_DATE_EPOCH ?? execFileSync('git', ['-C', root, 'log', '-1', '--format=%ct'], { encoding: 'utf8' }).trim());
const { AGENTS } = await import(pathToFileURL(join(root, 'dist/registry.mjs')).href);

const stage = mkdtempSync(join(tmpdir(), 'fencekit-stage-'));
const at = (p) => join(stage, p);
function dir(p) {
  mkdirSync(at(p), { recursive: true });
}
function file(p, content, mode = 0o644) {
  dir(dirname(p));
  writeFileSync(at(p), content);
  chmodSync(at(p), mode);
}
function copyTree(from, to) {
  dir(to);
  for (const e of readdirSync(from)) {
    const s = join(from, e);
    if (statSync(s).isDirectory()) copyTree(s, join(to, e));
    else {
      // A script (a #! line) is executable, whatever its mode in git: rpmlint refuses one that is not.
      const content = readFileSync(s);
      file(join(to, e), content, statSync(s).mode & 0o111 || content.subarray(0, 2).toString() === '#!' ? 0o755 : 0o644);
    }
  }
}
const gz = (text) => gzipSync(text, { level: 9 }); // Node writes no name and a zero time in the header

// The build, the lab's files.
copyTree(join(root, 'dist'), `${LIB}/dist`);
rmSync(at(`${LIB}/dist/bundled-packages.json`)); // its content goes into the copyright file
copyTree(join(root, 'lab/assets'), `${LIB}/lab/assets`);

// An agent per name in bin/ (agents, aliases, fence_kit_scsi_check*), and the CLI. bin/ says which bundle
// each name runs: its launcher (or the launcher it links to) requires dist/agents/<bundle>.cjs.
const sbinNames = [];
for (const name of readdirSync(join(root, 'bin')).filter((n) => n.startsWith('fence_kit_')).sort()) {
  const launcher = readFileSync(realpathSync(join(root, 'bin', name)), 'utf8');
  const m = /'dist', 'agents', '([\w-]+\.cjs)'/.exec(launcher);
  if (!m || !existsSync(join(root, 'dist/agents', m[1]))) throw new Error(`bin/${name}: cannot tell which dist/agents bundle it runs`);
  const bundle = `${LIB}/dist/agents/${m[1]}`;
  file(`/usr/sbin/${name}`, `#!${NODE}\n// ${name}, from the fencekit package: the agent is ${bundle}; it takes its name from this file's name.\nrequire(${JSON.stringify(bundle)});\n`, 0o755);
  dir(`${LIB}/bin`);
  symlinkSync(relative(`${LIB}/bin`, `/usr/sbin/${name}`), at(`${LIB}/bin/${name}`));
  sbinNames.push({ name, bundle: m[1] });
}
file(
  '/usr/sbin/fencekit',
  `#!${NODE}\n// fencekit, from the fencekit package: the CLI is ${LIB}/dist/fencekit.mjs.\nimport(${JSON.stringify(pathToFileURL(`${LIB}/dist/fencekit.mjs`).href)});\n`,
  0o755,
);

// Manual pages: one per agent; every other name (aliases, fence_kit_scsi_check*) links to the page of the
// agent whose bundle it runs.
const pageOfBundle = new Map(Object.entries(AGENTS).map(([bundle, agent]) => [`${bundle}.cjs`, agent.name]));
for (const { name, bundle } of sbinNames) {
  const page = pageOfBundle.get(bundle);
  if (!page) throw new Error(`${name}: no agent in the registry builds ${bundle}`);
  if (name === page) file(`/usr/share/man/man8/${name}.8.gz`, gz(readFileSync(join(root, 'man', `${name}.8`))));
  else symlinkSync(`${page}.8.gz`, at(`/usr/share/man/man8/${name}.8.gz`));
}
file('/usr/share/man/man8/fencekit.8.gz', gz(readFileSync(join(root, 'packaging/fencekit.8'), 'utf8').replaceAll('@VERSION@', pkg.version)));

// Documentation: README, copyright (fencekit and every npm package bundled into dist/), changelog.
const doc = '/usr/share/doc/fencekit';
file(`${doc}/README.md.gz`, gz(readFileSync(join(root, 'README.md'))));
file(`${doc}/copyright`, copyright());
const date = new Date(epoch * 1000).toUTCString().replace(/GMT$/, '+0000');
const maintainer = /^Maintainer: (.*)$/m.exec(readFileSync(join(root, 'packaging/debian/control'), 'utf8'))[1];
file(`${doc}/changelog.gz`, gz(`fencekit (${pkg.version}) unstable; urgency=medium\n\n  * Built from the fencekit sources by npm run package.\n\n -- ${maintainer}  ${date}\n`));

function copyright() {
  const bundled = JSON.parse(readFileSync(join(root, 'dist/bundled-packages.json'), 'utf8'));
  const parts = [
    'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/',
    'Upstream-Name: fencekit',
    '',
    'Files: *',
    'Copyright: fencekit contributors',
    'License: GPL-2+',
    ' This program is free software; you can redistribute it and/or modify it under the terms of the GNU',
    ' General Public License as published by the Free Software Foundation; either version 2 of the License,',
    ' or (at your option) any later version.',
    ' .',
    ' On Debian systems, the full text of the GNU General Public License version 2 is in',
    ' /usr/share/common-licenses/GPL-2.',
  ];
  for (const b of bundled) {
    const dirOf = join(root, 'node_modules', b.name);
    const text = licenceText(dirOf);
    const licence = b.license ?? /^(\w+) License/m.exec(text)?.[1] ?? 'see below';
    parts.push(
      '',
      `Files: ${LIB.slice(1)}/dist/*`,
      `Copyright: ${b.author ?? `the ${b.name} authors`}`,
      `License: ${licence}`,
      `Comment: npm package ${b.name} ${b.version}, bundled into the build. Its licence text:`,
      ...text.split('\n').map((l) => (l.trim() === '' ? ' .' : ` ${l}`)),
    );
  }
  return `${parts.join('\n')}\n`;
}

/** A package's licence file, or else the "License" section of its README (net-snmp, asn1-ber). */
function licenceText(dirOf) {
  const names = readdirSync(dirOf);
  const licenceFile = names.find((f) => /^(licen[cs]e|copying)(\.md|\.txt)?$/i.test(f));
  if (licenceFile) return readFileSync(join(dirOf, licenceFile), 'utf8').trim();
  const readme = names.find((f) => /^readme\.md$/i.test(f));
  const section = readme && /^#+ *Licen[cs]e *\n([\s\S]*?)(?=^#|(?![\s\S]))/im.exec(readFileSync(join(dirOf, readme), 'utf8'));
  if (!section || !/permission|licen[cs]e/i.test(section[1])) throw new Error(`${dirOf}: no licence file and no License section in its README`);
  return section[1].trim();
}

// Every file and directory root:root (set by dpkg-deb and rpm), directories 0755, the time of the commit.
function settle(p) {
  const st = lstatSync(p);
  if (st.isDirectory()) {
    chmodSync(p, 0o755);
    for (const e of readdirSync(p)) settle(join(p, e));
  }
  if (!st.isSymbolicLink()) utimesSync(p, epoch, epoch);
}
settle(stage);

function walkFiles(base, p = base) {
  return readdirSync(p).flatMap((e) => {
    const full = join(p, e);
    const st = lstatSync(full);
    return st.isDirectory() ? walkFiles(base, full) : [{ path: `/${relative(base, full)}`, full, st }];
  });
}

// The Debian package.
mkdirSync(outDir, { recursive: true });
const deb = join(outDir, `fencekit_${pkg.version}_all.deb`);
const debRoot = mkdtempSync(join(tmpdir(), 'fencekit-deb-'));
execFileSync('cp', ['-a', `${stage}/.`, debRoot]);
const files = walkFiles(stage);
const installedKiB = Math.ceil(files.reduce((n, f) => n + (f.st.isSymbolicLink() ? 0 : f.st.size), 0) / 1024);
mkdirSync(join(debRoot, 'DEBIAN'));
writeFileSync(
  join(debRoot, 'DEBIAN/control'),
  readFileSync(join(root, 'packaging/debian/control'), 'utf8')
    .replaceAll('@VERSION@', pkg.version)
    .replaceAll('@INSTALLED_SIZE@', String(installedKiB))
    .replaceAll('@NODE_MINIMUM@', runtime.minimum),
);
writeFileSync(
  join(debRoot, 'DEBIAN/md5sums'),
  files.filter((f) => f.st.isFile()).map((f) => `${createHash('md5').update(readFileSync(f.full)).digest('hex')}  ${f.path.slice(1)}\n`).sort().join(''),
);
for (const f of ['control', 'md5sums']) chmodSync(join(debRoot, 'DEBIAN', f), 0o644);
chmodSync(join(debRoot, 'DEBIAN'), 0o755);
execFileSync('dpkg-deb', ['--root-owner-group', '-Zxz', '--build', debRoot, deb], { env: { ...process.env, SOURCE_DATE_EPOCH: String(epoch) }, stdio: ['ignore', 'ignore', 'inherit'] });
rmSync(debRoot, { recursive: true, force: true });

// The RPM package, from the same tree.
const top = mkdtempSync(join(tmpdir(), 'fencekit-rpm-'));
execFileSync(
  'rpmbuild',
  [
    '-bb', '--quiet',
    '--define', `_topdir ${top}`,
    '--define', `fk_version ${pkg.version}`,
    '--define', `fk_node_minimum ${runtime.minimum}`,
    '--define', `fk_stage ${stage}`,
    '--define', `fk_changelog_date ${new Date(epoch * 1000).toUTCString().replace(/^(\w+), (\d+) (\w+) (\d+).*/, '$1 $3 $2 $4')}`,
    '--define', `_build_id_links none`,
    '--define', 'use_source_date_epoch_as_buildtime 1',
    '--define', 'clamp_mtime_to_source_date_epoch 1',
    join(root, 'packaging/fencekit.spec'),
  ],
  { env: { ...process.env, SOURCE_DATE_EPOCH: String(epoch) }, stdio: ['ignore', 'ignore', 'inherit'] },
);
const rpmName = `fencekit-${pkg.version}-1.noarch.rpm`;
const rpm = join(outDir, rpmName);
copyFileSync(join(top, 'RPMS/noarch', rpmName), rpm);
rmSync(top, { recursive: true, force: true });
rmSync(stage, { recursive: true, force: true });

for (const p of [deb, rpm]) console.log(`${relative(process.cwd(), p) || p}  ${(statSync(p).size / 1024).toFixed(0)} KiB`);
console.log(`${sbinNames.length} agents and aliases in /usr/sbin, installed size ${installedKiB} KiB; runtime: nodejs >= ${runtime.minimum}`);
if (!existsSync(deb) || !existsSync(rpm)) process.exit(1);
