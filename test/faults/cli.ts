// `npm run faults`: the full fault matrix, every agent beside Debian's on the same peers, written to
// RELIABILITY.md. Options: --out FILE (default RELIABILITY.md), --repeats N (runs per loss cell, default 5;
// other cells get 2), --only LABEL,... (subjects whose label contains one of these), --faults a,b,
// --render FILE (write the report from a saved run, running nothing).
// Exits 1 if any fencekit run broke a rule (a false success, a bound overrun, a slow or wrong refusal).
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { FAULTS } from './faults.js';
import { renderReport } from './report.js';
import { runMatrix, SUBJECTS, lastLine } from './runner.js';
import { ROOT } from '../support/run-agent.js';

const args = process.argv.slice(2);
const arg = (name: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const out = arg('out') ?? join(ROOT, 'RELIABILITY.md');
const repeats = Number(arg('repeats') ?? 5);
const only = arg('only')?.split(',');
const faultNames = arg('faults')?.split(',');
const subjects = SUBJECTS.filter((s) => !only || only.some((o) => s.label.includes(o)));
const faults = FAULTS.filter((f) => !faultNames || faultNames.includes(f.name));
const timing = { loginTimeoutS: 3, powerTimeoutS: 5, shellTimeoutS: 2, statusSleepS: 1 };

// Ctrl-C / SIGTERM: finish the run under way, stop the peers, remove the nftables rules, write what ran.
let interrupted = false;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    console.log(`\n${sig}: stopping after the current run`);
  });
}

// --render FILE: write the report again from a saved run (tmp/faults/last-run.json) without running anything,
// e.g. after the report's text changed.
const saved = arg('render');
if (saved) {
  const x = JSON.parse(readFileSync(saved, 'utf8'));
  const startedAt = new Date(x.startedAt);
  const elapsedMs = x.elapsedMs ?? statSync(saved).mtimeMs - startedAt.getTime();
  writeFileSync(out, renderReport({ command: x.command ?? 'npm run faults', startedAt, elapsedMs, machine: x.machine ?? `Debian 12, ${cpus().length} cores shared with other work`, timing: x.timing, subjects, faults, runs: x.runs, notApplicable: x.notApplicable }));
  console.log(`rendered ${x.runs.length} runs from ${saved} into ${out}`);
  process.exit(0);
}

const startedAt = new Date();
const { runs, notApplicable } = await runMatrix({
  stopRequested: () => interrupted,
  subjects,
  faults,
  timing,
  repeats: (f) => (f.loss && f.loss.percent < 100 ? repeats : 2),
  onRun: (r) =>
    console.log(
      `${r.subject.padEnd(36)} ${r.fault.padEnd(18)} exit ${String(r.code).padEnd(4)} ${(r.ms / 1000).toFixed(2).padStart(6)} s  on:${r.onAtExit ? 1 : 0}${r.onAfter ? 1 : 0}  ${r.problems.length ? `!! ${r.problems.join('; ')}` : lastLine(r.code === 0 ? r.stdout : r.stderr).slice(0, 90)}` +
        (process.env.FK_FAULTS_VERBOSE ? `\n${r.stdout}${r.stderr}` : ''),
    ),
});
const command = `npm run faults${args.length ? ` -- ${args.join(' ')}` : ''}${interrupted ? ' (INTERRUPTED: partial results)' : ''}`;
mkdirSync(join(ROOT, 'tmp', 'faults'), { recursive: true });
const machine = `Debian 12, ${cpus().length} cores shared with other work, Node ${process.version}`;
const elapsedMs = Date.now() - startedAt.getTime();
writeFileSync(join(ROOT, 'tmp', 'faults', 'last-run.json'), JSON.stringify({ startedAt, elapsedMs, command, machine, timing, runs, notApplicable }, null, 1));
writeFileSync(out, renderReport({ command, startedAt, elapsedMs, machine, timing, subjects, faults, runs, notApplicable }));
const ours = runs.filter((r) => r.ours && r.problems.length > 0);
console.log(`\n${runs.length} runs; fencekit rule breaks: ${ours.length}; written to ${out}`);
process.exit(ours.length > 0 ? 1 : 0);
