// The fault matrix: every subject (an agent, ours or Debian's, on one rig) under every fault, `repeats`
// times; each run records its exit code, wall time and the target's real state read on the peer side.
// Violations are judged here once, for the vitest file and for `npm run faults` alike.
import type { Fault, FaultName } from './faults.js';
import { boundMs, apcSnmpRig, apcSshRig, ipmiRig, switchRig, type Rig, type RigName, type Timing } from './rigs.js';

export interface Subject {
  readonly label: string;
  readonly rig: RigName;
  readonly binary: string;
  readonly ours: boolean;
  readonly extra?: Record<string, string>;
}

export const SUBJECTS: readonly Subject[] = [
  { label: 'fence_kit_ipmi (native RMCP+)', rig: 'ipmi', binary: 'fence_kit_ipmi', ours: true },
  { label: 'fence_kit_ipmi transport=ipmitool', rig: 'ipmi', binary: 'fence_kit_ipmi', ours: true, extra: { transport: 'ipmitool' } },
  { label: 'fence_ipmilan (Debian)', rig: 'ipmi', binary: '/usr/sbin/fence_ipmilan', ours: false },
  { label: 'fence_kit_apc_snmp', rig: 'apc-snmp', binary: 'fence_kit_apc_snmp', ours: true },
  { label: 'fence_apc_snmp (Debian)', rig: 'apc-snmp', binary: '/usr/sbin/fence_apc_snmp', ours: false },
  { label: 'fence_kit_apc ssh=1', rig: 'apc-ssh', binary: 'fence_kit_apc', ours: true },
  { label: 'fence_kit_switch', rig: 'switch', binary: 'fence_kit_switch', ours: true },
  { label: 'fence_ifmib (Debian)', rig: 'switch', binary: '/usr/sbin/fence_ifmib', ours: false },
];

/** An explicit refusal must end this soon (an agent start on a loaded 2-core machine included). */
export const REFUSAL_MS = 2500;
/** After a reported off, the target is read every 50 ms for this long too (a flapping node comes back). */
const RECHECK_MS = 1000;

export interface RunRecord {
  readonly subject: string;
  readonly ours: boolean;
  readonly rig: RigName;
  readonly fault: FaultName;
  readonly expect: Fault['expect'];
  readonly code: number | null;
  readonly ms: number;
  readonly boundMs: number;
  /** The target's real state right after the agent exited, and whether it was on at any read in the RECHECK_MS after. */
  readonly onAtExit: boolean;
  readonly onAfter: boolean;
  readonly stdout: string;
  readonly stderr: string;
  readonly problems: readonly string[];
}

/** Every rule a run can break; empty for a good run. */
export function judge(r: Omit<RunRecord, 'problems'>, refusal?: RegExp): string[] {
  const p: string[] = [];
  const success = r.code === 0;
  if (success && (r.onAtExit || r.onAfter)) p.push(`FALSE SUCCESS: exit 0 but the target is on (${r.onAtExit ? 'at exit' : `within ${RECHECK_MS} ms`})`);
  if (r.code === null) p.push(`HANG: killed after ${r.ms} ms`);
  if (!success && r.ms > r.boundMs + 1000) p.push(`OVER BOUND: failed after ${r.ms} ms > ${r.boundMs} + 1000 ms`);
  if (r.expect === 'fail' && success) p.push('succeeded where nothing can fence');
  if (r.expect === 'refuse') {
    if (success) p.push('succeeded despite a refusal');
    else {
      if (r.ms > REFUSAL_MS) p.push(`refusal not at once: ${r.ms} ms > ${REFUSAL_MS} ms`);
      if (refusal && !refusal.test(r.stderr)) p.push(`refusal message does not match ${refusal}: ${lastLine(r.stderr)}`);
    }
  }
  if (r.expect === 'succeed' && !success) p.push(`failed: ${lastLine(r.stderr)}`);
  return p;
}

