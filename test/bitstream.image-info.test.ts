import { describe, expect, it } from 'vitest';
import { ByteWriter } from '../src/bitstream/bytes.js';
import { decodeImageInfo, encodeImageInfo, type ImageInfo } from '../src/bitstream/image-info.js';
import { MAX_PIXELS } from '../src/bitstream/limits.js';
import { BitstreamError, InvalidOptionError, LimitExceededError } from '../src/errors.js';

const rgb: ImageInfo = { width: 641, height: 479, channels: 3, bitDepth: 8, colourMatrix: 1, fullRange: true, alpha: false };

function raw(width: number, height: number, channels = 3, bitDepth = 8, matrix = 1, flags = 1): Uint8Array {
  return new ByteWriter().varuint(width).varuint(height).u8(channels).u8(bitDepth).u8(matrix).u8(flags).finish();
}

describe('IMAGE_INFO', () => {
  it('round-trips', () => {
    const cases: ImageInfo[] = [
      rgb,
      { width: 1, height: 1, channels: 1, bitDepth: 1, colourMatrix: 2, fullRange: false, alpha: false },
      { width: 16383, height: 16383, channels: 4, bitDepth: 16, colourMatrix: 9, fullRange: false, alpha: true },
      { width: 7, height: 3, channels: 2, bitDepth: 10, colourMatrix: 0, fullRange: true, alpha: true },
    ];
    for (const info of cases) expect(decodeImageInfo(encodeImageInfo(info))).toEqual(info);
  });

  it('has the documented layout', () => {
    expect([...encodeImageInfo(rgb)]).toEqual([...raw(641, 479, 3, 8, 1, 0b01)]);
    expect(encodeImageInfo({ ...rgb, channels: 4, alpha: true, fullRange: false })[7]).toBe(0b10);
  });

  it('checks sizes against limits before use', () => {
    expect(() => decodeImageInfo(raw(65_536, 1))).toThrow(LimitExceededError);
    expect(() => decodeImageInfo(raw(16_384, 16_384))).toThrow(/maxPixels is 268435456, above the limit of 268402689/);
    expect(() => decodeImageInfo(raw(100, 100), { maxPixels: 9_999 })).toThrow(LimitExceededError);
    expect(() => decodeImageInfo(raw(100, 100), { maxDimension: 99 })).toThrow(LimitExceededError);
    expect(decodeImageInfo(raw(100, 100), { maxPixels: 10_000, maxDimension: 100 }).width).toBe(100);
  });

  it('rejects bad fields with BitstreamError', () => {
    const bad: [Uint8Array, RegExp][] = [
      [raw(0, 5), /zero dimension/],
      [raw(5, 5, 0), /channel count 0/],
      [raw(5, 5, 5), /channel count 5/],
      [raw(5, 5, 3, 8, 1, 0b11), /alpha is set but the channel count is 3/],
      [raw(5, 5, 4, 8, 1, 0b01), /alpha is not set but the channel count is 4/],
      [raw(5, 5, 3, 0), /bit depth 0/],
      [raw(5, 5, 3, 17), /bit depth 17/],
      [raw(5, 5, 3, 8, 3), /colour matrix 3/],
      [raw(5, 5, 3, 8, 1, 0x05), /reserved bits/],
      [Uint8Array.of(...raw(5, 5), 0), /trailing byte/],
      [raw(5, 5).subarray(0, 5), /truncated/],
    ];
    for (const [payload, message] of bad) {
      expect(() => decodeImageInfo(payload)).toThrow(BitstreamError);
      expect(() => decodeImageInfo(payload)).toThrow(message);
    }
  });

  it('refuses to encode what it could not decode', () => {
    expect(() => encodeImageInfo({ ...rgb, width: 0 })).toThrow(InvalidOptionError);
    expect(() => encodeImageInfo({ ...rgb, height: 2.5 })).toThrow(InvalidOptionError);
    expect(() => encodeImageInfo({ ...rgb, channels: 4 })).toThrow(/Expected 1 or 3 when alpha is false for channels/);
    expect(() => encodeImageInfo({ ...rgb, bitDepth: 0 })).toThrow(InvalidOptionError);
    expect(() => encodeImageInfo({ ...rgb, colourMatrix: 3 })).toThrow(InvalidOptionError);
    expect(() => encodeImageInfo({ ...rgb, alpha: 1 as unknown as boolean })).toThrow(InvalidOptionError);
    expect(() => encodeImageInfo({ ...rgb, width: 16_384, height: 16_384 })).toThrow(LimitExceededError);
    expect(() => encodeImageInfo({ ...rgb, width: 70_000, height: 1 })).toThrow(LimitExceededError);
    expect(16_383 * 16_383).toBe(MAX_PIXELS);
  });
});
