/**
 * The promise API: encode(), decode(), and the codec cache behind them. The CLI and the
 * Node streams call these same functions.
 */
import { readContainer } from './bitstream/container.js';
import type { Limits } from './bitstream/limits.js';
import { LearnedImageCodec, cropFrame } from './codec/image.js';
import { AbortError, InvalidOptionError, invalidOption } from './errors.js';
import type { Frame } from './image/frame.js';
import { encodeImage, readImage, type ImageInput, type OutputFormat } from './image/io.js';

/** The codec used when none is named. */
export const DEFAULT_CODEC = 'nc-small';

export interface EncodeOptions {
  /** 1..100, continuous; default 75. Ignored when targetBpp or targetBytes is given. */
  quality?: number;
  /** Rate control: bits per pixel to aim for (the quality is searched for). */
  targetBpp?: number;
  /** Rate control: file size in bytes to aim for. */
  targetBytes?: number;
  /** Codec id (a folder of `codecs/`) or a path to a codec folder. Default `nc-small`. */
  codec?: string;
  /** Threads per network run (onnxruntime intra-op threads); default: onnxruntime's choice. */
  threads?: number;
  /** Tile side for large images (a multiple of 64); default 2048. */
  tileSize?: number;
  /** Cancels the work; the promise rejects with AbortError. */
  signal?: AbortSignal;
  /** Largest image accepted, in pixels; default 0x3FFF * 0x3FFF. */
  maxPixels?: number;
}

export interface EncodeResult {
  bytes: Uint8Array;
  width: number;
  height: number;
  channels: number;
  /** The quality the file was coded at (the searched one under rate control). */
  quality: number;
  /** Bits per pixel of the whole file. */
  bpp: number;
  /** For rate control: whether the result is within 3% of the target. */
  targetMet?: boolean;
  /** Things the caller should know: 16-bit input reduced, animation frames dropped. */
  warnings: string[];
}

export interface DecodeOptions {
  /** Codec to decode with; default: the one named in the file. */
  codec?: string;
  threads?: number;
  signal?: AbortSignal;
  /** Tighter limits for sizes read from the file. */
  limits?: Partial<Limits>;
}

/** Decoded pixels, interleaved 8-bit: 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA. */
export interface DecodedImage extends Frame {
  /** The quality the file was coded at. */
  quality: number;
}

const cache = new Map<string, Promise<LearnedImageCodec>>();

/** A loaded codec, shared between calls with the same id and thread count. */
export function getCodec(id: string, threads?: number): Promise<LearnedImageCodec> {
  const key = `${id}\0${threads ?? 0}`;
  let p = cache.get(key);
  if (!p) {
    p = LearnedImageCodec.load(id, { threads });
    p.catch(() => cache.delete(key));
    cache.set(key, p);
  }
  return p;
}

/** Releases every loaded codec (ONNX sessions). Later calls load them again. */
export async function closeCodecs(): Promise<void> {
  const all = [...cache.values()];
  cache.clear();
  await Promise.all(all.map((p) => p.then((c) => c.dispose()).catch(() => undefined)));
}

function checkNumber(name: string, value: unknown, min: number, max: number, integer = false): void {
  if (value === undefined) return;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max || (integer && !Number.isInteger(value))) {
    throw invalidOption(`${integer ? 'integer' : 'number'} between ${min} and ${max}`, name, value);
  }
}

/** Validates encode options with sharp-style messages. */
export function checkEncodeOptions(o: EncodeOptions): void {
  if (o === null || typeof o !== 'object') throw invalidOption('object', 'options', o);
  checkNumber('quality', o.quality, 1, 100);
  checkNumber('targetBpp', o.targetBpp, 0.001, 48);
  checkNumber('targetBytes', o.targetBytes, 1, 2 ** 31, true);
  checkNumber('threads', o.threads, 0, 256, true);
  checkNumber('maxPixels', o.maxPixels, 1, 0x3fff * 0x3fff, true);
  if (o.targetBpp !== undefined && o.targetBytes !== undefined) {
    throw new InvalidOptionError('Expected at most one of targetBpp and targetBytes but received both');
  }
  if (o.codec !== undefined && (typeof o.codec !== 'string' || o.codec.length === 0)) throw invalidOption('codec id or folder', 'codec', o.codec);
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) throw invalidOption('AbortSignal', 'signal', o.signal);
}

