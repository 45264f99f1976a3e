/**
 * Block motion for P-frames: 16x16 blocks, half-pixel vectors, found by a predictive
 * diamond search on luma (whole pixels, then the eight half-pixel neighbours), coded as differences from the median of the left, top and
 * top-right vectors with rANS under a fixed two-sided geometric table, and applied to the
 * previous decoded frame (edges clamped) to give the prediction both sides share.
 */
import { ByteReader, ByteWriter } from '../bitstream/bytes.js';
import { RansTables } from '../coder/tables.js';
import type { RansCoder, RansDecoder, RansEncoder } from '../coder/types.js';
import { quantizePmfToCdf } from '../entropy/quantize.js';
import { BitstreamError } from '../errors.js';

/** Block side in pixels (the latent grid's stride). */
export const MOTION_BLOCK = 16;
/** Largest vector component searched and coded, in half pixels (±32 pixels). */
export const MOTION_RANGE = 64;
/**
 * Default Lagrangian of the search: luma SAD units per bit of coded vector difference
 * (P-frames pass one that follows the quality, see PFrameCoder.predict).
 */
export const MOTION_LAMBDA = 12;

export interface MotionField {
  /** Blocks across and down. */
  cols: number;
  rows: number;
  /**
   * (dx, dy) per block in half pixels, row-major: the block at (x, y) is predicted from
   * (x + dx / 2, y + dy / 2), half positions the rounded mean of their two or four neighbours.
   */
  mv: Int16Array;
}

/** Luma (BT.601 weights, integer) of interleaved RGB. */
export function luma(rgb: Uint8Array, width: number, height: number): Uint8Array {
  const out = new Uint8Array(width * height);
  for (let i = 0, j = 0; i < out.length; i++, j += 3) out[i] = (77 * rgb[j] + 150 * rgb[j + 1] + 29 * rgb[j + 2] + 128) >> 8;
  return out;
}

/** Sample of `ref` (one channel of `c`, at channel offset `k`) at half-pixel position (x2 / 2, y2 / 2), edges clamped. */
function sampleHalf(ref: Uint8Array, w: number, h: number, c: number, k: number, x2: number, y2: number): number {
  const x0 = x2 >> 1;
  const y0 = y2 >> 1;
  const xa = x0 < 0 ? 0 : x0 >= w ? w - 1 : x0;
  const ya = y0 < 0 ? 0 : y0 >= h ? h - 1 : y0;
  const a = ref[(ya * w + xa) * c + k];
  const hx = x2 & 1;
  const hy = y2 & 1;
  if (!hx && !hy) return a;
  const xb = hx ? (x0 + 1 < 0 ? 0 : x0 + 1 >= w ? w - 1 : x0 + 1) : xa;
  const yb = hy ? (y0 + 1 < 0 ? 0 : y0 + 1 >= h ? h - 1 : y0 + 1) : ya;
  if (!hy) return (a + ref[(ya * w + xb) * c + k] + 1) >> 1;
  if (!hx) return (a + ref[(yb * w + xa) * c + k] + 1) >> 1;
  return (a + ref[(ya * w + xb) * c + k] + ref[(yb * w + xa) * c + k] + ref[(yb * w + xb) * c + k] + 2) >> 2;
}

