import { beforeAll, describe, expect, it } from 'vitest';
import { BitstreamError, CodecError, InvalidOptionError } from '../src/errors.js';
import {
  CHUNK_SYMBOLS,
  RansTables,
  STATE_BYTES,
  loadRans,
  loadRansSync,
  type RansDecoder,
  type WasmRans,
} from '../src/coder/index.js';
import { buildGaussianTables, buildIndexes, quantizePmfToCdf } from '../src/entropy/index.js';
import { rng } from './helpers/rng.js';

const INT32_MAX = 0x7fffffff;
const INT32_MIN = -0x80000000;

function randomTables(rand: () => number, count: number, maxLen = 300): RansTables {
  const list = [];
  for (let t = 0; t < count; t++) {
    const n = 1 + Math.floor(rand() * maxLen);
    const pmf = Array.from({ length: n + 1 }, () => (rand() < 0.2 ? 0 : rand() ** 3));
    pmf[0] += 1e-3;
    list.push({ cdf: quantizePmfToCdf(pmf), offset: Math.floor(rand() * 200) - 100 });
  }
  return RansTables.fromList(list);
}

/** Symbols mostly inside their table, some just outside, a few anywhere in int32. */
function randomSymbols(rand: () => number, tables: RansTables, indexes: Int32Array): Int32Array {
  const out = new Int32Array(indexes.length);
  for (let i = 0; i < out.length; i++) {
    const t = indexes[i];
    const lo = tables.offsets[t];
    const n = tables.lengths[t] - 2;
    const u = rand();
    if (u < 0.9) out[i] = lo + Math.floor(rand() * n);
    else if (u < 0.97) out[i] = lo + Math.floor(rand() * (n + 40)) - 20;
    else out[i] = Math.floor(rand() * 2 ** 32) - 2 ** 31;
  }
  return out;
}

function decodeInChunks(dec: RansDecoder, indexes: Int32Array, tables: RansTables, sizes: number[]): Int32Array {
  const out = new Int32Array(indexes.length);
  let pos = 0;
  let k = 0;
  while (pos < indexes.length) {
    const m = Math.min(sizes[k++ % sizes.length], indexes.length - pos);
    out.set(dec.decodeWithIndexes(indexes.subarray(pos, pos + m), tables), pos);
    pos += m;
  }
  return out;
}

function expectSame(a: Int32Array, b: Int32Array): void {
  expect(a.length).toBe(b.length);
  let firstDiff = -1;
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i]) {
      firstDiff = i;
      break;
    }
  }
  expect(firstDiff).toBe(-1);
}

function catchError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return undefined;
}

