/**
 * Skip blocks of P-frames: a 16x16 block (one position of the latent grid) whose
 * motion-compensated prediction is good enough is not coded at all. Its latent elements
 * carry no symbols (the decoder takes the temporal prior's mean for them, so that g_s sees a
 * plausible neighbourhood), and its pixels are the prediction's.
 *
 * The encoder decides block by block on rate and distortion, with the Lagrangian of the
 * model's own training loss (R + lambda * 255^2 * MSE): a block is skipped when the squared
 * error of its prediction is at most the squared error of its coded reconstruction plus
 * 3 / lambda times the bits its symbols would cost.
 *
 * SKIP payload: varints cols, rows (the latent grid), four probability bytes (p = b / 256 of
 * a block being skipped, for 0, 1, 2 and 3 skipped blocks among the three above it: up-left,
 * up, up-right; none outside the grid), then the flags row by row as binary rANS decisions
 * under the table of their context. A row's contexts come from the row above only, so the
 * decoder reads a whole row per call.
 */
import { ByteReader, ByteWriter } from '../bitstream/bytes.js';
import type { RansTables } from '../coder/tables.js';
import type { RansCoder, RansDecoder, RansEncoder } from '../coder/types.js';
import { buildBinaryTables } from '../entropy/binary.js';
import { normalCdf } from '../entropy/math.js';
import { BitstreamError } from '../errors.js';
import { MOTION_BLOCK } from './motion.js';

const CONTEXTS = 4;

/** Contexts of row r (0..3 skipped blocks among the three above each position). */
function rowContexts(flags: Uint8Array, cols: number, r: number, out: Int32Array): Int32Array {
  if (r === 0) return out.fill(0);
  const above = (r - 1) * cols;
  for (let c = 0; c < cols; c++) {
    out[c] = (c > 0 ? flags[above + c - 1] : 0) + flags[above + c] + (c + 1 < cols ? flags[above + c + 1] : 0);
  }
  return out;
}

function contexts(flags: Uint8Array, cols: number, rows: number): Int32Array {
  const ctx = new Int32Array(cols * rows);
  for (let r = 0; r < rows; r++) rowContexts(flags, cols, r, ctx.subarray(r * cols, (r + 1) * cols));
  return ctx;
}

function tablesOf(levels: Uint8Array): RansTables {
  return buildBinaryTables(Array.from(levels, (b) => b / 256));
}

/** Number of probability bytes of the skip flags. */
export const SKIP_LEVEL_BYTES = CONTEXTS;

/**
 * Queues the skip flags of a cols x rows grid (1 = skipped) on a shared encoder, under
 * per-frame probabilities fitted to them; returns the probability bytes.
 */
export function pushSkips(enc: RansEncoder, flags: Uint8Array, cols: number, rows: number): Uint8Array {
  if (flags.length !== cols * rows) throw new RangeError(`${flags.length} skip flags for a ${cols}x${rows} grid`);
  const ctx = contexts(flags, cols, rows);
  const ones = new Float64Array(CONTEXTS);
  const all = new Float64Array(CONTEXTS);
  for (let i = 0; i < flags.length; i++) {
    all[ctx[i]]++;
    ones[ctx[i]] += flags[i];
  }
  const levels = new Uint8Array(CONTEXTS);
  for (let k = 0; k < CONTEXTS; k++) levels[k] = Math.min(255, Math.max(1, Math.round((256 * (ones[k] + 0.5)) / (all[k] + 1))));
  enc.encodeWithIndexes(Int32Array.from(flags), ctx, tablesOf(levels));
  return levels;
}

/**
 * Reads what pushSkips queued from a shared decoder, under its probability bytes, a row per
 * call. `unit` names the data in errors.
 * @throws BitstreamError for a probability byte of 0, a corrupt stream or a flag other than 0 or 1.
 */
export function readSkips(dec: RansDecoder, cols: number, rows: number, levels: Uint8Array, unit = 'skip'): Uint8Array {
  if (levels.some((b) => b === 0)) throw new BitstreamError(`${unit} probability byte of 0`);
  const tables = tablesOf(levels);
  const flags = new Uint8Array(cols * rows);
  const ctx = new Int32Array(cols);
  const row = new Int32Array(cols);
  for (let r = 0; r < rows; r++) {
    dec.decodeWithIndexes(rowContexts(flags, cols, r, ctx), tables, row);
    for (let c = 0; c < cols; c++) {
      const v = row[c];
      if (v !== 0 && v !== 1) throw new BitstreamError(`${unit} flag ${v} is not 0 or 1`);
      flags[r * cols + c] = v;
    }
  }
  return flags;
}

/** Codes the skip flags of a cols x rows grid (1 = skipped). */
export function encodeSkips(flags: Uint8Array, cols: number, rows: number, rans: RansCoder): Uint8Array {
  const enc = rans.createEncoder();
  try {
    const levels = pushSkips(enc, flags, cols, rows);
    const stream = enc.flush();
    return new ByteWriter(stream.length + 16).varuint(cols).varuint(rows).bytes(levels).bytes(stream).finish();
  } finally {
    enc.dispose();
  }
}

/**
 * Reads a SKIP unit for a latent grid of cols x rows.
 * @throws BitstreamError for another grid, a probability byte of 0, a corrupt stream or a
 *   flag other than 0 or 1.
 */
