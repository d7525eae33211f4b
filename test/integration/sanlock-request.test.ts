// fence_kit_sanlock against real sanlock 3.8 daemons: an off that cannot succeed within its power_timeout
// still asks a renewing victim to give its lease up (fence_sanlock's request), wherever this node's daemon's
// last check fell in the victim's renewals. The daemon's host_status says "seen renewing" (last_live ==
// last_check) only at the check that saw a new timestamp; a victim renewing less often than this node checks
// leaves checks in between that saw none, while `gets` still calls it LIVE. Here the victim renews every 10 s
// (io_timeout 5) and this node checks every 2 s (io_timeout 1), so the off is started in such a gap, as the
// guest pair's live victim once was by chance (its 4-5 s renewals drift against the checks). Before the fix that
// off gave up at once without asking ("its lease cannot be granted for another 99 s") and the victim kept its lease.
import { beforeAll, expect, it } from 'vitest';
import { parseHostStatus } from '../../lib/sanlock/output.js';
import { sleep } from '../../lib/timing.js';
import { startSanlockLab, type SanlockLab, type SanlockNode } from '../peers/sanlock-lab.js';
import { peerForFile } from '../support/scratch.js';

const VICTIM_IO_TIMEOUT = 5;

let lab: SanlockLab;
let node1: SanlockNode;
let node2: SanlockNode;

peerForFile(() => startSanlockLab({ nodes: 2, ioTimeout: 1 }), (started) => {
  lab = started;
  [node1, node2] = lab.nodes as [SanlockNode, SanlockNode];
});

beforeAll(async () => {
  const victimArgv = lab.argv(2).map((a) => (a.startsWith('--io-timeout=') ? `--io-timeout=${VICTIM_IO_TIMEOUT}` : a));
  for (const [node, argv] of [[node1, lab.argv(1)], [node2, victimArgv]] as const) {
    const r = await node.agent(['-o', 'on', ...argv], { timeoutMs: 120_000 });
    if (r.code !== 0) throw new Error(`host ${node.hostId} could not join the lockspace: exit ${r.code}, ${r.stderr.trim()}`);
  }
}, 180_000);

it('an off started between two renewals of a LIVE victim fails at power_timeout and asks the victim to give its lease up', async () => {
  // A gap: node1's daemon last saw host 2 renew 2-4 s before its last check, so its next renewal is 6-8 s away.
  let gap = '';
  for (const until = Date.now() + 60_000; !gap && Date.now() < until; await sleep(50)) {
    const h = parseHostStatus(node1.sanlock(['client', 'host_status', '-s', 'fence', '-D'])).get(2);
    const since = h ? h.lastCheck - h.lastLive : 0;
    if (h && h.ioTimeout === VICTIM_IO_TIMEOUT && h.lastLive > 0 && since >= 2 && since <= 4) gap = `last_live ${h.lastLive}, last_check ${h.lastCheck}`;
  }
  expect(gap, 'a check of node1 that saw no renewal of host 2').not.toBe('');
  const victimLease = () => new RegExp(`^r fence:h2:.* p \\d+( ORPHAN)?$`, 'm').exec(node2.sanlock(['client', 'status']))?.[0] ?? '';
  expect(victimLease(), 'held by a live holder before').toMatch(/ p \d+$/);
  const off = await node1.agent(['-o', 'off', ...lab.argv(2), '--power-timeout=4', '-v'], { timeoutMs: 30_000 });
  expect(off.code, off.stderr).toBe(1);
  expect(off.stdout).toBe('');
  expect(off.stderr).toMatch(/Timed out waiting to power OFF: host_id 2's lease was not granted \(host_id 2 is still renewing its lease\)/);
  // The path under test: the lease could not be granted in time, and the victim was asked all the same.
  expect(off.stderr, gap).toMatch(/not grantable before the deadline: host_id 2 is still renewing its lease/);
  expect(off.stderr).toMatch(/request for host_id 2's lease: 0$/m);
  // The victim's daemon reads the request at its next renewal and kills the process holding its lease, which
  // leaves the lease an orphan (on a node with a watchdog, the holder then stops sanlock so that it resets).
  for (const until = Date.now() + 30_000; !victimLease().endsWith(' ORPHAN') && Date.now() < until; ) await sleep(200);
  expect(victimLease(), "host 2's lease after the request").toMatch(/ ORPHAN$/);
}, 120_000);
