// Garbage from sg_persist and the sanlock tool into their parsers (fast-check): real captured outputs
// (test/fixtures) mutated line by line and character by character, and random text. Invariant: a parser
// returns a well-formed value or throws SyntaxError (which the clients turn into an 'unconfirmed'
// failure); never a TypeError/RangeError, never a key that is not a key, never a generation that is not
// a number. FK_FUZZ_RUNS sets the number of cases (default 2000 per parser here).
import fc from 'fast-check';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseReadFullStatus, parseReadKeys, parseReadReservation } from '../../lib/scsi/sg-output.js';
import { doneCode, parseDaemonStatus, parseHostStates, parseHostStatus, parseLeader } from '../../lib/sanlock/output.js';
import { ROOT } from '../support/run-agent.js';

const RUNS = Number(process.env.FK_FUZZ_RUNS ?? 2000);
/** What a key read back may be: 1 to 16 hex digits (zero included: the device, not us, said it). */
const isKeyRead = (k: string) => /^[0-9a-f]{1,16}$/.test(k);
const fixtures = (dir: string, ext: string) =>
  readdirSync(join(ROOT, 'test/fixtures', dir))
    .filter((f) => f.endsWith(ext))
    .map((f) => readFileSync(join(ROOT, 'test/fixtures', dir, f), 'utf8'))
    .filter((t) => t.length > 0);
const SG = fixtures('scsi', '.out');
const SANLOCK = fixtures('sanlock', '.txt');

/** Mutations that keep most of a real output: drop/duplicate/swap lines, flip characters, splice fragments. */
function mutated(seeds: readonly string[]): fc.Arbitrary<string> {
  const tokens = ['0x', 'Key=0x', 'PR generation=0x', '<< Reservation holder >>', 'scope: ', ', type: ', '\n', ' ', 'ffffffffffffffffff', '-1', 'NaN', '\u0000', 'done ', ':', '='];
  const edit = fc.oneof(
    fc.record({ kind: fc.constant('drop' as const), at: fc.nat() }),
    fc.record({ kind: fc.constant('dup' as const), at: fc.nat() }),
    fc.record({ kind: fc.constant('char' as const), at: fc.nat(), ch: fc.string({ minLength: 1, maxLength: 1, unit: 'binary' }) }),
    fc.record({ kind: fc.constant('token' as const), at: fc.nat(), tok: fc.constantFrom(...tokens) }),
    fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
  );
  return fc.tuple(fc.constantFrom(...seeds), fc.array(edit, { maxLength: 8 })).map(([seed, edits]) => {
    let text = seed;
    for (const e of edits) {
      const lines = text.split('\n');
      const li = lines.length ? e.at % lines.length : 0;
      const ci = text.length ? e.at % text.length : 0;
      if (e.kind === 'drop') lines.splice(li, 1), (text = lines.join('\n'));
      else if (e.kind === 'dup') lines.splice(li, 0, lines[li] ?? ''), (text = lines.join('\n'));
      else if (e.kind === 'char') text = text.slice(0, ci) + e.ch + text.slice(ci + 1);
      else if (e.kind === 'token') text = text.slice(0, ci) + e.tok + text.slice(ci);
      else text = text.slice(0, ci);
    }
    return text;
  });
}

const input = (seeds: readonly string[]) => fc.oneof({ weight: 4, arbitrary: mutated(seeds) }, { weight: 1, arbitrary: fc.string({ maxLength: 400, unit: 'binary' }) });

/** Run `parse`; a SyntaxError is an allowed answer to garbage, anything else thrown is a bug. */
function parsedOrSyntaxError<T>(parse: () => T): T | undefined {
  try {
    return parse();
  } catch (err) {
    expect(err, String(err)).toBeInstanceOf(SyntaxError);
    return undefined;
  }
}

describe('sg_persist output parsers under garbage', () => {
  it('READ KEYS / READ RESERVATION / READ FULL STATUS: a value with real keys, or SyntaxError', () => {
    fc.assert(
      fc.property(input(SG), (text) => {
        const keys = parsedOrSyntaxError(() => parseReadKeys(text));
        if (keys) {
          expect(Number.isInteger(keys.generation) && keys.generation >= 0).toBe(true);
          for (const k of keys.keys) expect(isKeyRead(k), k).toBe(true);
        }
        const res = parsedOrSyntaxError(() => parseReadReservation(text));
        if (res?.reservation) expect(isKeyRead(res.reservation.key)).toBe(true);
        const full = parsedOrSyntaxError(() => parseReadFullStatus(text));
        if (full) {
          for (const k of full.keys) expect(isKeyRead(k), k).toBe(true);
          if (full.reservation) expect(full.keys).toContain(full.reservation.key);
        }
      }),
      { numRuns: RUNS },
    );
  });
});

describe('sanlock tool output parsers under garbage', () => {
  it('read_leader, status, host_status: never throw anything but SyntaxError; a leader only with "done 0"', () => {
    fc.assert(
      fc.property(input(SANLOCK), (text) => {
        const leader = parsedOrSyntaxError(() => parseLeader(text));
        if (leader?.leader) expect(leader.code).toBe(0);
        if (leader && leader.code !== undefined) expect(Number.isInteger(leader.code)).toBe(true);
        parsedOrSyntaxError(() => doneCode(text, 'read_leader'));
        parsedOrSyntaxError(() => parseDaemonStatus(text));
        const hosts = parsedOrSyntaxError(() => parseHostStatus(text));
        if (hosts) for (const id of hosts.keys()) expect(Number.isInteger(id)).toBe(true);
        const states = parsedOrSyntaxError(() => parseHostStates(text, 'lockspace'));
        if (states) for (const s of states.values()) expect(['FREE', 'LIVE', 'FAIL', 'DEAD', 'UNKNOWN']).toContain(s.state);
      }),
      { numRuns: RUNS },
    );
  });
});
