/**
 * The CODING_PARAMS unit: exact round trip, the ranges it accepts, and typed errors for
 * damaged payloads.
 */
import { describe, expect, it } from 'vitest';
import { MAX_QUALITY100, MIN_QUALITY100, decodeCodingParams, encodeCodingParams } from '../src/bitstream/coding-params.js';
import { BitstreamError, InvalidOptionError } from '../src/errors.js';

describe('CODING_PARAMS', () => {
  it('round-trips quality x 100 and the tile size exactly', () => {
    for (const params of [
      { quality100: MIN_QUALITY100, tileSize: 1 },
      { quality100: 7550, tileSize: 2048 },
      { quality100: MAX_QUALITY100, tileSize: 0xffff_ffff },
    ]) {
      expect(decodeCodingParams(encodeCodingParams(params))).toEqual(params);
    }
    expect([...encodeCodingParams({ quality100: 7500, tileSize: 2048 })]).toEqual([0x4c, 0x1d, 0x80, 0x10]);
  });

  it('refuses values it cannot store', () => {
    for (const bad of [{ quality100: 99, tileSize: 64 }, { quality100: 75.5, tileSize: 64 }, { quality100: 7500, tileSize: 0 }]) {
      expect(() => encodeCodingParams(bad), JSON.stringify(bad)).toThrow(InvalidOptionError);
    }
    expect(() => encodeCodingParams({ quality100: 10001, tileSize: 64 })).toThrow(
      'Expected integer between 100 and 10000 for quality100 but received 10001 of type number',
    );
  });

  it('rejects truncated, padded and out-of-range payloads with BitstreamError', () => {
    const cases: [number[], RegExp][] = [
      [[], /truncated/],
      [[0x4c, 0x1d], /truncated/],
      [[0x4c, 0x1d, 0x80], /truncated/],
      [[0x4c, 0x1d, 0x40, 0x00], /trailing|CODING_PARAMS/],
      [[0x63, 0x00, 0x40], /quality 0.99 is outside 1..100/],
      [[0x11, 0x27, 0x40], /quality 100.01 is outside 1..100/],
      [[0x4c, 0x1d, 0x00], /tile size is 0/],
    ];
    for (const [bytes, message] of cases) {
      const run = () => decodeCodingParams(Uint8Array.from(bytes));
      expect(run, bytes.join(',')).toThrow(BitstreamError);
      expect(run, bytes.join(',')).toThrow(message);
    }
  });
});
