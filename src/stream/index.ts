/**
 * Node Transform streams over the promise API: the same encodeWithInfo() / decode() calls,
 * fed from a stream and writing to one.
 *
 * An image (or a file of this format) can only be coded once all its bytes are in, so each
 * stream collects its input chunks until the writable side ends (they are joined once, at
 * the end), does the work, and pushes the result, which then waits in the readable side
 * until the reader asks for it. Failures come out as the 'error' event carrying the
 * library's typed CodecError; an AbortSignal destroys the stream with AbortError.
 */
import { Transform, type TransformCallback } from 'node:stream';
import {
  checkDecodeOptions,
  checkEncodeOptions,
  decode,
  encodeWithInfo,
  type DecodeOptions,
  type EncodeOptions,
} from '../api.js';
import { AbortError, CodecError } from '../errors.js';
import { encodeImage, toOutputFormat, type OutputFormat } from '../image/io.js';

/** What an encode stream reports in its 'info' event, just before its output. */
export interface EncodeInfo {
  width: number;
  height: number;
  channels: number;
  /** Size of the output in bytes. */
  bytes: number;
  /** Bits per pixel of the output. */
  bpp: number;
  /** The quality the file was coded at (the searched one under rate control). */
  quality: number;
  /** Under rate control: whether the size is within 3% of the target. */
  targetMet?: boolean;
  /** The same messages the 'warning' events carried. */
  warnings: string[];
}

/** What a decode stream reports in its 'info' event, just before its output. */
export interface DecodeInfo {
  width: number;
  height: number;
  channels: number;
  /** The quality the file was coded at. */
  quality: number;
  /** The image format written. */
  format: OutputFormat;
  /** Size of the output in bytes. */
  bytes: number;
}

export interface DecodeStreamOptions extends DecodeOptions {
  /** Output image format: any format sharp writes (`png`, `jpeg`/`jpg`, `webp`, `avif`, `tiff`, …). Default `png`. */
  format?: OutputFormat | (string & {});
}

// The catch-all listener type of Node's EventEmitter typings.
type AnyListener = (...args: any[]) => void;

/** Collects the whole input, runs `work` on it once the writable side ends, pushes the result. */
abstract class WholeInputTransform extends Transform {
  #chunks: Buffer[] = [];
  #length = 0;
  readonly #signal: AbortSignal | undefined;
  readonly #onAbort: (() => void) | undefined;

  constructor(signal: AbortSignal | undefined) {
    super();
    this.#signal = signal;
    if (signal?.aborted) {
      this.destroy(new AbortError(undefined, { cause: signal.reason }));
    } else if (signal) {
      this.#onAbort = () => this.destroy(new AbortError(undefined, { cause: signal.reason }));
      signal.addEventListener('abort', this.#onAbort, { once: true });
    }
  }

  protected abstract work(input: Uint8Array): Promise<Uint8Array>;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#chunks.push(chunk);
    this.#length += chunk.length;
    callback();
  }

