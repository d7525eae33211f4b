// `npm run bench [name…]`: bundle bench/*.ts with esbuild and run each in turn (a benchmark is a script,
// not a timed test). Each prints its comparison with Debian's fence agents measured in the same run.
import { spawnSync } from 'node:child_process';
import { readdirSync, existsSync } from 'node:fs';
import { join, dirname, basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleDevScript } from './bundle-dev-script.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
delete process.env.NODE_EXTRA_CA_CERTS;
if (!existsSync(join(root, 'dist/agents'))) spawnSync(process.execPath, [join(root, 'scripts/build.mjs')], { stdio: 'inherit' });
const wanted = process.argv.slice(2);
const benches = readdirSync(join(root, 'bench'))
  .filter((f) => f.endsWith('.ts') && f !== 'harness.ts')
  .map((f) => basename(f, '.ts'))
  .filter((n) => wanted.length === 0 || wanted.includes(n));
const outdir = join(root, 'bench', 'out');
await bundleDevScript(root, {
  entryPoints: benches.map((n) => join(root, 'bench', `${n}.ts`)),
  outdir,
  outExtension: { '.js': '.mjs' },
  // bench scripts locate the repo through import.meta.dirname: keep it pointing at bench/
  define: { 'import.meta.dirname': JSON.stringify(join(root, 'bench')) },
});
let failed = 0;
for (const name of benches) {
  console.log(`\n== bench ${name} ==`);
  const r = spawnSync(process.execPath, [join(outdir, `${name}.mjs`)], { stdio: 'inherit', cwd: root });
  if (r.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
