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
  const inv = 1 / 255;
  for (let y = 0; y < ph; y++) {
    const sy = y < h ? y : h - 1;
    for (let x = 0; x < pw; x++) {
      const sx = x < w ? x : w - 1;
      const s = (sy * w + sx) * c;
      const d = y * pw + x;
      if (grey) {
        const v = data[s] * inv;
        out[d] = v;
        out[plane + d] = v;
        out[2 * plane + d] = v;
      } else {
        out[d] = data[s] * inv;
        out[plane + d] = data[s + 1] * inv;
        out[2 * plane + d] = data[s + 2] * inv;
      }
    }
  }
  return { data: out, width: pw, height: ph };
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
  const grey = c <= 2;
  const q = (v: number) => (v <= 0 ? 0 : v >= 1 ? 255 : Math.round(v * 255));
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const s = y * src.width + x;
      const d = (y * width + x) * c;
      if (grey) {
        out[d] = q((src.data[s] + src.data[plane + s] + src.data[2 * plane + s]) / 3);
      } else {
        out[d] = q(src.data[s]);
        out[d + 1] = q(src.data[plane + s]);
        out[d + 2] = q(src.data[2 * plane + s]);
      }
      if (alpha && (c === 2 || c === 4)) out[d + c - 1] = alpha[y * width + x];
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
