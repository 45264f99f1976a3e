/**
 * The classical codecs measured beside ours, all through sharp: each encodes raw 8-bit RGB
 * to a file's bytes and decodes those bytes back to raw RGB.
 */
import sharp, { type Sharp } from 'sharp';
import type { Pixels } from './metrics.js';

export interface ClassicalCodec {
  id: 'jpeg' | 'webp' | 'avif';
  label: string;
  /** The sharp options apart from quality, recorded in the results. */
  options: Record<string, unknown>;
  /** Enough settings to span 26-40 dB on Kodak. */
  qualities: number[];
  /** A few of them for --quick runs. */
  quickQualities: number[];
  encode(img: Pixels, quality: number): Promise<Buffer>;
}

function input(img: Pixels): Sharp {
  return sharp(img.data, { raw: { width: img.width, height: img.height, channels: img.channels as 1 | 2 | 3 | 4 } });
}

const JPEG_OPTIONS = { mozjpeg: true } as const;
const WEBP_OPTIONS = { effort: 6 } as const;
/**
 * Effort 6, as in the shared anchors: sharp's default (4) runs about 2.5x faster here but
 * costs AVIF about 13% BD-rate on Kodak (0.1-0.3 dB at the same size), which would flatter us.
 */
const AVIF_OPTIONS = { effort: 6, chromaSubsampling: '4:4:4' } as const;

export const CLASSICAL: readonly ClassicalCodec[] = [
  {
    id: 'jpeg',
    label: 'JPEG (mozjpeg, 4:2:0)',
    options: { ...JPEG_OPTIONS, chromaSubsampling: '4:2:0 (default)' },
    qualities: [10, 20, 30, 40, 50, 60, 70, 80, 90, 95, 97],
    quickQualities: [10, 40, 80, 95],
    encode: (img, quality) => input(img).jpeg({ quality, ...JPEG_OPTIONS }).toBuffer(),
  },
  {
    id: 'webp',
    label: 'WebP',
    options: { ...WEBP_OPTIONS },
    qualities: [1, 5, 15, 30, 45, 60, 75, 85, 95],
    quickQualities: [1, 30, 75, 95],
    encode: (img, quality) => input(img).webp({ quality, ...WEBP_OPTIONS }).toBuffer(),
  },
  {
    id: 'avif',
    label: 'AVIF (4:4:4)',
    options: { ...AVIF_OPTIONS },
    qualities: [8, 20, 35, 50, 65, 75],
    quickQualities: [10, 35, 55, 75],
    encode: (img, quality) => input(img).avif({ quality, ...AVIF_OPTIONS }).toBuffer(),
  },
];

/** Decodes any file sharp reads to interleaved 8-bit sRGB without alpha. */
export async function decodeToRgb(bytes: Uint8Array): Promise<Pixels> {
  const { data, info } = await sharp(bytes).toColourspace('srgb').removeAlpha().raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: info.width, height: info.height, channels: info.channels };
}