/** The last meaningful line (fence-agents ends every error with "Please use '-h' for usage"). */
export const lastLine = (s: string) =>
  s.trim().split('\n').filter((l) => l.trim() !== '' && !l.includes("Please use '-h' for usage") && !/Deprecation|from pipes import/.test(l)).pop() ?? '';

export interface MatrixOptions {
  readonly subjects: readonly Subject[];
  readonly faults: readonly Fault[];
  readonly timing: Timing;
  readonly repeats: (fault: Fault) => number;
  readonly onRun?: (r: RunRecord) => void;
  /** Asked between runs: true ends the matrix early (the rigs are still stopped, the runs so far returned). */
  readonly stopRequested?: () => boolean;
}

export interface NotApplicable {
  readonly rig: RigName;
  readonly fault: FaultName;
  readonly reason: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function startRig(name: RigName, timing: Timing): Promise<Rig> {
  switch (name) {
    case 'ipmi':
      return ipmiRig();
    case 'apc-snmp':
      return apcSnmpRig(timing);
    case 'apc-ssh':
      return apcSshRig(timing);
    case 'switch':
      return switchRig();
  }
}

export async function runMatrix(opts: MatrixOptions): Promise<{ runs: RunRecord[]; notApplicable: NotApplicable[] }> {
  const runs: RunRecord[] = [];
  const notApplicable: NotApplicable[] = [];
  const bound = boundMs(opts.timing);
  const rigNames = [...new Set(opts.subjects.map((s) => s.rig))];
  for (const rigName of rigNames) {
    const rig = await startRig(rigName, opts.timing);
    try {
      for (const fault of opts.faults) {
        const reason = rig.notApplicable[fault.name];
        if (reason) {
          notApplicable.push({ rig: rigName, fault: fault.name, reason });
          continue;
        }
        // Subjects alternate run by run, so that a slow minute of the machine hits all of them alike.
        for (let i = 0; i < opts.repeats(fault); i++) {
          for (const subject of opts.subjects.filter((s) => s.rig === rigName)) {
            if (opts.stopRequested?.()) return { runs, notApplicable };
            await rig.reset();
            const stdin = rig.stdin(fault, opts.timing, subject.extra);
            const undo = await rig.apply(fault);
            let result;
            let onAtExit: boolean;
            try {
              result = await rig.run(subject.binary, stdin, bound + 30_000);
              onAtExit = rig.targetOn();
            } finally {
              await undo();
            }
            let onAfter = onAtExit;
            if (result.code === 0) {
              for (const until = Date.now() + RECHECK_MS; Date.now() < until && !onAfter; await sleep(50)) onAfter = rig.targetOn();
            }
            const base = {
              subject: subject.label, ours: subject.ours, rig: rigName, fault: fault.name, expect: fault.expect,
              code: result.code, ms: Math.round(result.ms), boundMs: bound, onAtExit, onAfter,
              stdout: result.stdout, stderr: result.stderr,
            };
            const record: RunRecord = { ...base, problems: judge(base, rig.refusalMessage[fault.name]) };
            runs.push(record);
            opts.onRun?.(record);
          }
        }
      }
    } finally {
      await rig.stop();
    }
  }
  return { runs, notApplicable };
}

// ---------------------------------------------------------------- figures

export interface Cell {
  runs: number;
  successes: number;
  falseSuccesses: number;
  maxFailMs: number;
  maxMs: number;
  problems: number;
}

export function cells(runs: readonly RunRecord[], key: (r: RunRecord) => string): Map<string, Cell> {
  const m = new Map<string, Cell>();
  for (const r of runs) {
    const c = m.get(key(r)) ?? { runs: 0, successes: 0, falseSuccesses: 0, maxFailMs: 0, maxMs: 0, problems: 0 };
    c.runs++;
    if (r.code === 0) c.successes++;
    if (r.code === 0 && (r.onAtExit || r.onAfter)) c.falseSuccesses++;
    if (r.code !== 0) c.maxFailMs = Math.max(c.maxFailMs, r.ms);
    c.maxMs = Math.max(c.maxMs, r.ms);
    if (r.problems.length > 0) c.problems++;
    m.set(key(r), c);
  }
  return m;
}
