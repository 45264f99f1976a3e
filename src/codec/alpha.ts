/**
 * Lossless alpha plane: each sample predicted from its left, upper and upper-left
 * neighbours (the median edge detector of LOCO-I), the residual mod 256 coded with rANS
 * under a static histogram sent in the payload. A constant plane costs a few bytes.
 *
 * Payload: varuint n (distinct residuals), n x (u8 residual, varuint count), rANS stream.
 */
import { ByteReader, ByteWriter } from '../bitstream/bytes.js';
import type { RansCoder } from '../coder/types.js';
import { RansTables } from '../coder/tables.js';
import { quantizePmfToCdf } from '../entropy/quantize.js';
import { BitstreamError } from '../errors.js';

function predict(plane: Uint8Array, width: number, i: number, x: number, y: number): number {
  if (y === 0) return x === 0 ? 0 : plane[i - 1];
  const up = plane[i - width];
  if (x === 0) return up;
  const left = plane[i - 1];
  const ul = plane[i - width - 1];
  const mx = left > up ? left : up;
  const mn = left > up ? up : left;
  if (ul >= mx) return mn;
  if (ul <= mn) return mx;
  return left + up - ul;
}

function tableFromCounts(counts: Uint32Array): RansTables {
  const pmf = new Float64Array(257);
  let total = 0;
  for (let v = 0; v < 256; v++) total += counts[v];
  for (let v = 0; v < 256; v++) pmf[v] = counts[v] / total;
  pmf[256] = 0;
  return RansTables.fromList([{ cdf: quantizePmfToCdf(pmf), offset: 0 }]);
}

export function encodeAlpha(plane: Uint8Array, width: number, height: number, rans: RansCoder): Uint8Array {
  const n = width * height;
  const residuals = new Int32Array(n);
  const counts = new Uint32Array(256);
  for (let y = 0, i = 0; y < height; y++) {
    for (let x = 0; x < width; x++, i++) {
      const r = (plane[i] - predict(plane, width, i, x, y)) & 0xff;
      residuals[i] = r;
      counts[r]++;
    }
  }
  const w = new ByteWriter(64);
  let distinct = 0;
  for (let v = 0; v < 256; v++) if (counts[v]) distinct++;
  w.varuint(distinct);
  for (let v = 0; v < 256; v++) if (counts[v]) w.u8(v).varuint(counts[v]);
  const enc = rans.createEncoder();
  try {
    enc.encodeWithIndexes(residuals, new Int32Array(n), tableFromCounts(counts));
    w.bytes(enc.flush());
  } finally {
    enc.dispose();
  }
  return w.finish();
}

/** @throws BitstreamError for a payload that does not decode to width x height samples. */
export function decodeAlpha(payload: Uint8Array, width: number, height: number, rans: RansCoder): Uint8Array {
  const n = width * height;
  const r = new ByteReader(payload);
  const distinct = r.varuint('ALPHA histogram size');
  if (distinct < 1 || distinct > 256) throw new BitstreamError(`ALPHA histogram has ${distinct} entries`);
  const counts = new Uint32Array(256);
  let total = 0;
  for (let k = 0; k < distinct; k++) {
    const v = r.u8('ALPHA residual');
    const c = r.varuint('ALPHA count');
    if (counts[v] || c === 0) throw new BitstreamError('ALPHA histogram repeats a residual or has a zero count');
    counts[v] = c;
    total += c;
  }
  if (total !== n) throw new BitstreamError(`ALPHA histogram counts ${total} samples, expected ${n}`);
  const dec = rans.createDecoder(r.bytes(r.remaining, 'ALPHA stream'));
  let residuals: Int32Array;
  try {
    residuals = dec.decodeWithIndexes(new Int32Array(n), tableFromCounts(counts));
    dec.finish();
  } finally {
    dec.dispose();
  }
  const plane = new Uint8Array(n);
  for (let y = 0, i = 0; y < height; y++) {
    for (let x = 0; x < width; x++, i++) {
      const v = residuals[i];
      if (v < 0 || v > 255) throw new BitstreamError('ALPHA residual out of range');
      plane[i] = (predict(plane, width, i, x, y) + v) & 0xff;
    }
  }
  return plane;
}
