/**
 * The PROGRESSIVE_INFO unit of a trit-plane progressive file.
 *
 * | field   | encoding | notes                                              |
 * |---------|----------|----------------------------------------------------|
 * | version | u8       | 1                                                  |
 * | flags   | u8       | bit 0: planes after the first use the CRR head     |
 * | planes  | u8       | trit-planes L, 1..16                               |
 */
import { BitstreamError } from '../errors.js';
import { ByteReader, ByteWriter } from './bytes.js';

export interface ProgressiveInfo {
  /** Number of trit-planes. */
  readonly planes: number;
  /** Whether the probabilities of planes after the first come from the CRR context head. */
  readonly crr: boolean;
}

export const PROGRESSIVE_INFO_VERSION = 1;
export const MAX_TRIT_PLANES = 16;
const FLAG_CRR = 1;

export function encodeProgressiveInfo(p: ProgressiveInfo): Uint8Array {
  return new ByteWriter(3).u8(PROGRESSIVE_INFO_VERSION).u8(p.crr ? FLAG_CRR : 0).u8(p.planes).finish();
}

/** @throws BitstreamError for truncation, trailing bytes, an unknown version or flag, or a bad plane count. */
export function decodeProgressiveInfo(payload: Uint8Array): ProgressiveInfo {
  const r = new ByteReader(payload);
  const version = r.u8('PROGRESSIVE_INFO version');
  if (version !== PROGRESSIVE_INFO_VERSION) {
    throw new BitstreamError(`PROGRESSIVE_INFO version ${version} is not supported (this reader reads ${PROGRESSIVE_INFO_VERSION})`);
  }
  const flags = r.u8('PROGRESSIVE_INFO flags');
  const planes = r.u8('PROGRESSIVE_INFO planes');
  r.expectEnd('PROGRESSIVE_INFO');
  if ((flags & ~FLAG_CRR) !== 0) throw new BitstreamError(`PROGRESSIVE_INFO has unknown flags 0x${flags.toString(16)}`);
  if (planes < 1 || planes > MAX_TRIT_PLANES) throw new BitstreamError(`PROGRESSIVE_INFO plane count ${planes} is outside 1..${MAX_TRIT_PLANES}`);
  return { planes, crr: (flags & FLAG_CRR) !== 0 };
}
