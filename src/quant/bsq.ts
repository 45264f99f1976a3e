/**
 * Binary spherical quantization (BSQ) tokens: the bit layout shared by the codec, the token
 * API and the context coder.
 *
 * A token is the d signs of the encoder's output at one latent position (one per 16x16
 * pixels): bit i is 1 when v_i >= 0 (the sign is all BSQ keeps; the projection onto the
 * sphere only scales the vector). The d bits form `groups` nested groups of `groupBits`
 * bits; a file or token set may keep only the first k groups.
 *
 * Coding order (the context model sees exactly what came before): group by group; inside a
 * group the four phases of each 2x2 cell, (0,0), (1,1), (0,1), (1,0) as (row % 2, col % 2);
 * inside a phase channel by channel, positions in raster order.
 */
import { BitstreamError } from '../errors.js';
import { LOGIT_MAX, LOGIT_STEP, TRIT_TABLES } from './tritplane.js';

/** Phases of a 2x2 cell in coding order, as (row % 2, col % 2). */
export const BSQ_PHASES: readonly (readonly [number, number])[] = [
  [0, 0],
  [1, 1],
  [0, 1],
  [1, 0],
];

/** The token geometry of a BSQ model. */
export interface BsqLayout {
  /** Bits per token. */
  readonly d: number;
  /** Nested groups per token. */
  readonly groups: number;
  /** Bits per group (d / groups). */
  readonly groupBits: number;
}

/** Positions (row * w + col) of each phase, in raster order. */
export function phasePositions(h: number, w: number): Int32Array[] {
  return BSQ_PHASES.map(([r, c]) => {
    const rows = Math.max(0, Math.ceil((h - r) / 2));
    const cols = Math.max(0, Math.ceil((w - c) / 2));
    const out = new Int32Array(rows * cols);
    let k = 0;
    for (let i = r; i < h; i += 2) for (let j = c; j < w; j += 2) out[k++] = i * w + j;
    return out;
  });
}

/**
 * Binary table index of a context logit: the nearest point of the shared logit grid
 * (-LOGIT_MAX..LOGIT_MAX in LOGIT_STEP steps, the tables of {@link tritTables}).
 * @throws BitstreamError for a logit that is not a number (a broken model).
 */
export function logitIndex(logit: number): number {
  if (Number.isNaN(logit)) throw new BitstreamError('BSQ context model produced NaN');
  const i = Math.round((logit + LOGIT_MAX) / LOGIT_STEP);
  return i < 0 ? 0 : i >= TRIT_TABLES ? TRIT_TABLES - 1 : i;
}

/**
 * Bits of a latent: channel-major (d planes of h*w), 1 where v >= 0. Only the first
 * `keepChannels` planes are taken.
 */
export function latentBits(v: Float32Array, hw: number, keepChannels: number): Uint8Array {
  const out = new Uint8Array(keepChannels * hw);
  for (let i = 0; i < out.length; i++) out[i] = v[i] >= 0 ? 1 : 0;
  return out;
}

/** Channel-major bit planes (c planes of h*w) to token-major bits (h*w tokens of c bits). */
export function planesToTokens(planes: Uint8Array, hw: number, c: number): Uint8Array {
  const out = new Uint8Array(planes.length);
  for (let ch = 0; ch < c; ch++) for (let p = 0; p < hw; p++) out[p * c + ch] = planes[ch * hw + p];
  return out;
}

/** Token-major bits back to channel-major planes. */
export function tokensToPlanes(tokens: Uint8Array, hw: number, c: number): Uint8Array {
  const out = new Uint8Array(tokens.length);
  for (let p = 0; p < hw; p++) for (let ch = 0; ch < c; ch++) out[ch * hw + p] = tokens[p * c + ch];
  return out;
}

/**
 * Integer code of each group of each token (bit b of the group has weight 2^b): h*w tokens
 * of `groups` codes, each in 0..2^groupBits - 1. Useful as a factorised vocabulary.
 */
export function groupCodes(tokens: Uint8Array, tokenCount: number, groups: number, groupBits: number): Uint16Array {
  const per = groups * groupBits;
  const out = new Uint16Array(tokenCount * groups);
  for (let t = 0; t < tokenCount; t++) {
    for (let g = 0; g < groups; g++) {
      let code = 0;
      for (let b = 0; b < groupBits; b++) code |= tokens[t * per + g * groupBits + b] << b;
      out[t * groups + g] = code;
    }
  }
  return out;
}

/** The decoder's input: +1 / -1 for each kept bit (channel-major), 0 for dropped channels. */
export function signsOf(planes: Uint8Array, d: number, hw: number): Float32Array {
  const out = new Float32Array(d * hw);
  for (let i = 0; i < planes.length; i++) out[i] = planes[i] ? 1 : -1;
  return out;
}
