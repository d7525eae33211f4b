// Build every agent and the fencekit CLI into dist/ with esbuild: one ESM bundle per entry point, code
// split so that protocol clients (IPMI, SNMP, SSH) sit in chunks loaded only by `await import()`. What the
// metadata / validate-all path loads is what Pacemaker pays on every device registration and monitor.
import { build } from 'esbuild';
import { readFileSync, readdirSync, existsSync, renameSync, rmSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

const entryPoints = {};
for (const dir of readdirSync(join(root, 'agents'))) {
  const main = join(root, 'agents', dir, 'main.ts');
  if (existsSync(main)) entryPoints[`agents/${dir}`] = main;
}
entryPoints['registry'] = join(root, 'agents/registry.ts');
if (existsSync(join(root, 'cli/main.ts'))) entryPoints['fencekit'] = join(root, 'cli/main.ts');

// Build beside dist/ and swap it in, so agents being run by a test while someone rebuilds never find a
// half-written or empty dist/.
const staging = join(root, `dist.${process.pid}`);
rmSync(staging, { recursive: true, force: true });
await build({
  absWorkingDir: root,
  entryPoints,
  outdir: staging,
  outExtension: { '.js': '.mjs' },
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // npm packages stay in node_modules: net-snmp and ssh2 are CommonJS with optional native parts.
  packages: 'external',
  chunkNames: 'chunks/[name]-[hash]',
  define: { __FENCEKIT_VERSION__: JSON.stringify(pkg.version) },
  sourcemap: false,
  logLevel: 'warning',
});

const retired = join(root, `dist.old.${process.pid}`);
if (existsSync(join(root, 'dist'))) renameSync(join(root, 'dist'), retired);
renameSync(staging, join(root, 'dist'));
rmSync(retired, { recursive: true, force: true });

// Man pages come from the same declarations as the metadata.
const { writeManPages } = await import('./man.mjs');
await writeManPages(root, pkg.version);
console.log(`built ${Object.keys(entryPoints).length} entry points into dist/`);
