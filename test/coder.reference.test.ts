import { beforeAll, describe, expect, it } from 'vitest';
import { BitstreamError, InvalidOptionError } from '../src/errors.js';
import {
  RansTables,
  ReferenceRansDecoder,
  ReferenceRansEncoder,
  loadRans,
  referenceRans,
  type RansCoder,
  type RansDecoder,
  type WasmRans,
} from '../src/coder/index.js';
import { buildGaussianTables, buildIndexes, quantizePmfToCdf } from '../src/entropy/index.js';
import { rng } from './helpers/rng.js';

function randomTables(rand: () => number, count: number, maxLen: number): RansTables {
  const list = [];
  for (let t = 0; t < count; t++) {
    const n = 1 + Math.floor(rand() * maxLen);
    const pmf = Array.from({ length: n + 1 }, () => (rand() < 0.3 ? 0 : rand() ** 4));
    pmf[Math.floor(rand() * n)] += 1e-2;
    const offset = rand() < 0.1 ? (rand() < 0.5 ? -0x80000000 : 0x7fffffff - Math.max(0, n - 1)) : Math.floor(rand() * 100) - 50;
    list.push({ cdf: quantizePmfToCdf(pmf), offset });
  }
  return RansTables.fromList(list);
}

interface Push {
  symbols: Int32Array;
  indexes: Int32Array;
  tables: RansTables;
}

function randomPushes(rand: () => number): Push[] {
  const sets = Array.from({ length: 1 + Math.floor(rand() * 3) }, () =>
    randomTables(rand, 1 + Math.floor(rand() * 8), rand() < 0.5 ? 4 : 400),
  );
  return Array.from({ length: 1 + Math.floor(rand() * 5) }, () => {
    const tables = sets[Math.floor(rand() * sets.length)];
    const n = Math.floor(rand() * (rand() < 0.2 ? 20 : 2000));
    const indexes = Int32Array.from({ length: n }, () => Math.floor(rand() * tables.count));
    const escapeRate = rand() < 0.3 ? 0.3 : 0.01;
    const symbols = Int32Array.from(indexes, (t) => {
      const lo = tables.offsets[t];
      const len = tables.lengths[t] - 2;
      if (rand() < escapeRate) {
        return rand() < 0.5 ? Math.floor(rand() * 2 ** 32) - 2 ** 31 : lo + Math.floor(rand() * (len + 100)) - 50;
      }
      return lo + Math.floor(rand() * len);
    });
    return { symbols, indexes, tables };
  });
}

function encode(coder: RansCoder, pushes: Push[]): Uint8Array {
  const enc = coder.createEncoder();
  for (const p of pushes) enc.encodeWithIndexes(p.symbols, p.indexes, p.tables);
  const bytes = enc.flush();
  enc.dispose();
  return bytes;
}

/** Decodes every push, each split into random chunks; checks the values and the end. */
function decodeAll(dec: RansDecoder, pushes: Push[], rand: () => number): boolean {
  for (const p of pushes) {
    let pos = 0;
    while (pos < p.indexes.length) {
      const m = Math.min(p.indexes.length - pos, 1 + Math.floor(rand() * (rand() < 0.5 ? 5 : 700)));
      const out = dec.decodeWithIndexes(p.indexes.subarray(pos, pos + m), p.tables);
      for (let i = 0; i < m; i++) if (out[i] !== p.symbols[pos + i]) return false;
      pos += m;
    }
  }
  dec.finish();
  return true;
}

describe('TypeScript reference rANS coder', () => {
  let wasm: WasmRans;
  beforeAll(async () => {
    wasm = await loadRans();
  });

  it('produces streams bit-identical to the WASM coder, and each decodes the other', () => {
    const rand = rng(42);
    let escapes = 0;
    for (let round = 0; round < 300; round++) {
      const pushes = randomPushes(rand);
      const a = encode(wasm, pushes);
      const b = encode(referenceRans, pushes);
      expect(a.length).toBe(b.length);
      expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
      expect(decodeAll(referenceRans.createDecoder(a), pushes, rand)).toBe(true);
      expect(decodeAll(wasm.createDecoder(b), pushes, rand)).toBe(true);
      for (const p of pushes) {
        p.symbols.forEach((v, i) => {
          const t = p.indexes[i];
          if (v - p.tables.offsets[t] < 0 || v - p.tables.offsets[t] >= p.tables.lengths[t] - 2) escapes++;
        });
      }
    }
    // the cases really exercised the escape path
    expect(escapes).toBeGreaterThan(1000);
  });

  it('matches the WASM coder on Gaussian latents', () => {
    const rand = rng(7);
    const tables = buildGaussianTables();
    const n = 200_000;
    const scales = Float64Array.from({ length: n }, () => Math.exp(-2 + 6 * rand()));
    const indexes = buildIndexes(scales);
    const symbols = Int32Array.from(scales, (s) => Math.round(s * (rand() + rand() + rand() - 1.5) * 2));
    const pushes = [{ symbols, indexes, tables }];
    const a = encode(wasm, pushes);
    const b = encode(referenceRans, pushes);
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
    expect(decodeAll(new ReferenceRansDecoder(a), pushes, rand)).toBe(true);
  });

  it('validates like the WASM coder', () => {
    const tables = randomTables(rng(3), 2, 10);
    const enc = new ReferenceRansEncoder();
    const idx = new Int32Array([0, 1, 2]);
    expect(() => enc.encodeWithIndexes(new Int32Array(3), idx, tables)).toThrow(InvalidOptionError);
    expect(enc.pending).toBe(0);
    expect(() => enc.encodeWithIndexes(new Int32Array(2), idx, tables)).toThrow(InvalidOptionError);
    expect(() => new ReferenceRansDecoder(new Uint8Array(15))).toThrow(BitstreamError);
    expect(() => new ReferenceRansDecoder(new Uint8Array(16).fill(0xff))).toThrow(BitstreamError);
    const bytes = enc.flush();
    const dec = new ReferenceRansDecoder(bytes);
    expect(() => dec.decodeWithIndexes(new Int32Array([0]), tables)).toThrow(BitstreamError);
    expect(() => dec.finish()).toThrow(BitstreamError);
  });
});
