/**
 * The PROGRESSIVE_INFO unit of a trit-plane progressive file.
 *
 * | field   | encoding          | notes                                                  |
 * |---------|-------------------|--------------------------------------------------------|
 * | version | u8                | 1 or 2                                                 |
 * | flags   | u8                | bit 0: passes after the very first use the CRR head    |
 * | planes  | u8                | trit-planes L, 1..16                                   |
 * | passes  | u8                | version 2 only: passes per plane P, 1..8               |
 * | splits  | u16le x (P - 1)   | version 2 only: increasing, 1..65535; pass j ends      |
 * |         |                   | after floor(n * splits[j] / 65536) of n elements       |
 *
 * Version 1 codes each plane in two checkerboard passes (anchors, (row + col) even, then the
 * others). Version 2 splits each plane by rank: every pass codes the next elements in order
 * of expected distortion reduction per bit, ranked again (with the CRR head) before each
 * pass, so a cut anywhere in a plane keeps the best-ranked elements.
 */
import { BitstreamError } from '../errors.js';
import { ByteReader, ByteWriter } from './bytes.js';

export interface ProgressiveInfo {
  /** Number of trit-planes. */
  readonly planes: number;
  /** Whether the probabilities of passes after the very first come from the CRR context head. */
  readonly crr: boolean;
  /**
   * How a plane is split into passes: 'checkerboard' (version 1 files), or the cumulative
   * split points in 1/65536 of the plane (version 2; empty: one pass per plane).
   */
  readonly passes: 'checkerboard' | readonly number[];
}

export const PROGRESSIVE_INFO_VERSION = 2;
export const MAX_TRIT_PLANES = 16;
export const MAX_PLANE_PASSES = 8;
const FLAG_CRR = 1;

/** @throws RangeError for split points that are not increasing integers in 1..65535 or too many passes. */
export function checkSplits(splits: readonly number[]): void {
  if (splits.length + 1 > MAX_PLANE_PASSES) throw new RangeError(`at most ${MAX_PLANE_PASSES} passes per plane, not ${splits.length + 1}`);
  splits.forEach((v, i) => {
    if (!Number.isInteger(v) || v < 1 || v > 65535 || (i > 0 && v <= splits[i - 1])) {
      throw new RangeError(`pass split points must be increasing integers in 1..65535; got ${splits.join(', ')}`);
    }
  });
}

export function encodeProgressiveInfo(p: ProgressiveInfo): Uint8Array {
  const flags = p.crr ? FLAG_CRR : 0;
  if (p.passes === 'checkerboard') return new ByteWriter(3).u8(1).u8(flags).u8(p.planes).finish();
  checkSplits(p.passes);
  const w = new ByteWriter(4 + 2 * p.passes.length).u8(PROGRESSIVE_INFO_VERSION).u8(flags).u8(p.planes).u8(p.passes.length + 1);
  for (const v of p.passes) w.u16le(v);
  return w.finish();
}

/** @throws BitstreamError for truncation, trailing bytes, an unknown version or flag, or a bad plane or pass count. */
export function decodeProgressiveInfo(payload: Uint8Array): ProgressiveInfo {
  const r = new ByteReader(payload);
  const version = r.u8('PROGRESSIVE_INFO version');
  if (version !== 1 && version !== 2) {
    throw new BitstreamError(`PROGRESSIVE_INFO version ${version} is not supported (this reader reads 1 and 2)`);
  }
  const flags = r.u8('PROGRESSIVE_INFO flags');
  const planes = r.u8('PROGRESSIVE_INFO planes');
  let passes: ProgressiveInfo['passes'] = 'checkerboard';
  if (version === 2) {
    const count = r.u8('PROGRESSIVE_INFO passes');
    if (count < 1 || count > MAX_PLANE_PASSES) throw new BitstreamError(`PROGRESSIVE_INFO pass count ${count} is outside 1..${MAX_PLANE_PASSES}`);
    const splits: number[] = [];
    for (let i = 1; i < count; i++) splits.push(r.u16le('PROGRESSIVE_INFO split'));
    try {
      checkSplits(splits);
    } catch (err) {
      throw new BitstreamError(`PROGRESSIVE_INFO: ${(err as Error).message}`);
    }
    passes = splits;
  }
  r.expectEnd('PROGRESSIVE_INFO');
  if ((flags & ~FLAG_CRR) !== 0) throw new BitstreamError(`PROGRESSIVE_INFO has unknown flags 0x${flags.toString(16)}`);
  if (planes < 1 || planes > MAX_TRIT_PLANES) throw new BitstreamError(`PROGRESSIVE_INFO plane count ${planes} is outside 1..${MAX_TRIT_PLANES}`);
  return { planes, crr: (flags & FLAG_CRR) !== 0, passes };
}
