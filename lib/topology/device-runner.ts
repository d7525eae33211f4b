// Devices in a topology run as agent processes, exactly as pacemaker-fenced runs them: the binary from
// bin/, key=value lines on stdin (secrets included, never argv), stdout/stderr captured, SIGKILL at the
// deadline. This costs one Node start (~50 ms) per call and buys: the code path Pacemaker exercises is the
// one the CLI exercises; a hung device cannot hang the CLI; 50 concurrent fences are 50 small processes
// whose memory is returned when each ends.
//
// Each agent runs in a process group of its own, and the deadline kills the whole group: the programs the
// agent runs (ipmitool, sg_persist, password scripts) stay in its group and die with it.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { DeviceAction, DeviceOutcome, LevelDevice } from './levels.js';
import { assertStdinValue, readSecret, secretVariables, type DeviceConfig } from './file.js';
import { remaining } from '../timing.js';

export interface AgentCall {
  readonly device: DeviceConfig;
  readonly action: DeviceAction | 'status' | 'monitor' | 'validate-all' | 'list-status';
  readonly plugs: readonly string[];
  readonly nodename?: string;
  readonly deadline: number;
}

export interface AgentCallResult extends DeviceOutcome {
  readonly exitCode: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** What the agent is run with: `confirm-off` is a status read. */
function agentAction(action: AgentCall['action']): string {
  return action === 'confirm-off' ? 'status' : action;
}

/**
 * The agent's stdin. Every value is checked again here, not only when the topology was loaded: this is the
 * seam where a value with a line break would become a line of its own.
 */
export function agentStdin(call: AgentCall, env: NodeJS.ProcessEnv = process.env): string {
  const name = call.device.name;
  const lines = [`action=${agentAction(call.action)}`];
  if (call.nodename !== undefined) {
    assertStdinValue(name, 'nodename', call.nodename);
    lines.push(`nodename=${call.nodename}`);
  }
  if (call.plugs.length > 0) {
    for (const p of call.plugs) assertStdinValue(name, 'plug', p);
    lines.push(`plug=${call.plugs.join(',')}`);
  }
  for (const [k, v] of Object.entries(call.device.options)) {
    assertStdinValue(name, k, v);
    lines.push(`${k}=${v}`);
  }
  for (const [k, ref] of Object.entries(call.device.secrets)) lines.push(`${k}=${readSecret(name, k, ref, env)}`); // readSecret checks
  return lines.join('\n') + '\n';
}

/** The environment agents get: the CLI's own, less every variable a topology secret comes from. */
export interface AgentEnvironment {
  /** Where `{ env: VAR }` secrets are read. */
  readonly secrets: NodeJS.ProcessEnv;
  /** What every agent (and whatever it runs) gets: secrets travel on stdin only. */
  readonly agents: NodeJS.ProcessEnv;
}

export function agentEnvironment(devices: Iterable<DeviceConfig>, env: NodeJS.ProcessEnv = process.env): AgentEnvironment {
  const agents = { ...env };
  for (const name of secretVariables(devices)) delete agents[name];
  delete agents.NODE_EXTRA_CA_CERTS; // costs every Node start ~90 ms and is not needed by agents
  return { secrets: env, agents };
}

/**
 * What counts as each step done: the exit status and the one result line fence-agents' protocol prints
 * (lib/actions.ts). An off that says "Already ON", an on that says "Powered OFF", anything else: not done.
 */
const EXPECTED: Partial<Record<AgentCall['action'], { exitCode: number; results: readonly string[] }>> = {
  off: { exitCode: 0, results: ['Success: Powered OFF', 'Success: Already OFF'] },
  on: { exitCode: 0, results: ['Success: Powered ON', 'Success: Already ON'] },
  reboot: { exitCode: 0, results: ['Success: Rebooted'] },
  // status exits 2 for OFF (fence-agents' protocol); fabric agents read a cut port, an absent key or a
  // lease no longer the victim's as OFF the same way.
  'confirm-off': { exitCode: 2, results: ['Status: OFF'] },
};

const resultLines = (stdout: string) => stdout.split('\n').map((l) => l.trim()).filter(Boolean);

/** The last meaningful line of an agent's error output, without the log prefix. */
function errorLine(stdout: string, stderr: string): string {
  const pick = (lines: string[]) => lines.pop() ?? '';
  const line = pick(resultLines(stderr).filter((l) => !/ (DEBUG|INFO): /.test(l))) || pick(resultLines(stdout)) || 'Failed';
  return line.replace(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (ERROR|WARNING): /, '');
}

/** Whether the agent did what `action` asked, and one line saying what happened. */
export function judgeAgentResult(action: AgentCall['action'], exitCode: number | null, stdout: string, stderr: string): { ok: boolean; message: string } {
  const expected = EXPECTED[action];
  const lines = resultLines(stdout);
  if (!expected) {
    const ok = exitCode === 0 || (action === 'status' && exitCode === 2);
    return { ok, message: ok ? (lines.pop() ?? 'Success') : errorLine(stdout, stderr) };
  }
  if (exitCode === expected.exitCode && lines.length === 1 && expected.results.includes(lines[0]!)) return { ok: true, message: lines[0]! };
  if (action === 'confirm-off') {
    if (exitCode === 0 && lines.join(' ') === 'Status: ON') return { ok: false, message: 'Failed: it still reads ON after the off' };
    return { ok: false, message: `Failed: the status read-back did not say OFF: ${exitCode === 1 ? errorLine(stdout, stderr) : `exit ${exitCode ?? 'by signal'}, "${lines.join(' ')}"`}` };
  }
  if (exitCode !== 0) return { ok: false, message: errorLine(stdout, stderr) };
  return { ok: false, message: `Failed: the agent exited 0 but its result was ${lines.length ? `"${lines.join(' | ')}"` : 'missing'}, not ${expected.results.map((r) => `"${r}"`).join(' or ')}` };
}

/** Process groups of the agents running now, for a CLI that is stopped to take down with it. */
const runningGroups = new Set<number>();

function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // the group is gone already
  }
}

