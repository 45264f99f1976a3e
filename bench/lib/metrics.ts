/**
 * Image quality metrics on interleaved 8-bit pixels.
 *
 * - psnr(): over every sample of the channels compared (RGB: all three), peak 255.
 * - msssim(): the 5-scale MS-SSIM of Wang, Simoncelli and Bovik (2003): 11x11 Gaussian
 *   window (sigma 1.5), K1 = 0.01, K2 = 0.03, L = 255, 'valid' filtering (no padding),
 *   2x2 average pooling between scales, exponents [0.0448, 0.2856, 0.3001, 0.2363, 0.1333].
 *   For RGB it is computed per channel and averaged over the channels (as CompressAI's
 *   `ms-ssim-rgb` is). Negative contrast-structure or SSIM terms are clamped to 0 before the
 *   fractional powers.
 */

/** Pixels as decoders return them: row-major, `channels` interleaved samples per pixel. */
export interface Pixels {
  data: Uint8Array;
  width: number;
  height: number;
  channels: number;
}

/** PSNR reported for identical images (the true value is infinite). */
export const PSNR_IDENTICAL = 100;

export const MSSSIM_WEIGHTS = [0.0448, 0.2856, 0.3001, 0.2363, 0.1333] as const;
const WINDOW = 11;
const SIGMA = 1.5;
const C1 = (0.01 * 255) ** 2;
const C2 = (0.03 * 255) ** 2;

function checkPair(a: Pixels, b: Pixels, channels: number): void {
  if (a.width !== b.width || a.height !== b.height) {
    throw new RangeError(`Images differ in size: ${a.width}x${a.height} and ${b.width}x${b.height}`);
  }
  for (const img of [a, b]) {
    if (img.channels < channels) throw new RangeError(`Expected at least ${channels} channels but received ${img.channels}`);
    if (img.data.length !== img.width * img.height * img.channels) {
      throw new RangeError(`Expected ${img.width * img.height * img.channels} bytes but received ${img.data.length}`);
    }
  }
}

/** Mean squared error over the first `channels` channels (default: 3, RGB). */
export function mse(a: Pixels, b: Pixels, channels = 3): number {
  checkPair(a, b, channels);
  const n = a.width * a.height;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const pa = i * a.channels;
    const pb = i * b.channels;
    for (let c = 0; c < channels; c++) {
      const d = a.data[pa + c] - b.data[pb + c];
      sum += d * d;
    }
  }
  return sum / (n * channels);
}

/** PSNR in dB against a peak of 255 over the first `channels` channels; {@link PSNR_IDENTICAL} when equal. */
export function psnr(a: Pixels, b: Pixels, channels = 3): number {
  const e = mse(a, b, channels);
  return e === 0 ? PSNR_IDENTICAL : 10 * Math.log10((255 * 255) / e);
}

/** The normalised 1-D Gaussian taps of the MS-SSIM window. */
export function gaussianWindow(size = WINDOW, sigma = SIGMA): Float64Array {
  const w = new Float64Array(size);
  const mid = (size - 1) / 2;
  let sum = 0;
  for (let i = 0; i < size; i++) {
    w[i] = Math.exp(-((i - mid) ** 2) / (2 * sigma * sigma));
    sum += w[i];
  }
  for (let i = 0; i < size; i++) w[i] /= sum;
  return w;
}

const TAPS = gaussianWindow();

/** One channel as a float plane. */
interface Plane {
  data: Float64Array;
  width: number;
  height: number;
}

function channelPlane(img: Pixels, c: number): Plane {
  const n = img.width * img.height;
  const data = new Float64Array(n);
  for (let i = 0; i < n; i++) data[i] = img.data[i * img.channels + c];
  return { data, width: img.width, height: img.height };
}

/** 2x2 average pooling; an odd last row or column is dropped. */
function halve(p: Plane): Plane {
  const width = p.width >> 1;
  const height = p.height >> 1;
  const data = new Float64Array(width * height);
  for (let y = 0; y < height; y++) {
    const r0 = 2 * y * p.width;
    const r1 = r0 + p.width;
    for (let x = 0; x < width; x++) {
      const i = 2 * x;
      data[y * width + x] = (p.data[r0 + i] + p.data[r0 + i + 1] + p.data[r1 + i] + p.data[r1 + i + 1]) / 4;
    }
  }
  return { data, width, height };
}

