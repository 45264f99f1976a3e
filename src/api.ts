/**
 * The promise API: encode(), decode(), and the codec cache behind them. The CLI and the
 * Node streams call these same functions.
 */
import { readContainer } from './bitstream/container.js';
import { UnitType } from './bitstream/units.js';
import { ProgressiveCoder, readProgressive, truncateProgressive, type ProgressiveResume } from './codec/progressive.js';
import type { Limits } from './bitstream/limits.js';
import { LearnedImageCodec, cropFrame } from './codec/image.js';
import { InputError, InvalidOptionError, ModelMismatchError, invalidOption, throwIfAborted } from './errors.js';
import type { Frame } from './image/frame.js';
import { encodeImage, readImage, toOutputFormat, type ImageInput, type OutputFormat } from './image/io.js';

/** The codec used when none is named. */
export const DEFAULT_CODEC = 'nc-small';
/** The codec used for progressive files when none is named: it ships the trit-plane heads. */
export const DEFAULT_PROGRESSIVE_CODEC = 'nc-prog';

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
  /** Tile side for large images (a multiple of the codec's padding factor, 64); default: whole image up to 2.6 megapixels, else 1280. */
  tileSize?: number;
  /** Cancels the work; the promise rejects with AbortError. */
  signal?: AbortSignal;
  /** Largest image accepted, in pixels; default 0x3FFF * 0x3FFF. */
  maxPixels?: number;
  /**
   * Write a trit-plane progressive file (default codec nc-prog, default quality 100): any
   * prefix of it decodes. A byte or bpp target then cuts the file to the target exactly.
   */
  progressive?: boolean;
  /** Progressive only: code with the CRR context head (default true). */
  crr?: boolean;
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
  /**
   * For rate control: whether the result is within 3% of the target. When false, the file
   * is the one closest to the target among the qualities tried.
   */
  targetMet?: boolean;
  /** Things the caller should know: 16-bit input reduced, animation frames dropped. */
  warnings: string[];
}

export interface DecodeOptions {
  /** Codec to decode with (id or folder); default: the one named in the file. */
  codec?: string;
  /** Threads per network run; default: onnxruntime's choice. Never changes the result. */
  threads?: number;
  /** Cancels the work; the promise rejects with AbortError. */
  signal?: AbortSignal;
  /** Tighter limits for sizes read from the file. */
  limits?: Partial<Limits>;
  /** Progressive files: decode only the first `bytes` bytes. */
  bytes?: number;
  /** Progressive files: decode at most this many trit-planes. */
  planes?: number;
  /** Progressive files: refine the reconstruction with the CDR context head (default true). */
  cdr?: boolean;
  /**
   * Progressive files: pass the same object (start with `{}`) to decodes of growing
   * prefixes of one file, and each continues from where the last one got to.
   */
  resume?: ProgressiveResume;
}

/** Decoded pixels, interleaved 8-bit: 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA. */
export interface DecodedImage extends Frame {
  /** The quality the file was coded at. */
  quality: number;
  /** For a progressive file: how much of it was decoded. */
  progressive?: ProgressiveStatus;
}

/** How much of a progressive file a decode used. */
export interface ProgressiveStatus {
  /** Bytes of the file decoded. */
  bytes: number;
  /** Trit-planes decoded completely, and in the whole file. */
  planes: number;
  totalPlanes: number;
  /** Fraction of the file's trits decoded. */
  fraction: number;
  /** Whether the whole file was decoded. */
  complete: boolean;
}

const cache = new Map<string, Promise<LearnedImageCodec>>();

/**
 * A loaded codec, shared between calls with the same id and thread count.
 * @example
 * const codec = await getCodec('nc-small');
 * console.log(codec.id);
 * @throws InvalidOptionError for an unknown codec; ModelMismatchError when its files do not
 *   match its manifest.
 */
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

/**
 * Releases every loaded codec (ONNX sessions). Later calls load them again. Call it before
 * exiting a long-lived process, or to free memory; never throws.
 * @example
 * await encode('a.png');
 * await closeCodecs();
 */
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

function checkBoolean(name: string, value: unknown): void {
  if (value !== undefined && typeof value !== 'boolean') throw invalidOption('boolean', name, value);
}

function checkCommon(o: { codec?: unknown; threads?: unknown; signal?: unknown }): void {
  checkNumber('threads', o.threads, 0, 256, true);
  if (o.codec !== undefined && (typeof o.codec !== 'string' || o.codec.length === 0)) throw invalidOption('codec id or folder', 'codec', o.codec);
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) throw invalidOption('AbortSignal', 'signal', o.signal);
}

