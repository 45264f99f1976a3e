/**
 * A progressive decoder over a byte stream: as the bytes of a progressive file arrive (from
 * a socket, an HTTP response, a file read slowly), it decodes the prefix it has and emits
 * each refined image: at every completed trit-plane and every `everyBytes` new bytes.
 */
import { Transform, type TransformCallback } from 'node:stream';
import { checkDecodeOptions, decode, type DecodeOptions, type DecodedImage } from '../api.js';
import { readContainer } from '../bitstream/container.js';
import { decodeCodingParams } from '../bitstream/coding-params.js';
import { decodeImageInfo } from '../bitstream/image-info.js';
import { UnitType } from '../bitstream/units.js';
import { AbortError, BitstreamError, CodecError, invalidOption } from '../errors.js';
import { encodeImage, toOutputFormat, type OutputFormat } from '../image/io.js';

export interface ProgressiveDecodeStreamOptions extends Omit<DecodeOptions, 'bytes' | 'planes' | 'resume'> {
  /**
   * Also emit a refinement whenever this many bytes arrived since the last one (default
   * 16384); 0 emits at plane boundaries only.
   */
  everyBytes?: number;
  /** Encode each refinement's image to this format as `file` (default: none, raw pixels only). */
  format?: OutputFormat | (string & {});
}

/** One refined image. */
export interface ProgressiveRefinement {
  /** Bytes of the stream decoded. */
  bytes: number;
  /** Trit-planes complete, and in the whole file. */
  planes: number;
  totalPlanes: number;
  /** Fraction of the file's trits decoded. */
  fraction: number;
  /** Whether this is the whole file (then it is the last refinement). */
  complete: boolean;
  image: DecodedImage;
  /** The image in `format`, when one was asked for. */
  file?: Buffer;
}

// The catch-all listener type of Node's EventEmitter typings.
type AnyListener = (...args: any[]) => void;

/**
 * Bytes of a progressive file in, {@link ProgressiveRefinement} objects out (readable side
 * in object mode); each is also emitted as a `refine` event. A prefix too short to hold
 * the image header yields nothing yet; a stream that ends before it is an error.
 */
export class ProgressiveDecodeStream extends Transform {
  readonly #options: DecodeOptions;
  readonly #every: number;
  readonly #format: OutputFormat | undefined;
  #chunks: Buffer[] = [];
  #length = 0;
  #lastBytes = 0;
  #lastPlaneUnits = 0;
  #tiles = 0;
  #busy: Promise<void> | undefined;
  #pending = false;
  #emitted = 0;
  #error: Error | undefined;
  readonly #signal: AbortSignal | undefined;
  readonly #onAbort: (() => void) | undefined;