/**
 * Encodes an image and reports what was done.
 *
 * @example
 * const { bytes, bpp } = await encodeWithInfo('photo.png', { quality: 60 });
 * @throws InvalidOptionError for bad options; InputError for unreadable images;
 *   AbortError when `signal` fires.
 */
export async function encodeWithInfo(input: ImageInput, options: EncodeOptions = {}): Promise<EncodeResult> {
  checkEncodeOptions(options);
  const { frame, warnings } = await readImage(input, { signal: options.signal, maxPixels: options.maxPixels });
  const codec = await getCodec(options.codec ?? DEFAULT_CODEC, options.threads);
  const plan = codec.plan(frame, options);
  const ys = [];
  for (const t of plan.tiles) {
    if (options.signal?.aborted) throw new AbortError(undefined, { cause: options.signal.reason });
    ys.push(await codec.analyse(cropFrame(frame, t), options.signal));
  }
  const pixels = frame.width * frame.height;
  const target = options.targetBytes ?? (options.targetBpp !== undefined ? (options.targetBpp * pixels) / 8 : undefined);
  const result = (bytes: Uint8Array, quality100: number, targetMet?: boolean): EncodeResult => ({
    bytes,
    width: frame.width,
    height: frame.height,
    channels: frame.channels,
    quality: quality100 / 100,
    bpp: (bytes.length * 8) / pixels,
    targetMet,
    warnings,
  });
  if (target === undefined) {
    const q100 = Math.round((options.quality ?? 75) * 100);
    return result(await codec.assemble(frame, plan, ys, q100, options.signal), q100);
  }
  // Rate control: size grows with quality, so bisect the quality (in 1/100 steps) for the
  // largest file not above the target; keep the closest file seen either side.
  let lo = 100;
  let hi = 10000;
  let best: { bytes: Uint8Array; q: number } | undefined;
  const consider = (bytes: Uint8Array, q: number) => {
    if (!best || Math.abs(bytes.length - target) < Math.abs(best.bytes.length - target)) best = { bytes, q };
  };
  for (let iter = 0; iter < 16 && lo <= hi; iter++) {
    const mid = (lo + hi) >> 1;
    const bytes = await codec.assemble(frame, plan, ys, mid, options.signal);
    consider(bytes, mid);
    if (Math.abs(bytes.length - target) <= 0.03 * target) break;
    if (bytes.length > target) hi = mid - 1;
    else lo = mid + 1;
  }
  return result(best!.bytes, best!.q, Math.abs(best!.bytes.length - target) <= 0.03 * target);
}

/**
 * Encodes an image (a path, the bytes of any image file sharp reads, or raw pixels).
 *
 * @example
 * const bytes = await encode('photo.png', { quality: 60 });
 * @throws InvalidOptionError, InputError, AbortError
 */
export async function encode(input: ImageInput, options: EncodeOptions = {}): Promise<Uint8Array> {
  return (await encodeWithInfo(input, options)).bytes;
}

/**
 * Decodes a file to pixels.
 *
 * @example
 * const { data, width, height, channels } = await decode(bytes);
 * @throws BitstreamError / LimitExceededError for corrupt, truncated or oversized input;
 *   ModelMismatchError when the file needs other weights; AbortError.
 */
export async function decode(bytes: Uint8Array, options: DecodeOptions = {}): Promise<DecodedImage> {
  if (!(bytes instanceof Uint8Array)) throw invalidOption('Uint8Array', 'bytes', bytes);
  checkNumber('threads', options.threads, 0, 256, true);
  const id = options.codec ?? readContainer(bytes, options.limits).codecId;
  const codec = await getCodec(id, options.threads);
  const { frame, quality } = await codec.decode(bytes, { signal: options.signal, limits: options.limits });
  return { ...frame, quality };
}

/**
 * Decodes a file straight to image bytes in any format sharp writes (PNG by default).
 * @example
 * const png = await decodeToImage(bytes, 'png');
 */
export async function decodeToImage(bytes: Uint8Array, format: OutputFormat = 'png', options: DecodeOptions = {}): Promise<Buffer> {
  const img = await decode(bytes, options);
  return encodeImage(img, format);
}
