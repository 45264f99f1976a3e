import { beforeAll, describe, expect, it } from 'vitest';
import { BitstreamError } from '../src/errors.js';
import { RansTables, loadRans, referenceRans, type RansCoder, type WasmRans } from '../src/coder/index.js';
import { buildGaussianTables, quantizePmfToCdf } from '../src/entropy/index.js';
import { rng } from './helpers/rng.js';

type Outcome = { ok: true; values: Int32Array } | { ok: false; error: unknown };

/**
 * Decodes `indexes.length` values from untrusted bytes in chunks and checks the end.
 * Returns the values, or the error that stopped it.
 */
function attempt(coder: RansCoder, bytes: Uint8Array, indexes: Int32Array, tables: RansTables, chunk: number): Outcome {
  const values = new Int32Array(indexes.length);
  try {
    const dec = coder.createDecoder(bytes);
    for (let pos = 0; pos < indexes.length; pos += chunk) {
      const m = Math.min(chunk, indexes.length - pos);
      values.set(dec.decodeWithIndexes(indexes.subarray(pos, pos + m), tables), pos);
    }
    dec.finish();
    return { ok: true, values };
  } catch (error) {
    return { ok: false, error };
  }
}

describe('rANS decoder fuzz', () => {
  let wasm: WasmRans;
  beforeAll(async () => {
    wasm = await loadRans();
  });

  it('turns random, truncated and bit-flipped streams into BitstreamError or valid values, never anything else', () => {
    const rand = rng(2024);
    const gaussian = buildGaussianTables();
    const small = RansTables.fromList([
      { cdf: quantizePmfToCdf([0.5, 0.3, 0.2, 0]), offset: 0 },
      { cdf: [0, 65535, 65536], offset: -4 },
      { cdf: [0, 65536], offset: 9 },
      { cdf: quantizePmfToCdf(Array.from({ length: 300 }, (_, i) => 0.97 ** i)), offset: -150 },
    ]);
    const stats = { inputs: 0, errors: 0, truncated: 0, flipped: 0, flippedDetected: 0, disagreements: 0 };
    const kinds = ['random', 'truncated', 'flipped'] as const;
    const ITER = 3400;
    for (let iter = 0; iter < ITER; iter++) {
      const tables = rand() < 0.5 ? gaussian : small;
      const n = 1 + Math.floor(rand() * 400);
      const indexes = Int32Array.from({ length: n }, () => Math.floor(rand() * tables.count));
      // a valid stream to damage: mostly small values, some escapes
      const symbols = Int32Array.from(indexes, (t) =>
        rand() < 0.05 ? Math.floor(rand() * 2 ** 32) - 2 ** 31 : tables.offsets[t] + Math.floor(rand() * Math.min(8, tables.lengths[t] - 1)),
      );
      const enc = wasm.createEncoder();
      enc.encodeWithIndexes(symbols, indexes, tables);
      const valid = enc.flush();
      enc.dispose();

      for (const kind of kinds) {
        let bytes: Uint8Array;
        if (kind === 'random') {
          bytes = Uint8Array.from({ length: Math.floor(rand() * 300) }, () => Math.floor(rand() * 256));
          // half of them with plausible states, so that decoding actually starts
          if (rand() < 0.5 && bytes.length >= 16) bytes.set(valid.subarray(0, 16));
        } else if (kind === 'truncated') {
          bytes = valid.slice(0, Math.floor(rand() * valid.length));
        } else {
          bytes = valid.slice();
          const flips = 1 + Math.floor(rand() * 3);
          for (let f = 0; f < flips; f++) {
            const bit = Math.floor(rand() * bytes.length * 8);
            bytes[bit >> 3] ^= 1 << (bit & 7);
          }
        }
        const chunk = 1 + Math.floor(rand() * (rand() < 0.5 ? 6 : n));
        const a = attempt(wasm, bytes, indexes, tables, chunk);
        const b = attempt(referenceRans, bytes, indexes, tables, 1 + Math.floor(rand() * n));
        for (const o of [a, b]) {
          stats.inputs++;
          if (!o.ok) {
            stats.errors++;
            // the one thing this test is about: nothing but BitstreamError escapes
            if (!(o.error instanceof BitstreamError)) throw o.error;
            expect(o.error).toBeInstanceOf(BitstreamError);
          }
        }
        // both decoders agree on the outcome, and on the values when they succeed
        if (a.ok !== b.ok || (a.ok && b.ok && !a.values.every((v, i) => v === b.values[i]))) stats.disagreements++;
        if (kind === 'truncated') {
          stats.truncated++;
          // a stream missing bytes can never decode completely
          expect(a.ok).toBe(false);
        }
        if (kind === 'flipped') {
          stats.flipped++;
          if (!a.ok || !a.values.every((v, i) => v === symbols[i])) stats.flippedDetected++;
        }
      }
    }
    expect(stats.inputs).toBeGreaterThanOrEqual(20_000);
    expect(stats.disagreements).toBe(0);
    expect(stats.errors).toBeGreaterThan(stats.inputs / 2);
    // the end-of-stream check catches nearly every bit flip
    expect(stats.flippedDetected).toBeGreaterThan(stats.flipped * 0.99);
  });

  it('survives decoding far more values than the stream holds', () => {
    const tables = buildGaussianTables();
    const rand = rng(5);
    for (let k = 0; k < 200; k++) {
      const bytes = Uint8Array.from({ length: 16 + Math.floor(rand() * 64) }, () => Math.floor(rand() * 256));
      bytes[3] &= 0x7f; // keep some states in range
      bytes[3] |= 0x01;
      const indexes = Int32Array.from({ length: 100_000 }, () => Math.floor(rand() * 64));
      for (const coder of [wasm, referenceRans]) {
        const o = attempt(coder, bytes, indexes, tables, 100_000);
        expect(o.ok).toBe(false);
        if (!o.ok) expect(o.error).toBeInstanceOf(BitstreamError);
      }
    }
  });
});
