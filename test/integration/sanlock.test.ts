// fence_kit_sanlock against real sanlock 3.8 daemons: two simulated nodes on this machine, each daemon in
// its own mount namespace, sharing one lease file, io_timeout 1 (lease expiry floor 8 x 1 + 60 = 68 s).
// No watchdog here (-w 0): what is proven is the lease logic and its timing; the watchdog's reset is
// the guest-pair test's job. One 70-second takeover in the whole file.
import { describe, expect, it } from 'vitest';
import { startSanlockLab, type SanlockLab, type SanlockNode } from '../peers/sanlock-lab.js';
import { peerForFile } from '../support/scratch.js';

const IO_TIMEOUT = 1;
const FLOOR_S = 8 * IO_TIMEOUT + 60;

let lab: SanlockLab;
let node1: SanlockNode;
let node2: SanlockNode;

peerForFile(() => startSanlockLab({ nodes: 2, ioTimeout: IO_TIMEOUT }), (started) => {
  lab = started;
  [node1, node2] = lab.nodes as [SanlockNode, SanlockNode];
});

const leaderOf = (node: SanlockNode, hostId: number) => {
  const text = node.sanlock(['direct', 'read_leader', '-r', `fence:h${hostId}:${lab.leases}:${hostId * 1048576}`]);
  const field = (k: string) => Number(new RegExp(`^${k} (\\d+)$`, 'm').exec(text)?.[1]);
  return { ownerId: field('owner_id'), generation: field('owner_generation'), timestamp: field('timestamp'), lver: field('lver') };
};

/** The daemon's line for `node`'s own fence lease: held by a live process, or left as an orphan. */
const ownLease = (node: SanlockNode) => new RegExp(`^r fence:h${node.hostId}:.* p \\d+( ORPHAN)?$`, 'm').exec(node.sanlock(['client', 'status']))?.[0];

/**
 * Both nodes joined and owning their fence lease, as the first test leaves them: each later test calls this,
 * so it passes alone (`vitest -t NAME`) and none depends on the first having run. A node whose daemon already
 * has its lease is left alone, orphaned or not: a failed off of a renewing victim (the fifth test) leaves the
 * victim's lease an orphan, which is the state the takeover test has always started from in a full run.
 */
async function bothJoined(): Promise<void> {
  for (const node of [node1, node2]) {
    if (ownLease(node)) continue;
    const r = await node.agent(['-o', 'on', ...lab.argv(node.hostId)], { timeoutMs: 60_000 });
    if (r.code !== 0 || !ownLease(node)) {
      throw new Error(`host ${node.hostId} could not join the lockspace: exit ${r.code}, ${r.stderr.trim()}; client status: ${node.sanlock(['client', 'status'])}`);
    }
  }
}

