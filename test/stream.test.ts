/**
 * The Node streams: same results as the promise API, 'info' and 'warning' events, typed
 * errors through 'error', backpressure on both sides, and AbortSignal.
 */
import { readFile } from 'node:fs/promises';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeCodecs, decode, encode } from '../src/api.js';
import { AbortError, BitstreamError, InputError, InvalidOptionError, ModelMismatchError } from '../src/errors.js';
import { createDecodeStream, createEncodeStream, type DecodeInfo, type EncodeInfo } from '../src/stream/index.js';

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const TINY = fixture('tiny-codec');

let alphaPng: Buffer;
let alphaFile: Uint8Array;

beforeAll(async () => {
  alphaPng = await readFile(fixture('alpha-96x80.png'));
  alphaFile = await encode(alphaPng, { codec: TINY, quality: 60 });
});

afterAll(async () => {
  await closeCodecs();
});

/** A readable that hands out `bytes` in chunks of `size`. */
function chunked(bytes: Uint8Array, size: number): Readable {
  const chunks: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += size) chunks.push(Buffer.from(bytes.subarray(i, i + size)));
  return Readable.from(chunks, { objectMode: false });
}

/** A writable that collects what it gets, optionally slowly. */
function collector(delayMs = 0): Writable & { bytes(): Buffer; chunks: number } {
  const parts: Buffer[] = [];
  const sink = new Writable({
    highWaterMark: 1024,
    write(chunk: Buffer, _enc, callback) {
      parts.push(chunk);
      sink.chunks++;
      if (delayMs > 0) setTimeout(callback, delayMs);
      else callback();
    },
  }) as Writable & { bytes(): Buffer; chunks: number };
  sink.chunks = 0;
  sink.bytes = () => Buffer.concat(parts);
  return sink;
}

const failureOf = (p: Promise<unknown>): Promise<unknown> => p.then(() => undefined, (err: unknown) => err);

describe('createEncodeStream', () => {
  it('turns image bytes into the same file as encode(), with an info event', async () => {
    const infos: EncodeInfo[] = [];
    const warnings: string[] = [];
    const encoder = createEncodeStream({ codec: TINY, quality: 60 });
    encoder.on('info', (info) => infos.push(info));
    encoder.on('warning', (w) => warnings.push(w));
    const sink = collector();
    await pipeline(chunked(alphaPng, 1000), encoder, sink);
    expect(Buffer.compare(sink.bytes(), Buffer.from(alphaFile))).toBe(0);
    expect(infos).toEqual([
      { width: 96, height: 80, channels: 4, bytes: alphaFile.length, bpp: (alphaFile.length * 8) / (96 * 80), quality: 60, warnings: [] },
    ]);
    expect(warnings).toEqual([]);
  });

  it('emits warnings (16-bit input) before its info', async () => {
    const events: string[] = [];
    const encoder = createEncodeStream({ codec: TINY });
    encoder.on('warning', (w) => events.push(`warning: ${w}`));
    encoder.on('info', (info) => events.push(`info: ${info.warnings.length}`));
    await pipeline(Readable.from([await readFile(fixture('deep16-64x48.png'))]), encoder, collector());
    expect(events).toEqual(['warning: 16-bit input reduced to 8 bits per sample', 'info: 1']);
  });

  it('reports rate control in its info', async () => {
    let info: EncodeInfo | undefined;
    const encoder = createEncodeStream({ codec: TINY, targetBytes: alphaFile.length }).on('info', (i) => (info = i));
    await pipeline(Readable.from([alphaPng]), encoder, collector());
    expect(info?.targetMet).toBe(true);
  });

  it('fails with a typed error for input that is not an image', async () => {
    const err = await failureOf(pipeline(Readable.from([Buffer.from('not an image at all')]), createEncodeStream({ codec: TINY }), collector()));
    expect(err).toBeInstanceOf(InputError);
    const empty = await failureOf(pipeline(Readable.from([]), createEncodeStream({ codec: TINY }), collector()));
    expect(empty).toBeInstanceOf(InputError);
  });

  it('throws synchronously for bad options', () => {
    expect(() => createEncodeStream({ quality: 140 })).toThrow(
      new InvalidOptionError('Expected number between 1 and 100 for quality but received 140 of type number'),
    );
  });
});

