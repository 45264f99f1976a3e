import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCompressai, loadSharpAnchors } from '../bench/lib/anchors.js';
import { bdRate, type RdPoint } from '../bench/lib/bd.js';
import { MSSSIM_MIN_SIDE, MSSSIM_WEIGHTS, gaussianWindow, msssim, psnr, PSNR_IDENTICAL, type Pixels } from '../bench/lib/metrics.js';

/** Seeded uniform PRNG in [0, 1). */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
}

/** A smooth RGB test picture with some texture. */
function picture(width: number, height: number, channels = 3): Pixels {
  const rand = rng(7);
  const data = new Uint8Array(width * height * channels);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < channels; c++) {
        const v = 128 + 60 * Math.sin((x + 13 * c) / 9) * Math.cos(y / 14) + 30 * (rand() - 0.5);
        data[(y * width + x) * channels + c] = c === 3 ? 255 : Math.max(0, Math.min(255, Math.round(v)));
      }
    }
  }
  return { data, width, height, channels };
}

function noisy(img: Pixels, amplitude: number, seed: number): Pixels {
  const rand = rng(seed);
  const data = img.data.map((v) => Math.max(0, Math.min(255, Math.round(v + amplitude * (rand() - 0.5) * 2))));
  return { ...img, data };
}

/** Straightforward MS-SSIM of one channel: 2-D window, no shortcuts (to check the fast one). */
function msssimDirect(a: Pixels, b: Pixels, channel: number): number {
  const g = gaussianWindow();
  let pa = { w: a.width, h: a.height, d: Array.from({ length: a.width * a.height }, (_, i) => a.data[i * a.channels + channel]) };
  let pb = { w: b.width, h: b.height, d: Array.from({ length: b.width * b.height }, (_, i) => b.data[i * b.channels + channel]) };
  const c1 = (0.01 * 255) ** 2;
  const c2 = (0.03 * 255) ** 2;
  let out = 1;
  for (let s = 0; s < 5; s++) {
    let ssimSum = 0;
    let csSum = 0;
    let n = 0;
    for (let y = 0; y + 11 <= pa.h; y++) {
      for (let x = 0; x + 11 <= pa.w; x++) {
        let ma = 0, mb = 0, aa = 0, bb = 0, ab = 0;
        for (let i = 0; i < 11; i++) {
          for (let j = 0; j < 11; j++) {
            const w = g[i] * g[j];
            const va = pa.d[(y + i) * pa.w + x + j];
            const vb = pb.d[(y + i) * pb.w + x + j];
            ma += w * va;
            mb += w * vb;
            aa += w * va * va;
            bb += w * vb * vb;
            ab += w * va * vb;
          }
        }
        const cs = (2 * (ab - ma * mb) + c2) / (aa - ma * ma + bb - mb * mb + c2);
        csSum += cs;
        ssimSum += cs * ((2 * ma * mb + c1) / (ma * ma + mb * mb + c1));
        n++;
      }
    }
    out *= Math.max(0, s === 4 ? ssimSum / n : csSum / n) ** MSSSIM_WEIGHTS[s];
    const down = (p: typeof pa) => {
      const w = p.w >> 1;
      const h = p.h >> 1;
      const d = new Array<number>(w * h);
      for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) d[y * w + x] = (p.d[2 * y * p.w + 2 * x] + p.d[2 * y * p.w + 2 * x + 1] + p.d[(2 * y + 1) * p.w + 2 * x] + p.d[(2 * y + 1) * p.w + 2 * x + 1]) / 4;
      return { w, h, d };
    };
    pa = down(pa);
    pb = down(pb);
  }
  return out;
}

describe('psnr', () => {
  const img = picture(64, 48);

  it('is the identical-image value for equal images', () => {
    expect(psnr(img, img)).toBe(PSNR_IDENTICAL);
  });

  it('is 20 log10(255) for an error of 1 on every sample', () => {
    const off = { ...img, data: img.data.map((v) => (v < 255 ? v + 1 : v - 1)) };
    expect(psnr(img, off)).toBeCloseTo(20 * Math.log10(255), 10);
  });

  it('compares only the colour channels of RGBA', () => {
    const rgba = picture(64, 48, 4);
    const other = { ...rgba, data: rgba.data.map((v, i) => (i % 4 === 3 ? 0 : v)) };
    expect(psnr(rgba, other)).toBe(PSNR_IDENTICAL);
  });

  it('rejects images of different sizes', () => {
    expect(() => psnr(img, picture(48, 64))).toThrow(RangeError);
  });
});