describe('WASM rANS coder', () => {
  let rans: WasmRans;
  beforeAll(async () => {
    rans = await loadRans();
  });

  it('loads once and is memoised (async and sync give the same instance)', async () => {
    const [a, b] = await Promise.all([loadRans(), loadRans()]);
    expect(a).toBe(rans);
    expect(a).toBe(b);
    expect(loadRansSync()).toBe(a);
    expect(await loadRans()).toBe(a);
  });

  it('round-trips random data over random tables, several pushes, resumed decodes', () => {
    const rand = rng(1);
    for (let round = 0; round < 60; round++) {
      const tables = randomTables(rand, 1 + Math.floor(rand() * 12));
      const pushes = 1 + Math.floor(rand() * 4);
      const enc = rans.createEncoder();
      const allIdx: Int32Array[] = [];
      const allSym: Int32Array[] = [];
      for (let p = 0; p < pushes; p++) {
        const n = Math.floor(rand() * 3000);
        const idx = Int32Array.from({ length: n }, () => Math.floor(rand() * tables.count));
        const sym = randomSymbols(rand, tables, idx);
        enc.encodeWithIndexes(sym, idx, tables);
        allIdx.push(idx);
        allSym.push(sym);
      }
      const total = allIdx.reduce((s, a) => s + a.length, 0);
      expect(enc.pending).toBe(total);
      const bytes = enc.flush();
      expect(enc.pending).toBe(0);
      enc.dispose();
      const idx = new Int32Array(total);
      const sym = new Int32Array(total);
      let pos = 0;
      allIdx.forEach((a, i) => {
        idx.set(a, pos);
        sym.set(allSym[i], pos);
        pos += a.length;
      });
      const sizes = [1 + Math.floor(rand() * 7), 1 + Math.floor(rand() * 500), 1, 2, 3];
      const dec = rans.createDecoder(bytes);
      expectSame(decodeInChunks(dec, idx, tables, sizes), sym);
      expect(dec.decoded).toBe(total);
      expect(dec.remainingBytes).toBe(0);
      dec.finish();
    }
  });

  it('codes a skewed alphabet close to its entropy', () => {
    const rand = rng(2);
    const n = 200_000;
    const sym = new Int32Array(n);
    for (let i = 0; i < n; i++) sym[i] = Math.min(255, Math.floor(Math.log(1 - rand()) / Math.log(0.7)));
    const hist = new Float64Array(256);
    for (const s of sym) hist[s]++;
    let entropy = 0;
    for (const c of hist) if (c) entropy -= c * Math.log2(c / n);
    const tables = RansTables.fromList([{ cdf: quantizePmfToCdf([...hist, 0]), offset: 0 }]);
    const idx = new Uint8Array(n);
    const enc = rans.createEncoder();
    enc.encodeWithIndexes(sym, idx, tables);
    const bytes = enc.flush();
    expect(bytes.length * 8).toBeLessThan(entropy * 1.005 + 256);
    expect(bytes.length * 8).toBeGreaterThan(entropy * 0.99);
    const dec = rans.createDecoder(bytes);
    expectSame(dec.decodeWithIndexes(idx, tables), sym);
    dec.finish();
  });

  it('handles a table with one real symbol, and one with only the escape symbol', () => {
    const single = RansTables.fromList([{ cdf: [0, 65535, 65536], offset: 7 }]);
    const escOnly = RansTables.fromList([{ cdf: [0, 65536], offset: -3 }]);
    const n = 10_000;
    const idx = new Int32Array(n);
    const sym = new Int32Array(n).fill(7);
    const enc = rans.createEncoder();
    enc.encodeWithIndexes(sym, idx, single);
    const constantBytes = enc.flush();
    // 10k symbols at -log2(65535/65536) bits each: only the states are left
    expect(constantBytes.length).toBeLessThanOrEqual(STATE_BYTES + 2);
    const dec = rans.createDecoder(constantBytes);
    expectSame(dec.decodeWithIndexes(idx, single), sym);
    dec.finish();

    const mixed = Int32Array.from({ length: 500 }, (_, i) => (i % 5 === 0 ? i - 250 : 7));
    const midx = new Int32Array(mixed.length);
    enc.encodeWithIndexes(mixed, midx, single);
    enc.encodeWithIndexes(mixed, midx, escOnly);
    const bytes = enc.flush();
    const dec2 = rans.createDecoder(bytes);
    expectSame(dec2.decodeWithIndexes(midx, single), mixed);
    expectSame(dec2.decodeWithIndexes(midx, escOnly), mixed);
    dec2.finish();
  });

  it('round-trips every extreme int32 through the escape path, with extreme offsets', () => {
    const extremes = [INT32_MAX, INT32_MIN, INT32_MAX - 1, INT32_MIN + 1, 0, -1, 1, 15, 16, -16, -17, 2 ** 28, -(2 ** 28)];
    const tables = RansTables.fromList([
      { cdf: [0, 30000, 65000, 65536], offset: 0 },
      { cdf: [0, 65535, 65536], offset: INT32_MAX },
      { cdf: [0, 100, 65535, 65536], offset: INT32_MIN },
      { cdf: [0, 65536], offset: 0 },
      { cdf: [0, 40000, 65536], offset: INT32_MAX },
      { cdf: [0, 40000, 65536], offset: INT32_MIN },
    ]);
    const sym: number[] = [];
    const idx: number[] = [];
    for (let t = 0; t < tables.count; t++) {
      for (const v of extremes) {
        sym.push(v);
        idx.push(t);
      }
    }
    const s = Int32Array.from(sym);
    const x = Int32Array.from(idx);
    const enc = rans.createEncoder();
    enc.encodeWithIndexes(s, x, tables);
    const bytes = enc.flush();
    for (const sizes of [[1], [3, 5], [s.length]]) {
      const dec = rans.createDecoder(bytes);
      expectSame(decodeInChunks(dec, x, tables, sizes), s);
      dec.finish();
    }
  });

  it('handles the largest table (65536 symbols of frequency 1)', () => {
    const tables = RansTables.fromList([{ cdf: Array.from({ length: 65537 }, (_, i) => i), offset: -30000 }]);
    const rand = rng(19);
    const sym = Int32Array.from({ length: 20_000 }, () => Math.floor(rand() * 65600) - 30030);
    const idx = new Int32Array(sym.length);
    const enc = rans.createEncoder();
    enc.encodeWithIndexes(sym, idx, tables);
    const bytes = enc.flush();
    // 16 bits per symbol, plus the escapes
    expect(bytes.length).toBeGreaterThanOrEqual(2 * sym.length);
    const dec = rans.createDecoder(bytes);
    expectSame(decodeInChunks(dec, idx, tables, [1, 999, 4]), sym);
    dec.finish();
  });

  it('accepts other integer array types for symbols and indexes', () => {
    const tables = randomTables(rng(3), 4, 40);
    const sym = Int16Array.from({ length: 1000 }, (_, i) => (i * 7) % 50 - 10);
    const idx = Uint8Array.from({ length: 1000 }, (_, i) => i % 4);
    const enc = rans.createEncoder();
    enc.encodeWithIndexes(sym, idx, tables);
    const dec = rans.createDecoder(enc.flush());
    const out = dec.decodeWithIndexes(idx, tables);
    dec.finish();
    expectSame(out, Int32Array.from(sym));
  });

  it('lets each call use its own tables (context models, per-call binary tables)', () => {
    const rand = rng(4);
    const sets = [randomTables(rand, 3), randomTables(rand, 1, 3), randomTables(rand, 7, 50)];
    const enc = rans.createEncoder();
    const calls: { idx: Int32Array; sym: Int32Array; tables: RansTables }[] = [];
    for (let k = 0; k < 30; k++) {
      const tables = sets[k % 3];
      const n = Math.floor(rand() * 40);
      const idx = Int32Array.from({ length: n }, () => Math.floor(rand() * tables.count));
      const sym = randomSymbols(rand, tables, idx);
      enc.encodeWithIndexes(sym, idx, tables);
      calls.push({ idx, sym, tables });
    }
    const dec = rans.createDecoder(enc.flush());
    for (const c of calls) expectSame(dec.decodeWithIndexes(c.idx, c.tables), c.sym);
    dec.finish();
  });

  it('decodes into a caller-provided output array', () => {
    const tables = randomTables(rng(5), 2);
    const idx = Int32Array.from({ length: 100 }, (_, i) => i & 1);
    const sym = randomSymbols(rng(6), tables, idx);
    const enc = rans.createEncoder();
    enc.encodeWithIndexes(sym, idx, tables);
    const dec = rans.createDecoder(enc.flush());
    const out = new Int32Array(120).fill(-5);
    expect(dec.decodeWithIndexes(idx, tables, out)).toBe(out);
    expectSame(out.subarray(0, 100), sym);
    expect(out[100]).toBe(-5);
    expect(catchError(() => dec.decodeWithIndexes(idx, tables, new Int32Array(3)))).toBeInstanceOf(InvalidOptionError);
    dec.dispose();
  });

  it('an empty stream is just the states and decodes to nothing', () => {
    const enc = rans.createEncoder();
    const bytes = enc.flush();
    expect(bytes.length).toBe(STATE_BYTES);
    const tables = randomTables(rng(7), 1);
    const dec = rans.createDecoder(bytes);
    expect(dec.decodeWithIndexes(new Int32Array(0), tables).length).toBe(0);
    dec.finish();
  });

  it('reuses an encoder after flush and produces the same stream for the same input', () => {
    const tables = randomTables(rng(8), 5);
    const idx = Int32Array.from({ length: 5000 }, (_, i) => i % 5);
    const sym = randomSymbols(rng(9), tables, idx);
    const enc = rans.createEncoder();
    enc.encodeWithIndexes(sym, idx, tables);
    const a = enc.flush();
    enc.encodeWithIndexes(sym, idx, tables);
    const b = enc.flush();
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
  });

  it('rejects a bad index without queueing anything', () => {
    const tables = randomTables(rng(10), 3);
    const idx = Int32Array.from({ length: 100 }, (_, i) => i % 3);
    const sym = randomSymbols(rng(11), tables, idx);
    const enc = rans.createEncoder();
    enc.encodeWithIndexes(sym, idx, tables);
    const clean = rans.createEncoder();
    clean.encodeWithIndexes(sym, idx, tables);
    for (const bad of [3, -1, 1000]) {
      const idx2 = idx.slice();
      idx2[57] = bad;
      const err = catchError(() => enc.encodeWithIndexes(sym, idx2, tables));
      expect(err).toBeInstanceOf(InvalidOptionError);
      expect((err as Error).message).toBe(
        `Expected integer between 0 and 2 for indexes[57] but received ${bad} of type number`,
      );
      expect(enc.pending).toBe(100);
    }
    expect(catchError(() => enc.encodeWithIndexes(sym, idx.subarray(1), tables))).toBeInstanceOf(InvalidOptionError);
    expect(catchError(() => enc.encodeWithIndexes(new Float32Array(3) as never, idx, tables))).toBeInstanceOf(
      InvalidOptionError,
    );
    expect(Buffer.from(enc.flush()).equals(Buffer.from(clean.flush()))).toBe(true);
  });

  it('rejects a bad index while decoding, and the decoder stays unusable', () => {
    const tables = randomTables(rng(12), 2);
    const idx = Int32Array.from({ length: 10 }, (_, i) => i & 1);
    const enc = rans.createEncoder();
    enc.encodeWithIndexes(randomSymbols(rng(13), tables, idx), idx, tables);
    const dec = rans.createDecoder(enc.flush());
    const bad = idx.slice();
    bad[6] = 2;
    expect(catchError(() => dec.decodeWithIndexes(bad, tables))).toBeInstanceOf(InvalidOptionError);
    expect(catchError(() => dec.decodeWithIndexes(idx, tables))).toBeInstanceOf(BitstreamError);
  });

  it('reports leftovers at finish, and reading past the end, as BitstreamError', () => {
    const tables = randomTables(rng(14), 2);
    const idx = Int32Array.from({ length: 2000 }, (_, i) => i & 1);
    const enc = rans.createEncoder();
    enc.encodeWithIndexes(randomSymbols(rng(15), tables, idx), idx, tables);
    const bytes = enc.flush();

    const early = rans.createDecoder(bytes);
    early.decodeWithIndexes(idx.subarray(0, 1000), tables);
    const err = catchError(() => early.finish());
    expect(err).toBeInstanceOf(BitstreamError);
    expect((err as BitstreamError).code).toBe('ERR_BITSTREAM');

    const past = rans.createDecoder(bytes);
    past.decodeWithIndexes(idx, tables);
    expect(catchError(() => past.decodeWithIndexes(idx, tables))).toBeInstanceOf(BitstreamError);
    expect(catchError(() => past.decodeWithIndexes(idx.subarray(0, 1), tables))).toBeInstanceOf(BitstreamError);
    expect(catchError(() => past.finish())).toBeInstanceOf(BitstreamError);

    expect(catchError(() => rans.createDecoder(bytes.subarray(0, 15)))).toBeInstanceOf(BitstreamError);
    expect(catchError(() => rans.createDecoder(new Uint8Array(16)))).toBeInstanceOf(BitstreamError);
  });

  it('points error stacks at the caller', () => {
    const tables = randomTables(rng(16), 1);
    const idx = new Int32Array(100);
    const enc = rans.createEncoder();
    enc.encodeWithIndexes(new Int32Array(100), idx, tables);
    const bytes = enc.flush();
    const dec = rans.createDecoder(bytes.subarray(0, bytes.length - 1));
    const err = catchError(() => dec.decodeWithIndexes(idx, tables)) as Error;
    expect(err).toBeInstanceOf(BitstreamError);
    expect(err.stack).toContain('coder.wasm.test.ts');
  });

  it('refuses use after dispose or finish; dispose is idempotent', () => {
    const enc = rans.createEncoder();
    enc.dispose();
    enc.dispose();
    expect(catchError(() => enc.flush())).toBeInstanceOf(CodecError);
    const dec = rans.createDecoder(rans.createEncoder().flush());
    dec.finish();
    dec.dispose();
    expect(catchError(() => dec.finish())).toBeInstanceOf(CodecError);
  });

  it('splits tensors larger than one chunk transparently', () => {
    const tables = buildGaussianTables();
    const n = CHUNK_SYMBOLS + 12_345;
    const rand = rng(17);
    const scales = Float64Array.from({ length: n }, () => 0.2 + rand() * 3);
    const idx = buildIndexes(scales);
    const sym = Int32Array.from(scales, (s) => Math.round((rand() - 0.5) * 4 * s));
    const enc = rans.createEncoder();
    enc.encodeWithIndexes(sym, idx, tables);
    const dec = rans.createDecoder(enc.flush());
    expectSame(dec.decodeWithIndexes(idx, tables), sym);
    dec.finish();
  });

  it('round-trips 10M symbols (Gaussian tables) in seconds', () => {
    const n = 10_000_000;
    const tables = buildGaussianTables();
    const rand = rng(18);
    const idx = new Int32Array(n);
    const sym = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const t = Math.floor(rand() * 40);
      idx[i] = t;
      // a cheap bell-shaped value: sum of two uniforms, scaled to the table's range
      sym[i] = Math.round((rand() + rand() - 1) * (t + 1));
    }
    sym[123] = INT32_MAX;
    sym[n - 1] = INT32_MIN;
    const t0 = performance.now();
    const enc = rans.createEncoder();
    enc.encodeWithIndexes(sym, idx, tables);
    const bytes = enc.flush();
    enc.dispose();
    const dec = rans.createDecoder(bytes);
    const out = dec.decodeWithIndexes(idx, tables);
    dec.finish();
    const ms = performance.now() - t0;
    expectSame(out, sym);
    expect(ms).toBeLessThan(20_000);
  });
});
