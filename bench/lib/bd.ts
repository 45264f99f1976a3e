/**
 * Bjøntegaard delta rate (VCEG-M33): the mean difference in log-rate between two RD
 * curves over a shared quality range, as a percentage of the anchor's rate.
 *
 * log(rate) is modelled as a function of PSNR, either by
 *  - 'pchip': piecewise cubic Hermite interpolation through the points (monotone,
 *    Fritsch-Carlson slopes), the variant the later VCEG/JVET reports use, or
 *  - 'cubic': the classic least-squares cubic fit over all the points of a curve;
 * and integrated exactly over the overlap of both curves' PSNR spans, clipped to a
 * caller-given window (26-40 dB for Kodak here). Negative = the test curve needs fewer bits.
 */

export interface RdPoint {
  /** bits per pixel */
  bpp: number;
  /** dB */
  psnr: number;
}

export type BdMethod = 'pchip' | 'cubic';

export interface BdOptions {
  method?: BdMethod;
  /** Quality window the overlap is clipped to (dB); default unbounded. */
  min?: number;
  max?: number;
}

export type BdResult =
  | {
      percent: number;
      range: [number, number];
      method: BdMethod;
      anchorPoints: number;
      testPoints: number;
      /** Set when a curve's rate does not rise with its PSNR: the figure is then not meaningful. */
      warning?: string;
    }
  | { percent: null; reason: string; method: BdMethod; range?: [number, number] };

/** A polynomial c[0] + c[1] t + c[2] t^2 + ... in t = x - x0, valid for x in [from, to]. */
interface Piece {
  x0: number;
  from: number;
  to: number;
  c: number[];
}

/** The integral of the piece over [a, b] clipped to its domain. */
function integratePiece(p: Piece, a: number, b: number): number {
  const lo = Math.max(a, p.from) - p.x0;
  const hi = Math.min(b, p.to) - p.x0;
  if (hi <= lo) return 0;
  let sum = 0;
  for (let k = 0; k < p.c.length; k++) sum += (p.c[k] * (hi ** (k + 1) - lo ** (k + 1))) / (k + 1);
  return sum;
}

/** Sorted by PSNR, finite and positive rates only, one point per PSNR value. */
function clean(points: readonly RdPoint[]): { x: number[]; y: number[] } {
  const ok = points.filter((p) => Number.isFinite(p.psnr) && Number.isFinite(p.bpp) && p.bpp > 0).sort((a, b) => a.psnr - b.psnr);
  const x: number[] = [];
  const y: number[] = [];
  for (const p of ok) {
    if (x.length > 0 && p.psnr === x[x.length - 1]) continue;
    x.push(p.psnr);
    y.push(Math.log(p.bpp));
  }
  return { x, y };
}

/** Fritsch-Carlson monotone slopes at the knots (the shape-preserving PCHIP). */
function pchipSlopes(x: number[], y: number[]): number[] {
  const n = x.length;
  const h = x.slice(1).map((v, i) => v - x[i]);
  const m = h.map((hi, i) => (y[i + 1] - y[i]) / hi);
  if (n === 2) return [m[0], m[0]];
  const d = new Array<number>(n).fill(0);
  for (let i = 1; i < n - 1; i++) {
    if (m[i - 1] * m[i] <= 0) continue;
    const w1 = 2 * h[i] + h[i - 1];
    const w2 = h[i] + 2 * h[i - 1];
    d[i] = (w1 + w2) / (w1 / m[i - 1] + w2 / m[i]);
  }
  // one-sided three-point ends, kept shape-preserving
  const end = (h0: number, h1: number, m0: number, m1: number): number => {
    let v = ((2 * h0 + h1) * m0 - h0 * m1) / (h0 + h1);
    if (Math.sign(v) !== Math.sign(m0)) v = 0;
    else if (Math.sign(m0) !== Math.sign(m1) && Math.abs(v) > Math.abs(3 * m0)) v = 3 * m0;
    return v;
  };
  d[0] = end(h[0], h[1], m[0], m[1]);
  d[n - 1] = end(h[n - 2], h[n - 3], m[n - 2], m[n - 3]);
  return d;
}

function pchipPieces(x: number[], y: number[]): Piece[] {
  const d = pchipSlopes(x, y);
  const pieces: Piece[] = [];
  for (let i = 0; i < x.length - 1; i++) {
    const h = x[i + 1] - x[i];
    const m = (y[i + 1] - y[i]) / h;
    pieces.push({ x0: x[i], from: x[i], to: x[i + 1], c: [y[i], d[i], (3 * m - 2 * d[i] - d[i + 1]) / h, (d[i] + d[i + 1] - 2 * m) / (h * h)] });
  }
  return pieces;
}

