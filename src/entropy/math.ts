/**
 * Deterministic special functions for building CDF tables. Only +, -, *, / and
 * Math.round/floor/abs are used (all exactly specified by IEEE 754 / ECMAScript), never
 * Math.exp, Math.log or Math.pow, whose last bits depend on the engine and its libm. So an
 * encoder and a decoder on different machines build bit-identical tables.
 */

// ln 2 split so that k * LN2_HI is exact for |k| < 2^11
const LN2_HI = 6.93147180369123816490e-1;
const LN2_LO = 1.90821492927058770002e-10;
const LOG2E = 1.4426950408889634;
const EXP_OVERFLOW = 709.782712893384;
const EXP_UNDERFLOW = -745.1332191019412;
const TWO_OVER_SQRT_PI = 1.1283791670955126;
const ONE_OVER_SQRT_PI = 0.5641895835477563;
const SQRT1_2 = 0.7071067811865476;

const bits = new DataView(new ArrayBuffer(8));

/** 2^k for an integer k in [-1022, 1023], built from its bit pattern. */
function pow2(k: number): number {
  bits.setUint32(0, (k + 1023) * 0x100000);
  bits.setUint32(4, 0);
  return bits.getFloat64(0);
}

/** e^x, accurate to about 1 ulp, identical on every IEEE 754 machine. */
export function expDet(x: number): number {
  if (x !== x) return NaN;
  if (x > EXP_OVERFLOW) return Infinity;
  if (x < EXP_UNDERFLOW) return 0;
  // x = k ln2 + r with |r| <= ln2 / 2
  const k = Math.round(x * LOG2E);
  const r = x - k * LN2_HI - k * LN2_LO;
  // e^r = 1 + r(1 + r/2(1 + r/3(...))), 17 terms: error below 1e-19 for |r| <= 0.35
  let s = 1;
  for (let i = 17; i >= 1; i--) s = 1 + (r / i) * s;
  if (k > 1023) return s * pow2(k - 1) * 2;
  if (k < -1022) return s * pow2(k + 600) * pow2(-600);
  return s * pow2(k);
}

/** erf(x) for 0 <= x < 2 from the series e^(-x^2) sum (2x^2)^n x / (1 * 3 * ... * (2n + 1)). */
function erfSeries(x: number): number {
  const x2 = x * x;
  let term = x;
  let sum = x;
  for (let n = 1; n < 200; n++) {
    term *= (2 * x2) / (2 * n + 1);
    sum += term;
    if (term <= sum * 1e-17) break;
  }
  return TWO_OVER_SQRT_PI * expDet(-x2) * sum;
}

/**
 * erfc(x) for x >= 2 from its continued fraction, evaluated bottom-up; the depth (fixed per
 * range of x) keeps the truncation error below 1e-16.
 */
function erfcFraction(x: number): number {
  const depth = x < 2.5 ? 56 : x < 3 ? 40 : x < 4 ? 28 : 20;
  let f = x;
  for (let n = depth; n >= 1; n--) f = x + n / 2 / f;
  return (expDet(-x * x) * ONE_OVER_SQRT_PI) / f;
}

/** Complementary error function, relative error around 1e-14, identical on every machine. */
export function erfcDet(x: number): number {
  if (x !== x) return NaN;
  if (x < 0) return 2 - erfcDet(-x);
  if (x < 2) return 1 - erfSeries(x);
  if (x > 27.3) return 0;
  return erfcFraction(x);
}

/** Standard normal CDF: Φ(x) = erfc(-x / √2) / 2. */
export function normalCdf(x: number): number {
  return 0.5 * erfcDet(-x * SQRT1_2);
}

/** Inverse of {@link normalCdf} for 0 < p < 1, by bisection (deterministic, not fast). */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) return NaN;
  let lo = -40;
  let hi = 40;
  for (let i = 0; i < 200; i++) {
    const mid = (lo + hi) / 2;
    if (mid === lo || mid === hi) break;
    if (normalCdf(mid) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}