/**
 * Validates encode options with sharp-style messages (the CLI calls it before any work).
 * @example
 * checkEncodeOptions({ quality: 140 });
 * // InvalidOptionError: Expected number between 1 and 100 for quality but received 140 of type number
 * @throws InvalidOptionError for the first bad option.
 */
export function checkEncodeOptions(o: EncodeOptions): void {
  if (o === null || typeof o !== 'object') throw invalidOption('object', 'options', o);
  checkNumber('quality', o.quality, 1, 100);
  checkNumber('targetBpp', o.targetBpp, 0.001, 48);
  checkNumber('targetBytes', o.targetBytes, 1, 2 ** 31, true);
  checkNumber('tileSize', o.tileSize, 1, 65535, true);
  checkNumber('maxPixels', o.maxPixels, 1, 0x3fff * 0x3fff, true);
  checkBoolean('progressive', o.progressive);
  checkBoolean('crr', o.crr);
  if (o.crr !== undefined && o.progressive !== true) throw new InvalidOptionError('Expected crr only with progressive: true');
  if (o.targetBpp !== undefined && o.targetBytes !== undefined) {
    throw new InvalidOptionError('Expected at most one of targetBpp and targetBytes but received both');
  }
  checkCommon(o);
}

/**
 * Validates decode options with sharp-style messages.
 * @example
 * checkDecodeOptions({ threads: 2 });
 * @throws InvalidOptionError for the first bad option.
 */
export function checkDecodeOptions(o: DecodeOptions): void {
  if (o === null || typeof o !== 'object') throw invalidOption('object', 'options', o);
  checkCommon(o);
  checkNumber('bytes', o.bytes, 1, 2 ** 53, true);
  checkNumber('planes', o.planes, 0, 255, true);
  checkBoolean('cdr', o.cdr);
  if (o.resume !== undefined && (o.resume === null || typeof o.resume !== 'object')) throw invalidOption('object', 'resume', o.resume);
  if (o.limits !== undefined && (o.limits === null || typeof o.limits !== 'object')) throw invalidOption('object', 'limits', o.limits);
}

/**
 * Encodes an image and reports what was done: size, rate, the quality used and warnings
 * (16-bit input reduced, animation frames dropped). With `targetBytes` or `targetBpp` the
 * quality is searched for (bisection over the analysed latent, so g_a runs once).
 *
 * @example
 * const { bytes, bpp, warnings } = await encodeWithInfo('photo.png', { quality: 60 });
 * const sized = await encodeWithInfo(pngBuffer, { targetBytes: 20_000 });
 * if (!sized.targetMet) console.warn(`closest: ${sized.bytes.length} bytes`);
 * @throws InvalidOptionError for bad options or an unknown codec; InputError for an
 *   unreadable image; LimitExceededError when the image has more than `maxPixels` pixels;
 *   ModelMismatchError when the codec's files do not match its manifest; AbortError when
 *   `signal` fires.
 */