function sad(cur: Uint8Array, ref: Uint8Array, w: number, h: number, bx: number, by: number, bw: number, bh: number, dx2: number, dy2: number, limit: number): number {
  let s = 0;
  if (!(dx2 & 1) && !(dy2 & 1)) {
    const dx = dx2 >> 1;
    const dy = dy2 >> 1;
    for (let y = 0; y < bh; y++) {
      const cy = by + y;
      const ry = Math.min(h - 1, Math.max(0, cy + dy));
      const co = cy * w;
      const ro = ry * w;
      for (let x = 0; x < bw; x++) {
        const rx = bx + x + dx;
        const d = cur[co + bx + x] - ref[ro + (rx < 0 ? 0 : rx >= w ? w - 1 : rx)];
        s += d < 0 ? -d : d;
      }
      if (s >= limit) return s;
    }
    return s;
  }
  const x0 = bx + (dx2 >> 1);
  const y0 = by + (dy2 >> 1);
  const hx = dx2 & 1;
  const hy = dy2 & 1;
  if (x0 >= 0 && y0 >= 0 && x0 + bw + hx <= w && y0 + bh + hy <= h) {
    // inside the frame: the half-pixel means without clamping, the values sampleHalf gives
    for (let y = 0; y < bh; y++) {
      const co = (by + y) * w + bx;
      const ro = (y0 + y) * w + x0;
      if (!hy) {
        for (let x = 0; x < bw; x++) {
          const d = cur[co + x] - ((ref[ro + x] + ref[ro + x + 1] + 1) >> 1);
          s += d < 0 ? -d : d;
        }
      } else if (!hx) {
        for (let x = 0; x < bw; x++) {
          const d = cur[co + x] - ((ref[ro + x] + ref[ro + x + w] + 1) >> 1);
          s += d < 0 ? -d : d;
        }
      } else {
        for (let x = 0; x < bw; x++) {
          const d = cur[co + x] - ((ref[ro + x] + ref[ro + x + 1] + ref[ro + x + w] + ref[ro + x + w + 1] + 2) >> 2);
          s += d < 0 ? -d : d;
        }
      }
      if (s >= limit) return s;
    }
    return s;
  }
  for (let y = 0; y < bh; y++) {
    const co = (by + y) * w;
    for (let x = 0; x < bw; x++) {
      const d = cur[co + bx + x] - sampleHalf(ref, w, h, 1, 0, 2 * (bx + x) + dx2, 2 * (by + y) + dy2);
      s += d < 0 ? -d : d;
    }
    if (s >= limit) return s;
  }
  return s;
}

/** Median of three. */
const med = (a: number, b: number, c: number) => Math.max(Math.min(a, b), Math.min(Math.max(a, b), c));

/** The median predictor of block i's vector (left, top, top-right; zero outside the frame). */
function predictor(mv: Int16Array, cols: number, i: number, comp: 0 | 1): number {
  const r = Math.floor(i / cols);
  const c = i % cols;
  const left = c > 0 ? mv[2 * (i - 1) + comp] : 0;
  const top = r > 0 ? mv[2 * (i - cols) + comp] : 0;
  const tr = r > 0 && c + 1 < cols ? mv[2 * (i - cols + 1) + comp] : top;
  return med(left, top, tr);
}

/**
 * Motion of `cur` relative to `ref` (both luma, width x height): per block the best of the
 * zero vector, the neighbours' vectors and the median, refined by a diamond search, each
 * candidate costing its SAD plus `lambda` times the bits of its difference from the median
 * under the coding table (so smooth fields code cheaply; the higher lambda, the smoother).
 */
