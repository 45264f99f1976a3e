/**
 * CRC-32 (IEEE 802.3, the one in zlib, PNG and gzip): reflected polynomial 0xEDB88320,
 * initial value and final xor 0xFFFFFFFF. Table-driven, one byte at a time.
 */

const TABLE: Uint32Array = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/**
 * CRC-32 of `data`. Pass the previous result as `previous` to continue a checksum over
 * several pieces: `crc32(b, crc32(a))` equals `crc32(a ‖ b)`.
 *
 * @example crc32(new TextEncoder().encode('123456789')) === 0xcbf43926
 */
export function crc32(data: Uint8Array, previous = 0): number {
  let crc = ~previous;
  for (let i = 0; i < data.length; i++) crc = TABLE[(crc ^ data[i]) & 0xff] ^ (crc >>> 8);
  return ~crc >>> 0;
}