/** SIGKILL every running agent's process group; returns how many there were. */
export function killRunningAgents(): number {
  const n = runningGroups.size;
  for (const pid of runningGroups) killGroup(pid);
  runningGroups.clear();
  return n;
}

export function runAgentCall(binDir: string, call: AgentCall, environment: AgentEnvironment = agentEnvironment([call.device])): Promise<AgentCallResult> {
  const started = Date.now();
  let input: string;
  try {
    input = agentStdin(call, environment.secrets);
  } catch (err) {
    return Promise.resolve({ ok: false, exitCode: null, stdout: '', stderr: '', message: `Failed: ${(err as Error).message}`, ms: 0 });
  }
  return new Promise((resolve) => {
    const child = spawn(join(binDir, call.device.agent.name), [], { env: environment.agents, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    const pid = child.pid;
    if (pid !== undefined) runningGroups.add(pid);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let killed = false;
    const ms = remaining(call.deadline);
    const timer = Number.isFinite(ms)
      ? setTimeout(() => {
          killed = true;
          if (pid !== undefined) killGroup(pid);
        }, ms)
      : undefined;
    const finish = (r: AgentCallResult) => {
      if (timer) clearTimeout(timer);
      if (pid !== undefined) runningGroups.delete(pid);
      resolve(r);
    };
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.stdin.on('error', () => undefined);
    child.on('error', (e) => {
      finish({ ok: false, exitCode: null, stdout: '', stderr: String(e), message: `Failed: cannot run ${call.device.agent.name}: ${e.message}`, ms: Date.now() - started });
    });
    child.on('close', (code) => {
      const stdout = Buffer.concat(out).toString();
      const stderr = Buffer.concat(err).toString();
      const judged = killed ? { ok: false, message: 'Failed: timed out (the topology deadline passed)' } : judgeAgentResult(call.action, code, stdout, stderr);
      finish({ ...judged, exitCode: code, stdout, stderr, ms: Date.now() - started });
    });
    child.stdin.end(input);
  });
}

export function levelDeviceRunner(binDir: string, devices: ReadonlyMap<string, DeviceConfig>, nodename: string, environment = agentEnvironment(devices.values())) {
  return (d: LevelDevice, action: DeviceAction, deadline: number): Promise<DeviceOutcome> =>
    runAgentCall(binDir, { device: devices.get(d.device)!, action, plugs: d.plugs, nodename, deadline }, environment);
}
