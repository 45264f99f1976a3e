/**
 * The promise API: encode(), decode(), and the codec cache behind them. The CLI and the
 * Node streams call these same functions.
 */
import { MAGIC, readContainer } from './bitstream/container.js';
import { UnitType } from './bitstream/units.js';
import { ProgressiveCoder, readProgressive, truncateProgressive, type ProgressiveResume } from './codec/progressive.js';
import type { Limits } from './bitstream/limits.js';
import { BsqCodec, type BsqTokens } from './codec/bsq.js';
import { LearnedImageCodec, cropFrame } from './codec/image.js';
import { InputError, InvalidOptionError, ModelMismatchError, invalidOption, throwIfAborted } from './errors.js';
import type { Frame } from './image/frame.js';
import { encodeImage, readImage, toOutputFormat, type ImageInput, type OutputFormat } from './image/io.js';

/** The codec used when none is named. */
export const DEFAULT_CODEC = 'nc-small';
/** The codec used for progressive files when none is named: it ships the trit-plane heads. */
export const DEFAULT_PROGRESSIVE_CODEC = 'nc-prog';
/** The codec used in BSQ mode (and for tokens) when none is named. */
export const DEFAULT_BSQ_CODEC = 'nc-bsq';

/** Latent modes: the hyperprior codec (default), or binary spherical quantization tokens. */
export type EncodeMode = 'hyperprior' | 'bsq';

export interface EncodeOptions {
  /** 1..100, continuous; default 75. Ignored when targetBpp or targetBytes is given. */
  quality?: number;
  /** Rate control: bits per pixel to aim for (the quality is searched for). */
  targetBpp?: number;
  /** Rate control: file size in bytes to aim for. */
  targetBytes?: number;
  /** Codec id (a folder of `codecs/`) or a path to a codec folder. Default `nc-small`. */
  codec?: string;
  /** Threads per network run (onnxruntime intra-op threads); default: the cores, at most 4. */
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
  /**
   * Progressive only: how each trit-plane is split into passes, the CRR head running before
   * each: increasing fractions in (0, 1) of the plane's elements in rank order (e.g. [0.25]),
   * or 'checkerboard' (the format 1 split). Default: what the codec's heads were trained for.
   */
  passes?: 'checkerboard' | number[];
  /**
   * 'bsq': code binary spherical quantization tokens (codec nc-bsq), a mode for very low
   * rates. The rate is set by the number of bit groups kept: `groups`, or from `quality`
   * (1 group at 1, all at 100), or by rate control; by default all groups.
   */
  mode?: EncodeMode;
  /** BSQ mode: bit groups to keep per token, 1..the model's group count. */
  groups?: number;
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
  /** BSQ mode: the bit groups kept per token. */
  groups?: number;
}

export interface DecodeOptions {
  /** Codec to decode with (id or folder); default: the one named in the file. */
  codec?: string;
  /** Threads per network run; default: the cores, at most 4. Never changes the result. */
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
  /** For a BSQ file: the groups it keeps of the model's d-bit tokens. */
  bsq?: { groups: number; d: number; groupBits: number };
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
  return cachedLoad(cache, id, threads, LearnedImageCodec.load);
}

/** One shared load per id and thread count; a failed load is forgotten so it can be retried. */
function cachedLoad<T>(map: Map<string, Promise<T>>, id: string, threads: number | undefined, load: (id: string, o: { threads?: number }) => Promise<T>): Promise<T> {
  const key = `${id}\0${threads ?? 0}`;
  let p = map.get(key);
  if (!p) {
    p = load(id, { threads });
    p.catch(() => map.delete(key));
    map.set(key, p);
  }
  return p;
}

const bsqCache = new Map<string, Promise<BsqCodec>>();

/**
 * A loaded BSQ codec, shared between calls with the same id and thread count.
 * @example
 * const codec = await getBsqCodec('nc-bsq');
 * @throws InvalidOptionError for an unknown codec; ModelMismatchError when its files do not
 *   match its manifest or it is not a BSQ codec.
 */
export function getBsqCodec(id: string, threads?: number): Promise<BsqCodec> {
  return cachedLoad(bsqCache, id, threads, BsqCodec.load);
}

/**
 * Releases every loaded codec (ONNX sessions). Later calls load them again. Call it before
 * exiting a long-lived process, or to free memory; never throws.
 * @example
 * await encode('a.png');
 * await closeCodecs();
 */
