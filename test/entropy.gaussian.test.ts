import { beforeAll, describe, expect, it } from 'vitest';
import { CodecError, InvalidOptionError } from '../src/errors.js';
import { loadRans, referenceRans, type WasmRans } from '../src/coder/index.js';
import {
  DEFAULT_SCALE_TABLE,
  GaussianConditional,
  buildGaussianTables,
  buildIndexes,
  scaleToIndex,
} from '../src/entropy/gaussian.js';
import { normalCdf } from '../src/entropy/math.js';
import { rng } from './helpers/rng.js';

function fnv(values: ArrayLike<number>[]): string {
  let h = 0x811c9dc5;
  for (const arr of values) {
    for (let i = 0; i < arr.length; i++) {
      const v = arr[i];
      for (let k = 0; k < 4; k++) {
        h ^= (v >>> (8 * k)) & 0xff;
        h = Math.imul(h, 0x01000193) >>> 0;
      }
    }
  }
  return h.toString(16).padStart(8, '0');
}

describe('Gaussian conditional tables', () => {
  let rans: WasmRans;
  beforeAll(async () => {
    rans = await loadRans();
  });

  it('uses the CompressAI scale table: 64 log-spaced scales from 0.11 to 256', () => {
    expect(DEFAULT_SCALE_TABLE.length).toBe(64);
    expect(DEFAULT_SCALE_TABLE[0]).toBe(0.11);
    expect(DEFAULT_SCALE_TABLE[63]).toBe(256);
    const ratio = Math.exp(Math.log(256 / 0.11) / 63);
    for (let i = 1; i < 64; i++) expect(DEFAULT_SCALE_TABLE[i] / DEFAULT_SCALE_TABLE[i - 1]).toBeCloseTo(ratio, 12);
  });

  it('builds one table per scale with the CompressAI ranges and a golden checksum', () => {
    const tables = buildGaussianTables();
    expect(tables.count).toBe(64);
    for (let t = 0; t < 64; t++) {
      const center = Math.ceil(DEFAULT_SCALE_TABLE[t] * 6.1094102048693975);
      expect(tables.offsets[t]).toBe(-center);
      expect(tables.lengths[t]).toBe(2 * center + 3); // 2c + 1 values, escape, final entry
    }
    // any change to the math, the quantiser or the layout changes the bitstream: on purpose only
    expect(fnv([tables.cdfs, tables.offsets])).toBe('dc026de2');
  });

  it('gives each value about its Gaussian probability', () => {
    const tables = buildGaussianTables();
    for (const t of [10, 30, 50]) {
      const s = DEFAULT_SCALE_TABLE[t];
      for (const v of [0, 1, -2, Math.round(2 * s)]) {
        const expected = normalCdf((v + 0.5) / s) - normalCdf((v - 0.5) / s);
        const actual = tables.frequency(t, v) / 65536;
        expect(Math.abs(actual - expected)).toBeLessThan(2 / 65536 + expected * 0.01);
      }
    }
  });

  it('maps a scale to the smallest table scale at or above it, clamped', () => {
    const table = DEFAULT_SCALE_TABLE;
    expect(scaleToIndex(0)).toBe(0);
    expect(scaleToIndex(-5)).toBe(0);
    expect(scaleToIndex(0.11)).toBe(0);
    expect(scaleToIndex(0.1100001)).toBe(1);
    expect(scaleToIndex(table[17])).toBe(17);
    expect(scaleToIndex(table[17] * (1 + 1e-15))).toBe(18);
    expect(scaleToIndex(256)).toBe(63);
    expect(scaleToIndex(1e9)).toBe(63);
    expect(scaleToIndex(Infinity)).toBe(63);
    expect(scaleToIndex(NaN)).toBe(63);
    const rand = rng(3);
    for (let k = 0; k < 2000; k++) {
      const s = Math.exp(-3 + 9 * rand());
      let brute = table.findIndex((v) => v >= s);
      if (brute < 0) brute = 63;
      expect(scaleToIndex(s)).toBe(brute);
    }
    const scales = new Float32Array([0.05, 1, 300]);
    expect(Array.from(buildIndexes(scales))).toEqual([0, scaleToIndex(1), 63]);
  });

  it('gives scaleToIndex for every float32, the bucket lookup and the logarithm paths alike', () => {
    const next = rng(7);
    const n = 200_000;
    const f = new Float32Array(n);
    const specials = [NaN, -1, -0, 0, 1e-40, 1e-30, Infinity, -Infinity, 1e30, 300, 256, 0.11];
    for (let i = 0; i < n; i++) f[i] = i < specials.length ? specials[i] : Math.exp(next() * 9 - 4);
    // the table's own levels and their float32 neighbours sit on bucket and level edges
    for (const [k, t] of DEFAULT_SCALE_TABLE.entries()) {
      const v = Math.fround(t);
      f[100 + 3 * k] = v;
      f[101 + 3 * k] = v * (1 + 2 ** -23);
      f[102 + 3 * k] = v * (1 - 2 ** -24);
    }
    const fast = buildIndexes(f);
    const slow = buildIndexes(Array.from(f));
    const custom = [0.3, 0.5, 0.7, 1, 4, 9];
    const fastCustom = buildIndexes(f, custom);
    const wrong: number[] = [];
    for (let i = 0; i < n; i++) {
      if (fast[i] !== scaleToIndex(f[i]) || slow[i] !== fast[i] || fastCustom[i] !== scaleToIndex(f[i], custom)) wrong.push(f[i]);
    }
    expect(wrong).toEqual([]);
  });

  it('builds tables for a custom scale table and tail mass', () => {
    const tables = buildGaussianTables([0.5, 1, 2], { tailMass: 1e-3 });
    expect(tables.count).toBe(3);
    expect(tables.offsets[2]).toBe(-7); // ceil(2 * 3.29), the 1e-3 two-sided quantile
    expect(() => buildGaussianTables([1, 1])).toThrow(InvalidOptionError);
    expect(() => buildGaussianTables([0, 1])).toThrow(InvalidOptionError);
    expect(() => buildGaussianTables([1], { tailMass: 0 })).toThrow(InvalidOptionError);
    expect(() => buildGaussianTables([1e5])).toThrow(InvalidOptionError);
  });

  it('GaussianConditional refuses to code before update()', () => {
    const gc = new GaussianConditional();
    expect(gc.initialized).toBe(false);
    const enc = referenceRans.createEncoder();
    let err: unknown;
    try {
      gc.encode(enc, new Int32Array(1), new Int32Array(1));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CodecError);
    expect((err as Error).message).toMatch(/^Uninitialized CDFs\. Run update\(\) first/);
    expect(() => gc.tables).toThrow(/Uninitialized CDFs/);
    // indexes only need the scale table
    expect(gc.buildIndexes([1]).length).toBe(1);
    expect(gc.update()).toBe(gc);
    expect(gc.initialized).toBe(true);
  });

  it('codes a latent tensor near its entropy and round-trips it', () => {
    const gc = new GaussianConditional().update();
    const rand = rng(11);
    const n = 300_000;
    const scales = new Float32Array(n);
    const values = new Int32Array(n);
    let ideal = 0;
    for (let i = 0; i < n; i++) {
      const s = Math.exp(Math.log(0.2) + Math.log(50) * rand());
      scales[i] = s;
      const g = Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
      values[i] = Math.round(s * g);
    }
    const indexes = gc.buildIndexes(scales);
    for (let i = 0; i < n; i++) ideal -= Math.log2(gc.tables.frequency(indexes[i], values[i]) / 65536);
    const enc = rans.createEncoder();
    gc.encode(enc, values, indexes);
    const bytes = enc.flush();
    expect(bytes.length * 8).toBeLessThan(ideal * 1.002 + 256);
    const dec = rans.createDecoder(bytes);
    const out = gc.decode(dec, gc.buildIndexes(scales));
    dec.finish();
    expect(out).toEqual(values);
  });
});

describe('buildIndexes', () => {
  it('gives scaleToIndex for every scale, table edges, NaN and infinities included', () => {
    const t = DEFAULT_SCALE_TABLE;
    const scales = [0, -1, NaN, Infinity, -Infinity, 1e-9, 300, ...t, ...t.map((s) => s * (1 + 1e-12)), ...t.map((s) => s * (1 - 1e-12))];
    for (let i = 0; i < 2000; i++) scales.push(Math.exp(Math.log(0.05) + (i / 2000) * Math.log(6000)));
    const got = buildIndexes(scales);
    expect(Array.from(got)).toEqual(scales.map((s) => scaleToIndex(s)));
  });
});
