// The reduced fault matrix for CI: every fencekit network agent on its real peer (ipmi_sim, snmpd +
// PowerNet emulator, the ssh2 APC card, snmpd managing veths in namespaces) under one run of each fault,
// with tighter timeouts than `npm run faults` (which runs the full matrix beside Debian's agents and
// writes RELIABILITY.md). Rules, per run: no false success (exit 0 while the powered process runs or the
// veth is up), a failure ends within login_timeout + power_timeout + 1 s, a refusal ends within 2.5 s with
// its message, the baseline and a flapping (boot-looping) target are fenced.
import { describe, expect, it } from 'vitest';
import { faultByName } from './faults.js';
import { lastLine, runMatrix, SUBJECTS, type RunRecord } from './runner.js';
import type { RigName } from './rigs.js';

const FAULT_NAMES = ['none', 'loss30-both', 'loss50-to', 'blackhole', 'frozen', 'wrong-credentials', 'low-privilege', 'no-such-plug', 'lying', 'slow', 'flapping'];
const timing = { loginTimeoutS: 2, powerTimeoutS: 3, shellTimeoutS: 1, statusSleepS: 0.5 };

const table = (runs: readonly RunRecord[]) =>
  runs.map((r) => `${r.subject.padEnd(36)} ${r.fault.padEnd(18)} exit ${r.code} ${(r.ms / 1000).toFixed(2)} s on:${+r.onAtExit}${+r.onAfter} ${r.problems.join('; ') || lastLine(r.code === 0 ? r.stdout : r.stderr).slice(0, 80)}`).join('\n');

describe.each<RigName>(['ipmi', 'apc-snmp', 'apc-ssh', 'switch'])('fault matrix (reduced) on the %s peer', (rig) => {
  it('no false success, every failure within its bound, refusals at once with their message', async () => {
    const { runs, notApplicable } = await runMatrix({
      subjects: SUBJECTS.filter((s) => s.ours && s.rig === rig),
      faults: FAULT_NAMES.map(faultByName),
      timing,
      repeats: () => 1,
    });
    console.log(table(runs));
    // A cell the rig cannot build is said, with its reason, never dropped in silence; and every fault is
    // either run or declared not applicable.
    for (const n of notApplicable) console.log(`not applicable: ${n.rig} × ${n.fault}: ${n.reason}`);
    const covered = new Set<string>([...runs.map((r) => r.fault), ...notApplicable.map((n) => n.fault)]);
    expect(FAULT_NAMES.filter((f) => !covered.has(f))).toEqual([]);
    expect(runs.length).toBeGreaterThan(0);
    expect(runs.filter((r) => r.problems.length > 0).map((r) => `${r.subject} × ${r.fault}: ${r.problems.join('; ')}`)).toEqual([]);
  });
});
