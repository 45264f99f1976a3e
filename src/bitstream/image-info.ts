/**
 * The IMAGE_INFO unit: what the decoder must give back, independent of the padding and
 * colour space the networks work in.
 *
 * Payload layout:
 *
 * | field        | encoding | notes                                              |
 * |--------------|----------|----------------------------------------------------|
 * | width        | varuint  | 1..maxDimension                                    |
 * | height       | varuint  | 1..maxDimension, width × height ≤ maxPixels        |
 * | channels     | u8       | 1 grey, 2 grey+alpha, 3 colour, 4 colour+alpha     |
 * | bitDepth     | u8       | 1..16 bits per sample                              |
 * | colourMatrix | u8       | ITU-T H.273 MatrixCoefficients code                |
 * | flags        | u8       | bit 0 full range, bit 1 alpha; other bits zero     |
 */
import { BitstreamError, invalidOption } from '../errors.js';
import { ByteReader, ByteWriter, MAX_VARUINT } from './bytes.js';
import { DEFAULT_LIMITS, checkLimit, resolveLimits, type Limits } from './limits.js';

export interface ImageInfo {
  /** Original width in pixels. */
  readonly width: number;
  /** Original height in pixels. */
  readonly height: number;
  /** Samples per pixel, alpha included: 1, 2, 3 or 4. */
  readonly channels: number;
  /** Bits per sample of the original, 1..16. */
  readonly bitDepth: number;
  /** ITU-T H.273 MatrixCoefficients code (0 identity/RGB, 1 BT.709, 6 BT.601, 9 BT.2020 …). */
  readonly colourMatrix: number;
  /** Full-range (true) or limited/studio-range (false) samples. */
  readonly fullRange: boolean;
  /** Whether the image has an alpha channel (the last channel). */
  readonly alpha: boolean;
}

/** H.273 MatrixCoefficients codes this format accepts, with display names. */
export const COLOUR_MATRICES: ReadonlyMap<number, string> = new Map([
  [0, 'identity (RGB)'],
  [1, 'BT.709'],
  [2, 'unspecified'],
  [4, 'FCC'],
  [5, 'BT.470BG'],
  [6, 'BT.601'],
  [7, 'SMPTE 240M'],
  [8, 'YCgCo'],
  [9, 'BT.2020 non-constant luminance'],
  [10, 'BT.2020 constant luminance'],
  [11, 'SMPTE 2085'],
  [12, 'chromaticity-derived non-constant luminance'],
  [13, 'chromaticity-derived constant luminance'],
  [14, 'ICtCp'],
]);

const FLAG_FULL_RANGE = 0x01;
const FLAG_ALPHA = 0x02;
const KNOWN_FLAGS = FLAG_FULL_RANGE | FLAG_ALPHA;

/** Why a channel count and alpha flag disagree, or null if they fit together. */
function channelProblem(channels: number, alpha: boolean): string | null {
  if (channels < 1 || channels > 4) return `channel count ${channels} is not between 1 and 4`;
  const hasAlphaSlot = channels === 2 || channels === 4;
  if (alpha && !hasAlphaSlot) return `alpha is set but the channel count is ${channels}`;
  if (!alpha && hasAlphaSlot) return `alpha is not set but the channel count is ${channels}`;
  return null;
}

/**
 * Encode an IMAGE_INFO payload.
 *
 * @throws InvalidOptionError when a field is missing, out of range, or the channel
 *   count disagrees with `alpha`.
 * @throws LimitExceededError when the size breaks the default `maxDimension` or
 *   `maxPixels`, so that every file written can be read with the default limits.
 */