describe('createDecodeStream', () => {
  it('turns a file into a PNG by default, with an info event', async () => {
    let info: DecodeInfo | undefined;
    const decoder = createDecodeStream({ codec: TINY }).on('info', (i) => (info = i));
    const sink = collector();
    await pipeline(chunked(alphaFile, 100), decoder, sink);
    const png = sink.bytes();
    const expected = await decode(alphaFile, { codec: TINY });
    const { data, info: raw } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
    expect([raw.width, raw.height, raw.channels]).toEqual([96, 80, 4]);
    expect(Buffer.compare(data, Buffer.from(expected.data))).toBe(0);
    expect(info).toEqual({ width: 96, height: 80, channels: 4, quality: 60, format: 'png', bytes: png.length });
  });

  it('writes the format asked for', async () => {
    const sink = collector();
    await pipeline(Readable.from([alphaFile]), createDecodeStream({ codec: TINY, format: 'jpg' }), sink);
    expect((await sharp(sink.bytes()).metadata()).format).toBe('jpeg');
    expect(() => createDecodeStream({ format: 'bmp' })).toThrow(InvalidOptionError);
  });

  it('fails with typed errors for damaged files and the wrong model', async () => {
    const truncated = await failureOf(pipeline(Readable.from([alphaFile.subarray(0, 100)]), createDecodeStream({ codec: TINY }), collector()));
    expect(truncated).toBeInstanceOf(BitstreamError);
    const wrong = await failureOf(pipeline(Readable.from([alphaFile]), createDecodeStream({ codec: 'nc-small' }), collector()));
    expect(wrong).toBeInstanceOf(ModelMismatchError);
  });

  it('works with many small input chunks and a reader slower than the producer', async () => {
    const png = await readFile(fixture('photo-256x192.png'));
    const file = await encode(png, { codec: TINY });
    const decoder = createDecodeStream({ codec: TINY, format: 'tiff' });
    const sink = collector(2);
    await pipeline(chunked(file, 7), decoder, sink);
    const meta = await sharp(sink.bytes()).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['tiff', 256, 192]);
    // the reader's demand is honoured: what it has not asked for waits in the stream
    const lazy = createDecodeStream({ codec: TINY });
    const ended = new Promise((resolve) => lazy.once('prefinish', resolve));
    lazy.end(Buffer.from(file));
    await ended;
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(lazy.readableLength).toBeGreaterThan(0);
    const first: Buffer | null = lazy.read();
    expect(first).not.toBeNull();
    lazy.destroy();
  });
});

describe('AbortSignal', () => {
  it('destroys a stream created with an aborted signal', async () => {
    const signal = AbortSignal.abort();
    const encoder = createEncodeStream({ codec: TINY, signal });
    const err = await new Promise((resolve) => encoder.on('error', resolve));
    expect(err).toBeInstanceOf(AbortError);
    expect(encoder.destroyed).toBe(true);
    const decodeErr = await failureOf(pipeline(Readable.from([alphaFile]), createDecodeStream({ codec: TINY, signal }), collector()));
    expect(decodeErr).toBeInstanceOf(AbortError);
  });

  it('destroys a running stream when the signal fires', async () => {
    const controller = new AbortController();
    const encoder = createEncodeStream({ codec: TINY, signal: controller.signal });
    let output = 0;
    encoder.on('data', (chunk: Buffer) => (output += chunk.length));
    const done = failureOf(pipeline(Readable.from([alphaPng]), encoder));
    setImmediate(() => controller.abort());
    const err = await done;
    expect(err).toBeInstanceOf(AbortError);
    expect(output).toBe(0);
  });
});
