// Build every agent and the fencekit CLI into dist/ with esbuild. dist/ is self-contained: it needs Node and
// nothing else at run time (no node_modules, no path into the source tree), so the Debian and RPM packages
// (scripts/package.mjs) install it as it is.
//  - Each agent is one CommonJS file, dist/agents/<dir>.cjs. Pacemaker starts an agent for every metadata,
//    monitor and fence call, so its start-up is what matters: Node's CommonJS loader reads one file faster
//    than the ESM loader links a graph of chunks (measured: 43 vs 55 ms of CPU for -o metadata; bare node
//    26 ms). Protocol clients are reached through `await import()`, which esbuild turns into lazily run
//    module wrappers. The two large npm packages (net-snmp, ssh2, ~1 MB with their dependencies) are
//    bundles of their own in dist/vendor/, required by relative path only when an agent speaks SNMP or
//    SSH: metadata, validate-all and option errors neither read nor parse them.
//  - The CLI and the agent registry (for man pages) are ESM, code split, with their packages bundled.
//  - Native add-ons are left out (the packages are architecture-independent): ssh2 and cpu-features load
//    theirs inside try/catch and fall back to JavaScript; in the bundle the add-on is a module that throws.
//  - The target is Node 18: the packages depend on the distribution's nodejs, and Debian 12 and Ubuntu
//    24.04 ship 18.19 (README, "Production install").
import { build } from 'esbuild';
import { readFileSync, readdirSync, existsSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, dirname, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

/** The oldest Node the built files run on; scripts/package.mjs writes it into the packages' dependencies. */
export const NODE_TARGET = 'node18';

// agents/<dir>/main.ts is the bundle <dir>; a directory that declares a second agent (agents/pdu-apc:
// fence_kit_apc and fence_kit_apc_snmp) has its entry in main-<name>.ts, the bundle <dir>-<name>. The
// registry (agents/registry.ts) is keyed by these bundle names.
const agentEntries = {};
for (const dir of readdirSync(join(root, 'agents'))) {
  if (!existsSync(join(root, 'agents', dir, 'main.ts'))) continue;
  for (const file of readdirSync(join(root, 'agents', dir))) {
    const m = /^main(-[a-z0-9]+)?\.ts$/.exec(file);
    if (m) agentEntries[`${dir}${m[1] ?? ''}`] = join(root, 'agents', dir, file);
  }
}
const esmEntries = { registry: join(root, 'agents/registry.ts'), fencekit: join(root, 'cli/main.ts') };
/** npm packages that get a bundle of their own in dist/vendor/, loaded by the agents only when used. */
const VENDORED = ['net-snmp', 'ssh2'];

/** Native add-ons resolve to a module that throws, as a missing add-on does: their users fall back to JS. */
const noNativeAddons = {
  name: 'no-native-addons',
  setup(b) {
    b.onResolve({ filter: /\.node$|^cpu-features$/ }, (a) => ({ path: a.path, namespace: 'fk-no-addon' }));
    b.onLoad({ filter: /.*/, namespace: 'fk-no-addon' }, (a) => ({
      contents: `throw new Error(${JSON.stringify(`${a.path}: native add-ons are not part of the fencekit build`)});`,
      loader: 'js',
    }));
  },
};

/**
 * lib/snmp/client.ts loads net-snmp with createRequire(import.meta.url), which esbuild leaves alone and which
 * would look for node_modules beside the bundle at run time. In the build it becomes a plain require() that
 * esbuild resolves (to dist/vendor/ for the agents). The build fails if the source no longer matches.
 */
const netSnmpRequire = {
  name: 'net-snmp-require',
  setup(b) {
    b.onLoad({ filter: /lib[\\/]snmp[\\/]client\.ts$/ }, (a) => {
      const text = readFileSync(a.path, 'utf8');
      const call = "createRequire(import.meta.url)('net-snmp')";
      if (text.split(call).length !== 2) throw new Error(`${a.path}: expected one ${call} (scripts/build.mjs rewrites it)`);
      return { contents: text.replace(call, "require('net-snmp')"), loader: 'ts' };
    });
  },
};

/**
 * lib/topology/file.ts reaches yaml through `await import('yaml')` and uses its named exports. Node gives a
 * CommonJS package named exports (cjs-module-lexer); esbuild gives it only `default`. yaml ships the same
 * code as an ES module (its "default" export condition): bundle that one.
 */
const yamlAsEsm = {
  name: 'yaml-as-esm',
  setup(b) {
    b.onResolve({ filter: /^yaml$/ }, () => ({ path: join(root, 'node_modules/yaml/browser/index.js') }));
  },
};

/** In the agents, a vendored package is dist/vendor/<name>.cjs, required relative to dist/agents/. */
const vendoredExternal = {
  name: 'vendored-external',
  setup(b) {
    b.onResolve({ filter: new RegExp(`^(${VENDORED.join('|')})$`) }, (a) => ({ path: `../vendor/${a.path}.cjs`, external: true }));
  },
};

// Build beside dist/ and swap it in, so agents being run by a test while someone rebuilds never find a
// half-written or empty dist/.
const staging = join(root, `dist.${process.pid}`);
rmSync(staging, { recursive: true, force: true });
const common = {
  absWorkingDir: root,
  bundle: true,
  platform: 'node',
  target: NODE_TARGET,
  sourcemap: false,
  logLevel: 'warning',
  metafile: true,
};
const agents = await build({
  ...common,
  entryPoints: agentEntries,
  outdir: join(staging, 'agents'),
  outExtension: { '.js': '.cjs' },
  format: 'cjs',
  plugins: [netSnmpRequire, vendoredExternal, noNativeAddons],
  // import.meta.url from the bundle's own path.
  banner: { js: 'const __fk_import_meta_url = require("node:url").pathToFileURL(__filename).href;' },
  define: { __FENCEKIT_VERSION__: JSON.stringify(pkg.version), 'import.meta.url': '__fk_import_meta_url' },
});
const vendor = await build({
  ...common,
  entryPoints: Object.fromEntries(VENDORED.map((p) => [p, p])),
  outdir: join(staging, 'vendor'),
  outExtension: { '.js': '.cjs' },
  format: 'cjs',
  plugins: [noNativeAddons],
});
const esm = await build({
  ...common,
  entryPoints: esmEntries,
  outdir: staging,
  outExtension: { '.js': '.mjs' },
  splitting: true,
  format: 'esm',
  chunkNames: 'chunks/[name]-[hash]',
  plugins: [netSnmpRequire, yamlAsEsm, noNativeAddons],
  // Bundled CommonJS packages (commander) require Node's built-ins; an ES module has no require of its own.
  banner: { js: 'import { createRequire as __fk_createRequire } from "node:module"; const require = __fk_createRequire(import.meta.url);' },
  define: { __FENCEKIT_VERSION__: JSON.stringify(pkg.version) },
});

// Which npm packages went into dist/, with their licences: the packages' copyright file lists them.
const bundled = new Map();
for (const { metafile } of [agents, vendor, esm]) {
  for (const input of Object.keys(metafile.inputs)) {
    const m = /(?:^|\/)node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input);
    if (!m || bundled.has(m[1])) continue;
    const p = JSON.parse(readFileSync(join(root, 'node_modules', m[1], 'package.json'), 'utf8'));
    bundled.set(m[1], { name: m[1], version: p.version, license: p.license, author: typeof p.author === 'string' ? p.author : p.author?.name ?? null });
  }
}
writeFileSync(join(staging, 'bundled-packages.json'), `${JSON.stringify([...bundled.values()].sort((a, b) => a.name.localeCompare(b.name)), null, 2)}\n`);

const retired = join(root, `dist.old.${process.pid}`);
if (existsSync(join(root, 'dist'))) renameSync(join(root, 'dist'), retired);
renameSync(staging, join(root, 'dist'));
rmSync(retired, { recursive: true, force: true });

// Man pages come from the same declarations as the metadata.
const { writeManPages } = await import('./man.mjs');
await writeManPages(root, pkg.version);
console.log(`built ${Object.keys(agentEntries).length} agents and the fencekit CLI into ${relative(process.cwd(), join(root, 'dist')) || 'dist'}/`);
