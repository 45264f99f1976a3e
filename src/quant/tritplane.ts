/**
 * Trit-plane arithmetic for progressive coding (DPICT, Lee et al. 2022; CTC, Jeon et al. 2023).
 *
 * Each latent element is an integer offset s from its predicted mean. With L planes, s lies
 * in [-(3^L - 1)/2, (3^L - 1)/2]; plane k splits the element's current interval (width
 * W = 3^(L-k)) into thirds and codes which third holds s. The trit is coded as two binary
 * decisions ("outer third?", then "upper third?") whose probabilities are the Gaussian
 * masses of the thirds, quantized to a fixed logit grid of binary tables.
 *
 * Everything that the encoder and the decoder must agree on (probabilities, table indexes,
 * the coding order) uses only +, -, *, /, Math.round/floor and comparisons, never Math.exp or
 * Math.log, whose last bits may differ between JavaScript engines.
 */
import { buildBinaryTables } from '../entropy/binary.js';
import type { RansTables } from '../coder/tables.js';
import { MAX_TRIT_PLANES } from '../bitstream/progressive-info.js';

export { MAX_TRIT_PLANES };

/** Smallest probability a binary decision is coded with. */
export const TRIT_PROB_MIN = 2 ** -15;
/** Logit grid of the binary tables: -LOGIT_MAX .. LOGIT_MAX in LOGIT_STEP steps. */
export const LOGIT_STEP = 0.05;
export const LOGIT_MAX = 10.5;
export const TRIT_TABLES = Math.round((2 * LOGIT_MAX) / LOGIT_STEP) + 1;
/** Elements are coded in chunks: the chunk's "outer?" bits, then its "upper?" bits. */
export const TRIT_CHUNK = 4096;
/** Elements per tile that the coding order's sort keys can index. */
export const MAX_TRIT_ELEMENTS = 1 << 21;

const SQRT1_2 = 0.7071067811865476;
const INV_SQRT_2PI = 0.3989422804014327;
const LN2_HI = 6.93147180369123816490e-1;
const LN2_LO = 1.90821492927058770002e-10;
const LOG2E = 1.4426950408889634;
const LN2 = 0.6931471805599453;
const POW2 = (() => {
  // 2^k for k in [-1074, 1023], exact, from repeated halving/doubling
  const t = new Float64Array(2098);
  t[1074] = 1;
  for (let k = 1; k <= 1023; k++) t[1074 + k] = t[1073 + k] * 2;
  for (let k = 1; k <= 1074; k++) t[1074 - k] = t[1075 - k] / 2;
  return t;
})();

/** e^x, deterministic (basic arithmetic only), relative error below 1e-15; 0 below -740. */
export function expDet(x: number): number {
  if (x < -740) return 0;
  if (x > 709) return Infinity;
  const k = Math.round(x * LOG2E);
  const r = x - k * LN2_HI - k * LN2_LO;
  let s = 1;
  for (let i = 12; i >= 1; i--) s = 1 + (r / i) * s;
  return k >= -1022 ? s * POW2[1074 + k] : s * POW2[1074 + k + 60] * POW2[1074 - 60];
}

const F64 = new Float64Array(1);
const U32 = new Uint32Array(F64.buffer);

/** log2(x) for x > 0, deterministic: exponent from the bits, mantissa by the atanh series. */
export function log2Det(x: number): number {
  if (!(x > 0)) return x === 0 ? -Infinity : NaN;
  let e = 0;
  if (x < 2.2250738585072014e-308) {
    x *= 2 ** 64;
    e = -64;
  }
  F64[0] = x;
  const hi = U32[1];
  e += ((hi >>> 20) & 0x7ff) - 1023;
  U32[1] = (hi & 0x000fffff) | 0x3ff00000; // mantissa in [1, 2)
  let m = F64[0];
  if (m > 1.4142135623730951) {
    m /= 2;
    e += 1;
  }
  const f = (m - 1) / (m + 1);
  const f2 = f * f;
  let s = 0;
  for (let i = 17; i >= 1; i -= 2) s = 1 / i + f2 * s;
  return e + (2 * f * s) * LOG2E;
}

