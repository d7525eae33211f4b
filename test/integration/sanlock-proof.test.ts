// fence_kit_sanlock off accepts only proof that the victim was reset: sanlock's own verdict that the victim's
// delta lease is DEAD (it stopped renewing without leaving, host_dead_seconds ago, so its watchdog fired),
// never a paxos lease that is merely free or re-owned. Real sanlock 3.8 daemons, two simulated nodes
// (test/peers/sanlock-lab.ts), io_timeout 1; the DEAD takeover itself is timed in sanlock.test.ts.
import { describe, expect, it } from 'vitest';
import { startSanlockLab, type SanlockLab, type SanlockNode } from '../peers/sanlock-lab.js';
import { peerForFile } from '../support/scratch.js';

let lab: SanlockLab;
let node1: SanlockNode;
let node2: SanlockNode;

peerForFile(() => startSanlockLab({ nodes: 2, ioTimeout: 1 }), (started) => {
  lab = started;
  [node1, node2] = lab.nodes as [SanlockNode, SanlockNode];
});

const HOLDER = /\0-o\0hold\0/;

async function until(what: string, ok: () => boolean, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function unfence(node: SanlockNode): Promise<void> {
  const r = await node.agent(['-o', 'on', ...lab.argv(node.hostId)], { timeoutMs: 60_000 });
  expect([r.code, r.stderr]).toEqual([0, '']);
}

describe('fence_kit_sanlock off with a victim that was never reset', () => {
  it('fails at power_timeout when the victim\'s lease is free but its host is in the lockspace, renewing', async () => {
    await unfence(node1);
    // node2 joins the lockspace but never takes its lease: a free lease of a live host (as a lease released
    // by a holder that stopped while the node runs on). Acquiring it is easy, and proves nothing.
    expect(node2.sanlock(['client', 'add_lockspace', '-s', `fence:2:${lab.leases}:0`, '-o', '1'])).toMatch(/add_lockspace_timeout done 0/);
    const r = await node1.agent(['-o', 'off', ...lab.argv(2), '--power-timeout=12'], { timeoutMs: 40_000 });
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/timed out/i);
    expect(r.stderr).toMatch(/host_id 2 is LIVE in lockspace fence and its lease is released: a released lease is no proof of a reset/);
    expect(r.code).toBe(1);
    expect(r.ms).toBeGreaterThan(11_500);
    expect(r.ms).toBeLessThan(16_000);
  }, 60_000);

  it('unfences node2 in the lockspace it joined', async () => {
    await unfence(node2);
    expect(node2.pids(HOLDER)).toHaveLength(1);
  }, 60_000);

  it('a second holder of the same lease refuses to start, an on again starts none, and the first keeps its lease', async () => {
    const [first] = node2.pids(HOLDER);
    const second = await node2.agent(['-o', 'hold', ...lab.argv(2)], { timeoutMs: 30_000 });
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(/a lease holder for host_id 2 on .* already runs here \(PID \d+\): not starting a second one/);
    const again = await node2.agent(['-o', 'on', ...lab.argv(2)], { timeoutMs: 60_000 });
    expect([again.code, again.stderr]).toEqual([0, '']);
    // Give a wrongly started holder time to acquire (and so kill the first one's lease) before looking.
    await new Promise((r) => setTimeout(r, 3000));
    expect(node2.pids(HOLDER)).toEqual([first]);
    const status = await node2.agent(['-o', 'status', ...lab.argv(2)], { timeoutMs: 30_000 });
    expect(status.stdout).toBe('Status: ON\n');
  }, 90_000);

  it('fails when the victim\'s holder was stopped by SIGTERM while the node runs on', async () => {
    const [holder] = node2.pids(HOLDER);
    process.kill(holder!, 'SIGTERM');
    await until('the holder to stop', () => node2.pids(HOLDER).length === 0, 45_000);
    const r = await node1.agent(['-o', 'off', ...lab.argv(2), '--power-timeout=12'], { timeoutMs: 40_000 });
    expect(r.stdout).toBe('');
    expect(r.stderr).not.toBe('');
    expect(r.code).toBe(1);
    expect(r.ms).toBeLessThan(16_000);
    expect(node2.alive()).toBe(true);
  }, 90_000);
});