export async function closeCodecs(): Promise<void> {
  const all: Promise<{ dispose(): Promise<void> }>[] = [...cache.values(), ...bsqCache.values()];
  cache.clear();
  bsqCache.clear();
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
  if (o.mode !== undefined && o.mode !== 'hyperprior' && o.mode !== 'bsq') throw invalidOption("one of 'hyperprior', 'bsq'", 'mode', o.mode);
  checkNumber('groups', o.groups, 1, 64, true);
  if (o.groups !== undefined && o.mode !== 'bsq') throw new InvalidOptionError("Expected groups only with mode: 'bsq'");
  if (o.mode === 'bsq' && o.progressive === true) throw new InvalidOptionError("Expected at most one of progressive and mode: 'bsq' but received both");
  if (o.crr !== undefined && o.progressive !== true) throw new InvalidOptionError('Expected crr only with progressive: true');
  if (o.passes !== undefined && o.progressive !== true) throw new InvalidOptionError('Expected passes only with progressive: true');
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
  // The default codec loads (files, tables) while sharp decodes the image on its own threads.
  const preload = options.mode !== 'bsq' && !options.progressive ? getCodec(options.codec ?? DEFAULT_CODEC, options.threads) : undefined;
  preload?.catch(() => undefined); // reported below, after the input's own errors
  const { frame, warnings } = await readImage(input, { signal: options.signal, maxPixels: options.maxPixels });
  const pixels = frame.width * frame.height;
  const target = options.targetBytes ?? (options.targetBpp !== undefined ? (options.targetBpp * pixels) / 8 : undefined);
  if (options.mode === 'bsq') return encodeBsq(frame, warnings, target, options);
  if (options.progressive) {
    const codec = await getCodec(options.codec ?? DEFAULT_PROGRESSIVE_CODEC, options.threads);
    const quality = options.quality ?? 100;
    let bytes = await new ProgressiveCoder(codec).encode(frame, { quality, tileSize: options.tileSize, crr: options.crr, passes: options.passes, signal: options.signal });
    let targetMet: boolean | undefined;
    if (target !== undefined) {
      // a progressive file reaches any size below its own by cutting it
      if (bytes.length > target) bytes = truncateProgressive(bytes, Math.floor(target));
      targetMet = Math.abs(bytes.length - target) <= 0.03 * target;
    }
    return { bytes, width: frame.width, height: frame.height, channels: frame.channels, quality, bpp: (bytes.length * 8) / pixels, targetMet, warnings };
  }
  const codec = await preload!;
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

/** BSQ mode: tokens once, then the group count from the options or by rate control. */
async function encodeBsq(frame: Frame, warnings: string[], target: number | undefined, options: EncodeOptions): Promise<EncodeResult> {
  const codec = await getBsqCodec(options.codec ?? DEFAULT_BSQ_CODEC, options.threads);
  const G = codec.layout.groups;
  if (options.groups !== undefined && options.groups > G) throw invalidOption(`integer between 1 and ${G}`, 'groups', options.groups);
  const all = await codec.tokenize(frame, { tileSize: options.tileSize, signal: options.signal });
  const pixels = frame.width * frame.height;
  const quality = options.quality ?? 100;
  const withGroups = (k: number): Promise<Uint8Array> => codec.encodeTokens(frame, keepGroups(all, k), Math.round(quality * 100), options.signal);
  const result = (bytes: Uint8Array, groups: number, targetMet?: boolean): EncodeResult => ({
    bytes, width: frame.width, height: frame.height, channels: frame.channels, quality, bpp: (bytes.length * 8) / pixels, targetMet, warnings, groups,
  });
  if (target === undefined) {
    const k = options.groups ?? (options.quality !== undefined ? codec.groupsForQuality(options.quality) : G);
    return result(await withGroups(k), k);
  }
  // size grows with the groups kept: from all groups down to the first file within the
  // target, keeping the one closest to it
  let best: { bytes: Uint8Array; k: number } | undefined;
  for (let k = G; k >= 1; k--) {
    const bytes = await withGroups(k);
    if (!best || Math.abs(bytes.length - target) < Math.abs(best.bytes.length - target)) best = { bytes, k };
    if (bytes.length <= target) break;
  }
  return result(best!.bytes, best!.k, Math.abs(best!.bytes.length - target) <= 0.03 * target);
}

/** The first k groups of a token set. */
function keepGroups(tokens: BsqTokens, k: number): BsqTokens {
  if (k === tokens.groups) return tokens;
  const per = tokens.groups * tokens.groupBits;
  const keep = k * tokens.groupBits;
  const n = tokens.shape[0] * tokens.shape[1];
  const bits = new Uint8Array(n * keep);
  for (let t = 0; t < n; t++) bits.set(tokens.bits.subarray(t * per, t * per + keep), t * keep);
  return { ...tokens, groups: k, bits };
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
  if (container.units.some((u) => u.type === UnitType.BSQ_INFO)) {
    if (options.bytes !== undefined || options.planes !== undefined) {
      throw new InputError('the bytes and planes options need a progressive file (encode with progressive: true); this one is a BSQ file');
    }
    const bsq = await bsqCodecFor(container.codecId, options);
    const r = await bsq.decode(bytes, { signal: options.signal, limits: options.limits });
    return { ...r.frame, quality: r.quality, bsq: { groups: r.groups, d: bsq.layout.d, groupBits: bsq.layout.groupBits } };
  }
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

/** The BSQ codec a file names (or the one given), with an uninstalled one reported as a mismatch. */
async function bsqCodecFor(id: string, options: { codec?: string; threads?: number }): Promise<BsqCodec> {
  if (options.codec !== undefined) return getBsqCodec(options.codec, options.threads);
  try {
    return await getBsqCodec(id, options.threads);
  } catch (err) {
    if (!(err instanceof InvalidOptionError)) throw err;
    throw new ModelMismatchError(`the file was written by codec '${id}', which is not installed (pass its folder as the codec option)`);
  }
}

export interface TokenizeOptions {
  /** BSQ codec id or folder; default nc-bsq (for a BSQ file: the one it names). */
  codec?: string;
  /** Bit groups to keep per token; default all. */
  groups?: number;
  /** Tile side in pixels, a multiple of 16; default the whole image up to 2.6 megapixels. */
  tileSize?: number;
  threads?: number;
  signal?: AbortSignal;
  maxPixels?: number;
  limits?: Partial<Limits>;
}

const isContainer = (b: unknown): b is Uint8Array => b instanceof Uint8Array && b.length >= MAGIC.length && MAGIC.every((m, i) => b[i] === m);

/**
 * BSQ tokens of an image: one token of `groups * groupBits` bits per 16x16 pixels, for
 * feeding generative models or storing latents. The input is anything {@link encode}
 * takes, or the bytes of a BSQ file (its tokens are read back exactly, without the image
 * decoder).
 *
 * @example
 * const { bits, shape, d } = await tokenize('photo.png');
 * const token0 = bits.subarray(0, d); // the first token's bits, 0 or 1
 * const img = await detokenize(await tokenize('photo.png')); // the decoded image
 * @throws InvalidOptionError for bad options; InputError for an unreadable image;
 *   ModelMismatchError for a file of another model; BitstreamError for a corrupt file;
 *   AbortError.
 */
export async function tokenize(input: ImageInput, options: TokenizeOptions = {}): Promise<BsqTokens> {
  if (options === null || typeof options !== 'object') throw invalidOption('object', 'options', options);
  checkCommon(options);
  checkNumber('groups', options.groups, 1, 64, true);
  checkNumber('tileSize', options.tileSize, 1, 65535, true);
  checkNumber('maxPixels', options.maxPixels, 1, 0x3fff * 0x3fff, true);
  throwIfAborted(options.signal);
  if (isContainer(input)) {
    const container = readContainer(input, options.limits);
    if (!container.units.some((u) => u.type === UnitType.BSQ_INFO)) throw new InputError('not a BSQ file (encode with mode: \'bsq\'): only BSQ files hold tokens');
    const codec = await bsqCodecFor(container.codecId, options);
    const { tokens } = await codec.readTokens(input, { signal: options.signal, limits: options.limits });
    return options.groups !== undefined && options.groups < tokens.groups ? keepGroups(tokens, options.groups) : tokens;
  }
  const codec = await getBsqCodec(options.codec ?? DEFAULT_BSQ_CODEC, options.threads);
  const { frame } = await readImage(input, { signal: options.signal, maxPixels: options.maxPixels });
  return codec.tokenize(frame, { groups: options.groups, tileSize: options.tileSize, signal: options.signal });
}

/**
 * The image of a set of BSQ tokens (RGB, 8-bit, the size they were made from). The same
 * bits always give the same image, and tokens from {@link tokenize} give the image that
 * decoding the BSQ file of the same groups gives.
 * @example
 * const tokens = await tokenize('photo.png', { groups: 3 });
 * const { data, width, height } = await detokenize(tokens);
 * @throws InvalidOptionError for malformed tokens; ModelMismatchError for tokens of
 *   another model; AbortError.
 */
export async function detokenize(tokens: BsqTokens, options: { codec?: string; threads?: number; signal?: AbortSignal } = {}): Promise<Frame> {
  if (tokens === null || typeof tokens !== 'object') throw invalidOption('object', 'tokens', tokens);
  checkCommon(options);
  const codec = await getBsqCodec(options.codec ?? tokens.codec ?? DEFAULT_BSQ_CODEC, options.threads);
  return codec.detokenize(tokens, { signal: options.signal });
}

/**
 * BSQ tokens of every frame of a video (any file ffmpeg reads), one at a time; memory does
 * not grow with the clip. Breaking out of the loop stops ffmpeg.
 * @example
 * for await (const { index, tokens } of tokenizeVideo('clip.mp4', { maxFrames: 10 })) console.log(index, tokens.shape);
 * @throws as {@link tokenize}, and InputError when ffmpeg cannot read the input.
 */
export async function* tokenizeVideo(input: string, options: TokenizeOptions & { maxFrames?: number } = {}): AsyncGenerator<{ index: number; tokens: BsqTokens }> {
  if (options === null || typeof options !== 'object') throw invalidOption('object', 'options', options);
  checkCommon(options);
  checkNumber('groups', options.groups, 1, 64, true);
  const codec = await getBsqCodec(options.codec ?? DEFAULT_BSQ_CODEC, options.threads);
  const { readFrames } = await import('./video/ffmpeg.js');
  for await (const frame of readFrames(input, { signal: options.signal, maxFrames: options.maxFrames })) {
    yield { index: frame.index, tokens: await codec.tokenize(frame, { groups: options.groups, tileSize: options.tileSize, signal: options.signal }) };
  }
}
