import { randomBytes } from 'node:crypto';
import { open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import sharp, { type FormatEnum } from 'sharp';
import { MAX_PIXELS } from '../bitstream/limits.js';
import { AbortError, InputError, invalidOption } from '../errors.js';
import type { Frame } from './frame.js';

/** A format sharp writes. */
export type OutputFormat = (keyof FormatEnum & string) | 'avif';

/** Raw pixels given by the caller. */
export interface RawImage {
  data: Uint8Array | Uint8ClampedArray | Buffer;
  width: number;
  height: number;
  channels: number;
}

/** An image to encode: a file path, the bytes of any file sharp reads, or raw pixels. */
export type ImageInput = string | Uint8Array | RawImage;

export interface ReadResult {
  frame: Frame;
  /** Bits per sample of the source (8 or 16). */
  bitDepth: number;
  warnings: string[];
}

const isRaw = (x: unknown): x is RawImage =>
  typeof x === 'object' && x !== null && !(x instanceof Uint8Array) && 'data' in x && 'width' in x;

/**
 * Reads an image into 8-bit interleaved pixels: EXIF orientation applied, 16-bit samples
 * reduced to 8 (with a warning), the first frame of an animation, grey kept as grey and
 * alpha kept.
 * @throws InputError when the image cannot be read; InvalidOptionError for malformed raw
 *   input; LimitExceededError-like InputError above the pixel limit.
 */
export async function readImage(input: ImageInput, options: { signal?: AbortSignal; maxPixels?: number } = {}): Promise<ReadResult> {
  const warnings: string[] = [];
  if (options.signal?.aborted) throw new AbortError(undefined, { cause: options.signal.reason });
  if (isRaw(input)) {
    const { data, width, height, channels } = input;
    for (const [name, v, max] of [['width', width, 0x3fff * 4], ['height', height, 0x3fff * 4], ['channels', channels, 4]] as const) {
      if (!Number.isInteger(v) || v < 1 || v > max) throw invalidOption(`integer between 1 and ${max}`, `raw ${name}`, v);
    }
    if (width * height > (options.maxPixels ?? MAX_PIXELS)) {
      throw new InputError(`Image of ${width}x${height} pixels is above the limit of ${options.maxPixels ?? MAX_PIXELS} pixels`);
    }
    if (!(data instanceof Uint8Array || data instanceof Uint8ClampedArray)) throw invalidOption('Uint8Array', 'raw data', data);
    if (data.length !== width * height * channels) {
      throw invalidOption(`${width * height * channels} bytes (width * height * channels)`, 'raw data length', data.length);
    }
    const copy = new Uint8Array(data.buffer, data.byteOffset, data.length).slice();
    return { frame: { data: copy, width, height, channels: channels as Frame['channels'] }, bitDepth: 8, warnings };
  }
  if (typeof input !== 'string' && !(input instanceof Uint8Array)) {
    throw invalidOption('file path, Buffer or { data, width, height, channels }', 'input', input);
  }
  try {
    const source = typeof input === 'string' ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
    const img = sharp(source, { limitInputPixels: options.maxPixels ?? MAX_PIXELS, failOn: 'error', pages: 1 });
    const meta = await img.metadata();
    const bitDepth = meta.depth === 'ushort' || meta.depth === 'short' ? 16 : 8;
    if (bitDepth === 16) warnings.push('16-bit input reduced to 8 bits per sample');
    if (meta.pages && meta.pages > 1) warnings.push(`animated input: only the first of ${meta.pages} frames is coded`);
    let pipeline = img.rotate();
    // CMYK, Lab and other spaces come to sRGB; grey stays grey (b-w)
    const grey = meta.space === 'b-w' || meta.space === 'grey16' || meta.channels === 1 || (meta.channels === 2 && meta.hasAlpha);
    pipeline = grey ? pipeline.toColourspace('b-w') : pipeline.toColourspace('srgb');
    const { data, info } = await pipeline.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
    if (options.signal?.aborted) throw new AbortError(undefined, { cause: options.signal.reason });
    const channels = info.channels as Frame['channels'];
    return {
      frame: { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: info.width, height: info.height, channels },
      bitDepth,
      warnings,
    };
  } catch (err) {
    if (err instanceof AbortError) throw err;
    const what = typeof input === 'string' ? input : `${input.byteLength}-byte buffer`;
    const msg = (err as Error).message?.split('\n')[0] ?? String(err);
    throw new InputError(`Cannot read image ${what}: ${msg}`, { cause: err });
  }
}

const FORMATS: Record<string, OutputFormat> = {
  '.png': 'png',
  '.jpg': 'jpeg',
  '.jpeg': 'jpeg',
  '.webp': 'webp',
  '.avif': 'avif',
  '.tif': 'tiff',
  '.tiff': 'tiff',
  '.gif': 'gif',
  '.heif': 'heif',
  '.jp2': 'jp2',
  '.jxl': 'jxl',
};

/** The output format for a file name (PNG when the extension is not an image format). */
export function formatForPath(path: string): OutputFormat {
  return FORMATS[extname(path).toLowerCase()] ?? 'png';
}

/** Encodes pixels to an image file's bytes (PNG by default, or any format sharp writes). */
export async function encodeImage(frame: Frame, format: OutputFormat = 'png', options: Record<string, unknown> = {}): Promise<Buffer> {
  try {
    return await sharp(frame.data, { raw: { width: frame.width, height: frame.height, channels: frame.channels } })
      .toFormat(format, options)
      .toBuffer();
  } catch (err) {
    throw new InputError(`Cannot write ${format}: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Writes bytes to `path` atomically: into a temporary file beside it, then renamed over it,
 * so a failure never leaves a partial file.
 */
export async function writeFileAtomic(path: string, bytes: Uint8Array): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  let fh;
  try {
    fh = await open(tmp, 'wx');
    await fh.writeFile(bytes);
    await fh.sync();
    await fh.close();
    fh = undefined;
    await rename(tmp, path);
  } catch (err) {
    await fh?.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}
