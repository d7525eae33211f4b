// Devices in a topology run as agent processes, exactly as pacemaker-fenced runs them: the binary from
// bin/, key=value lines on stdin (secrets included, never argv), stdout/stderr captured, SIGKILL at the
// deadline. This costs one Node start (~50 ms) per call and buys: the code path Pacemaker exercises is the
// one the CLI exercises; a hung device cannot hang the CLI; 50 concurrent fences are 50 small processes
// whose memory is returned when each ends.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { DeviceAction, DeviceOutcome, LevelDevice } from './levels.js';
import { readSecret, type DeviceConfig } from './file.js';
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

export function agentStdin(call: AgentCall, env: NodeJS.ProcessEnv = process.env): string {
  const lines = [`action=${call.action}`];
  if (call.nodename) lines.push(`nodename=${call.nodename}`);
  if (call.plugs.length > 0) lines.push(`plug=${call.plugs.join(',')}`);
  for (const [k, v] of Object.entries(call.device.options)) lines.push(`${k}=${v}`);
  for (const [k, ref] of Object.entries(call.device.secrets)) lines.push(`${k}=${readSecret(call.device.name, k, ref, env)}`);
  return lines.join('\n') + '\n';
}

/** The last meaningful line an agent printed: its result on success, its error on failure. */
function summarise(stdout: string, stderr: string, ok: boolean): string {
  const pick = (text: string) => text.trim().split('\n').filter(Boolean).pop() ?? '';
  const line = ok ? pick(stdout) || 'Success' : pick(stderr.split('\n').filter((l) => !/ (DEBUG|INFO): /.test(l)).join('\n')) || pick(stdout) || 'Failed';
  return line.replace(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (ERROR|WARNING): /, '');
}

export function runAgentCall(binDir: string, call: AgentCall, env: NodeJS.ProcessEnv = process.env): Promise<AgentCallResult> {
  const started = Date.now();
  let input: string;
  try {
    input = agentStdin(call, env);
  } catch (err) {
    return Promise.resolve({ ok: false, exitCode: null, stdout: '', stderr: '', message: `Failed: ${(err as Error).message}`, ms: 0 });
  }
  return new Promise((resolve) => {
    const childEnv = { ...env };
    delete childEnv.NODE_EXTRA_CA_CERTS; // costs every Node start ~90 ms and is not needed by agents
    const child = spawn(join(binDir, call.device.agent.name), [], { env: childEnv, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let killed = false;
    const ms = remaining(call.deadline);
    const timer = Number.isFinite(ms)
      ? setTimeout(() => {
          killed = true;
          child.kill('SIGKILL');
        }, ms)
      : undefined;
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.stdin.on('error', () => undefined);
    child.on('error', (e) => {
      if (timer) clearTimeout(timer);
      resolve({ ok: false, exitCode: null, stdout: '', stderr: String(e), message: `Failed: cannot run ${call.device.agent.name}: ${e.message}`, ms: Date.now() - started });
    });
    child.on('close', (code) => {
      if (timer) clearTimeout(timer);
      const stdout = Buffer.concat(out).toString();
      const stderr = Buffer.concat(err).toString();
      const ok = !killed && (code === 0 || (call.action === 'status' && code === 2));
      const message = killed ? 'Failed: timed out (the topology deadline passed)' : summarise(stdout, stderr, ok);
      resolve({ ok, exitCode: code, stdout, stderr, message, ms: Date.now() - started });
    });
    child.stdin.end(input);
  });
}

export function levelDeviceRunner(binDir: string, devices: ReadonlyMap<string, DeviceConfig>, nodename: string, env: NodeJS.ProcessEnv = process.env) {
  return (d: LevelDevice, action: DeviceAction, deadline: number): Promise<DeviceOutcome> =>
    runAgentCall(binDir, { device: devices.get(d.device)!, action, plugs: d.plugs, nodename, deadline }, env);
}