export function estimateMotion(cur: Uint8Array, ref: Uint8Array, width: number, height: number, options: { lambda?: number } = {}): MotionField {
  const cols = Math.ceil(width / MOTION_BLOCK);
  const rows = Math.ceil(height / MOTION_BLOCK);
  const mv = new Int16Array(2 * cols * rows);
  const lambda = options.lambda ?? MOTION_LAMBDA;
  if (!(lambda >= 0 && lambda < 1e6)) throw new RangeError(`motion lambda ${lambda} is not in [0, 1e6)`);
  const bits = differenceBits();
  const off = 2 * MOTION_RANGE;
  for (let i = 0; i < cols * rows; i++) {
    const bx = (i % cols) * MOTION_BLOCK;
    const by = Math.floor(i / cols) * MOTION_BLOCK;
    const bw = Math.min(MOTION_BLOCK, width - bx);
    const bh = Math.min(MOTION_BLOCK, height - by);
    const px = predictor(mv, cols, i, 0);
    const py = predictor(mv, cols, i, 1);
    const cost = (dx: number, dy: number, limit: number) =>
      sad(cur, ref, width, height, bx, by, bw, bh, dx, dy, limit) + lambda * (bits[dx - px + off] + bits[dy - py + off]);
    let best = [0, 0];
    let bestCost = cost(0, 0, Infinity);
    const tryAt = (dx: number, dy: number) => {
      if (Math.abs(dx) > MOTION_RANGE || Math.abs(dy) > MOTION_RANGE) return false;
      const c = cost(dx, dy, bestCost);
      if (c < bestCost) {
        bestCost = c;
        best = [dx, dy];
        return true;
      }
      return false;
    };
    tryAt(px, py);
    const c = i % cols;
    if (c > 0) tryAt(mv[2 * (i - 1)], mv[2 * (i - 1) + 1]);
    if (i >= cols) tryAt(mv[2 * (i - cols)], mv[2 * (i - cols) + 1]);
    // whole-pixel diamond from the best candidate (which may sit at a half position)
    for (const step of [16, 8, 4, 2]) {
      let moved = true;
      for (let guard = 0; moved && guard < 16; guard++) {
        const [cx, cy] = best;
        moved = tryAt(cx + step, cy) || tryAt(cx - step, cy) || tryAt(cx, cy + step) || tryAt(cx, cy - step);
      }
    }
    // half-pixel refinement: the eight neighbours
    const [hx, hy] = best;
    for (const [ox, oy] of [[1, 0], [-1, 0], [0, 1], [0, -1], [1, 1], [1, -1], [-1, 1], [-1, -1]]) tryAt(hx + ox, hy + oy);
    mv[2 * i] = best[0];
    mv[2 * i + 1] = best[1];
  }
  return { cols, rows, mv };
}

/** The prediction of a frame: each block taken from `ref` (interleaved RGB) at its half-pixel vector, edges clamped. */
export function compensate(ref: Uint8Array, width: number, height: number, field: MotionField): Uint8Array {
  const out = new Uint8Array(width * height * 3);
  for (let i = 0; i < field.cols * field.rows; i++) {
    const bx = (i % field.cols) * MOTION_BLOCK;
    const by = Math.floor(i / field.cols) * MOTION_BLOCK;
    const dx2 = field.mv[2 * i];
    const dy2 = field.mv[2 * i + 1];
    const bw = Math.min(MOTION_BLOCK, width - bx);
    const bh = Math.min(MOTION_BLOCK, height - by);
    const whole = !(dx2 & 1) && !(dy2 & 1);
    const sx = bx + (dx2 >> 1);
    const sy = by + (dy2 >> 1);
    const hx = dx2 & 1;
    const hy = dy2 & 1;
    if (sx >= 0 && sy >= 0 && sx + bw + hx <= width && sy + bh + hy <= height) {
      // the source block (and its half-pixel neighbours) lies inside the frame: no clamping,
      // the same values as sampleHalf gives
      const rowBytes = width * 3;
      const n = bw * 3;
      for (let y = 0; y < bh; y++) {
        let d = ((by + y) * width + bx) * 3;
        let a = ((sy + y) * width + sx) * 3;
        if (!hx && !hy) {
          out.set(ref.subarray(a, a + n), d);
        } else if (!hy) {
          for (let k = 0; k < n; k++, a++, d++) out[d] = (ref[a] + ref[a + 3] + 1) >> 1;
        } else if (!hx) {
          for (let k = 0; k < n; k++, a++, d++) out[d] = (ref[a] + ref[a + rowBytes] + 1) >> 1;
        } else {
          for (let k = 0; k < n; k++, a++, d++) out[d] = (ref[a] + ref[a + 3] + ref[a + rowBytes] + ref[a + rowBytes + 3] + 2) >> 2;
        }
      }
      continue;
    }
    for (let y = 0; y < bh; y++) {
      for (let x = 0; x < bw; x++) {
        const d = ((by + y) * width + bx + x) * 3;
        if (whole) {
          const ry = Math.min(height - 1, Math.max(0, by + y + (dy2 >> 1)));
          const rx = Math.min(width - 1, Math.max(0, bx + x + (dx2 >> 1)));
          const s = (ry * width + rx) * 3;
          out[d] = ref[s];
          out[d + 1] = ref[s + 1];
          out[d + 2] = ref[s + 2];
        } else {
          const x2 = 2 * (bx + x) + dx2;
          const y2 = 2 * (by + y) + dy2;
          out[d] = sampleHalf(ref, width, height, 3, 0, x2, y2);
          out[d + 1] = sampleHalf(ref, width, height, 3, 1, x2, y2);
          out[d + 2] = sampleHalf(ref, width, height, 3, 2, x2, y2);
        }
      }
    }
  }
  return out;
}

