import { describe, expect, it } from 'vitest';
import { InvalidOptionError } from '../src/errors.js';
import { cdfToPmf, quantizePmfToCdf } from '../src/entropy/quantize.js';
import { rng } from './helpers/rng.js';

function checkCdf(cdf: Uint32Array, n: number): void {
  expect(cdf.length).toBe(n + 1);
  expect(cdf[0]).toBe(0);
  expect(cdf[n]).toBe(65536);
  let minFreq = Infinity;
  for (let i = 0; i < n; i++) minFreq = Math.min(minFreq, cdf[i + 1] - cdf[i]);
  expect(minFreq).toBeGreaterThanOrEqual(1);
}

/** Expected extra bits per symbol from coding p with the quantised q (KL divergence). */
function klBits(pmf: number[], cdf: Uint32Array): number {
  const total = pmf.reduce((a, b) => a + b, 0);
  let kl = 0;
  pmf.forEach((p, i) => {
    if (p > 0) kl += (p / total) * Math.log2(p / total / ((cdf[i + 1] - cdf[i]) / 65536));
  });
  return kl;
}

describe('quantizePmfToCdf', () => {
  it('rounds a simple pmf exactly', () => {
    expect(Array.from(quantizePmfToCdf([0.7, 0.2, 0.1]))).toEqual([0, 45875, 58982, 65536]);
    expect(Array.from(quantizePmfToCdf([1]))).toEqual([0, 65536]);
    expect(Array.from(quantizePmfToCdf([3, 1]))).toEqual([0, 49152, 65536]);
  });

  it('gives every symbol at least 1/65536, zeros and tiny values included', () => {
    const cdf = quantizePmfToCdf([1, 0, 1e-30, 0, 0.5]);
    checkCdf(cdf, 5);
    expect(cdf[2] - cdf[1]).toBe(1);
    expect(cdf[3] - cdf[2]).toBe(1);
  });

  it('handles 65536 symbols (all of frequency 1) and rejects more', () => {
    const pmf = new Float64Array(65536);
    pmf[0] = 1;
    const cdf = quantizePmfToCdf(pmf);
    checkCdf(cdf, 65536);
    expect(cdf[1]).toBe(1);
    expect(() => quantizePmfToCdf(new Float64Array(65537).fill(1))).toThrow(InvalidOptionError);
  });

  it('stays close to the ideal code length on random and skewed pmfs', () => {
    const rand = rng(9);
    for (let k = 0; k < 200; k++) {
      const n = 2 + Math.floor(rand() * 2000);
      const skew = 1 + rand() * 6;
      const pmf = Array.from({ length: n }, () => rand() ** skew);
      const cdf = quantizePmfToCdf(pmf);
      checkCdf(cdf, n);
      // the floor of one unit per symbol costs about n / 65536 of the mass
      expect(klBits(pmf, cdf)).toBeLessThan(0.002 + (3 * n) / 65536);
    }
    const geometric = Array.from({ length: 256 }, (_, i) => 0.8 ** i);
    expect(klBits(geometric, quantizePmfToCdf(geometric))).toBeLessThan(0.005);
  });

  it('is deterministic and independent of the pmf scale', () => {
    const rand = rng(10);
    const pmf = Array.from({ length: 500 }, () => rand());
    const a = quantizePmfToCdf(pmf);
    const b = quantizePmfToCdf(pmf.map((p) => p * 1024));
    expect(Array.from(b)).toEqual(Array.from(a));
    expect(Array.from(quantizePmfToCdf(pmf))).toEqual(Array.from(a));
  });

  it('breaks ties by symbol order', () => {
    // 3 equal symbols: 65536 / 3 = 21845.33, the spare unit goes to the first
    expect(Array.from(quantizePmfToCdf([1, 1, 1]))).toEqual([0, 21846, 43691, 65536]);
  });

  it('rejects invalid input', () => {
    for (const bad of [[], [NaN], [-1, 2], [Infinity], [0, 0], ['a' as unknown as number], [1e308, 1e308]]) {
      expect(() => quantizePmfToCdf(bad)).toThrow(InvalidOptionError);
    }
  });

  it('cdfToPmf inverts the quantisation', () => {
    const cdf = quantizePmfToCdf([0.5, 0.25, 0.25]);
    expect(Array.from(cdfToPmf(cdf))).toEqual([0.5, 0.25, 0.25]);
  });
});