  constructor(options: ProgressiveDecodeStreamOptions = {}) {
    const { everyBytes, format, ...decodeOptions } = options;
    checkDecodeOptions(decodeOptions);
    if (everyBytes !== undefined && !(Number.isInteger(everyBytes) && everyBytes >= 0)) throw invalidOption('non-negative integer', 'everyBytes', everyBytes);
    const fmt = format === undefined ? undefined : toOutputFormat(format);
    super({ readableObjectMode: true });
    // each refinement continues from the planes the previous one completed
    this.#options = { ...decodeOptions, resume: {} };
    this.#every = everyBytes ?? 16384;
    this.#format = fmt;
    this.#signal = options.signal;
    if (this.#signal?.aborted) {
      this.destroy(new AbortError(undefined, { cause: this.#signal.reason }));
    } else if (this.#signal) {
      const signal = this.#signal;
      this.#onAbort = () => this.destroy(new AbortError(undefined, { cause: signal.reason }));
      signal.addEventListener('abort', this.#onAbort, { once: true });
    }
  }

  #bytes(): Buffer {
    if (this.#chunks.length > 1) this.#chunks = [Buffer.concat(this.#chunks, this.#length)];
    return this.#chunks[0] ?? Buffer.alloc(0);
  }

  /** Whether the prefix completed a plane (of every tile) since the last refinement. */
  #planeDone(bytes: Buffer): boolean {
    let c;
    try {
      c = readContainer(bytes, this.#options.limits, { allowTruncation: true });
    } catch {
      return false;
    }
    if (this.#tiles === 0) {
      const info = c.units.find((u) => u.type === UnitType.IMAGE_INFO);
      const params = c.units.find((u) => u.type === UnitType.CODING_PARAMS);
      if (!info || !params) return false;
      const { width, height } = decodeImageInfo(info.payload, this.#options.limits);
      const { tileSize } = decodeCodingParams(params.payload);
      this.#tiles = Math.ceil(width / tileSize) * Math.ceil(height / tileSize);
    }
    const planeUnits = c.units.filter((u) => u.type === UnitType.PROGRESSIVE_PLANE).length;
    const done = Math.floor(planeUnits / this.#tiles) > Math.floor(this.#lastPlaneUnits / this.#tiles);
    if (done) this.#lastPlaneUnits = planeUnits;
    return done;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#chunks.push(chunk);
    this.#length += chunk.length;
    if (this.#error) return callback(this.#error);
    const bytes = this.#bytes();
    const due = (this.#every > 0 && this.#length - this.#lastBytes >= this.#every) || this.#planeDone(bytes);
    if (due) this.#schedule();
    callback();
  }

  #schedule(): void {
    if (this.#busy) {
      this.#pending = true;
      return;
    }
    this.#busy = this.#refine(false).finally(() => {
      this.#busy = undefined;
      if (this.#pending && !this.destroyed) {
        this.#pending = false;
        this.#schedule();
      }
    });
  }

  async #refine(final: boolean): Promise<void> {
    const bytes = this.#bytes();
    if (bytes.length === this.#lastBytes && (!final || this.#emitted > 0)) return;
    this.#lastBytes = bytes.length;
    let image: DecodedImage;
    try {
      image = await decode(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length), this.#options);
    } catch (err) {
      // a prefix that does not yet hold the header units is not an error until the end
      if (!final && err instanceof BitstreamError) return;
      this.#error = err instanceof Error ? err : new CodecError('ERR_INTERNAL', String(err));
      return;
    }
    if (this.destroyed) return;
    const p = image.progressive;
    if (!p) {
      this.#error = new BitstreamError('not a progressive file (encode with --progressive); use createDecodeStream for other files');
      return;
    }
    const refinement: ProgressiveRefinement = {
      bytes: p.bytes,
      planes: p.planes,
      totalPlanes: p.totalPlanes,
      fraction: p.fraction,
      complete: p.complete,
      image,
    };
    if (this.#format) refinement.file = await encodeImage(image, this.#format);
    if (this.destroyed) return;
    this.#emitted++;
    this.emit('refine', refinement);
    this.push(refinement);
  }

  override _flush(callback: TransformCallback): void {
    const finish = async () => {
      while (this.#busy) await this.#busy;
      if (this.#error) throw this.#error;
      await this.#refine(true);
      if (this.#error) throw this.#error;
    };
    finish().then(
      () => callback(),
      (err: unknown) => callback(err instanceof Error ? err : new CodecError('ERR_INTERNAL', String(err))),
    );
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    if (this.#onAbort) this.#signal?.removeEventListener('abort', this.#onAbort);
    this.#chunks = [];
    callback(err);
  }
}

export interface ProgressiveDecodeStream {
  on(event: 'refine', listener: (r: ProgressiveRefinement) => void): this;
  on(event: string | symbol, listener: AnyListener): this;
  once(event: 'refine', listener: (r: ProgressiveRefinement) => void): this;
  once(event: string | symbol, listener: AnyListener): this;
}

/**
 * A {@link ProgressiveDecodeStream}: write a progressive file's bytes as they arrive, read
 * (or listen for `refine`) the refined images.
 * @example
 * const res = await fetch(url);
 * const stream = createProgressiveDecodeStream({ everyBytes: 8192, format: 'png' });
 * stream.on('refine', (r) => show(r.file, r.bytes));
 * await pipeline(Readable.fromWeb(res.body), stream, new Writable({ objectMode: true, write: (_r, _e, cb) => cb() }));
 */
export function createProgressiveDecodeStream(options: ProgressiveDecodeStreamOptions = {}): ProgressiveDecodeStream {
  return new ProgressiveDecodeStream(options);
}