let mvTables: RansTables | undefined;
let mvBits: Float64Array | undefined;

/**
 * The vector-difference distribution, -2R..2R half pixels plus escape: 0 with probability
 * about 0.7 (most blocks move with their neighbours), the rest two-sided geometric with
 * ratio 0.6.
 */
function differencePmf(): Float64Array {
  const n = 4 * MOTION_RANGE + 1;
  const pmf = new Float64Array(n + 1);
  for (let k = 0; k < n; k++) {
    const a = Math.abs(k - 2 * MOTION_RANGE);
    pmf[k] = a === 0 ? 0.7 : 0.15 * 0.4 * 0.6 ** (a - 1);
  }
  pmf[n] = 1e-6;
  return pmf;
}

/** One table for the vector differences (see differencePmf). */
function tables(): RansTables {
  mvTables ??= RansTables.fromList([{ cdf: quantizePmfToCdf(differencePmf()), offset: -2 * MOTION_RANGE }]);
  return mvTables;
}

/** Bits of each vector difference -2R..2R under the coding table's distribution. */
function differenceBits(): Float64Array {
  if (!mvBits) {
    const pmf = differencePmf();
    let total = 0;
    for (const p of pmf) total += p;
    mvBits = Float64Array.from(pmf.subarray(0, pmf.length - 1), (p) => -Math.log2(p / total));
  }
  return mvBits;
}

/** MOTION unit payload: cols, rows (varuint), then the rANS stream of the vector differences. */
export function encodeMotion(field: MotionField, rans: RansCoder): Uint8Array {
  const sym = differences(field);
  const enc = rans.createEncoder();
  try {
    enc.encodeWithIndexes(sym, new Int32Array(sym.length), tables());
    const stream = enc.flush();
    return new ByteWriter(stream.length + 8).varuint(field.cols).varuint(field.rows).bytes(stream).finish();
  } finally {
    enc.dispose();
  }
}

/**
 * Reads a MOTION unit for a frame of the given size.
 * @throws BitstreamError for a grid that does not match the frame, a corrupt stream or a
 *   vector outside the range.
 */
export function decodeMotion(payload: Uint8Array, width: number, height: number, rans: RansCoder): MotionField {
  const r = new ByteReader(payload);
  const { cols, rows } = readGrid(r, width, height, 'MOTION');
  const dec = rans.createDecoder(payload.subarray(r.position));
  let diff: Int32Array;
  try {
    diff = dec.decodeWithIndexes(new Int32Array(2 * cols * rows), tables());
    dec.finish();
  } finally {
    dec.dispose();
  }
  return { cols, rows, mv: vectorsFrom(diff, cols, 'MOTION') };
}

/** The block grid at the start of a motion unit, checked against the frame size. */
function readGrid(r: ByteReader, width: number, height: number, unit: string): { cols: number; rows: number } {
  const cols = r.varuint(`${unit} cols`);
  const rows = r.varuint(`${unit} rows`);
  if (cols !== Math.ceil(width / MOTION_BLOCK) || rows !== Math.ceil(height / MOTION_BLOCK)) {
    throw new BitstreamError(`${unit} grid ${cols}x${rows} does not match a ${width}x${height} frame`);
  }
  return { cols, rows };
}

