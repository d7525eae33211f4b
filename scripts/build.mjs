// Build every agent and the fencekit CLI into dist/ with esbuild.
//  - Each agent is one CommonJS file, dist/agents/<dir>.cjs. Pacemaker starts an agent for every metadata,
//    monitor and fence call, so its start-up is what matters: Node's CommonJS loader reads one file faster
//    than the ESM loader links a graph of chunks (measured: 43 vs 55 ms of CPU for -o metadata; bare node
//    26 ms). Protocol clients are reached through `await import()`, which esbuild turns into lazily run
//    module wrappers, and npm packages (net-snmp, ssh2) stay external: metadata, validate-all and option
//    errors run none of that code and require none of those packages.
//  - The CLI and the agent registry (for man pages) are ESM, code split.
import { build } from 'esbuild';
import { readFileSync, readdirSync, existsSync, renameSync, rmSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

const agentEntries = {};
for (const dir of readdirSync(join(root, 'agents'))) {
  const main = join(root, 'agents', dir, 'main.ts');
  if (existsSync(main)) agentEntries[dir] = main;
}
const esmEntries = { registry: join(root, 'agents/registry.ts'), fencekit: join(root, 'cli/main.ts') };

// Build beside dist/ and swap it in, so agents being run by a test while someone rebuilds never find a
// half-written or empty dist/.
const staging = join(root, `dist.${process.pid}`);
rmSync(staging, { recursive: true, force: true });
const common = {
  absWorkingDir: root,
  bundle: true,
  platform: 'node',
  target: 'node20',
  // npm packages stay in node_modules: net-snmp and ssh2 are CommonJS with optional native parts.
  packages: 'external',
  sourcemap: false,
  logLevel: 'warning',
};
await build({
  ...common,
  entryPoints: agentEntries,
  outdir: join(staging, 'agents'),
  outExtension: { '.js': '.cjs' },
  format: 'cjs',
  // import.meta.url (used to resolve packages with createRequire) from the bundle's own path.
  banner: { js: 'const __fk_import_meta_url = require("node:url").pathToFileURL(__filename).href;' },
  define: { __FENCEKIT_VERSION__: JSON.stringify(pkg.version), 'import.meta.url': '__fk_import_meta_url' },
});
await build({
  ...common,
  entryPoints: esmEntries,
  outdir: staging,
  outExtension: { '.js': '.mjs' },
  splitting: true,
  format: 'esm',
  chunkNames: 'chunks/[name]-[hash]',
  define: { __FENCEKIT_VERSION__: JSON.stringify(pkg.version) },
});

const retired = join(root, `dist.old.${process.pid}`);
if (existsSync(join(root, 'dist'))) renameSync(join(root, 'dist'), retired);
renameSync(staging, join(root, 'dist'));
rmSync(retired, { recursive: true, force: true });

// Man pages come from the same declarations as the metadata.
const { writeManPages } = await import('./man.mjs');
await writeManPages(root, pkg.version);
console.log(`built ${Object.keys(agentEntries).length} agents and the fencekit CLI into dist/`);
