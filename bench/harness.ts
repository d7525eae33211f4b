// Shared by the benchmark scripts: time commands the same way for fencekit and for Debian's fence agents,
// in the same run, with NODE_EXTRA_CA_CERTS unset for both (it costs every Node start ~90 ms here and
// Pacemaker does not set it).
import { spawn } from 'node:child_process';

export interface Timed {
  ms: number;
  code: number | null;
  stdout: string;
  stderr: string;
}

export function timeCommand(file: string, args: string[], stdin = ''): Promise<Timed> {
  const env = { ...process.env };
  delete env.NODE_EXTRA_CA_CERTS;
  delete env.PCMK_service;
  const started = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b) => out.push(b));
    child.stderr.on('data', (b) => err.push(b));
    child.on('error', reject);
    child.on('close', (code) => resolve({ ms: Number(process.hrtime.bigint() - started) / 1e6, code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() }));
    child.stdin.end(stdin);
  });
}

export const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

export interface Comparison {
  name: string;
  oursMs: number[];
  peerMs: number[];
  target?: number;
}

/** Failed runs per label: the peer's failures are part of the result, ours fail the bench. */
export const failures = new Map<string, number>();

/** Run `prepare` (untimed) then the timed command, `runs` times; fail loudly if the command failed. */
export async function sample(runs: number, prepare: () => Promise<void>, command: () => Promise<Timed>, label: string, expectCode: number[] = [0]): Promise<number[]> {
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) {
    await prepare();
    const t = await command();
    if (!expectCode.includes(t.code ?? -1)) {
      if (label.startsWith('fencekit')) throw new Error(`${label}: exit ${t.code}: ${t.stderr.trim().split('\n').pop()}`);
      failures.set(label, (failures.get(label) ?? 0) + 1);
    }
    ms.push(t.ms);
  }
  return ms;
}

export function report(title: string, rows: Comparison[]): string {
  const lines = [`${title}`, `${'case'.padEnd(34)} ${'fencekit ms'.padStart(12)} ${'peer ms'.padStart(10)} ${'ratio'.padStart(7)}  target`];
  for (const r of rows) {
    const ours = median(r.oursMs);
    const peer = median(r.peerMs);
    const ratio = ours / peer;
    const verdict = r.target === undefined ? '' : `${ratio <= r.target ? 'met' : 'MISSED'} (<= ${r.target}x)`;
    lines.push(`${r.name.padEnd(34)} ${ours.toFixed(1).padStart(12)} ${peer.toFixed(1).padStart(10)} ${`${ratio.toFixed(2)}x`.padStart(7)}  ${verdict}`);
  }
  for (const [label, n] of failures) lines.push(`note: ${label} failed ${n} time(s); those runs are timed as they ended`);
  return lines.join('\n');
}
