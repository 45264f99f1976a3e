/** Interleaved 8-bit pixels: 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA samples per pixel. */
export interface Frame {
  data: Uint8Array;
  width: number;
  height: number;
  channels: 1 | 2 | 3 | 4;
}

/** A float32 planar tensor [1, 3, H, W] in [0, 1] for the networks. */
export interface PlanarRgb {
  data: Float32Array;
  width: number;
  height: number;
}

export const hasAlpha = (channels: number): boolean => channels === 2 || channels === 4;
export const colourChannels = (channels: number): 1 | 3 => (channels <= 2 ? 1 : 3);

/**
 * The colour part of a frame as a planar RGB tensor padded to a multiple of `factor` on the
 * right and bottom by repeating the edge pixels (no seam for the networks to spend bits on).
 * Greyscale is spread to three equal planes.
 */
export function toPaddedPlanar(frame: Frame, factor: number): PlanarRgb {
  const { width: w, height: h, channels: c, data } = frame;
  const pw = Math.ceil(w / factor) * factor;
  const ph = Math.ceil(h / factor) * factor;
  const out = new Float32Array(3 * pw * ph);
  const plane = pw * ph;
  const grey = c <= 2;
  const lut = byteToUnit();
  const r = out.subarray(0, plane);
  const g = out.subarray(plane, 2 * plane);
  const b = out.subarray(2 * plane);
  for (let y = 0; y < ph; y++) {
    const sy = y < h ? y : h - 1;
    const row = y * pw;
    let s = sy * w * c;
    if (grey) {
      for (let x = 0; x < w; x++, s += c) r[row + x] = lut[data[s]];
    } else {
      for (let x = 0; x < w; x++, s += c) {
        r[row + x] = lut[data[s]];
        g[row + x] = lut[data[s + 1]];
        b[row + x] = lut[data[s + 2]];
      }
    }
    // right padding repeats the last column
    for (let x = w; x < pw; x++) {
      r[row + x] = r[row + w - 1];
      if (!grey) {
        g[row + x] = g[row + w - 1];
        b[row + x] = b[row + w - 1];
      }
    }
  }
  if (grey) {
    g.set(r);
    b.set(r);
  }
  return { data: out, width: pw, height: ph };
}

let unitLut: Float32Array | undefined;
/** v / 255 for every byte value, as the float32 the networks get. */
function byteToUnit(): Float32Array {
  if (!unitLut) {
    unitLut = new Float32Array(256);
    const inv = 1 / 255;
    for (let i = 0; i < 256; i++) unitLut[i] = i * inv;
  }
  return unitLut;
}

/**
 * Crops a planar RGB tensor back to `width` x `height` and rounds it to 8 bits. With
 * `channels` 1 or 2 the planes are averaged back to grey (the encoder spread grey to three
 * equal planes, so the mean is the best estimate).
 */
export function fromPlanar(src: PlanarRgb, width: number, height: number, channels: 1 | 2 | 3 | 4, alpha?: Uint8Array): Frame {
  const c = channels;
  const out = new Uint8Array(width * height * c);
  const plane = src.width * src.height;
  const r = src.data.subarray(0, plane);
  const g = src.data.subarray(plane, 2 * plane);
  const b = src.data.subarray(2 * plane, 3 * plane);
  for (let y = 0; y < height; y++) {
    let s = y * src.width;
    let d = y * width * c;
    // Math.round(v * 255) for v in (0, 1), as floor(v * 255 + 0.5): exact here, since
    // v * 255 + 0.5 needs at most 33 significant bits
    if (c <= 2) {
      for (let x = 0; x < width; x++, s++, d += c) {
        const v = (r[s] + g[s] + b[s]) / 3;
        out[d] = v <= 0 ? 0 : v >= 1 ? 255 : Math.round(v * 255);
      }
    } else {
      for (let x = 0; x < width; x++, s++, d += c) {
        const vr = r[s];
        const vg = g[s];
        const vb = b[s];
        out[d] = vr <= 0 ? 0 : vr >= 1 ? 255 : (vr * 255 + 0.5) | 0;
        out[d + 1] = vg <= 0 ? 0 : vg >= 1 ? 255 : (vg * 255 + 0.5) | 0;
        out[d + 2] = vb <= 0 ? 0 : vb >= 1 ? 255 : (vb * 255 + 0.5) | 0;
      }
    }
    if (alpha && (c === 2 || c === 4)) {
      for (let x = 0; x < width; x++) out[(y * width + x) * c + c - 1] = alpha[y * width + x];
    }
  }
  return { data: out, width, height, channels: c };
}

/** The alpha samples of a frame as one plane, or undefined without alpha. */
export function alphaPlane(frame: Frame): Uint8Array | undefined {
  if (!hasAlpha(frame.channels)) return undefined;
  const n = frame.width * frame.height;
  const out = new Uint8Array(n);
  const c = frame.channels;
  for (let i = 0; i < n; i++) out[i] = frame.data[i * c + c - 1];
  return out;
}