export function encodeImageInfo(info: ImageInfo): Uint8Array {
  if (info === null || typeof info !== 'object') throw invalidOption('object', 'image info', info);
  const { width, height, channels, bitDepth, colourMatrix, fullRange, alpha } = info;
  for (const [name, value] of [['width', width], ['height', height]] as const) {
    if (!Number.isInteger(value) || value < 1 || value > MAX_VARUINT) {
      throw invalidOption(`integer between 1 and ${MAX_VARUINT}`, name, value);
    }
    checkLimit('maxDimension', value, DEFAULT_LIMITS.maxDimension);
  }
  checkLimit('maxPixels', width * height, DEFAULT_LIMITS.maxPixels);
  if (!Number.isInteger(channels) || channels < 1 || channels > 4) {
    throw invalidOption('integer between 1 and 4', 'channels', channels);
  }
  if (!Number.isInteger(bitDepth) || bitDepth < 1 || bitDepth > 16) {
    throw invalidOption('integer between 1 and 16', 'bitDepth', bitDepth);
  }
  if (!COLOUR_MATRICES.has(colourMatrix)) {
    throw invalidOption(`H.273 matrix code (one of ${[...COLOUR_MATRICES.keys()].join(', ')})`, 'colourMatrix', colourMatrix);
  }
  if (typeof fullRange !== 'boolean') throw invalidOption('boolean', 'fullRange', fullRange);
  if (typeof alpha !== 'boolean') throw invalidOption('boolean', 'alpha', alpha);
  if (channelProblem(channels, alpha) !== null) {
    throw invalidOption(alpha ? '2 or 4 when alpha is true' : '1 or 3 when alpha is false', 'channels', channels);
  }
  return new ByteWriter(16)
    .varuint(width)
    .varuint(height)
    .u8(channels)
    .u8(bitDepth)
    .u8(colourMatrix)
    .u8((fullRange ? FLAG_FULL_RANGE : 0) | (alpha ? FLAG_ALPHA : 0))
    .finish();
}

/**
 * Decode an IMAGE_INFO payload.
 *
 * @throws LimitExceededError when width or height is above `maxDimension`, or their
 *   product above `maxPixels`.
 * @throws BitstreamError for truncation, trailing bytes, a zero dimension, an unknown
 *   colour matrix, reserved flag bits, or a channel count that disagrees with alpha.
 */
export function decodeImageInfo(payload: Uint8Array, limits?: Partial<Limits>): ImageInfo {
  const lim = resolveLimits(limits);
  const r = new ByteReader(payload);
  const width = r.varuint('IMAGE_INFO width');
  checkLimit('maxDimension', width, lim.maxDimension);
  const height = r.varuint('IMAGE_INFO height');
  checkLimit('maxDimension', height, lim.maxDimension);
  if (width === 0 || height === 0) throw new BitstreamError(`IMAGE_INFO has a zero dimension (${width}x${height})`);
  checkLimit('maxPixels', width * height, lim.maxPixels);
  const channels = r.u8('IMAGE_INFO channels');
  const bitDepth = r.u8('IMAGE_INFO bit depth');
  const colourMatrix = r.u8('IMAGE_INFO colour matrix');
  const flags = r.u8('IMAGE_INFO flags');
  r.expectEnd('IMAGE_INFO');
  if (bitDepth < 1 || bitDepth > 16) throw new BitstreamError(`IMAGE_INFO bit depth ${bitDepth} is not between 1 and 16`);
  if (!COLOUR_MATRICES.has(colourMatrix)) throw new BitstreamError(`IMAGE_INFO colour matrix ${colourMatrix} is not a known H.273 code`);
  if ((flags & ~KNOWN_FLAGS) !== 0) throw new BitstreamError(`IMAGE_INFO flags 0x${flags.toString(16)} set reserved bits`);
  const alpha = (flags & FLAG_ALPHA) !== 0;
  const problem = channelProblem(channels, alpha);
  if (problem !== null) throw new BitstreamError(`IMAGE_INFO ${problem}`);
  return { width, height, channels, bitDepth, colourMatrix, fullRange: (flags & FLAG_FULL_RANGE) !== 0, alpha };
}
