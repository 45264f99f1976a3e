import { crc32 as zlibCrc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { crc32, crc32Js } from '../src/bitstream/crc32.js';

const ascii = (text: string): Uint8Array => new TextEncoder().encode(text);

describe('crc32', () => {
  it('matches the standard check values', () => {
    expect(crc32(new Uint8Array(0))).toBe(0);
    expect(crc32(ascii('123456789'))).toBe(0xcbf43926);
    expect(crc32(ascii('The quick brown fox jumps over the lazy dog'))).toBe(0x414fa339);
  });

  it('agrees with zlib on random data of many lengths', () => {
    let seed = 12345;
    for (let length = 0; length < 600; length += 7) {
      const data = new Uint8Array(length);
      for (let i = 0; i < length; i++) {
        seed = (Math.imul(seed, 1_103_515_245) + 12_345) >>> 0;
        data[i] = seed >>> 24;
      }
      expect(crc32(data)).toBe(zlibCrc32(data));
      // the JavaScript path (eight bytes a step, then the tail), also when continued
      expect(crc32Js(data)).toBe(zlibCrc32(data));
      expect(crc32Js(data.subarray(length >> 1), crc32Js(data.subarray(0, length >> 1)))).toBe(zlibCrc32(data));
    }
  });

  it('continues a checksum across pieces', () => {
    const data = ascii('neurocodec container unit');
    for (let cut = 0; cut <= data.length; cut++) {
      expect(crc32(data.subarray(cut), crc32(data.subarray(0, cut)))).toBe(crc32(data));
    }
  });

  it('always returns an unsigned 32-bit value', () => {
    expect(crc32(Uint8Array.of(0xff, 0xff, 0xff, 0xff))).toBe(0xffffffff);
    expect(crc32(Uint8Array.of(0x80))).toBe(0x3fba6cad);
  });
});
