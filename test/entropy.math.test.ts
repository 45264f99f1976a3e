import { describe, expect, it } from 'vitest';
import { erfcDet, expDet, normalCdf, normalQuantile } from '../src/entropy/math.js';

// reference values computed with 40-digit arithmetic
const ERFC: [number, number][] = [
  [-3, 1.9999779095030015],
  [-1.5, 1.9661051464753108],
  [-0.3, 1.3286267594591274],
  [0, 1.0],
  [1e-8, 0.9999999887162083],
  [0.1, 0.887537083981715],
  [0.5, 0.4795001221869535],
  [1, 0.15729920705028513],
  [1.9999, 0.004679802092970608],
  [2, 0.004677734981047266],
  [2.5, 0.0004069520174449589],
  [3.7, 1.6715105790914599e-7],
  [5, 1.537459794428035e-12],
  [8, 1.1224297172982926e-29],
  [12.25, 3.09412674054021e-67],
  [26, 5.663192408856143e-296],
];

const EXP: [number, number][] = [
  [-700, 9.85967654375977e-305],
  [-50.5, 1.1698459177061964e-22],
  [-1, 0.36787944117144233],
  [-0.001, 0.999000499833375],
  [0, 1.0],
  [0.3, 1.3498588075760032],
  [1, 2.718281828459045],
  [10, 22026.465794806718],
  [700, 1.0142320547350045e304],
];

const rel = (a: number, b: number): number => Math.abs(a - b) / Math.abs(b);

describe('deterministic special functions', () => {
  it('expDet matches reference values to about 1 ulp', () => {
    for (const [x, e] of EXP) expect(rel(expDet(x), e)).toBeLessThan(5e-16);
    expect(expDet(-800)).toBe(0);
    expect(expDet(800)).toBe(Infinity);
    expect(expDet(NaN)).toBeNaN();
    // subnormal results keep their magnitude
    expect(rel(expDet(-740), Math.exp(-740))).toBeLessThan(1e-3);
  });

  it('erfcDet matches reference values to 1e-13 relative', () => {
    for (const [x, e] of ERFC) expect(rel(erfcDet(x), e)).toBeLessThan(1e-13);
    expect(erfcDet(30)).toBe(0);
    expect(erfcDet(-30)).toBe(2);
    expect(erfcDet(NaN)).toBeNaN();
  });

  it('erfcDet is continuous where its methods meet (x = 2)', () => {
    const below = erfcDet(2 - 1e-12);
    const at = erfcDet(2);
    expect(rel(below, at)).toBeLessThan(1e-10);
  });

  it('normalCdf and normalQuantile are inverse, with the CompressAI tail multiplier', () => {
    expect(normalCdf(0)).toBe(0.5);
    expect(rel(normalCdf(-1), 0.15865525393145707)).toBeLessThan(1e-13);
    expect(normalQuantile(5e-10)).toBeCloseTo(-6.1094102048693975, 12);
    for (const p of [1e-12, 0.01, 0.3, 0.5, 0.9]) expect(rel(normalCdf(normalQuantile(p)), p)).toBeLessThan(1e-12);
    expect(normalQuantile(0)).toBeNaN();
    expect(normalQuantile(1)).toBeNaN();
  });

  it('gives the same results on every call (no hidden state)', () => {
    const xs = [-7.3, -0.01, 0.77, 2.000001, 4.2];
    const a = xs.map(erfcDet);
    const b = xs.map(erfcDet);
    expect(b).toEqual(a);
  });
});