/** Vectors from their differences to the median predictor, each checked against the range. */
function vectorsFrom(diff: Int32Array, cols: number, unit: string): Int16Array {
  const mv = new Int16Array(diff.length);
  for (let i = 0; i < diff.length / 2; i++) {
    for (const comp of [0, 1] as const) {
      const v = diff[2 * i + comp] + predictor(mv, cols, i, comp);
      if (Math.abs(v) > MOTION_RANGE) throw new BitstreamError(`${unit} vector component ${v} is outside ±${MOTION_RANGE} half pixels`);
      mv[2 * i + comp] = v;
    }
  }
  return mv;
}

/** Contexts of the adaptive motion coding (see encodeMotionAdaptive). */
const MV_CONTEXTS = 3;

/** Context of each component of row r's blocks from the differences of the row above. */
function mvRowContexts(diff: Int32Array, cols: number, r: number, out: Int32Array): Int32Array {
  if (r === 0) return out.fill(0);
  const above = (r - 1) * cols;
  for (let c = 0; c < cols; c++) {
    for (let k = 0; k < 2; k++) {
      const s = Math.abs(diff[2 * (above + c) + k]) + (c > 0 ? Math.abs(diff[2 * (above + c - 1) + k]) : 0) + (c + 1 < cols ? Math.abs(diff[2 * (above + c + 1) + k]) : 0);
      out[2 * c + k] = s === 0 ? 0 : s <= 2 ? 1 : 2;
    }
  }
  return out;
}

/**
 * The table of one context from its three parameter bytes: P(0) = a, P(+-1) = (1 - a) b / 2
 * each, P(+-k) = (1 - a)(1 - b)(1 - r) r^(k - 2) / 2 each for k >= 2 (a, b, r = byte / 256),
 * over -2R..2R, plus an escape.
 */
function adaptiveTable(a8: number, b8: number, r8: number): { cdf: Uint32Array; offset: number } {
  const [a, b, r] = [a8 / 256, b8 / 256, r8 / 256];
  const n = 4 * MOTION_RANGE + 1;
  const pmf = new Float64Array(n + 1);
  for (let k = 0; k < n; k++) {
    const m = Math.abs(k - 2 * MOTION_RANGE);
    pmf[k] = m === 0 ? a : m === 1 ? ((1 - a) * b) / 2 : ((1 - a) * (1 - b) * (1 - r) * r ** (m - 2)) / 2;
  }
  pmf[n] = 1e-6;
  return { cdf: quantizePmfToCdf(pmf), offset: -2 * MOTION_RANGE };
}

const toByte = (p: number) => Math.min(255, Math.max(1, Math.round(p * 256)));

function differences(field: MotionField): Int32Array {
  const n = field.cols * field.rows;
  const sym = new Int32Array(2 * n);
  for (let i = 0; i < n; i++) {
    sym[2 * i] = field.mv[2 * i] - predictor(field.mv, field.cols, i, 0);
    sym[2 * i + 1] = field.mv[2 * i + 1] - predictor(field.mv, field.cols, i, 1);
  }
  return sym;
}

/**
 * MOTION_ADAPTIVE unit payload: cols, rows (varuint), three parameter bytes (a, b, r) for
 * each of three contexts, then the rANS stream of the vector differences, row by row, each
 * component under the table of its context: 0, 1 or 2 for a sum of absolute differences
 * (same component) of the three blocks above of 0, 1-2 or more. The parameters are fitted
 * to the frame's own differences, so still and smooth fields cost a fraction of a bit a block.
 */
export function encodeMotionAdaptive(field: MotionField, rans: RansCoder): Uint8Array {
  const { cols, rows } = field;
  const enc = rans.createEncoder();
  try {
    const params = pushMotionAdaptive(enc, field);
    const stream = enc.flush();
    return new ByteWriter(stream.length + 16).varuint(cols).varuint(rows).bytes(params).bytes(stream).finish();
  } finally {
    enc.dispose();
  }
}

/** The adaptive tables of a frame's parameter bytes (3 per context). */
function adaptiveTables(params: Uint8Array, unit: string): RansTables {
  if (params.some((b) => b === 0)) throw new BitstreamError(`${unit} parameter byte of 0`);
  return RansTables.fromList(Array.from({ length: MV_CONTEXTS }, (_, k) => adaptiveTable(params[3 * k], params[3 * k + 1], params[3 * k + 2])));
}

