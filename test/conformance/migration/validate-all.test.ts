// The migration corpus through validate-all: each configuration runs through the fence-agents agent it was
// written for and through the fencekit agent that replaces it, as Pacemaker runs them (options on stdin,
// action=validate-all) or as a script does (argv). Same exit code, or a difference on purpose that README.md
// lists, or a pending item that still differs. No device is contacted (TEST-NET addresses, no action).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runAgentBinary, stdinOf } from '../../support/run-agent.js';
import { CORPUS, type MigrationRow } from './corpus.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const PEERS = '/usr/sbin';

/** README's table of differences on purpose: the row ids its first column names. */
function readmeDifferences(): Set<string> {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('## Differences from fence-agents, on purpose');
  const section = readme.slice(start, readme.indexOf('\n## ', start + 1));
  const ids = new Set<string>();
  for (const line of section.split('\n')) {
    const first = /^\|([^|]+)\|/.exec(line)?.[1];
    for (const id of first?.match(/`([a-z0-9-]+)`/g) ?? []) ids.add(id.slice(1, -1));
  }
  return ids;
}

async function runBoth(row: MigrationRow) {
  const input = row.argv ? { argv: [...row.argv] } : { stdin: stdinOf({ action: 'validate-all', ...row.stdin }) };
  // The peers log to syslog and stderr only; neither run reaches a device (validate-all stops before login).
  const [peer, ours] = await Promise.all([
    runAgentBinary(join(PEERS, row.peer), { ...input, timeoutMs: 30_000 }),
    runAgentBinary(row.ours, { ...input, timeoutMs: 30_000 }),
  ]);
  return { peer, ours };
}

describe('migration corpus: the corpus itself', () => {
  it('holds at least 40 configurations, each with a source, an existing peer and agent, and one way of input', () => {
    expect(CORPUS.length).toBeGreaterThanOrEqual(40);
    const ids = new Set<string>();
    for (const row of CORPUS) {
      expect(ids.has(row.id), `duplicate id ${row.id}`).toBe(false);
      ids.add(row.id);
      expect(row.source.length, row.id).toBeGreaterThan(10);
      expect(Boolean(row.stdin) !== Boolean(row.argv), `${row.id}: stdin or argv, exactly one`).toBe(true);
      expect(() => readFileSync(join(PEERS, row.peer)), `${row.id}: ${row.peer} is not installed`).not.toThrow();
      expect(() => readFileSync(join(ROOT, 'bin', row.ours)), `${row.id}: bin/${row.ours}`).not.toThrow();
    }
  });

  it("every difference on purpose is a row of README's table, and the table names no row the corpus lacks", () => {
    const listed = readmeDifferences();
    const differing = CORPUS.flatMap((r) => [r.expect, r.pcs].flatMap((e) => (typeof e === 'object' && 'differs' in e ? [e.differs] : [])));
    expect(differing.length).toBeGreaterThan(0);
    for (const id of differing) expect(listed.has(id), `README table lacks \`${id}\``).toBe(true);
    for (const id of listed) expect(differing.includes(id), `README table names \`${id}\`, which is no differing row of the corpus`).toBe(true);
  });
});

describe('migration corpus: validate-all through the peer and through fencekit', () => {
  it.each(CORPUS.map((row) => [row.id, row] as const))('%s', async (_id, row) => {
    const { peer, ours } = await runBoth(row);
    const seen = `peer ${row.peer} exit ${peer.code} (${peer.stderr.trim().split('\n').filter((l) => !/DeprecationWarning|from pipes/.test(l)).join(' / ')}); ours ${row.ours} exit ${ours.code} (${ours.stderr.trim()})`;
    // Neither side may crash or hang: an exit code, not a signal.
    expect(peer.code, seen).not.toBeNull();
    expect(ours.code, seen).not.toBeNull();
    if (row.expect === 'same') {
      expect(ours.code, seen).toBe(peer.code);
    } else if ('differs' in row.expect) {
      expect(ours.code, `${seen}: listed as a difference on purpose, but both agree; remove it from the corpus's differences and README`).not.toBe(peer.code);
      // A refusal says why: one line naming what is refused.
      if (ours.code !== 0) expect(ours.stderr, seen).toMatch(/^Failed: .+/m);
    } else {
      expect(ours.code, `${seen}: pending ${row.expect.pending}, but both agree now: mark the row 'same'`).not.toBe(peer.code);
    }
  });
});
