import { beforeAll, describe, expect, it } from 'vitest';
import { InvalidOptionError } from '../src/errors.js';
import { loadRans, referenceRans, type WasmRans } from '../src/coder/index.js';
import { buildBinaryTables, buildTernaryTables } from '../src/entropy/binary.js';
import { rng } from './helpers/rng.js';

describe('binary and ternary tables', () => {
  let rans: WasmRans;
  beforeAll(async () => {
    rans = await loadRans();
  });

  it('builds bit tables with every probability clamped to at least 1/65536', () => {
    const tables = buildBinaryTables([0.5, 0, 1, 0.25]);
    expect(tables.count).toBe(4);
    expect(Array.from(tables.cdf(0))).toEqual([0, 32767, 65535, 65536]);
    expect(Array.from(tables.cdf(1))).toEqual([0, 65534, 65535, 65536]);
    expect(Array.from(tables.cdf(2))).toEqual([0, 1, 65535, 65536]);
    expect(tables.frequency(3, 1)).toBe(16384);
    expect(tables.frequency(3, 2)).toBe(1); // escape
  });

  it('codes bit-planes with per-bit probabilities near their entropy, both coders', () => {
    const rand = rng(21);
    const n = 50_000;
    // probabilities on a 1/256 grid: one table per level, built once
    const levels = Array.from({ length: 257 }, (_, i) => i / 256);
    const tables = buildBinaryTables(levels);
    const indexes = new Int32Array(n);
    const bits = new Int32Array(n);
    let entropy = 0;
    for (let i = 0; i < n; i++) {
      const level = Math.floor(rand() * 257);
      const p = levels[level];
      indexes[i] = level;
      bits[i] = rand() < p ? 1 : 0;
      entropy -= Math.log2(Math.max(1 / 65536, bits[i] ? p : 1 - p));
    }
    const streams = [rans, referenceRans].map((coder) => {
      const enc = coder.createEncoder();
      enc.encodeWithIndexes(bits, indexes, tables);
      const bytes = enc.flush();
      const dec = coder.createDecoder(bytes);
      expect(dec.decodeWithIndexes(indexes, tables)).toEqual(bits);
      dec.finish();
      return bytes;
    });
    expect(Buffer.from(streams[0]).equals(Buffer.from(streams[1]))).toBe(true);
    expect(streams[0].length * 8).toBeLessThan(entropy * 1.01 + 256);
  });

  it('builds trit tables with an offset and codes trit-planes', () => {
    const tables = buildTernaryTables([0.25, 0.5, 0.25, 1, 0, 0], -1);
    expect(tables.count).toBe(2);
    expect(Array.from(tables.offsets)).toEqual([-1, -1]);
    expect(tables.frequency(0, 0)).toBeGreaterThan(32700);
    expect(tables.frequency(1, 1)).toBe(1);
    const trits = Int32Array.from({ length: 999 }, (_, i) => (i % 3) - 1);
    const idx = Int32Array.from(trits, (_, i) => i & 1);
    const enc = rans.createEncoder();
    enc.encodeWithIndexes(trits, idx, tables);
    const dec = rans.createDecoder(enc.flush());
    expect(dec.decodeWithIndexes(idx, tables)).toEqual(trits);
    dec.finish();
  });

  it('rejects invalid probabilities', () => {
    expect(() => buildBinaryTables([])).toThrow(InvalidOptionError);
    expect(() => buildBinaryTables([1.5])).toThrow(InvalidOptionError);
    expect(() => buildBinaryTables([NaN])).toThrow(InvalidOptionError);
    expect(() => buildTernaryTables([0.5, 0.5])).toThrow(InvalidOptionError);
    expect(() => buildTernaryTables([0, 0, 0])).toThrow(InvalidOptionError);
    expect(() => buildTernaryTables([0.2, 0.3, 0.5], 0.5)).toThrow(InvalidOptionError);
  });
});
