import { randomBytes } from 'node:crypto';
import { open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import { createRequire } from 'node:module';
import type { FormatEnum } from 'sharp';
import type SharpFactory from 'sharp';
import { MAX_PIXELS } from '../bitstream/limits.js';
import { AbortError, InputError, LimitExceededError, OutputError, fsReason, invalidOption } from '../errors.js';
import type { Frame } from './frame.js';
import { encodePng } from './png.js';

const requireCjs = createRequire(import.meta.url);
let sharpModule: typeof SharpFactory | undefined;

/** sharp (libvips), loaded on first use: it costs about 75 ms, and a decode to PNG never needs it. */
function sharp(): typeof SharpFactory {
  return (sharpModule ??= requireCjs('sharp') as typeof SharpFactory);
}

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

/** @throws LimitExceededError (`maxPixels`) for an image above the pixel budget. */
function checkPixels(width: number, height: number, maxPixels = MAX_PIXELS): void {
  if (width * height > maxPixels) throw new LimitExceededError('maxPixels', width * height, maxPixels);
}

const isRaw = (x: unknown): x is RawImage =>
  typeof x === 'object' && x !== null && !(x instanceof Uint8Array) && 'data' in x && 'width' in x;

/**
 * Reads an image into 8-bit interleaved pixels: EXIF orientation applied, 16-bit samples
 * reduced to 8 (with a warning), the first frame of an animation (with a warning), grey
 * kept as grey (1 channel, 2 with alpha) and alpha kept. These are the pixels the encoder
 * codes, so they are the reference to compare a decoded image with.
 * @example
 * const { frame, warnings } = await readImage('photo.jpg');
 * console.log(frame.width, frame.height, frame.channels, warnings);
 * @throws InputError when the image cannot be read; InvalidOptionError for malformed raw
 *   input; LimitExceededError (`maxPixels`) for an image above the pixel limit.
 */
export async function readImage(input: ImageInput, options: { signal?: AbortSignal; maxPixels?: number } = {}): Promise<ReadResult> {
  const warnings: string[] = [];
  if (options.signal?.aborted) throw new AbortError(undefined, { cause: options.signal.reason });
  if (isRaw(input)) {
    const { data, width, height, channels } = input;
    for (const [name, v, max] of [['width', width, 0x3fff * 4], ['height', height, 0x3fff * 4], ['channels', channels, 4]] as const) {
      if (!Number.isInteger(v) || v < 1 || v > max) throw invalidOption(`integer between 1 and ${max}`, `raw ${name}`, v);
    }
    checkPixels(width, height, options.maxPixels);
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
    // The header is read without sharp's own pixel limit, so that a large image is reported
    // as the typed LimitExceededError; the decoding pipeline keeps the limit as well.
    const meta = await sharp()(source, { limitInputPixels: false, failOn: 'error', pages: 1 }).metadata();
    if (meta.width !== undefined && meta.height !== undefined) checkPixels(meta.width, meta.height, options.maxPixels);
    const img = sharp()(source, { limitInputPixels: options.maxPixels ?? MAX_PIXELS, failOn: 'error', pages: 1 });
    const bitDepth = meta.depth === 'ushort' || meta.depth === 'short' ? 16 : 8;
    if (bitDepth === 16) warnings.push('16-bit input reduced to 8 bits per sample');
    if (meta.pages && meta.pages > 1) warnings.push(`animated input: only the first of ${meta.pages} frames is coded`);
    // CMYK, Lab and other spaces come to sRGB. Grey comes out as three equal bands (sharp's
    // 'b-w' output would drop the alpha band), and is narrowed back to grey (+ alpha) below.
    const grey = meta.space === 'b-w' || meta.space === 'grey16' || meta.channels === 1 || (meta.channels === 2 && meta.hasAlpha);
    const { data, info } = await img.rotate().toColourspace('srgb').raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
    if (options.signal?.aborted) throw new AbortError(undefined, { cause: options.signal.reason });
    const frame: Frame = {
      data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
      width: info.width,
      height: info.height,
      channels: info.channels as Frame['channels'],
    };
    return { frame: grey && frame.channels >= 3 ? toGrey(frame) : frame, bitDepth, warnings };
  } catch (err) {
    if (err instanceof AbortError || err instanceof LimitExceededError) throw err;
    const what = typeof input === 'string' ? input : `${input.byteLength}-byte buffer`;
    const msg = (err as Error).message?.split('\n')[0] ?? String(err);
    throw new InputError(`Cannot read image ${what}: ${msg}`, { cause: err });
  }
}

/** Keeps the first band of an RGB(A) frame whose bands are equal, and its alpha. */
function toGrey(frame: Frame): Frame {
  const { width, height, channels: c } = frame;
  const alpha = c === 4;
  const g = alpha ? 2 : 1;
  const n = width * height;
  const out = new Uint8Array(n * g);
  for (let i = 0; i < n; i++) {
    out[i * g] = frame.data[i * c];
    if (alpha) out[i * g + 1] = frame.data[i * c + 3];
  }
  return { data: out, width, height, channels: g };
}

/** Format names and file extensions (without the dot) to sharp's output format. */
const FORMAT_NAMES: Readonly<Record<string, OutputFormat>> = {
  png: 'png',
  jpg: 'jpeg',
  jpeg: 'jpeg',
  jpe: 'jpeg',
  webp: 'webp',
  avif: 'avif',
  tif: 'tiff',
  tiff: 'tiff',
  gif: 'gif',
  heif: 'heif',
  heic: 'heif',
  jp2: 'jp2',
  jxl: 'jxl',
};

/** Whether the installed sharp (libvips) can write `format` to a buffer. */
function canWrite(format: OutputFormat): boolean {
  if (format === 'png') return true; // written by encodePng
  const info = (sharp().format as unknown as Record<string, { output?: { buffer?: boolean } } | undefined>)[format === 'avif' ? 'heif' : format];
  return info?.output?.buffer === true;
}

/**
 * The image formats {@link encodeImage} can write with the installed sharp, by name
 * (`png`, `jpeg`, `webp`, `avif`, `tiff`, `gif`, `heif`, and `jp2` / `jxl` where libvips has them).
 * @example
 * console.log(outputFormats().join(', '));
 */
export function outputFormats(): OutputFormat[] {
  return [...new Set(Object.values(FORMAT_NAMES))].filter(canWrite);
}

/**
 * Resolves a format name or alias (`jpg`, `tif`, case-insensitive) to an output format.
 * @example
 * toOutputFormat('JPG'); // 'jpeg'
 * @throws InvalidOptionError when the name is unknown or the installed sharp cannot write it.
 */
export function toOutputFormat(name: unknown, option = 'format'): OutputFormat {
  const format = typeof name === 'string' ? FORMAT_NAMES[name.toLowerCase()] : undefined;
  if (format === undefined || !canWrite(format)) {
    throw invalidOption(`one of ${outputFormats().join(', ')}`, option, name);
  }
  return format;
}

/**
 * The output format for a file name: its extension's format, PNG when the extension is not
 * an image format. The result may be a format the installed sharp cannot write (`.jxl`);
 * pass it through {@link toOutputFormat} to check.
 * @example
 * formatForPath('out/photo.JPG'); // 'jpeg'
 */
export function formatForPath(path: string): OutputFormat {
  return FORMAT_NAMES[extname(path).slice(1).toLowerCase()] ?? 'png';
}

/**
 * Encodes pixels to an image file's bytes: PNG by default (by {@link encodePng}, Paeth-filtered,
 * zlib level 6, unless `options` are given for sharp), or any format sharp writes, with
 * sharp's defaults except TIFF, which is deflate-compressed so that it stays lossless and
 * keeps alpha. Grey frames (1 or 2 channels) are written as grey images where the format
 * allows it.
 * @example
 * const png = await encodeImage({ data, width: 2, height: 1, channels: 1 });
 * @throws OutputError when sharp cannot write the format.
 */
export async function encodeImage(frame: Frame, format: OutputFormat = 'png', options: Record<string, unknown> = {}): Promise<Buffer> {
  try {
    if (format === 'png' && Object.keys(options).length === 0) return await encodePng(frame);
    let pipeline = sharp()(frame.data, { raw: { width: frame.width, height: frame.height, channels: frame.channels } });
    // Without this sharp writes grey pixels as RGB(A).
    if (frame.channels <= 2) pipeline = pipeline.toColourspace('b-w');
    // sharp's TIFF default is JPEG compression, which would drop alpha: stay lossless.
    const defaults = format === 'tiff' ? { compression: 'deflate', predictor: 'horizontal' } : {};
    return await pipeline.toFormat(format, { ...defaults, ...options }).toBuffer();
  } catch (err) {
    throw new OutputError(`Cannot write ${format}: ${oneLine(err)}`, { cause: err });
  }
}

const oneLine = (err: unknown): string => (err instanceof Error ? err.message : String(err)).split('\n')[0];

/**
 * Writes bytes to `path` atomically: into a temporary file beside it, then renamed over it,
 * so a failure never leaves a partial file (nor the temporary one). When `signal` fires
 * before the rename, nothing is written.
 * @example
 * await writeFileAtomic('out/photo.ncdc', bytes);
 * @throws OutputError when the file cannot be written; AbortError when `signal` fired.
 */
export async function writeFileAtomic(path: string, bytes: Uint8Array, options: { signal?: AbortSignal } = {}): Promise<void> {
  const { signal } = options;
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  let fh: FileHandle | undefined;
  let created = false;
  try {
    if (signal?.aborted) throw new AbortError(undefined, { cause: signal.reason });
    fh = await open(tmp, 'wx');
    created = true;
    await fh.writeFile(bytes);
    await fh.sync();
    await fh.close();
    fh = undefined;
    if (signal?.aborted) throw new AbortError(undefined, { cause: signal.reason });
    await rename(tmp, path);
    created = false;
  } catch (err) {
    await fh?.close().catch(() => undefined);
    if (created) await unlink(tmp).catch(() => undefined);
    if (err instanceof AbortError) throw err;
    throw new OutputError(`cannot write '${path}': ${fsReason(err)}`, { cause: err });
  }
}
