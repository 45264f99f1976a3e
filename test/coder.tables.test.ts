import { describe, expect, it } from 'vitest';
import { InvalidOptionError } from '../src/errors.js';
import { RansTables } from '../src/coder/index.js';

function message(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidOptionError);
    return (err as Error).message;
  }
  throw new Error('expected an InvalidOptionError');
}

describe('RansTables', () => {
  it('stores flat CDFs, lengths, offsets and start positions', () => {
    const t = new RansTables([0, 100, 65536, 0, 1, 2, 65536], [3, 4], [-5, 9]);
    expect(t.count).toBe(2);
    expect(Array.from(t.starts)).toEqual([0, 3]);
    expect(Array.from(t.cdf(1))).toEqual([0, 1, 2, 65536]);
    expect(t.escapeSymbol(0)).toBe(1);
    expect(t.escapeSymbol(1)).toBe(2);
    expect(t.frequency(0, -5)).toBe(100);
    expect(t.frequency(0, -4)).toBe(65436); // escape
    expect(t.frequency(1, 10)).toBe(1);
    expect(t.frequency(1, 11)).toBe(65534); // escape
    expect(Object.isFrozen(t)).toBe(true);
  });

  it('builds the same set from a list and from the padded CompressAI layout', () => {
    const a = RansTables.fromList([
      { cdf: [0, 7, 65536], offset: 1 },
      { cdf: [0, 3, 9, 65536], offset: -2 },
    ]);
    const b = RansTables.fromPadded([0, 7, 65536, 0, 0, 3, 9, 65536], 4, [3, 4], [1, -2]);
    expect(Array.from(b.cdfs)).toEqual(Array.from(a.cdfs));
    expect(Array.from(b.offsets)).toEqual(Array.from(a.offsets));
  });

  it('rejects malformed tables with a precise message', () => {
    expect(message(() => new RansTables([0, 65536], [], []))).toMatch(/at least one table/);
    expect(message(() => new RansTables([0, 65536], [2], [0, 0]))).toMatch(/offsets.length/);
    expect(message(() => new RansTables([0, 65536], [1], [0]))).toMatch(/cdfLengths\[0\]/);
    expect(message(() => new RansTables([0, 65536, 0], [2], [0]))).toMatch(/cdfs.length/);
    expect(message(() => new RansTables([1, 65536], [2], [0]))).toBe(
      'Expected 0 (first CDF entry) for cdfs[0] (table 0) but received 1 of type number',
    );
    expect(message(() => new RansTables([0, 5, 5, 65536], [4], [0]))).toMatch(/strictly increasing/);
    expect(message(() => new RansTables([0, 5, 65535], [3], [0]))).toMatch(/65536 \(last CDF entry\)/);
    expect(message(() => new RansTables([0, 5.5, 65536], [3], [0]))).toMatch(/cdfs\[1\]/);
    expect(message(() => new RansTables([0, 5, 6, 65536], [4], [0x7fffffff]))).toMatch(/fits int32/);
    expect(message(() => new RansTables([0, 65536], [2], [0.5]))).toMatch(/offsets\[0\]/);
    expect(message(() => RansTables.fromList([{ cdf: [0, -1, 65536], offset: 0 }]))).toMatch(/tables\[0\]\.cdf\[1\]/);
    expect(message(() => RansTables.fromPadded([0, 65536, 0], 2, [2, 2], [0, 0]))).toMatch(/rowLength/);
  });

  it('accepts the largest possible table and the extreme offsets', () => {
    const cdf = Array.from({ length: 65537 }, (_, i) => i);
    expect(RansTables.fromList([{ cdf, offset: -0x80000000 }]).lengths[0]).toBe(65537);
    expect(RansTables.fromList([{ cdf: [0, 1, 65536], offset: 0x7fffffff }]).offsets[0]).toBe(0x7fffffff);
    expect(message(() => RansTables.fromList([{ cdf: [...cdf, 65536], offset: 0 }]))).toMatch(/cdfLengths\[0\]/);
  });
});
