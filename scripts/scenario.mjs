// `npm run scenario [-- --json] [-- --fencekit-only]`: the KVM HA pair (docs/kvm-ha.md), every scenario, first with
// fencekit's agents, then with fence-agents' (fence_ipmilan, fence_apc_snmp) on the same wiring and the same
// exported topology. Prints a table; with --json, one JSON object on the last line:
//   {"scenarios":[{"name":"power-loss","ok":true,"fencekit_s":12.3,"fence_agents_s":27.9,"second_writer_seen":false}, ...]}
// Times are failure → the guest writing again on the survivor (split-brain: the median of its rounds); null
// where not measured (fabric runs with fencekit only). The exit status is 1 when a scenario that ran failed or
// the witness saw a second writer in one, or did not see it in a negative control (the broken fence device;
// fabric's storage port re-enabled by hand without a reboot).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
delete process.env.NODE_EXTRA_CA_CERTS; // ~90 ms per Node start here
const args = process.argv.slice(2);
const json = args.includes('--json');
const families = args.includes('--fencekit-only') ? ['fencekit'] : ['fencekit', 'fence-agents'];
const NAMES = ['power-loss', 'hung', 'split-brain', 'fabric'];

const build = spawnSync(process.execPath, [join(root, 'scripts/build.mjs')], { stdio: json ? ['ignore', 'ignore', 'inherit'] : 'inherit', cwd: root });
if (build.status !== 0) process.exit(1);

const out = mkdtempSync(join(tmpdir(), 'fk-scenario-'));
const results = join(out, 'results.jsonl');
const vitest = join(root, 'node_modules/vitest/vitest.mjs');
let vitestFailed = false;
for (const devices of families) {
  const env = { ...process.env, FK_SCENARIO_ALL: '1', FK_SCENARIO_DEVICES: devices, FK_SCENARIO_RESULTS: results };
  // fence-agents' run is for the timings: three split-brain rounds are enough for a median.
  if (devices === 'fence-agents' && !env.FK_SCENARIO_SPLIT_ROUNDS) env.FK_SCENARIO_SPLIT_ROUNDS = '3';
  const r = spawnSync(process.execPath, [vitest, 'run', '--project', 'scenario'], { stdio: json ? ['ignore', 2, 2] : 'inherit', cwd: root, env });
  if (r.status !== 0) vitestFailed = true;
}
const lines = existsSync(results) ? readFileSync(results, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)) : [];
rmSync(out, { recursive: true, force: true });

const find = (name, devices) => lines.find((l) => l.name === name && l.devices === devices);
const scenarios = NAMES.map((name) => {
  const ours = find(name, 'fencekit');
  const theirs = find(name, 'fence-agents');
  const ran = [ours, theirs].filter(Boolean);
  return {
    name,
    ok: ran.length === 0 ? null : ran.every((r) => r.ok),
    fencekit_s: ours?.seconds ?? null,
    fence_agents_s: theirs?.seconds ?? null,
    second_writer_seen: ran.some((r) => r.second_writer_seen),
  };
});
const control = find('negative-control', 'fencekit');
const byHand = find('fabric-reenabled-by-hand', 'fencekit');

const cell = (v) => (v === null || v === undefined ? '—' : typeof v === 'number' ? `${v.toFixed(1)} s` : String(v));
console.log('\nscenario       ok     fencekit   fence-agents   second writer');
for (const s of scenarios) console.log(`${s.name.padEnd(14)} ${cell(s.ok).padEnd(6)} ${cell(s.fencekit_s).padStart(8)}   ${cell(s.fence_agents_s).padStart(12)}   ${s.second_writer_seen}`);
if (control) console.log(`negative control (broken fence device): the witness ${control.second_writer_seen ? 'saw the second writer' : 'DID NOT see a second writer'}`);
if (byHand) console.log(`fabric, storage port re-enabled by hand without a reboot: the witness ${byHand.second_writer_seen ? 'saw the second writer' : 'DID NOT see a second writer'}`);
for (const l of lines) {
  for (const s of [l.split].flat().filter(Boolean)) {
    console.log(`  ${l.name} ${l.devices}: total ${s.totalS?.toFixed(1)} s = detection ${s.detectionS?.toFixed(1)}, level 1 ${s.level1S?.toFixed(1) ?? '—'}, level 2 ${s.level2S?.toFixed(1) ?? '—'}, guest start ${s.guestStartS?.toFixed(1)}`);
  }
}
const failed = vitestFailed || scenarios.some((s) => s.ok === false || s.second_writer_seen) || [control, byHand].some((c) => c !== undefined && !c.second_writer_seen);
const asControl = (c) => (c ? { ok: c.ok, second_writer_seen: c.second_writer_seen } : null);
if (json) console.log(JSON.stringify({ scenarios, negative_control: asControl(control), fabric_reenabled_by_hand: asControl(byHand) }));
process.exit(failed ? 1 : 0);
