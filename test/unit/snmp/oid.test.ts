// Pure OID helpers of lib/snmp (no network).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FenceError } from '../../../lib/errors.js';
import { compareOids, normalizeOid, oidIsWithin, oidSuffix } from '../../../lib/snmp/oid.js';

const arc = fc.integer({ min: 0, max: 0xffff_ffff });
const oidArcs = fc.tuple(fc.integer({ min: 0, max: 2 }), fc.array(arc, { minLength: 1, maxLength: 12 })).map(([a, rest]) => [a, ...rest]);
const oid = oidArcs.map((arcs) => arcs.join('.'));

function arrayCompare(a: number[], b: number[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

describe('normalizeOid', () => {
  it('accepts the MIB-listing form with a leading dot and the bare form alike', () => {
    expect(normalizeOid('.1.3.6.1.4.1.318.1.1.12.3.3.1.1.4.1')).toBe('1.3.6.1.4.1.318.1.1.12.3.3.1.1.4.1');
    expect(normalizeOid('1.3.6.1.2.1.1.2.0')).toBe('1.3.6.1.2.1.1.2.0');
    expect(normalizeOid('1.03.6')).toBe('1.3.6');
  });

  it.each(['', '.', '1', 'iso.3.6', '1..3', '1.3.', '1.3.6.-1', '3.1', '1.3.4294967296', ' 1.3', '1.3 '])(
    'rejects %j as bad-input',
    (text) => {
      expect(() => normalizeOid(text)).toThrow(FenceError);
      try {
        normalizeOid(text);
      } catch (err) {
        expect((err as FenceError).kind).toBe('bad-input');
      }
    },
  );

  it('is idempotent and keeps every arc', () => {
    fc.assert(
      fc.property(oidArcs, fc.boolean(), (arcs, dot) => {
        const once = normalizeOid((dot ? '.' : '') + arcs.join('.'));
        expect(normalizeOid(once)).toBe(once);
        expect(once.split('.').map(Number)).toEqual(arcs);
      }),
    );
  });
});

describe('compareOids', () => {
  it('orders numerically per arc, as getnext does (1.10 after 1.9, a prefix first)', () => {
    expect(compareOids('1.3.6.1.9', '1.3.6.1.10')).toBeLessThan(0);
    expect(compareOids('1.3.6.1', '1.3.6.1.0')).toBeLessThan(0);
    expect(compareOids('1.3.6.2', '1.3.6.1.99')).toBeGreaterThan(0);
    expect(compareOids('1.3.6', '1.3.6')).toBe(0);
  });

  it('agrees in sign with arc-array comparison and is antisymmetric', () => {
    fc.assert(
      fc.property(oidArcs, oidArcs, (a, b) => {
        const c = compareOids(a.join('.'), b.join('.'));
        expect(Math.sign(c)).toBe(Math.sign(arrayCompare(a, b)));
        expect(Math.sign(compareOids(b.join('.'), a.join('.')))).toBe(-Math.sign(c));
      }),
    );
  });
});

describe('oidIsWithin / oidSuffix', () => {
  it('knows 1.3.6.10 is not below 1.3.6.1', () => {
    expect(oidIsWithin('1.3.6.1', '1.3.6.10')).toBe(false);
    expect(oidIsWithin('1.3.6.1', '1.3.6.1')).toBe(true);
    expect(oidIsWithin('1.3.6.1', '1.3.6.1.4')).toBe(true);
    expect(oidSuffix('1.3.6.1', '1.3.6.10')).toBeUndefined();
    expect(oidSuffix('1.3.6.1', '1.3.6.1')).toBeUndefined();
  });

  it('gives a table row its index arcs back', () => {
    expect(oidSuffix('1.3.6.1.4.1.318.1.1.12.3.5.1.1.2', '1.3.6.1.4.1.318.1.1.12.3.5.1.1.2.24')).toEqual([24]);
    fc.assert(
      fc.property(oid, fc.array(arc, { minLength: 1, maxLength: 4 }), (prefix, index) => {
        const full = `${prefix}.${index.join('.')}`;
        expect(oidIsWithin(prefix, full)).toBe(true);
        expect(oidSuffix(prefix, full)).toEqual(index);
        expect(compareOids(prefix, full)).toBeLessThan(0);
      }),
    );
  });
});