/**
 * Mean SSIM and mean contrast-structure term of two planes at one scale, with the Gaussian
 * window applied separably over the 'valid' region.
 */
function ssimTerms(a: Plane, b: Plane): { ssim: number; cs: number } {
  const { width, height } = a;
  const ow = width - WINDOW + 1;
  const oh = height - WINDOW + 1;
  if (ow < 1 || oh < 1) throw new RangeError(`Plane of ${width}x${height} is smaller than the ${WINDOW}x${WINDOW} window`);
  // horizontal pass: five moments per output column, every row
  const n = ow * height;
  const ha = new Float64Array(n);
  const hb = new Float64Array(n);
  const haa = new Float64Array(n);
  const hbb = new Float64Array(n);
  const hab = new Float64Array(n);
  for (let y = 0; y < height; y++) {
    const row = y * width;
    for (let x = 0; x < ow; x++) {
      let sa = 0;
      let sb = 0;
      let saa = 0;
      let sbb = 0;
      let sab = 0;
      for (let k = 0; k < WINDOW; k++) {
        const w = TAPS[k];
        const va = a.data[row + x + k];
        const vb = b.data[row + x + k];
        sa += w * va;
        sb += w * vb;
        saa += w * va * va;
        sbb += w * vb * vb;
        sab += w * va * vb;
      }
      const o = y * ow + x;
      ha[o] = sa;
      hb[o] = sb;
      haa[o] = saa;
      hbb[o] = sbb;
      hab[o] = sab;
    }
  }
  // vertical pass, combined into the SSIM map on the fly
  let ssimSum = 0;
  let csSum = 0;
  for (let y = 0; y < oh; y++) {
    for (let x = 0; x < ow; x++) {
      let ma = 0;
      let mb = 0;
      let eaa = 0;
      let ebb = 0;
      let eab = 0;
      for (let k = 0; k < WINDOW; k++) {
        const w = TAPS[k];
        const i = (y + k) * ow + x;
        ma += w * ha[i];
        mb += w * hb[i];
        eaa += w * haa[i];
        ebb += w * hbb[i];
        eab += w * hab[i];
      }
      const va = eaa - ma * ma;
      const vb = ebb - mb * mb;
      const cov = eab - ma * mb;
      const cs = (2 * cov + C2) / (va + vb + C2);
      csSum += cs;
      ssimSum += ((2 * ma * mb + C1) / (ma * ma + mb * mb + C1)) * cs;
    }
  }
  const count = ow * oh;
  return { ssim: ssimSum / count, cs: csSum / count };
}

/** Smallest side MS-SSIM accepts: the window must fit at the fifth scale. */
export const MSSSIM_MIN_SIDE = WINDOW * 2 ** (MSSSIM_WEIGHTS.length - 1);

/** MS-SSIM of one channel. */
export function msssimChannel(a: Pixels, b: Pixels, channel: number): number {
  let pa = channelPlane(a, channel);
  let pb = channelPlane(b, channel);
  const scales = MSSSIM_WEIGHTS.length;
  let value = 1;
  for (let s = 0; s < scales; s++) {
    const { ssim, cs } = ssimTerms(pa, pb);
    const term = s === scales - 1 ? ssim : cs;
    value *= Math.max(term, 0) ** MSSSIM_WEIGHTS[s];
    if (s < scales - 1) {
      pa = halve(pa);
      pb = halve(pb);
    }
  }
  return value;
}

/**
 * MS-SSIM averaged over the first `channels` channels (default 3: RGB).
 * @throws RangeError when the images differ in size or a side is below {@link MSSSIM_MIN_SIDE}.
 */
export function msssim(a: Pixels, b: Pixels, channels = 3): number {
  checkPair(a, b, channels);
  if (a.width < MSSSIM_MIN_SIDE || a.height < MSSSIM_MIN_SIDE) {
    throw new RangeError(`MS-SSIM needs both sides >= ${MSSSIM_MIN_SIDE} but received ${a.width}x${a.height}`);
  }
  let sum = 0;
  for (let c = 0; c < channels; c++) sum += msssimChannel(a, b, c);
  return sum / channels;
}

/** MS-SSIM on a dB scale, -10 log10(1 - v), as RD plots show it. */
export function msssimDb(v: number): number {
  return -10 * Math.log10(Math.max(1 - v, 1e-10));
}