export async function encodeWithInfo(input: ImageInput, options: EncodeOptions = {}): Promise<EncodeResult> {
  checkEncodeOptions(options);
  throwIfAborted(options.signal);
  const { frame, warnings } = await readImage(input, { signal: options.signal, maxPixels: options.maxPixels });
  const pixels = frame.width * frame.height;
  const target = options.targetBytes ?? (options.targetBpp !== undefined ? (options.targetBpp * pixels) / 8 : undefined);
  if (options.progressive) {
    const codec = await getCodec(options.codec ?? DEFAULT_PROGRESSIVE_CODEC, options.threads);
    const quality = options.quality ?? 100;
    let bytes = await new ProgressiveCoder(codec).encode(frame, { quality, tileSize: options.tileSize, crr: options.crr, signal: options.signal });
    let targetMet: boolean | undefined;
    if (target !== undefined) {
      // a progressive file reaches any size below its own by cutting it
      if (bytes.length > target) bytes = truncateProgressive(bytes, Math.floor(target));
      targetMet = Math.abs(bytes.length - target) <= 0.03 * target;
    }
    return { bytes, width: frame.width, height: frame.height, channels: frame.channels, quality, bpp: (bytes.length * 8) / pixels, targetMet, warnings };
  }
  const codec = await getCodec(options.codec ?? DEFAULT_CODEC, options.threads);
  const plan = codec.plan(frame, options);
  const ys = [];
  for (const t of plan.tiles) {
    throwIfAborted(options.signal);
    ys.push(await codec.analyse(cropFrame(frame, t), options.signal));
  }
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
 * Encodes an image (a path, the bytes of any image file sharp reads, or raw pixels) and
 * resolves to the file's bytes. See {@link encodeWithInfo} for the options and the report.
 *
 * @example
 * const bytes = await encode('photo.png', { quality: 60 });
 * const raw = await encode({ data: rgba, width: 64, height: 64, channels: 4 });
 * @throws InvalidOptionError, InputError, LimitExceededError, ModelMismatchError, AbortError
 *   (as {@link encodeWithInfo}).
 */
export async function encode(input: ImageInput, options: EncodeOptions = {}): Promise<Uint8Array> {
  return (await encodeWithInfo(input, options)).bytes;
}

/**
 * Decodes a file to 8-bit interleaved pixels of the original size and channel count (grey
 * stays grey, alpha is restored exactly).
 *
 * @example
 * const { data, width, height, channels, quality } = await decode(await readFile('photo.ncdc'));
 * @throws InvalidOptionError for bad options or an unknown codec; BitstreamError for a
 *   corrupt or truncated file; LimitExceededError when a size in the file breaks a limit;
 *   ModelMismatchError when the file needs another codec or other weights, or names a
 *   codec that is not installed (and `codec` is not given); AbortError when
 *   `signal` fires.
 */
export async function decode(bytes: Uint8Array, options: DecodeOptions = {}): Promise<DecodedImage> {
  if (!(bytes instanceof Uint8Array)) throw invalidOption('Uint8Array', 'bytes', bytes);
  checkDecodeOptions(options);
  throwIfAborted(options.signal);
  let codec: LearnedImageCodec;
  // a progressive file decodes from any prefix, so read what is there without demanding the end
  const container = readContainer(bytes, options.limits, { allowTruncation: true });
  const progressive = container.units.some((u) => u.type === UnitType.PROGRESSIVE_INFO);
  if (!progressive && (options.bytes !== undefined || options.planes !== undefined)) {
    throw new InputError('the bytes and planes options need a progressive file (encode with progressive: true); this one is not');
  }
  if (options.codec !== undefined) {
    codec = await getCodec(options.codec, options.threads);
  } else {
    // The file names its codec: one that is not installed is a property of the input.
    const id = container.codecId;
    try {
      codec = await getCodec(id, options.threads);
    } catch (err) {
      if (!(err instanceof InvalidOptionError)) throw err;
      throw new ModelMismatchError(`the file was written by codec '${id}', which is not installed (pass its folder as the codec option)`);
    }
  }
  if (progressive) {
    const r = await new ProgressiveCoder(codec).decode(bytes, options);
    return {
      ...r.frame,
      quality: readProgressive(bytes, options.limits).params.quality100 / 100,
      progressive: { bytes: r.bytes, planes: r.planes, totalPlanes: r.progressive.planes, fraction: r.fraction, complete: r.complete },
    };
  }
  const { frame, quality } = await codec.decode(bytes, { signal: options.signal, limits: options.limits });
  return { ...frame, quality };
}

/**
 * Cuts a progressive file to at most `bytes` bytes (or `bpp` bits per pixel) and closes
 * it, so the result is a valid file on its own; it decodes to the image the prefix allows.
 * @throws InputError for a file that is not progressive; InvalidOptionError for a bad budget;
 *   BitstreamError when the budget does not hold the image header units.
 */
export function truncate(file: Uint8Array, budget: { bytes?: number; bpp?: number }): Uint8Array {
  if (!(file instanceof Uint8Array)) throw invalidOption('Uint8Array', 'file', file);
  if (budget === null || typeof budget !== 'object') throw invalidOption('object', 'budget', budget);
  checkNumber('bytes', budget.bytes, 1, 2 ** 53, true);
  checkNumber('bpp', budget.bpp, 0.0001, 48);
  if ((budget.bytes === undefined) === (budget.bpp === undefined)) throw new InvalidOptionError('Expected exactly one of bytes and bpp');
  const container = readContainer(file, undefined, { allowTruncation: true });
  if (!container.units.some((u) => u.type === UnitType.PROGRESSIVE_INFO)) {
    throw new InputError('not a progressive file (encode with progressive: true): only progressive files can be cut');
  }
  const { info } = readProgressive(file);
  const max = budget.bytes ?? Math.floor((budget.bpp! * info.width * info.height) / 8);
  return truncateProgressive(file, max);
}

/**
 * Decodes a file straight to image bytes in any format sharp writes (PNG by default; names
 * and aliases as {@link toOutputFormat} takes them).
 * @example
 * const png = await decodeToImage(bytes);
 * await writeFile('photo.webp', await decodeToImage(bytes, 'webp'));
 * @throws InvalidOptionError for an unknown or unwritable format; OutputError when sharp
 *   fails to write it; otherwise as {@link decode}.
 */
export async function decodeToImage(bytes: Uint8Array, format: OutputFormat | (string & {}) = 'png', options: DecodeOptions = {}): Promise<Buffer> {
  const fmt = toOutputFormat(format);
  const img = await decode(bytes, options);
  return encodeImage(img, fmt);
}
