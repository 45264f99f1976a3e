/**
 * The CODING_PARAMS unit of a learned image: the rate the file was coded at and the tile
 * grid. The decoder derives the inverse gain from the stored quality, so it is kept as an
 * exact integer (quality × 100), never as a float.
 *
 * Payload layout:
 *
 * | field      | encoding | notes                                                  |
 * |------------|----------|--------------------------------------------------------|
 * | quality100 | u16le    | quality × 100, 100..10000 (quality 1..100 in 0.01 steps) |
 * | tileSize   | varuint  | tile side in pixels, ≥ 1; images larger than one tile are cut into a grid |
 */
import { BitstreamError, invalidOption } from '../errors.js';
import { ByteReader, ByteWriter, MAX_VARUINT } from './bytes.js';

export interface CodingParams {
  /** Quality × 100, an integer in 100..10000. */
  readonly quality100: number;
  /** Tile side in pixels. */
  readonly tileSize: number;
}

export const MIN_QUALITY100 = 100;
export const MAX_QUALITY100 = 10_000;

/**
 * Encode a CODING_PARAMS payload.
 *
 * @example
 * const payload = encodeCodingParams({ quality100: 7500, tileSize: 2048 });
 * @throws InvalidOptionError when quality100 is not an integer in 100..10000 or tileSize
 *   is not a positive integer.
 */
export function encodeCodingParams(params: CodingParams): Uint8Array {
  const { quality100, tileSize } = params;
  if (!Number.isInteger(quality100) || quality100 < MIN_QUALITY100 || quality100 > MAX_QUALITY100) {
    throw invalidOption(`integer between ${MIN_QUALITY100} and ${MAX_QUALITY100}`, 'quality100', quality100);
  }
  if (!Number.isInteger(tileSize) || tileSize < 1 || tileSize > MAX_VARUINT) {
    throw invalidOption(`integer between 1 and ${MAX_VARUINT}`, 'tileSize', tileSize);
  }
  return new ByteWriter(8).u16le(quality100).varuint(tileSize).finish();
}

/**
 * Decode a CODING_PARAMS payload.
 *
 * @example
 * const { quality100, tileSize } = decodeCodingParams(unit.payload);
 * @throws BitstreamError for truncation, trailing bytes, a quality outside 1..100 or a
 *   zero tile size.
 */
export function decodeCodingParams(payload: Uint8Array): CodingParams {
  const r = new ByteReader(payload);
  const quality100 = r.u16le('CODING_PARAMS quality');
  const tileSize = r.varuint('CODING_PARAMS tile size');
  r.expectEnd('CODING_PARAMS');
  if (quality100 < MIN_QUALITY100 || quality100 > MAX_QUALITY100) {
    throw new BitstreamError(`CODING_PARAMS quality ${quality100 / 100} is outside 1..100`);
  }
  if (tileSize === 0) throw new BitstreamError('CODING_PARAMS tile size is 0');
  return { quality100, tileSize };
}
