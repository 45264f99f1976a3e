// Pixel kernels for the PNG writer (src/image/png.ts): the Paeth row filter with 128-bit SIMD,
// and Adler-32. The host copies rows in, calls a kernel and copies the result out; see
// wasm/README.md. src/image/png.ts keeps a plain TypeScript filter that must give the same bytes.

/** Allocates `size` bytes (16-byte aligned); grows memory as needed. */
export function alloc(size: usize): usize {
  return heap.alloc(size);
}

export function free(ptr: usize): void {
  if (ptr != 0) heap.free(ptr);
}

/** The Paeth predictor of one byte from its left (a), upper (b) and upper-left (c) neighbours. */
@inline function predict(a: i32, b: i32, c: i32): i32 {
  const pa = abs(b - c);
  const pb = abs(a - c);
  const pc = abs(a + b - c - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/**
 * Paeth-filters `rows` rows of `width * channels` bytes starting at `cur` into `dst`, each
 * output row prefixed with its filter type byte (4). `up` is the row above the first one, or
 * 0 at the top of the image (where Paeth reduces to the Sub filter); rows after the first
 * take the row before them at `cur`.
 */
export function paeth(cur: usize, up: usize, dst: usize, width: u32, rows: u32, channels: u32): void {
  const stride = <usize>width * channels;
  const ch = <usize>channels;
  for (let y: u32 = 0; y < rows; y++) {
    const r = cur + <usize>y * stride;
    const p = y == 0 ? up : r - stride;
    const o = dst + <usize>y * (stride + 1);
    store<u8>(o, 4);
    const out = o + 1;
    if (p == 0) {
      for (let i: usize = 0; i < ch && i < stride; i++) store<u8>(out + i, load<u8>(r + i));
      for (let i: usize = ch; i < stride; i++) store<u8>(out + i, load<u8>(r + i) - load<u8>(r + i - ch));
      continue;
    }
    // first pixel: no left neighbour, so the predictor is the byte above
    for (let i: usize = 0; i < ch && i < stride; i++) store<u8>(out + i, load<u8>(r + i) - load<u8>(p + i));
    let i: usize = ch;
    // sixteen bytes at a time: the predictor on 16-bit lanes, the difference on bytes
    while (i + 16 <= stride) {
      const x = v128.load(r + i);
      const a8 = v128.load(r + i - ch);
      const b8 = v128.load(p + i);
      const c8 = v128.load(p + i - ch);
      const aLo = i16x8.extend_low_i8x16_u(a8);
      const aHi = i16x8.extend_high_i8x16_u(a8);
      const bLo = i16x8.extend_low_i8x16_u(b8);
      const bHi = i16x8.extend_high_i8x16_u(b8);
      const cLo = i16x8.extend_low_i8x16_u(c8);
      const cHi = i16x8.extend_high_i8x16_u(c8);
      const predLo = predictLanes(aLo, bLo, cLo);
      const predHi = predictLanes(aHi, bHi, cHi);
      v128.store(out + i, i8x16.sub(x, i8x16.narrow_i16x8_u(predLo, predHi)));
      i += 16;
    }
    for (; i < stride; i++) {
      const pred = predict(<i32>load<u8>(r + i - ch), <i32>load<u8>(p + i), <i32>load<u8>(p + i - ch));
      store<u8>(out + i, <i32>load<u8>(r + i) - pred);
    }
  }
}

/** predict() on eight 16-bit lanes. */
@inline function predictLanes(a: v128, b: v128, c: v128): v128 {
  const pa = i16x8.abs(i16x8.sub(b, c));
  const pb = i16x8.abs(i16x8.sub(a, c));
  const pc = i16x8.abs(i16x8.sub(i16x8.add(a, b), i16x8.add(c, c)));
  const useA = v128.and(i16x8.le_s(pa, pb), i16x8.le_s(pa, pc));
  const useB = i16x8.le_s(pb, pc);
  return v128.bitselect(a, v128.bitselect(b, c, useB), useA);
}

/** Adler-32 of `len` bytes at `ptr`, continuing from `adler` (1 for a new checksum). */
export function adler32(ptr: usize, len: u32, adler: u32): u32 {
  let a: u32 = adler & 0xffff;
  let b: u32 = adler >>> 16;
  let i: usize = 0;
  const end = ptr + <usize>len;
  while (ptr + i < end) {
    // at most 5552 bytes between reductions keeps both sums below 2^32 (zlib's NMAX)
    const stop = min(end, ptr + i + 5552);
    for (let q = ptr + i; q < stop; q++) {
      a += load<u8>(q);
      b += a;
    }
    i = stop - ptr;
    a %= 65521;
    b %= 65521;
  }
  return (b << 16) | a;
}
