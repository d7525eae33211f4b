// The volume half of the witness on hand-made volumes (the whole witness against a real double run is the
// negative control in kvm-ha.test.ts): what guest-writer.py leaves on the volume with one writer at a time
// passes; a gap, an overwritten record or a write after another boot's first record fails.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { judgeVolume, readVolume } from './witness.js';

/** A volume image with `records` at their slots, as guest-writer.py writes them. */
function volume(records: readonly { slot: number; boot: string; counter: number; t: number; first: number }[]): string {
  const buf = Buffer.alloc(64 * 512);
  for (const r of records) buf.write(`FKREC ${r.boot} ${r.counter} ${r.t.toFixed(3)} ${r.first}\n`, r.slot * 512, 'latin1');
  const dir = mkdtempSync(join(tmpdir(), 'fk-witness-'));
  const file = join(dir, 'vol.raw');
  writeFileSync(file, buf);
  return file;
}

const run = (boot: string, first: number, n: number, t0: number) => Array.from({ length: n }, (_, i) => ({ slot: first + i, boot, counter: i, t: t0 + i / 10, first }));

function judge(records: Parameters<typeof volume>[0]) {
  const file = volume(records);
  try {
    return judgeVolume(readVolume(file));
  } finally {
    rmSync(join(file, '..'), { recursive: true, force: true });
  }
}

describe('witness: the volume records', () => {
  it('one boot after another, each counting from 0 without a gap: no problem', () => {
    const v = judge([...run('aaaa1111', 0, 10, 1000), ...run('bbbb2222', 10, 5, 1020)]);
    expect(v.problems).toEqual([]);
    expect(v.runs.map((r) => r.boot)).toEqual(['aaaa1111', 'bbbb2222']);
  });

  it('an empty slot between records is a lost record', () => {
    const records = [...run('aaaa1111', 0, 10, 1000)].filter((r) => r.slot !== 4);
    expect(judge(records).problems.join('\n')).toMatch(/lost record: slots 4\.\.4/);
  });

  it("the old boot writing on after the new boot's first record is a second writer", () => {
    // The new boot started at slot 10 while the old one kept writing: it overwrote slot 12 with its record 12.
    const records = [...run('aaaa1111', 0, 10, 1000), ...run('bbbb2222', 10, 5, 1020)].map((r) => (r.slot === 12 ? { slot: 12, boot: 'aaaa1111', counter: 12, t: 1021.2, first: 0 } : r));
    const problems = judge(records).problems.join('\n');
    expect(problems).toMatch(/second writer: boot aaaa1111 wrote slot 12 after boot bbbb2222's first record/);
    expect(problems).toMatch(/second writer: boot aaaa1111 wrote 1 records after a later boot's first record/);
  });

  it('a record at the wrong distance from its boot\'s first slot is a second writer', () => {
    const records = run('aaaa1111', 0, 10, 1000).map((r) => (r.slot === 5 ? { ...r, counter: 7 } : r));
    expect(judge(records).problems.join('\n')).toMatch(/second writer: slot 5 holds boot aaaa1111's record 7/);
  });

  it("a boot whose first records were overwritten by another boot's is a second writer (seen in the negative control)", () => {
    // The new boot started at slot 10; the old boot, still running, wrote its records 10..14 over the new one's 0..4.
    const records = [...run('aaaa1111', 0, 15, 1000), ...run('bbbb2222', 10, 7, 1001).filter((r) => r.slot >= 15)];
    expect(judge(records).problems.join('\n')).toMatch(/second writer: boot aaaa1111 overwrote boot bbbb2222's records 0\.\.4 \(slots 10\.\.14\)/);
  });
});
