/**
 * CRC-32 (IEEE 802.3, the one in zlib, PNG and gzip): reflected polynomial 0xEDB88320,
 * initial value and final xor 0xFFFFFFFF. Table-driven, eight bytes at a time.
 */

import * as zlib from 'node:zlib';

const nativeCrc32 = (zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;

// TABLES[k][b]: the CRC of byte b followed by k zero bytes, for slicing-by-8
const TABLES: Uint32Array[] = (() => {
  const t = Array.from({ length: 8 }, () => new Uint32Array(256));
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[0][n] = c >>> 0;
  }
  for (let n = 0; n < 256; n++) {
    for (let k = 1; k < 8; k++) t[k][n] = (t[k - 1][n] >>> 8) ^ t[0][t[k - 1][n] & 0xff];
  }
  return t;
})();
const [T0, T1, T2, T3, T4, T5, T6, T7] = TABLES;

/**
 * CRC-32 of `data`. Pass the previous result as `previous` to continue a checksum over
 * several pieces: `crc32(b, crc32(a))` equals `crc32(a ‖ b)`. Eight bytes per step
 * ("slicing-by-8"), or zlib's own crc32 where Node has it (20.15 and later): 2.4 MB of
 * P-frame symbols took 5 ms with the byte loop, 2.8 ms sliced.
 *
 * @example crc32(new TextEncoder().encode('123456789')) === 0xcbf43926
 */
export function crc32(data: Uint8Array, previous = 0): number {
  if (nativeCrc32 && data.length >= 64) return nativeCrc32(data, previous);
  return crc32Js(data, previous);
}

/** The JavaScript CRC-32 (used where zlib has none, and for short inputs). */
export function crc32Js(data: Uint8Array, previous = 0): number {
  let crc = ~previous;
  let i = 0;
  const n8 = data.length - (data.length & 7);
  for (; i < n8; i += 8) {
    const a = crc ^ (data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24));
    crc =
      T7[a & 0xff] ^ T6[(a >>> 8) & 0xff] ^ T5[(a >>> 16) & 0xff] ^ T4[a >>> 24] ^
      T3[data[i + 4]] ^ T2[data[i + 5]] ^ T1[data[i + 6]] ^ T0[data[i + 7]];
  }
  for (; i < data.length; i++) crc = T0[(crc ^ data[i]) & 0xff] ^ (crc >>> 8);
  return ~crc >>> 0;
}
