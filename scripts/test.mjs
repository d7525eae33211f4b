// `npm test`: build, then run every test tier one after another (the tiers share 2 cores and real peers;
// running them in turn keeps timing bounds honest), print each tier's time, and end with one plain
// summary line ("N passed, N failed"). With arguments, they go to a single vitest run instead
// (e.g. `npm test -- --project unit`).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// The machines here export NODE_EXTRA_CA_CERTS, which costs every Node start ~90 ms; Pacemaker does not.
delete process.env.NODE_EXTRA_CA_CERTS;
const TIERS = ['unit', 'conformance', 'integration', 'faults', 'guest', 'pacemaker', 'package', 'scenario'];

const build = spawnSync(process.execPath, [join(root, 'scripts/build.mjs')], { stdio: 'inherit', cwd: root });
if (build.status !== 0) {
  console.log('tests: 0 passed, 1 failed (build failed)');
  process.exit(1);
}

const out = mkdtempSync(join(tmpdir(), 'fk-test-'));
const vitest = join(root, 'node_modules/vitest/vitest.mjs');
const runs = process.argv.length > 2 ? [{ name: 'selected', args: process.argv.slice(2) }] : TIERS.map((t) => ({ name: t, args: ['--project', t] }));
const totals = { passed: 0, failed: 0, skipped: 0, tests: 0 };
const timings = [];
// What failed, named again after the tier times: CI keeps only the tail of a long run's output.
const failures = [];
let anyFailed = false;
for (const [i, run] of runs.entries()) {
  const report = join(out, `report-${i}.json`);
  const started = Date.now();
  console.log(`\n=== tier ${run.name} ===`);
  const r = spawnSync(process.execPath, [vitest, 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, ...run.args], { stdio: 'inherit', cwd: root });
  const seconds = (Date.now() - started) / 1000;
  let counts = 'no report';
  try {
    const j = JSON.parse(readFileSync(report, 'utf8'));
    totals.passed += j.numPassedTests;
    totals.failed += j.numFailedTests;
    totals.skipped += j.numPendingTests + (j.numTodoTests ?? 0);
    totals.tests += j.numTotalTests;
    counts = `${j.numPassedTests} passed, ${j.numFailedTests} failed`;
    if (j.numFailedTests > 0 || j.numFailedTestSuites > 0) anyFailed = true;
    for (const file of j.testResults ?? []) {
      const failed = (file.assertionResults ?? []).filter((a) => a.status === 'failed');
      if (file.status === 'failed' && failed.length === 0) failures.push({ tier: run.name, name: file.name.replace(`${root}/`, ''), message: file.message ?? '' });
      for (const a of failed) failures.push({ tier: run.name, name: `${file.name.replace(`${root}/`, '')} > ${a.fullName}`, message: (a.failureMessages ?? []).join('\n') });
    }
  } catch {
    anyFailed = true;
    totals.failed += 1;
  }
  if (r.status !== 0) anyFailed = true;
  timings.push(`${run.name.padEnd(12)} ${seconds.toFixed(1).padStart(7)} s  ${counts}`);
}
rmSync(out, { recursive: true, force: true });
console.log('\ntier times:');
for (const t of timings) console.log(`  ${t}`);
if (failures.length > 0) {
  console.log('\nfailed:');
  for (const f of failures) {
    console.log(`  [${f.tier}] ${f.name}`);
    for (const line of f.message.split('\n').filter((l) => l.trim() !== '' && !/node_modules|<anonymous>|node:internal/.test(l)).slice(0, 6)) console.log(`      ${line.slice(0, 300)}`);
  }
}
if (totals.tests === 0) {
  console.log('tests: 0 passed, 1 failed (no test ran)');
  process.exit(1);
}
console.log(`tests: ${totals.passed} passed, ${totals.failed} failed${totals.skipped ? `, ${totals.skipped} skipped` : ''}`);
process.exit(anyFailed ? 1 : 0);
