// sanlock_init never formats storage a host has joined: formatting drops every delta lease, and a joined
// host's sanlock then lets its watchdog reset the node. fence_sanlock formats whatever it is given.
// The joined host here is sanlock itself writing its delta lease on the storage (`direct acquire_id`, the
// same write a daemon's add_lockspace makes), so no daemon and no watchdog are needed.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runAgentBinary } from '../support/run-agent.js';

const SANLOCK = '/usr/sbin/sanlock';
const work = mkdtempSync(join(tmpdir(), 'fk-sanlock-init-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const sanlock = (...args: string[]) => execFileSync(SANLOCK, args, { encoding: 'utf8' });
// io_timeout 1: a direct acquire_id waits two io_timeouts to see that nobody else holds the host id.
const init = (path: string) => runAgentBinary('fence_kit_sanlock', { argv: ['-o', 'sanlock_init', `--path=${path}`, '--max-host-id=2', '--io-timeout=1'] });
/** Host `id`'s delta lease timestamp as sanlock reads it from the disk. */
const deltaTimestamp = (path: string, id: number) => Number(/^timestamp (\d+)$/m.exec(sanlock('direct', 'read_leader', '-s', `fence:${id}:${path}:0`))![1]);

describe('fence_kit_sanlock sanlock_init', () => {
  it('formats fresh storage, formats it again while no host is in the lockspace, and refuses once a host has joined', async () => {
    const path = join(work, 'leases');
    const first = await init(path);
    expect([first.code, first.stdout]).toEqual([0, `Success: formatted lockspace fence and 2 host leases on ${path}\n`]);
    // Host 1 joins and leaves again: its delta lease is written back with timestamp 0.
    sanlock('direct', 'acquire_id', '-s', `fence:1:${path}:0`);
    sanlock('direct', 'release_id', '-s', `fence:1:${path}:0`);
    expect((await init(path)).code).toBe(0);

    sanlock('direct', 'acquire_id', '-s', `fence:2:${path}:0`);
    const joinedAt = deltaTimestamp(path, 2);
    expect(joinedAt).toBeGreaterThan(0);
    const before = readFileSync(path);
    const refused = await init(path);
    expect(refused.code).toBe(1);
    expect(refused.stdout).not.toContain('Success');
    expect(refused.stderr).toContain(`${path} is in use: host id 2 joined its lockspace and did not leave`);
    expect(refused.stderr).toContain(`sanlock client rem_lockspace -s fence:N:${path}:0`);
    // Nothing was written: the joined host keeps its lease.
    expect(readFileSync(path).equals(before)).toBe(true);
    expect(deltaTimestamp(path, 2)).toBe(joinedAt);

    // Once it has left, the storage may be formatted again.
    sanlock('direct', 'release_id', '-s', `fence:2:${path}:0`);
    expect((await init(path)).code).toBe(0);
  });
});