/** Solves A v = b (small, dense) by Gaussian elimination with partial pivoting. */
function solve(A: number[][], b: number[]): number[] {
  const n = b.length;
  const M = A.map((row, i) => [...row, b[i]]);
  for (let col = 0; col < n; col++) {
    let piv = col;
    for (let r = col + 1; r < n; r++) if (Math.abs(M[r][col]) > Math.abs(M[piv][col])) piv = r;
    [M[col], M[piv]] = [M[piv], M[col]];
    if (M[col][col] === 0) throw new RangeError('singular system in the cubic fit');
    for (let r = col + 1; r < n; r++) {
      const f = M[r][col] / M[col][col];
      for (let k = col; k <= n; k++) M[r][k] -= f * M[col][k];
    }
  }
  const v = new Array<number>(n).fill(0);
  for (let r = n - 1; r >= 0; r--) {
    let s = M[r][n];
    for (let k = r + 1; k < n; k++) s -= M[r][k] * v[k];
    v[r] = s / M[r][r];
  }
  return v;
}

/** Least-squares polynomial of degree min(3, n-1) in (x - mean), as one piece. */
function cubicPiece(x: number[], y: number[]): Piece {
  const deg = Math.min(3, x.length - 1);
  const x0 = x.reduce((s, v) => s + v, 0) / x.length;
  const A = Array.from({ length: deg + 1 }, () => new Array<number>(deg + 1).fill(0));
  const b = new Array<number>(deg + 1).fill(0);
  for (let i = 0; i < x.length; i++) {
    const t = x[i] - x0;
    for (let r = 0; r <= deg; r++) {
      b[r] += t ** r * y[i];
      for (let c = 0; c <= deg; c++) A[r][c] += t ** (r + c);
    }
  }
  // only ever integrated over the overlap, which lies inside the data span
  return { x0, from: -Infinity, to: Infinity, c: solve(A, b) };
}

function integral(pieces: Piece[], a: number, b: number): number {
  return pieces.reduce((s, p) => s + integratePiece(p, a, b), 0);
}

/**
 * BD-rate of `test` against `anchor`, in percent (negative = fewer bits at equal PSNR).
 * Returns `percent: null` with a reason when the curves have fewer than two usable points
 * each or do not overlap inside [min, max].
 *
 * @example
 * bdRate(jpeg, ours, { min: 26, max: 40 }) // -> { percent: -31.2, range: [27.9, 38.4], ... }
 */
export function bdRate(anchor: readonly RdPoint[], test: readonly RdPoint[], options: BdOptions = {}): BdResult {
  const method = options.method ?? 'pchip';
  const A = clean(anchor);
  const T = clean(test);
  if (A.x.length < 2 || T.x.length < 2) return { percent: null, reason: 'fewer than two points on a curve', method };
  const lo = Math.max(A.x[0], T.x[0], options.min ?? -Infinity);
  const hi = Math.min(A.x[A.x.length - 1], T.x[T.x.length - 1], options.max ?? Infinity);
  if (!(hi > lo)) {
    return { percent: null, reason: `no overlap: anchor ${fmt(A.x)} dB, test ${fmt(T.x)} dB, window ${options.min ?? '-inf'}..${options.max ?? 'inf'}`, method };
  }
  const fit = method === 'cubic' ? (c: typeof A) => [cubicPiece(c.x, c.y)] : (c: typeof A) => pchipPieces(c.x, c.y);
  const avg = (integral(fit(T), lo, hi) - integral(fit(A), lo, hi)) / (hi - lo);
  const result: BdResult = { percent: (Math.exp(avg) - 1) * 100, range: [lo, hi], method, anchorPoints: A.x.length, testPoints: T.x.length };
  const bad = [...(rising(A.y) ? [] : ['anchor']), ...(rising(T.y) ? [] : ['test'])];
  if (bad.length > 0) result.warning = `rate does not rise with PSNR on the ${bad.join(' and ')} curve`;
  return result;
}

/** Whether log-rates, ordered by PSNR, increase strictly. */
function rising(y: number[]): boolean {
  return y.every((v, i) => i === 0 || v > y[i - 1]);
}

function fmt(x: number[]): string {
  return `${x[0].toFixed(2)}..${x[x.length - 1].toFixed(2)}`;
}
