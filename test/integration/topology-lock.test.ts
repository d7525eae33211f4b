// The per-node fence lock across processes: many contenders, each a separate Node process running the real
// lib/topology/lock.ts (bundled here with esbuild), log when they enter and leave; no two may ever be inside
// at once. A holder killed with SIGKILL must not leave a lock behind that others wait out.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../support/run-agent.js';

let work: string;
let contender: string;

const SOURCE = `
import { appendFileSync, writeFileSync } from 'node:fs';
import { lockNode } from ${JSON.stringify(join(ROOT, 'lib/topology/lock.ts'))};
const [log, dir, rounds, holdMs] = process.argv.slice(2);
for (let i = 0; i < Number(rounds); i++) {
  const lock = await lockNode('node1', Date.now() + 60_000, dir);
  appendFileSync(log, \`enter \${process.pid}\\n\`);
  if (Number(holdMs) > 0) await new Promise((r) => setTimeout(r, Number(holdMs) * Math.random()));
  appendFileSync(log, \`leave \${process.pid}\\n\`);
  lock.release();
  await new Promise((r) => setImmediate(r));
}
`;

function runContender(args: string[]): { pid: number; done: Promise<number | null> } {
  const child = spawn(process.execPath, [contender, ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
  return { pid: child.pid!, done: new Promise((r) => child.on('close', (code) => r(code))) };
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'fk-lock-'));
  writeFileSync(join(work, 'contender.ts'), SOURCE);
  contender = join(work, 'contender.mjs');
  await build({ entryPoints: [join(work, 'contender.ts')], bundle: true, platform: 'node', format: 'esm', target: 'node20', outfile: contender, logLevel: 'warning' });
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('the node lock (separate processes running lib/topology/lock.ts)', () => {
  it('eight contenders taking one node lock 25 times each are never inside together', async () => {
    const dir = join(work, 'locks-a');
    const log = join(work, 'a.log');
    writeFileSync(log, '');
    const runs = Array.from({ length: 8 }, () => runContender([log, dir, '25', '3']));
    expect(await Promise.all(runs.map((r) => r.done))).toEqual(Array(8).fill(0));
    const lines = readFileSync(log, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(8 * 25 * 2);
    for (let i = 0; i < lines.length; i += 2) {
      const [enter, leave] = [lines[i]!, lines[i + 1]!];
      expect(enter.startsWith('enter '), `line ${i}: ${enter}`).toBe(true);
      expect(leave, `line ${i + 1}: someone entered while ${enter.slice(6)} held the lock`).toBe(`leave ${enter.slice(6)}`);
    }
  }, 60_000);

  it('a holder killed with SIGKILL leaves nothing to wait out: the next contender gets the lock at once', async () => {
    const dir = join(work, 'locks-b');
    const log = join(work, 'b.log');
    writeFileSync(log, '');
    const holder = runContender([log, dir, '1', '600000']);
    const until = Date.now() + 10_000;
    while (!readFileSync(log, 'utf8').includes(`enter ${holder.pid}`) && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    expect(readFileSync(log, 'utf8')).toBe(`enter ${holder.pid}\n`);
    process.kill(holder.pid, 'SIGKILL');
    await holder.done;
    const started = Date.now();
    const next = runContender([log, dir, '1', '0']);
    expect(await next.done).toBe(0);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(readFileSync(log, 'utf8')).toBe(`enter ${holder.pid}\nenter ${next.pid}\nleave ${next.pid}\n`);
  }, 30_000);
});