describe('msssim', () => {
  const img = picture(MSSSIM_MIN_SIDE + 16, MSSSIM_MIN_SIDE);

  it('uses a normalised 11-tap Gaussian of sigma 1.5', () => {
    const g = gaussianWindow();
    expect(g.length).toBe(11);
    expect(g.reduce((s, v) => s + v, 0)).toBeCloseTo(1, 12);
    expect(g[5]).toBeCloseTo(0.266011, 5);
    expect(g[0]).toBeCloseTo(g[10], 15);
  });

  it('is 1 for identical images', () => {
    expect(msssim(img, img)).toBeCloseTo(1, 12);
  });

  it('is below 1 for a noisy copy, lower for more noise, and symmetric', () => {
    const a = msssim(img, noisy(img, 8, 1));
    const b = msssim(img, noisy(img, 30, 2));
    expect(a).toBeLessThan(1);
    expect(b).toBeLessThan(a);
    expect(b).toBeGreaterThan(0);
    expect(msssim(noisy(img, 8, 1), img)).toBeCloseTo(a, 12);
  });

  it('matches a direct 2-D computation, channel by channel', () => {
    const other = noisy(img, 20, 3);
    const direct = [0, 1, 2].map((c) => msssimDirect(img, other, c));
    expect(msssim(img, other)).toBeCloseTo((direct[0] + direct[1] + direct[2]) / 3, 10);
  });

  it('refuses images smaller than the five scales need', () => {
    const small = picture(MSSSIM_MIN_SIDE - 1, MSSSIM_MIN_SIDE);
    expect(() => msssim(small, small)).toThrow(/MS-SSIM needs/);
  });
});

describe('bdRate', () => {
  const curve: RdPoint[] = [
    { bpp: 0.12, psnr: 26.8 },
    { bpp: 0.25, psnr: 29.4 },
    { bpp: 0.45, psnr: 31.9 },
    { bpp: 0.8, psnr: 34.6 },
    { bpp: 1.3, psnr: 37.2 },
    { bpp: 2.1, psnr: 39.9 },
  ];

  for (const method of ['pchip', 'cubic'] as const) {
    it(`${method}: a curve against itself is 0`, () => {
      const r = bdRate(curve, curve, { method, min: 26, max: 40 });
      expect(r.percent).toBeCloseTo(0, 10);
    });

    it(`${method}: rates scaled by 0.8 give -20%`, () => {
      const r = bdRate(curve, curve.map((p) => ({ ...p, bpp: p.bpp * 0.8 })), { method, min: 26, max: 40 });
      expect(r.percent).toBeCloseTo(-20, 8);
      expect(bdRate(curve.map((p) => ({ ...p, bpp: p.bpp * 0.8 })), curve, { method }).percent).toBeCloseTo(25, 8);
    });

    it(`${method}: matches the closed form for log-linear curves over the clipped overlap`, () => {
      const anchor = [26, 28, 30, 32, 34, 36, 38, 40, 42].map((p) => ({ psnr: p, bpp: Math.exp(-9 + 0.25 * p) }));
      const test = [27, 30, 33, 36, 39].map((p) => ({ psnr: p, bpp: Math.exp(-8.5 + 0.22 * p) }));
      const r = bdRate(anchor, test, { method, min: 26, max: 40 });
      if (r.percent === null) throw new Error(r.reason);
      expect(r.range).toEqual([27, 39]);
      // mean of (0.5 - 0.03 p) over [27, 39] = 0.5 - 0.03 * 33
      expect(r.percent).toBeCloseTo((Math.exp(0.5 - 0.03 * 33) - 1) * 100, 8);
    });
  }

  it('takes the points in any order', () => {
    const shuffled = [curve[3], curve[0], curve[5], curve[1], curve[4], curve[2]];
    const test = curve.map((p) => ({ bpp: p.bpp * 0.9, psnr: p.psnr + 0.3 }));
    expect(bdRate(shuffled, test).percent).toBeCloseTo(bdRate(curve, test).percent!, 12);
  });

  it('warns when a curve spends more bits for a lower PSNR', () => {
    const bent = curve.map((p, i) => (i === 3 ? { ...p, bpp: 0.3 } : p));
    const r = bdRate(curve, bent);
    expect(r.percent === null ? undefined : r.warning).toMatch(/test curve/);
    const plain = bdRate(curve, curve);
    expect(plain.percent !== null && plain.warning).toBeFalsy();
  });

  it('reports no overlap instead of extrapolating', () => {
    const high = curve.map((p) => ({ ...p, psnr: p.psnr + 20 }));
    const r = bdRate(curve, high, { min: 26, max: 40 });
    expect(r.percent).toBeNull();
    if (r.percent === null) expect(r.reason).toMatch(/no overlap/);
  });

  const anchors = join(import.meta.dirname, '..', '..', 'shared', 'anchors');
  it.skipIf(!existsSync(join(anchors, 'sharp-kodak.json')))('agrees with the BD-rates listed in the shared anchors README', () => {
    const sharp = loadSharpAnchors(anchors);
    const mbt = loadCompressai(anchors, 'compressai-mbt2018-mean_mse_cpu.json', 'mbt')!;
    const hyper = loadCompressai(anchors, 'compressai-bmshj2018-hyperprior_mse_cpu.json', 'hyper')!;
    const opts = { min: 26, max: 40 };
    // README: mbt2018-mean vs sharp WebP -32 %, bmshj2018-hyperprior vs sharp WebP -27 %, mbt2018-mean vs sharp AVIF -1 %
    const within = (r: { percent: number | null }, target: number) => expect(Math.abs(r.percent! - target)).toBeLessThan(1.5);
    within(bdRate(sharp.webp!.points, mbt.points, opts), -32);
    within(bdRate(sharp.webp!.points, hyper.points, opts), -27);
    within(bdRate(sharp.avif!.points, mbt.points, opts), -1);
  });
});
