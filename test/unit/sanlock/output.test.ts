// Parsers of the sanlock tool's output, against text captured from sanlock 3.8.5 (Debian 12) running two
// daemons that share a lease file (test/fixtures/sanlock, captured while building test/peers/sanlock-lab.ts).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { doneCode, parseDaemonStatus, parseDump, parseHostStates, parseHostStatus, parseLeader, PAXOS_DISK_MAGIC, DELTA_DISK_MAGIC, splitSpec } from '../../../lib/sanlock/output.js';
import { earliestAcquisitionMs, hostDeadSeconds, hostLeaseSpec, lockspaceSpec, usablePath } from '../../../lib/sanlock/layout.js';

const fixture = (name: string) => readFileSync(join(__dirname, '../../fixtures/sanlock', name), 'utf8');

describe('sanlock output parsers', () => {
  it('reads direct dump: delta leases (host name, no lver) and paxos leases (with lver), timestamps as written', () => {
    // sanlock 3.8.5 `direct dump PATH:0`, captured after host 1 joined and left (direct acquire_id, release_id),
    // host 2 joined, and host 1 acquired h1.
    expect(parseDump(fixture('dump-joined.txt'))).toEqual([
      { offset: 0, lockspace: 'fence', resource: '0b8bca7c-7d94-4376-aed9-5d5ec45ae724.vm', timestamp: 0, ownerId: 1, ownerGeneration: 1 },
      { offset: 512, lockspace: 'fence', resource: 'd1adaf95-4580-4473-8648-908c8b985a4e.vm', timestamp: 14244, ownerId: 2, ownerGeneration: 1 },
      { offset: 1048576, lockspace: 'fence', resource: 'h1', timestamp: 14264, ownerId: 1, ownerGeneration: 1, lver: 1 },
    ]);
    expect(parseDump('  offset   lockspace   resource  timestamp  own  gen lver\n')).toEqual([]);
  });

  it('reads a held paxos lease leader: owner, generation, lease version, timestamp', () => {
    const { code, leader } = parseLeader(fixture('read_leader-r-held.txt'));
    expect(code).toBe(0);
    expect(leader).toMatchObject({ magic: PAXOS_DISK_MAGIC, ownerId: 1, ownerGeneration: 1, lver: 1, spaceName: 'fence', resourceName: 'h1', timestamp: 746 });
  });

  it('reads a free lease as timestamp 0 and a delta lease with its io_timeout', () => {
    expect(parseLeader(fixture('read_leader-r-free.txt')).leader).toMatchObject({ ownerId: 0, timestamp: 0, resourceName: 'h2' });
    expect(parseLeader(fixture('read_leader-s-host1.txt')).leader).toMatchObject({ magic: DELTA_DISK_MAGIC, ioTimeout: 1, spaceName: 'fence' });
  });

  it('never returns a record from a failed read (the tool prints garbage fields after "done -223")', () => {
    const r = parseLeader(fixture('read_leader-r-uninitialised.txt'));
    expect(r.code).toBe(-223);
    expect(r.leader).toBeUndefined();
  });

  it('finds the result code of a command, e.g. acquire refused because the owner is alive (-243)', () => {
    expect(doneCode(fixture('command-idlive.txt'), 'acquire')).toBe(-243);
    expect(doneCode(fixture('request.txt'), 'request')).toBe(0);
    expect(doneCode('register\n', 'acquire')).toBeUndefined();
  });

  it('reads the daemon status: joined lockspace, held lease with its pid, watchdog use, monotime', () => {
    const s = parseDaemonStatus(fixture('status-D-held.txt'));
    expect(s.hostName).toBe('node2');
    expect(s.useWatchdog).toBe(false);
    expect(s.monotime).toBeGreaterThan(0);
    expect(s.lockspaces).toEqual([expect.objectContaining({ name: 'fence', hostId: 2, offset: 0, ioTimeout: 1, usedByOrphans: true })]);
    expect(s.resources).toEqual([expect.objectContaining({ lockspace: 'fence', name: 'h2', offset: 2097152, lver: 1, orphan: false })]);
    expect(s.resources[0]!.pid).toBeGreaterThan(0);
  });

  it('tells an orphaned lease (its holder died, the host still owns it) from a held one', () => {
    for (const f of ['status-orphan.txt', 'status-D-orphan.txt']) {
      const s = parseDaemonStatus(fixture(f));
      expect(s.resources).toEqual([expect.objectContaining({ name: 'h1', pid: 14350, orphan: true })]);
    }
  });

  it('reads what our daemon saw of each host: last_check, last_live, generation, io_timeout', () => {
    const hosts = parseHostStatus(fixture('host_status-D.txt'));
    expect(hosts.get(2)).toEqual({ hostId: 2, timestamp: 855, lastCheck: 856, lastLive: 856, ownerGeneration: 1, ioTimeout: 1, ownerName: 'node2' });
    const states = parseHostStates(fixture('gets-h1.txt'), 'fence');
    expect(states.get(1)).toEqual({ generation: 1, timestamp: 853, state: 'LIVE' });
    expect(parseHostStates(fixture('gets-h1.txt'), 'other').size).toBe(0);
  });

  it('splits lockspace and resource specs on colons', () => {
    expect(splitSpec('fence:h1:/tmp/sl/leases:1048576:1')).toEqual(['fence', 'h1', '/tmp/sl/leases', '1048576', '1']);
  });
});

describe('lease layout and timing (fence_sanlock layout, sanlock src/timeouts.c)', () => {
  it('places host N\'s lease at N MiB in lockspace fence', () => {
    expect(lockspaceSpec({ path: '/dev/sdb' }, 3)).toBe('fence:3:/dev/sdb:0');
    expect(hostLeaseSpec({ path: '/dev/sdb' }, 3)).toBe('fence:h3:/dev/sdb:3145728');
    expect(hostLeaseSpec({ path: '/dev/sdb' }, 3, 7)).toBe('fence:h3:/dev/sdb:3145728:7');
  });

  it('refuses paths the sanlock tool would split', () => {
    expect(usablePath('/dev/disk/by-id/x')).toBe(true);
    expect(usablePath('/dev/disk/by-path/pci-0000:00:1f.2')).toBe(false);
    expect(usablePath('has space')).toBe(false);
  });

  it('grants a lease no earlier than 8 x io_timeout + 60 s after the owner was last seen live', () => {
    expect(hostDeadSeconds(10)).toBe(140);
    expect(hostDeadSeconds(1)).toBe(68);
    // sanlock proceeds when (now - last_live) > host_dead in whole seconds: from last_live + 69 s.
    expect(earliestAcquisitionMs(1000, 1)).toBe(1069_000);
    expect(earliestAcquisitionMs(0, 1)).toBeUndefined();
  });
});