export function decodeSkips(payload: Uint8Array, cols: number, rows: number, rans: RansCoder): Uint8Array {
  const r = new ByteReader(payload);
  const c = r.varuint('SKIP cols');
  const n = r.varuint('SKIP rows');
  if (c !== cols || n !== rows) throw new BitstreamError(`SKIP grid ${c}x${n} does not match the ${cols}x${rows} latent`);
  const levels = r.bytes(CONTEXTS, 'SKIP probabilities');
  const dec = rans.createDecoder(payload.subarray(r.position));
  try {
    const flags = readSkips(dec, cols, rows, levels, 'SKIP');
    dec.finish();
    return flags;
  } finally {
    dec.dispose();
  }
}

/** Sum of squared differences of two RGB frames over the block at latent position (bx, by). */
function blockSse(a: Uint8Array, b: Uint8Array, width: number, height: number, bx: number, by: number): number {
  const x0 = bx * MOTION_BLOCK;
  const y0 = by * MOTION_BLOCK;
  const x1 = Math.min(x0 + MOTION_BLOCK, width);
  const y1 = Math.min(y0 + MOTION_BLOCK, height);
  let s = 0;
  for (let y = y0; y < y1; y++) {
    for (let o = (y * width + x0) * 3, e = (y * width + x1) * 3; o < e; o++) {
      const d = a[o] - b[o];
      s += d * d;
    }
  }
  return s;
}

/** Estimated bits of a symbol under a zero-mean Gaussian of the given scale (the tables' model). */
export function symbolBits(symbol: number, scale: number): number {
  const a = Math.abs(symbol);
  const p = normalCdf((a + 0.5) / scale) - normalCdf((a - 0.5) / scale);
  return -Math.log2(Math.max(p, 1e-9));
}

const MEMO_SPAN = 32;
const bitsMemo = new Map<readonly number[], Float64Array>();

/** symbolBits for every table index and |symbol| < MEMO_SPAN, computed once per scale table. */
function bitsTable(scaleTable: readonly number[]): Float64Array {
  let t = bitsMemo.get(scaleTable);
  if (!t) {
    t = new Float64Array(scaleTable.length * MEMO_SPAN);
    for (let i = 0; i < scaleTable.length; i++) for (let a = 0; a < MEMO_SPAN; a++) t[i * MEMO_SPAN + a] = symbolBits(a, scaleTable[i]);
    bitsMemo.set(scaleTable, t);
  }
  return t;
}

/** Estimated bits of channel-major symbols under their Gaussian tables. */
export function estimateBits(symbols: Int32Array, indexes: Int32Array, scaleTable: readonly number[]): number {
  const memo = bitsTable(scaleTable);
  let bits = 0;
  for (let i = 0; i < symbols.length; i++) {
    const a = Math.abs(symbols[i]);
    bits += a < MEMO_SPAN ? memo[indexes[i] * MEMO_SPAN + a] : symbolBits(a, scaleTable[indexes[i]]);
  }
  return bits;
}

/**
 * The encoder's choice: skip flags for the latent grid (h x w, channel-major symbols and
 * table indexes of `channels` channels) from the frame, its prediction and its coded
 * reconstruction. `multiplier` is 3 / lambda (squared-error units per bit).
 */
export function chooseSkips(
  frame: Uint8Array,
  prediction: Uint8Array,
  coded: Uint8Array,
  width: number,
  height: number,
  latent: { symbols: Int32Array; indexes: Int32Array; channels: number; h: number; w: number; scaleTable: readonly number[] },
  multiplier: number,
): Uint8Array {
  const { symbols, indexes, channels, h, w, scaleTable } = latent;
  const hw = h * w;
  const flags = new Uint8Array(hw);
  const memo = bitsTable(scaleTable);
  for (let p = 0; p < hw; p++) {
    const bx = p % w;
    const by = (p - bx) / w;
    if (bx * MOTION_BLOCK >= width || by * MOTION_BLOCK >= height) continue;
    const skipped = blockSse(frame, prediction, width, height, bx, by);
    const codedSse = blockSse(frame, coded, width, height, bx, by);
    let bits = 0;
    for (let c = 0; c < channels; c++) {
      const a = Math.abs(symbols[c * hw + p]);
      const t = indexes[c * hw + p];
      bits += a < MEMO_SPAN ? memo[t * MEMO_SPAN + a] : symbolBits(a, scaleTable[t]);
    }
    if (skipped <= codedSse + multiplier * bits) flags[p] = 1;
  }
  return flags;
}

/** Copies the prediction's pixels into every skipped block of `frame` (in place). */
export function pasteSkipped(frame: Uint8Array, prediction: Uint8Array, width: number, height: number, flags: Uint8Array, w: number): void {
  for (let p = 0; p < flags.length; p++) {
    if (!flags[p]) continue;
    const x0 = (p % w) * MOTION_BLOCK;
    const y0 = Math.floor(p / w) * MOTION_BLOCK;
    if (x0 >= width || y0 >= height) continue;
    const x1 = Math.min(x0 + MOTION_BLOCK, width);
    for (let y = y0; y < Math.min(y0 + MOTION_BLOCK, height); y++) {
      const s = (y * width + x0) * 3;
      frame.set(prediction.subarray(s, (y * width + x1) * 3), s);
    }
  }
}
