// `npm test`: build, run every test tier, and end with one plain summary line ("N passed, N failed").
// Extra arguments go to vitest (e.g. `npm test -- --project unit`).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// The machines here export NODE_EXTRA_CA_CERTS, which costs every Node start ~90 ms; Pacemaker does not.
delete process.env.NODE_EXTRA_CA_CERTS;

const build = spawnSync(process.execPath, [join(root, 'scripts/build.mjs')], { stdio: 'inherit', cwd: root });
if (build.status !== 0) {
  console.log('tests: 0 passed, 1 failed (build failed)');
  process.exit(1);
}

const out = mkdtempSync(join(tmpdir(), 'fk-test-'));
const report = join(out, 'report.json');
const started = Date.now();
const vitest = spawnSync(
  process.execPath,
  [join(root, 'node_modules/vitest/vitest.mjs'), 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, ...process.argv.slice(2)],
  { stdio: 'inherit', cwd: root },
);
let summary = 'tests: 0 passed, 1 failed (no report)';
try {
  const r = JSON.parse(readFileSync(report, 'utf8'));
  const skipped = r.numPendingTests + (r.numTodoTests ?? 0);
  summary = `tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed${skipped ? `, ${skipped} skipped` : ''}`;
  if (r.numTotalTests === 0) summary = 'tests: 0 passed, 1 failed (no test ran)';
} catch {
  // fall through with the failure summary
}
rmSync(out, { recursive: true, force: true });
console.log(`(${((Date.now() - started) / 1000).toFixed(1)} s)`);
console.log(summary);
process.exit(vitest.status === 0 && !summary.includes('(no') ? 0 : 1);