describe('fence_kit_sanlock with two sanlock daemons sharing a lease file (io_timeout 1)', () => {
  it('on (unfencing, run on each node) joins the lockspace and holds the node\'s own lease', async () => {
    for (const node of [node1, node2]) {
      const r = await node.agent(['-o', 'on', ...lab.argv(node.hostId)], { timeoutMs: 60_000 });
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe('Success: Powered ON\n');
      expect(r.code).toBe(0);
      expect(ownLease(node), 'held by a live holder, not an orphan').toMatch(/ p \d+$/);
      expect(leaderOf(node, node.hostId).ownerId).toBe(node.hostId);
    }
    const again = await node1.agent(['-o', 'on', ...lab.argv(1)]);
    expect(again.stdout).toBe('Success: Already ON\n');
  }, 90_000);

  it('status reports a node renewing its lease ON (exit 0) and an unused host id OFF (exit 2)', async () => {
    await bothJoined();
    const on = await node1.agent(['-o', 'status', ...lab.argv(2)]);
    expect([on.code, on.stdout]).toEqual([0, 'Status: ON\n']);
    const off = await node1.agent(['-o', 'status', ...lab.argv(3)]);
    expect([off.code, off.stdout]).toEqual([2, 'Status: OFF\n']);
  });

  it('monitor passes where the daemon runs and the lockspace is joined, and fails where it is not', async () => {
    await bothJoined();
    const r = await node1.agent(['-o', 'monitor', ...lab.argv(1)]);
    expect([r.code, r.stderr]).toEqual([0, '']);
    const outside = await node1.agent(['-o', 'monitor', `--path=${lab.leases}x`, '--host-id=1']);
    expect(outside.code).toBe(1);
  });

  it('refuses to fence the node it runs on, at once', async () => {
    await bothJoined();
    const r = await node1.agent(['-o', 'off', ...lab.argv(1)]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/refusing to fence host_id 1: it is this node/);
    expect(r.ms).toBeLessThan(5_000);
  });

  it('off of a victim still renewing fails at power_timeout, and the victim still owns its lease', async () => {
    await bothJoined();
    const before = leaderOf(node1, 2);
    const r = await node1.agent(['-o', 'off', ...lab.argv(2), '--power-timeout=12'], { timeoutMs: 40_000 });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/timed out/i);
    expect(r.stderr).toMatch(/still renewing/);
    expect(r.ms).toBeGreaterThan(11_500);
    expect(r.ms).toBeLessThan(16_000);
    const after = leaderOf(node1, 2);
    expect(after.ownerId).toBe(2);
    expect(after.generation).toBe(before.generation);
    expect(after.timestamp).not.toBe(0);
    const status = await node1.agent(['-o', 'status', ...lab.argv(2)]);
    expect(status.stdout).toBe('Status: ON\n');
  }, 150_000);

  it(`off of a victim whose daemon died succeeds only at the lease expiry floor (${FLOOR_S} s after its last renewal)`, async () => {
    await bothJoined();
    // Let the victim renew a couple of times, then kill everything of it: its lease stays owned on disk.
    await new Promise((r) => setTimeout(r, 3_000));
    node2.kill();
    const lastRenewal = node2.renewals[node2.renewals.length - 1]!;
    const r = await node1.agent(['-o', 'off', ...lab.argv(2), '--power-timeout=100'], { timeoutMs: 120_000 });
    const succeeded = Date.now();
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('Success: Powered OFF\n');
    expect(r.code).toBe(0);
    const takeoverS = (succeeded - lastRenewal) / 1000;
    console.log(`sanlock takeover: ${takeoverS.toFixed(2)} s from the victim's last renewal (floor ${FLOOR_S} s, ${((takeoverS / FLOOR_S - 1) * 100).toFixed(1)} %)`);
    // sanlock grants the lease only once its whole-second monotonic clock is past last_live + FLOOR_S, and
    // last_live (our daemon seeing the renewal) is after the renewal's write: no takeover can come earlier
    // than FLOOR_S after that write. lastRenewal is when this test read the victim's log line, after the
    // write by the pipe's latency only: 0.5 s covers that on a loaded machine, and nothing more.
    expect(takeoverS).toBeGreaterThanOrEqual(FLOOR_S - 0.5);
    // How close to the floor it comes is a benchmark figure (bench/sanlock.md: within 5 %), not a timed test: a
    // loaded 2-core CI machine once measured 71.41 s against 71.40. What is asserted is that off does not sleep
    // past its grant: sanlock checks a host's liveness every 2 s at io_timeout 1, and the agent's exit and the
    // lease release on a loaded machine take about a second more.
    expect(takeoverS).toBeLessThanOrEqual(FLOOR_S + 2 * 2 + 2);
    // The lease was taken by node1 (a new lease version written by host 1) and released.
    const leader = leaderOf(node1, 2);
    expect(leader.ownerId).toBe(1);
    expect(leader.timestamp).toBe(0);
    const status = await node1.agent(['-o', 'status', ...lab.argv(2)]);
    expect([status.code, status.stdout]).toEqual([2, 'Status: OFF\n']);
  }, 200_000);
});