/**
 * Fits the per-frame context parameters to the field's differences and queues the
 * differences on `enc` under them; returns the parameter bytes.
 */
function pushMotionAdaptive(enc: RansEncoder, field: MotionField): Uint8Array {
  const { cols, rows } = field;
  const diff = differences(field);
  const ctx = new Int32Array(diff.length);
  for (let r = 0; r < rows; r++) mvRowContexts(diff, cols, r, ctx.subarray(2 * r * cols, 2 * (r + 1) * cols));
  const params = new Uint8Array(3 * MV_CONTEXTS);
  for (let k = 0; k < MV_CONTEXTS; k++) {
    let n = 0;
    let zeros = 0;
    let ones = 0;
    let tail = 0;
    let excess = 0;
    for (let i = 0; i < diff.length; i++) {
      if (ctx[i] !== k) continue;
      const m = Math.abs(diff[i]);
      n++;
      if (m === 0) zeros++;
      else if (m === 1) ones++;
      else {
        tail++;
        excess += m - 2;
      }
    }
    const mean = tail > 0 ? excess / tail : 0;
    params[3 * k] = toByte((zeros + 0.5) / (n + 1));
    params[3 * k + 1] = toByte((ones + 0.5) / (ones + tail + 1));
    params[3 * k + 2] = toByte(mean / (1 + mean));
  }
  enc.encodeWithIndexes(diff, ctx, adaptiveTables(params, 'motion'));
  return params;
}

/** Number of parameter bytes of the adaptive motion coding. */
export const MOTION_PARAM_BYTES = 3 * MV_CONTEXTS;

/**
 * Queues the field's vector differences on a shared encoder, with per-frame context
 * parameters when that codes them shorter than the fixed table (both are tried); returns the
 * parameter bytes, or undefined for the fixed table.
 */
export function pushMotion(enc: RansEncoder, field: MotionField, rans: RansCoder): Uint8Array | undefined {
  const fixed = encodeMotion(field, rans);
  const adaptive = encodeMotionAdaptive(field, rans);
  if (adaptive.length < fixed.length) return pushMotionAdaptive(enc, field);
  const sym = differences(field);
  enc.encodeWithIndexes(sym, new Int32Array(sym.length), tables());
  return undefined;
}

/**
 * Reads what pushMotion queued from a shared decoder: the field of a width x height frame,
 * under the parameter bytes given (undefined: the fixed table). `unit` names the data in errors.
 * @throws BitstreamError for a parameter byte of 0, a corrupt stream or a vector out of range.
 */
export function readMotion(dec: RansDecoder, width: number, height: number, params: Uint8Array | undefined, unit = 'motion'): MotionField {
  const cols = Math.ceil(width / MOTION_BLOCK);
  const rows = Math.ceil(height / MOTION_BLOCK);
  const diff = new Int32Array(2 * cols * rows);
  if (params) {
    const t = adaptiveTables(params, unit);
    const ctx = new Int32Array(2 * cols);
    for (let row = 0; row < rows; row++) dec.decodeWithIndexes(mvRowContexts(diff, cols, row, ctx), t, diff.subarray(2 * row * cols, 2 * (row + 1) * cols));
  } else {
    dec.decodeWithIndexes(new Int32Array(diff.length), tables(), diff);
  }
  return { cols, rows, mv: vectorsFrom(diff, cols, unit) };
}

export function decodeMotionAdaptive(payload: Uint8Array, width: number, height: number, rans: RansCoder): MotionField {
  const r = new ByteReader(payload);
  const { cols, rows } = readGrid(r, width, height, 'MOTION_ADAPTIVE');
  const params = r.bytes(MOTION_PARAM_BYTES, 'MOTION_ADAPTIVE parameters');
  const dec = rans.createDecoder(payload.subarray(r.position));
  try {
    const field = readMotion(dec, width, height, params, 'MOTION_ADAPTIVE');
    dec.finish();
    return { cols, rows, mv: field.mv };
  } finally {
    dec.dispose();
  }
}