/** erfc(x), relative error < 1.2e-7 everywhere (Chebyshev fit), deterministic. */
export function erfcDet(x: number): number {
  const z = x < 0 ? -x : x;
  if (z > 27) return x < 0 ? 2 : 0;
  const t = 1 / (1 + 0.5 * z);
  const ans =
    t *
    expDet(
      -z * z - 1.26551223 +
        t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? ans : 2 - ans;
}

/** Standard normal density. */
export const phiDet = (u: number): number => (u < -40 || u > 40 ? 0 : expDet(-0.5 * u * u) * INV_SQRT_2PI);

/** P(a < U < b) for a standard normal U, accurate in both tails. */
export function gaussMass(a: number, b: number): number {
  if (a >= 0) return 0.5 * (erfcDet(a * SQRT1_2) - erfcDet(b * SQRT1_2));
  if (b <= 0) return 0.5 * (erfcDet(-b * SQRT1_2) - erfcDet(-a * SQRT1_2));
  return 1 - 0.5 * (erfcDet(-a * SQRT1_2) + erfcDet(b * SQRT1_2));
}

/** Planes needed so that every |s| fits: the smallest L with (3^L - 1)/2 >= max |s|. */
export function planesFor(maxAbs: number): number {
  let L = 1;
  while ((3 ** L - 1) / 2 < maxAbs) L++;
  return L;
}

/**
 * Mean of N(0, scale) truncated to [lo - 0.5, hi + 0.5], the reconstruction offset of an
 * element known to lie in [lo, hi]; the end nearer to 0 when the mass underflows.
 */
export function condMean(lo: number, hi: number, scale: number): number {
  if (lo === hi) return lo;
  const a = (lo - 0.5) / scale;
  const b = (hi + 0.5) / scale;
  const z = gaussMass(a, b);
  if (!(z > 1e-12)) return lo > 0 ? lo : hi < 0 ? hi : 0;
  const cm = (scale * (phiDet(a) - phiDet(b))) / z;
  return cm < lo - 0.5 ? lo - 0.5 : cm > hi + 0.5 ? hi + 0.5 : cm;
}

let tablesCache: { tables: RansTables; bounds: Float64Array } | undefined;

/**
 * The binary tables of the logit grid and the probability bounds between neighbouring
 * grid points; table i codes 1 with probability sigmoid(-LOGIT_MAX + i * LOGIT_STEP).
 */
export function tritTables(): { tables: RansTables; bounds: Float64Array } {
  if (!tablesCache) {
    const p = new Float64Array(TRIT_TABLES);
    for (let i = 0; i < TRIT_TABLES; i++) p[i] = 1 / (1 + expDet(LOGIT_MAX - i * LOGIT_STEP));
    const bounds = new Float64Array(TRIT_TABLES - 1);
    for (let i = 0; i < TRIT_TABLES - 1; i++) bounds[i] = 1 / (1 + expDet(LOGIT_MAX - (i + 0.5) * LOGIT_STEP));
    tablesCache = { tables: buildBinaryTables(p), bounds };
  }
  return tablesCache;
}

/** Index of the grid table nearest (in logit) to probability p. */
export function probabilityIndex(p: number, bounds: Float64Array): number {
  let lo = 0;
  let hi = bounds.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (bounds[mid] < p) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Per-element coding model of one trit-plane (or one checkerboard pass of it). */
export interface PlaneModel {
  /** Element indexes in coding order (highest expected distortion reduction per bit first). */
  order: Int32Array;
  /** Table index of "outer third?" per element. */
  outer: Int32Array;
  /** Table index of "upper third, given outer?" per element. */
  upper: Int32Array;
}

export interface PlaneInputs {
  /** Lower end of each element's interval (all intervals have width `width`). */
  lo: Int32Array;
  width: number;
  /** Hyperprior scale per element (channel-major, `hw` elements per channel). */
  scale: Float32Array;
  hw: number;
  /** Squared inverse gain per channel: y' error to y error. */
  weight: Float32Array;
  /** CRR outputs (mean shift in scales, log scale factor) per element, or undefined. */
  shift?: Float32Array;
  logScale?: Float32Array;
  /** The elements this pass codes (all when absent); they all have interval width `width`. */
  subset?: Int32Array;
}

const clampP = (p: number) => (p < TRIT_PROB_MIN ? TRIT_PROB_MIN : p > 1 - TRIT_PROB_MIN ? 1 - TRIT_PROB_MIN : p);

let entropyCache: Float64Array | undefined;
/** Binary entropy (bits) of each grid table's probability: the cost of a decision coded with it. */
function gridEntropy(): Float64Array {
  if (!entropyCache) {
    entropyCache = new Float64Array(TRIT_TABLES);
    for (let i = 0; i < TRIT_TABLES; i++) {
      const p = 1 / (1 + expDet(LOGIT_MAX - i * LOGIT_STEP));
      entropyCache[i] = -(p * log2Det(p) + (1 - p) * log2Det(1 - p));
    }
  }
  return entropyCache;
}

let probCache: Float64Array | undefined;
function gridProbabilities(): Float64Array {
  if (!probCache) probCache = Float64Array.from({ length: TRIT_TABLES }, (_, i) => 1 / (1 + expDet(LOGIT_MAX - i * LOGIT_STEP)));
  return probCache;
}

/** Upper tail Q(|u|) = P(U > |u|) of a standard normal. */
const tail = (u: number): number => 0.5 * erfcDet((u < 0 ? -u : u) * SQRT1_2);

/** Mass between boundaries a < b given their tails qa = Q(|a|), qb = Q(|b|), accurate in both tails. */
function massOf(a: number, b: number, qa: number, qb: number): number {
  if (a >= 0) return qa - qb;
  if (b <= 0) return qb - qa;
  return 1 - qa - qb;
}

/**
 * Probabilities and coding order of one plane, identical in encoder and decoder: both
 * call it with the state after the previous planes.
 */
export function planeModel(inp: PlaneInputs): PlaneModel {
  const { lo, width, scale, hw, weight, shift, logScale, subset } = inp;
  const n = lo.length;
  const count = subset ? subset.length : n;
  if (n >= MAX_TRIT_ELEMENTS) throw new RangeError(`${n} latent elements in one tile; at most ${MAX_TRIT_ELEMENTS - 1}`);
  const { bounds } = tritTables();
  const H = gridEntropy();
  const P = gridProbabilities();
  const minIdx = probabilityIndex(TRIT_PROB_MIN, bounds);
  const halfIdx = probabilityIndex(0.5, bounds);
  const t = width / 3;
  const outer = new Int32Array(n);
  const upper = new Int32Array(n);
  const keys = new Float64Array(count);
  const f32 = new Float32Array(1);
  const u32 = new Uint32Array(f32.buffer);
  for (let k = 0; k < count; k++) {
    const i = subset ? subset[k] : k;
    let sd = scale[i];
    let mu = 0;
    if (shift && logScale) {
      mu = sd * shift[i];
      const g = logScale[i];
      sd *= expDet(g < -3 ? -3 : g > 3 ? 3 : g);
    }
    const l = lo[i] - 0.5 - mu;
    const e1 = (l + t) / sd;
    const e2 = (l + 2 * t) / sd;
    let prio = 0;
    if (e1 < -8.5 && e2 > 8.5) {
      // the middle third holds all but ~1e-17 of the mass: a near-free decision, coded last
      outer[i] = minIdx;
      upper[i] = halfIdx;
    } else {
      const e0 = l / sd;
      const e3 = (l + width) / sd;
      const q0 = tail(e0);
      const q1 = tail(e1);
      const q2 = tail(e2);
      const q3 = tail(e3);
      const m0 = massOf(e0, e1, q0, q1);
      const m1 = massOf(e1, e2, q1, q2);
      const m2 = massOf(e2, e3, q2, q3);
      const tot = m0 + m1 + m2;
      let pOut = 2 / 3;
      let pUp = 0.5;
      let dD: number;
      if (tot > 1e-300) {
        pOut = (m0 + m2) / tot;
        pUp = m0 + m2 > 0 ? m2 / (m0 + m2) : 0.5;
        // expected distortion reduction = variance of the thirds' means (law of total variance)
        const f0 = phiDet(e0);
        const f1 = phiDet(e1);
        const f2 = phiDet(e2);
        const f3 = phiDet(e3);
        let s2 = 0;
        if (m0 > 1e-300) s2 += ((f0 - f1) * (f0 - f1)) / m0;
        if (m1 > 1e-300) s2 += ((f1 - f2) * (f1 - f2)) / m1;
        if (m2 > 1e-300) s2 += ((f2 - f3) * (f2 - f3)) / m2;
        const mean = (f0 - f3) / tot;
        dD = s2 / tot - mean * mean;
        if (!(dD > 0)) dD = 0;
      } else {
        dD = (width * width - t * t) / 12 / (sd * sd);
      }
      pOut = clampP(pOut);
      const io = probabilityIndex(pOut, bounds);
      const iu = probabilityIndex(clampP(pUp), bounds);
      outer[i] = io;
      upper[i] = iu;
      // the bits the decision costs as coded, with the tables' own probabilities
      const dR = H[io] + P[io] * H[iu];
      prio = (weight[(i / hw) | 0] * sd * sd * dD) / (dR > 1e-9 ? dR : 1e-9);
    }
    f32[0] = prio;
    keys[k] = (0xffffffff - u32[0]) * MAX_TRIT_ELEMENTS + i;
  }
  keys.sort();
  const order = new Int32Array(count);
  for (let k = 0; k < count; k++) order[k] = keys[k] % MAX_TRIT_ELEMENTS;
  return { order, outer, upper };
}

/**
 * State features for the CRR and CDR heads, channel-major like the latent:
 * [yhat (M channels), ln scale (M), planes left (M)], and the reconstruction yhat = mean +
 * conditional mean of each element's interval, in gained latent units. With `into` and
 * `subset`, only the listed elements are recomputed in the given buffers (the others keep
 * their values), which is how a decoder keeps them current as planes arrive.
 */
export function stateFeatures(
  mean: Float32Array,
  scale: Float32Array,
  lo: Int32Array,
  rem: Uint8Array,
  into?: { feat: Float32Array; yhat: Float32Array },
  subset?: Int32Array,
): { feat: Float32Array; yhat: Float32Array } {
  const n = lo.length;
  const feat = into?.feat ?? new Float32Array(3 * n);
  const yhat = into?.yhat ?? new Float32Array(n);
  const count = subset ? subset.length : n;
  for (let k = 0; k < count; k++) {
    const i = subset ? subset[k] : k;
    const W = POW3[rem[i]];
    const y = mean[i] + (W === 1 ? lo[i] : condMean(lo[i], lo[i] + W - 1, scale[i]));
    yhat[i] = y;
    feat[i] = y;
    feat[n + i] = log2Det(scale[i]) * LN2;
    feat[2 * n + i] = rem[i];
  }
  return { feat, yhat };
}

const POW3 = Array.from({ length: MAX_TRIT_PLANES + 1 }, (_, k) => 3 ** k);