  override _flush(callback: TransformCallback): void {
    const input = Buffer.concat(this.#chunks, this.#length);
    this.#chunks = [];
    this.work(input).then(
      (output) => {
        if (this.destroyed) return;
        this.push(Buffer.from(output.buffer, output.byteOffset, output.byteLength));
        callback();
      },
      (err: unknown) => {
        if (this.destroyed) return;
        callback(err instanceof Error ? err : new CodecError('ERR_INTERNAL', String(err)));
      },
    );
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    if (this.#onAbort) this.#signal?.removeEventListener('abort', this.#onAbort);
    this.#chunks = [];
    callback(err);
  }
}

/**
 * Image file bytes in (any format sharp reads), one neurocodec file out. Create it with
 * {@link createEncodeStream}.
 */
export class EncodeStream extends WholeInputTransform {
  readonly #options: EncodeOptions;

  /** @throws InvalidOptionError for bad options. */
  constructor(options: EncodeOptions = {}) {
    checkEncodeOptions(options);
    super(options.signal);
    this.#options = { ...options };
  }

  protected async work(input: Uint8Array): Promise<Uint8Array> {
    const result = await encodeWithInfo(input, this.#options);
    if (!this.destroyed) {
      for (const warning of result.warnings) this.emit('warning', warning);
      const info: EncodeInfo = {
        width: result.width,
        height: result.height,
        channels: result.channels,
        bytes: result.bytes.length,
        bpp: result.bpp,
        quality: result.quality,
        warnings: [...result.warnings],
      };
      if (result.targetMet !== undefined) info.targetMet = result.targetMet;
      this.emit('info', info);
    }
    return result.bytes;
  }
}

export interface EncodeStream {
  on(event: 'info', listener: (info: EncodeInfo) => void): this;
  on(event: 'warning', listener: (message: string) => void): this;
  on(event: string | symbol, listener: AnyListener): this;
  once(event: 'info', listener: (info: EncodeInfo) => void): this;
  once(event: 'warning', listener: (message: string) => void): this;
  once(event: string | symbol, listener: AnyListener): this;
}

/**
 * A neurocodec file in, image file bytes out (PNG unless `format` says otherwise). Create it
 * with {@link createDecodeStream}.
 */
export class DecodeStream extends WholeInputTransform {
  readonly #options: DecodeOptions;
  readonly #format: OutputFormat;

  /** @throws InvalidOptionError for bad options or an unknown output format. */
  constructor(options: DecodeStreamOptions = {}) {
    checkDecodeOptions(options);
    const format = toOutputFormat(options.format ?? 'png');
    super(options.signal);
    this.#format = format;
    this.#options = { ...options };
  }

  protected async work(input: Uint8Array): Promise<Uint8Array> {
    const image = await decode(input, this.#options);
    const output = await encodeImage(image, this.#format);
    if (!this.destroyed) {
      const info: DecodeInfo = {
        width: image.width,
        height: image.height,
        channels: image.channels,
        quality: image.quality,
        format: this.#format,
        bytes: output.length,
      };
      this.emit('info', info);
    }
    return output;
  }
}

export interface DecodeStream {
  on(event: 'info', listener: (info: DecodeInfo) => void): this;
  on(event: string | symbol, listener: AnyListener): this;
  once(event: 'info', listener: (info: DecodeInfo) => void): this;
  once(event: string | symbol, listener: AnyListener): this;
}

/**
 * A Transform stream that encodes one image: write the bytes of an image file (PNG, JPEG,
 * WebP, AVIF, TIFF, GIF, …) into it, read a neurocodec file out of it. Emits 'warning'
 * (a string, e.g. 16-bit input reduced) and 'info' ({@link EncodeInfo}) before its output.
 *
 * @example
 * import { createReadStream, createWriteStream } from 'node:fs';
 * import { pipeline } from 'node:stream/promises';
 *
 * const encoder = createEncodeStream({ quality: 60 });
 * encoder.on('info', (info) => console.log(`${info.bytes} bytes, ${info.bpp.toFixed(3)} bpp`));
 * await pipeline(createReadStream('photo.png'), encoder, createWriteStream('photo.ncdc'));
 * @throws InvalidOptionError (synchronously) for bad options. Failures of the work itself
 *   (InputError, LimitExceededError, ModelMismatchError, AbortError, …) come as 'error'.
 */
export function createEncodeStream(options: EncodeOptions = {}): EncodeStream {
  return new EncodeStream(options);
}

/**
 * A Transform stream that decodes one neurocodec file to an image file (PNG by default, or
 * `format`). Emits 'info' ({@link DecodeInfo}) before its output.
 *
 * @example
 * import { createReadStream, createWriteStream } from 'node:fs';
 * import { pipeline } from 'node:stream/promises';
 *
 * await pipeline(createReadStream('photo.ncdc'), createDecodeStream({ format: 'webp' }), createWriteStream('photo.webp'));
 * @throws InvalidOptionError (synchronously) for bad options or an unknown format. Failures
 *   of the work itself (BitstreamError, LimitExceededError, ModelMismatchError,
 *   AbortError, …) come as 'error'.
 */
export function createDecodeStream(options: DecodeStreamOptions = {}): DecodeStream {
  return new DecodeStream(options);
}
