/**
 * The video path, all-intra: every frame is an I-frame coded by the learned image codec.
 *
 * encodeVideo: ffmpeg decodes the input to RGB frames one at a time, each is coded and
 * muxed at once into Matroska (track 1 `V_NEUROCODEC`, the sequence header as
 * CodecPrivate, every block a keyframe), and the input's audio is copied packet for packet.
 * Memory holds one frame and one Matroska cluster, whatever the clip's length.
 *
 * decodeVideo: reads our Matroska file, decodes the frames one by one and hands them to
 * ffmpeg (mp4, y4m or mkv) with the audio put back.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rename, rm, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { Duplex, PassThrough, Readable, type Writable } from 'node:stream';
import { DEFAULT_CODEC, checkDecodeOptions, checkEncodeOptions, getCodec } from '../api.js';
import { checkModel, readContainer, toHex } from '../bitstream/container.js';
import { checkLimit, resolveLimits, type Limits } from '../bitstream/limits.js';
import type { LearnedImageCodec } from '../codec/image.js';
import { BitstreamError, InputError, InvalidOptionError, ModelMismatchError, OutputError, fsReason, invalidOption, throwIfAborted } from '../errors.js';
import { probe, readFrames, writeFrames, type MediaInput, type Rational, type RgbFrame, type VideoOutputFormat } from './ffmpeg.js';
import {
  MatroskaWriter,
  NEUROCODEC_CODEC_ID,
  fileSink,
  readMatroska,
  writeNeurocodecMatroska,
  type CodedFrame,
  type MatroskaSink,
  type MkvFile,
  type MkvTrack,
} from './matroska.js';
import { checkCompactPFrame, PFrameCoder, predictionError, supportsPFrames } from './pframe.js';
import type { Frame } from '../image/frame.js';
import { FrameFormat, FrameType, SEQUENCE_VERSION, readFramePayload, readSequenceHeader, writeFramePayload, writeSequenceHeader, type FrameTypeName, type SequenceHeader } from './sequence.js';

/** File extensions taken for video inputs. */
export const VIDEO_EXTENSIONS: readonly string[] = Object.freeze(['.mp4', '.mkv', '.webm', '.mov', '.y4m', '.avi', '.m4v']);

/** Whether a path names a video file by its extension. */
export function isVideoPath(path: string): boolean {
  const dot = path.lastIndexOf('.');
  return dot > 0 && VIDEO_EXTENSIONS.includes(path.slice(dot).toLowerCase());
}

/** Whether bytes start like a Matroska/WebM (EBML) file. */
export function isMatroska(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x1a && bytes[1] === 0x45 && bytes[2] === 0xdf && bytes[3] === 0xa3;
}

/** Progress of an encode or decode, reported after each frame. */
export interface VideoProgress {
  /** Frames done. */
  frames: number;
  /** Frames expected, when known. */
  totalFrames: number | undefined;
  /** Coded bytes so far (frame payloads). */
  bytes: number;
  /** Milliseconds since the start. */
  elapsedMs: number;
  fps: Rational;
}

export interface VideoEncodeOptions {
  /** 1..100, continuous; default 75. */
  quality?: number;
  /** Codec id or folder; default `nc-video` (I- and P-frames). */
  codec?: string;
  threads?: number;
  signal?: AbortSignal;
  /** Stop after this many frames. */
  maxFrames?: number;
  /** Frame rate of a stream input (default 25); a file's own rate is used otherwise. */
  fps?: Rational;
  /** Copy the audio of a file input (default true). */
  audio?: boolean;
  /** Called after each frame is coded. */
  onProgress?: (progress: VideoProgress) => void;
  /**
   * Frames from one I-frame to the next, 1..1000000. Default 32 with a codec that codes
   * P-frames (it ships a temporal prior), else 1 (all intra).
   */
  intraPeriod?: number;
  /**
   * Scene-cut threshold: a frame whose motion-compensated prediction misses it by more than
   * this mean absolute luma difference (0..255) is coded as an I-frame. Default 24.
   */
  sceneCut?: number;
  /**
   * Quality added to I-frames that P-frames follow (0..99, capped at 100 in all; default
   * DEFAULT_INTRA_BOOST): what an I-frame holds carries into the P-frames predicted from it.
   */
  intraBoost?: number;
  /**
   * Quality added to every ANCHOR_PERIOD-th P-frame after an I-frame (0..99, capped at 100 in
   * all; default DEFAULT_ANCHOR_BOOST): the P-frames after it predict from a sharper frame.
   */
  anchorBoost?: number;
}

export interface VideoEncodeResult {
  frames: number;
  width: number;
  height: number;
  fps: Rational;
  quality: number;
  /** Coded bytes of all frames (frame payloads, not counting Matroska framing or audio). */
  videoBytes: number;
  /** Frames coded as I-frames and as P-frames. */
  iFrames: number;
  pFrames: number;
  /** Video bits per second. */
  bitrate: number;
  /** Duration in ms. */
  duration: number;
  audioTracks: number;
  sequenceHeader: SequenceHeader;
}

export interface VideoDecodeOptions {
  /** Codec id or folder; default: the one the file names. */
  codec?: string;
  threads?: number;
  signal?: AbortSignal;
  /** Output container; default from the output path's extension, y4m for a stream. */
  format?: VideoOutputFormat;
  /** Tighter limits for sizes read from the file. */
  limits?: Partial<Limits>;
  /** Put the audio back (default true; y4m never has audio). */
  audio?: boolean;
  /** Called after each frame is decoded. */
  onProgress?: (progress: VideoProgress) => void;
}

export interface VideoDecodeResult {
  frames: number;
  width: number;
  height: number;
  fps: Rational;
  format: VideoOutputFormat;
  /** The ffmpeg encoder used for the output video. */
  encoder: string;
  audioTracks: number;
  sequenceHeader: SequenceHeader;
}

function checkFps(fps: unknown): Rational {
  const f = fps as Rational;
  if (!f || typeof f !== 'object' || !Number.isInteger(f.num) || !Number.isInteger(f.den) || f.num <= 0 || f.den <= 0 || f.num / f.den > 1000) {
    throw invalidOption('{ num, den } of positive integers, at most 1000 frames per second', 'fps', JSON.stringify(fps));
  }
  return { num: f.num, den: f.den };
}

/** A path next to `path` for writing before an atomic rename. */
function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

async function renameInto(tmp: string, path: string): Promise<void> {
  try {
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw new OutputError(`cannot write '${path}': ${fsReason(err)}`, { cause: err });
  }
}

/** A codec named by a file: one that is not installed is a property of the input. */
async function codecForFile(id: string, option: string | undefined, threads: number | undefined): Promise<LearnedImageCodec> {
  if (option !== undefined) return getCodec(option, threads);
  try {
    return await getCodec(id, threads);
  } catch (err) {
    if (!(err instanceof InvalidOptionError)) throw err;
    throw new ModelMismatchError(`the file was written by codec '${id}', which is not installed (pass its folder as the codec option)`);
  }
}

/**
 * Encode a video into a neurocodec Matroska file: I-frames, and P-frames between them when
 * the codec has a temporal prior; a file input's audio is copied. The input is a path (any
 * format ffmpeg reads), a byte Readable (not in object mode), or raw RGB frames: an
 * object-mode Readable or any async iterable of {@link VideoFrameInput}. The output is a path
 * (written atomically: a failure leaves nothing behind), a Writable or a {@link MatroskaSink}.
 * @example
 * const { frames, bitrate } = await encodeVideo('clip.mp4', 'clip.mkv', { quality: 60 });
 * @throws InvalidOptionError for bad options or an unknown codec; InputError when ffmpeg
 *   cannot read the input or it has no frames; OutputError when the output cannot be
 *   written; ModelMismatchError when the codec's files do not match its manifest;
 *   AbortError when `signal` fires.
 */
export async function encodeVideo(input: MediaInput | AsyncIterable<VideoFrameInput>, output: string | Writable | MatroskaSink, options: VideoEncodeOptions = {}): Promise<VideoEncodeResult> {
  checkEncodeOptions({ quality: options.quality, codec: options.codec, threads: options.threads, signal: options.signal });
  if (options.maxFrames !== undefined && (!Number.isInteger(options.maxFrames) || options.maxFrames < 1 || options.maxFrames > 1_000_000)) {
    throw invalidOption('integer between 1 and 1000000', 'maxFrames', options.maxFrames);
  }
  if (typeof output === 'string' && output.length === 0) throw invalidOption('non-empty path', 'output', output);
  const { signal } = options;
  throwIfAborted(signal);
  const started = performance.now();
  const quality100 = Math.round((options.quality ?? 75) * 100);
  const codec = await getCodec(options.codec ?? DEFAULT_VIDEO_CODEC, options.threads);
  const pcoder = supportsPFrames(codec) ? new PFrameCoder(codec) : undefined;
  if (options.intraPeriod !== undefined && (!Number.isInteger(options.intraPeriod) || options.intraPeriod < 1 || options.intraPeriod > 1_000_000)) {
    throw invalidOption('integer between 1 and 1000000', 'intraPeriod', options.intraPeriod);
  }
  if (options.intraPeriod !== undefined && options.intraPeriod > 1 && !pcoder) {
    throw new InvalidOptionError(`codec ${codec.id} codes I-frames only (it has no temporal prior): intraPeriod must be 1`);
  }
  const intraPeriod = options.intraPeriod ?? (pcoder ? DEFAULT_INTRA_PERIOD : 1);
  const intraBoost = options.intraBoost ?? DEFAULT_INTRA_BOOST;
  if (typeof intraBoost !== 'number' || !(intraBoost >= 0 && intraBoost <= 99)) throw invalidOption('number between 0 and 99', 'intraBoost', intraBoost);
  const intra100 = pcoder && intraPeriod > 1 ? Math.min(10000, quality100 + Math.round(intraBoost * 100)) : quality100;
  const anchorBoost = options.anchorBoost ?? DEFAULT_ANCHOR_BOOST;
  if (typeof anchorBoost !== 'number' || !(anchorBoost >= 0 && anchorBoost <= 99)) throw invalidOption('number between 0 and 99', 'anchorBoost', anchorBoost);
  const anchor100 = Math.min(10000, quality100 + Math.round(anchorBoost * 100));
  const sceneCut = options.sceneCut ?? DEFAULT_SCENE_CUT;
  if (typeof sceneCut !== 'number' || !(sceneCut >= 0 && sceneCut <= 255)) throw invalidOption('number between 0 and 255', 'sceneCut', sceneCut);

  let fps = options.fps === undefined ? { num: 25, den: 1 } : checkFps(options.fps);
  let declared = 0;
  const frameInput = isFrameIterable(input);
  if (typeof input === 'string') {
    const info = await probe(input, { signal });
    const v = info.video[0];
    if (!v) throw new InputError(`cannot read '${input}': it has no video stream`);
    if (options.fps === undefined && v.fps.num > 0) fps = { num: v.fps.num, den: v.fps.den };
    if (v.frames !== undefined && (v.framesFrom === 'container' || v.framesFrom === 'counted')) declared = v.frames;
    if (options.maxFrames !== undefined) declared = Math.min(declared, options.maxFrames);
  }

  const source = frameInput ? framesFrom(input, options.maxFrames) : readFrames(input as MediaInput, { signal, maxFrames: options.maxFrames });
  const it = source[Symbol.asyncIterator]();
  let tmp: string | undefined;
  try {
    const first = await it.next();
    if (first.done) throw new InputError(`cannot read ${typeof input === 'string' ? `'${input}'` : 'the input stream'}: it has no video frames`);
    const { width, height } = first.value;
    const sequenceHeader: SequenceHeader = {
      version: SEQUENCE_VERSION,
      codecId: codec.id,
      modelHash: codec.bundle.hashPrefix,
      width,
      height,
      fps,
      frameCount: declared,
      intraPeriod,
      quality100,
      frameFormat: pcoder ? FrameFormat.COMPACT_P : FrameFormat.IMAGE_CONTAINER,
    };
    const headerBytes = writeSequenceHeader(sequenceHeader);

    let frames = 0;
    let videoBytes = 0;
    let iFrames = 0;
    let sinceIntra = 0;
    // the previous decoded frame, exactly as the decoder will have it
    let ref: Frame | undefined;
    async function* coded(): AsyncGenerator<CodedFrame> {
      let next: IteratorResult<RgbFrame> = first;
      while (!next.done) {
        const f = next.value;
        if (f.width !== width || f.height !== height) throw new InputError(`frame ${frames} is ${f.width}x${f.height}, the first was ${width}x${height}`);
        const frame: Frame = { data: f.data, width, height, channels: 3 };
        let data: Uint8Array | undefined;
        if (pcoder && ref && sinceIntra < intraPeriod) {
          const q100 = sinceIntra % ANCHOR_PERIOD === 0 ? anchor100 : quality100;
          const motion = pcoder.predict(frame, ref, q100);
          if (predictionError(frame.data, motion.prediction, width, height) <= sceneCut) {
            const p = await pcoder.encode(frame, ref, q100, signal, motion);
            data = writeFramePayload('P', p.bytes);
            ref = p.decoded;
            sinceIntra++;
          }
        }
        if (!data) {
          const bytes = await codec.encode(frame, { quality: intra100 / 100, signal });
          data = writeFramePayload('I', bytes);
          if (pcoder && intraPeriod > 1) ref = (await codec.decode(bytes, { signal })).frame;
          sinceIntra = 1;
          iFrames++;
        }
        frames++;
        videoBytes += data.length;
        options.onProgress?.({ frames, totalFrames: declared || undefined, bytes: videoBytes, elapsedMs: performance.now() - started, fps });
        yield { data, keyframe: data[0] === FrameType.I };
        next = await it.next();
      }
    }

    let target: string | Writable | MatroskaSink = output;
    if (typeof output === 'string' && output !== '-') target = tmp = tempPathFor(output);
    else if (output === '-') throw invalidOption('path, Writable or MatroskaSink', 'output', output);
    const res = await writeNeurocodecMatroska(coded(), target, {
      width,
      height,
      fps,
      sequenceHeader: headerBytes,
      audioFrom: typeof input === 'string' && options.audio !== false ? input : undefined,
      signal,
    });
    if (tmp !== undefined) {
      await renameInto(tmp, output as string);
      tmp = undefined;
    }
    const seconds = (frames * fps.den) / fps.num;
    return {
      frames,
      width,
      height,
      fps,
      quality: quality100 / 100,
      videoBytes,
      iFrames,
      pFrames: frames - iFrames,
      bitrate: seconds > 0 ? (videoBytes * 8) / seconds : 0,
      duration: res.duration,
      audioTracks: res.audioTracks,
      sequenceHeader,
    };
  } finally {
    await it.return?.(undefined).catch(() => undefined);
    if (tmp !== undefined) await unlink(tmp).catch(() => undefined);
  }
}

/**
 * The codec video uses when none is named: nc-video when it is installed (nc-small's
 * transforms plus the P-frame temporal prior), which codes I- and P-frames.
 */
export const DEFAULT_VIDEO_CODEC = 'nc-video';

/** Frames per I-frame by default, for codecs that code P-frames. */
export const DEFAULT_INTRA_PERIOD = 32;
/** Default scene-cut threshold: mean absolute luma error of the motion-compensated prediction. */
export const DEFAULT_SCENE_CUT = 24;
/**
 * Default quality added to I-frames that P-frames follow, chosen by
 * `npm run bench:video-tune` on sequences made from training photos.
 */
export const DEFAULT_INTRA_BOOST = 32;
/** Every ANCHOR_PERIOD-th P-frame after an I-frame is an anchor, coded anchorBoost higher. */
export const ANCHOR_PERIOD = 8;
/**
 * Default quality added to anchor P-frames, chosen by `npm run bench:video-tune` on
 * sequences made from training photos.
 */
export const DEFAULT_ANCHOR_BOOST = 24;

/** A raw frame given to {@link encodeVideo} or {@link createVideoEncodeStream}: interleaved 8-bit RGB. */
export interface VideoFrameInput {
  data: Uint8Array;
  width: number;
  height: number;
}

/** Whether an encodeVideo input is a source of raw frames (an object-mode stream or any async iterable) rather than a file or byte stream. */
function isFrameIterable(input: unknown): input is AsyncIterable<VideoFrameInput> {
  if (typeof input === 'string' || input === null || typeof input !== 'object') return false;
  if (input instanceof Readable) return input.readableObjectMode;
  return typeof (input as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function';
}

/** Raw frames checked and numbered like readFrames' output. */
async function* framesFrom(frames: AsyncIterable<VideoFrameInput>, maxFrames?: number): AsyncGenerator<RgbFrame> {
  let index = 0;
  for await (const f of frames) {
    if (maxFrames !== undefined && index >= maxFrames) break;
    if (f === null || typeof f !== 'object' || !(f.data instanceof Uint8Array)) throw invalidOption('{ data: Uint8Array, width, height }', `frame ${index}`, f);
    if (!Number.isInteger(f.width) || !Number.isInteger(f.height) || f.width < 1 || f.height < 1 || f.width > 65_535 || f.height > 65_535) {
      throw invalidOption('width and height between 1 and 65535', `frame ${index} size`, `${f.width}x${f.height}`);
    }
    if (f.data.length !== f.width * f.height * 3) throw invalidOption(`${f.width * f.height * 3} bytes of RGB`, `frame ${index} data`, `${f.data.length} bytes`);
    yield { data: f.data, width: f.width, height: f.height, channels: 3, index: index++ };
  }
}

/** One frame of a neurocodec video as {@link inspectVideo} lists it. */
export interface VideoFrameSummary {
  index: number;
  /** ms. */
  timestamp: number;
  /** Frame type. */
  type: FrameTypeName;
  keyframe: boolean;
  /** Payload bytes. */
  bytes: number;
}

export interface VideoSummary {
  byteLength: number;
  sequenceHeader: Omit<SequenceHeader, 'modelHash'> & { modelHash: string; quality: number };
  /** Duration in ms, when the file says. */
  duration: number | undefined;
  audioTracks: { number: number; codecId: string; sampleRate?: number; channels?: number; packets: number }[];
  frames: VideoFrameSummary[];
  videoBytes: number;
  /** Video bits per second. */
  bitrate: number;
}

interface ParsedVideo {
  mkv: MkvFile;
  track: MkvTrack;
  seq: SequenceHeader;
  blocks: MkvFile['blocks'];
  /** ms per timestamp tick. */
  scale: number;
}

function parseVideo(bytes: Uint8Array, limits?: Partial<Limits>): ParsedVideo {
  const lim = resolveLimits(limits);
  if (!isMatroska(bytes)) throw new BitstreamError('not a Matroska file (no EBML header)');
  const mkv = readMatroska(bytes);
  const track = mkv.tracks.find((t) => t.codecId === NEUROCODEC_CODEC_ID);
  if (!track) throw new BitstreamError(`the file has no ${NEUROCODEC_CODEC_ID} video track`);
  if (!track.codecPrivate) throw new BitstreamError('the video track has no sequence header (CodecPrivate)');
  const seq = readSequenceHeader(track.codecPrivate, limits);
  const blocks = mkv.blocks.filter((b) => b.track === track.number);
  checkLimit('maxFrames', blocks.length, lim.maxFrames);
  if (blocks.length === 0) throw new BitstreamError('the video track has no frames');
  return { mkv, track, seq, blocks, scale: mkv.timestampScale / 1e6 };
}

/** A decoded frame of a neurocodec video. */
export interface DecodedVideoFrame {
  /** 0-based position in the file. */
  index: number;
  type: FrameTypeName;
  /** Presentation time in ms. */
  timestamp: number;
  /** Interleaved 8-bit RGB, width * height * 3 bytes. */
  data: Uint8Array;
  width: number;
  height: number;
  /** Size of the frame in the file. */
  bytes: number;
}

/** The frames of a parsed file, decoded in order (P-frames against the previous one). */
async function* framesOf(codec: LearnedImageCodec, seq: SequenceHeader, blocks: ParsedVideo['blocks'], options: { signal?: AbortSignal; limits?: Partial<Limits> }, scale = 1): AsyncGenerator<DecodedVideoFrame> {
  const { width, height } = seq;
  const { signal } = options;
  let pcoder: PFrameCoder | undefined;
  let ref: Frame | undefined;
  for (let i = 0; i < blocks.length; i++) {
    throwIfAborted(signal);
    const { type, data } = readFramePayload(blocks[i].data, i);
    let frame: Frame;
    try {
      if (type === 'P') {
        if (!ref) throw new BitstreamError(`frame ${i} is a P-frame with no frame before it`);
        pcoder ??= new PFrameCoder(codec, { layout: seq.frameFormat === FrameFormat.COMPACT_P ? 'compact' : 'container' });
        frame = await pcoder.decode(data, ref, { signal, limits: options.limits });
      } else {
        ({ frame } = await codec.decode(data, { signal, limits: options.limits }));
      }
      ref = frame;
    } catch (err) {
      if (err instanceof BitstreamError && !err.message.startsWith('frame ')) throw new BitstreamError(`frame ${i}: ${err.message}`, { cause: err });
      throw err;
    }
    if (frame.width !== width || frame.height !== height || frame.channels !== 3 || frame.data.length !== width * height * 3) {
      throw new BitstreamError(`frame ${i} is ${frame.width}x${frame.height} with ${frame.channels} channels; the sequence is ${width}x${height} RGB`);
    }
    yield { index: i, type, timestamp: Math.round(blocks[i].timestamp * scale), data: frame.data, width, height, bytes: blocks[i].data.length };
  }
}

/**
 * Decode a neurocodec Matroska file (its bytes) to RGB frames, one at a time, in order.
 * @example
 * for await (const f of decodeVideoFrames(await readFile('clip.mkv'))) console.log(f.index, f.type, f.timestamp);
 * @throws BitstreamError / LimitExceededError for a malformed file; ModelMismatchError for
 *   a file of another model; AbortError.
 */
export async function* decodeVideoFrames(bytes: Uint8Array, options: Pick<VideoDecodeOptions, 'codec' | 'threads' | 'signal' | 'limits'> = {}): AsyncGenerator<DecodedVideoFrame> {
  checkDecodeOptions({ codec: options.codec, threads: options.threads, signal: options.signal, limits: options.limits });
  if (!(bytes instanceof Uint8Array)) throw invalidOption('Uint8Array', 'bytes', bytes);
  const { seq, blocks, scale } = parseVideo(bytes, options.limits);
  const codec = await codecForFile(seq.codecId, options.codec, options.threads);
  checkModel(seq, { codecId: codec.id, modelHash: codec.bundle.hashPrefix });
  yield* framesOf(codec, seq, blocks, options, scale);
}

/**
 * A Duplex that takes raw RGB frames (`{ data, width, height }`, object mode) and gives the
 * bytes of a neurocodec Matroska file (I- and P-frames as {@link encodeVideo} codes them;
 * `fps` sets the timestamps, default 25). Memory does not grow with the number of frames.
 * @example
 * const enc = createVideoEncodeStream({ quality: 60, fps: { num: 30, den: 1 } });
 * enc.pipe(createWriteStream('clip.mkv'));
 * for (const frame of frames) if (!enc.write(frame)) await once(enc, 'drain');
 * enc.end();
 * @throws (as 'error' events) what {@link encodeVideo} throws.
 */
export function createVideoEncodeStream(options: VideoEncodeOptions = {}): Duplex {
  return Duplex.from(async function* (source: AsyncIterable<VideoFrameInput>) {
    const out = new PassThrough();
    const done = encodeVideo(source, out, { ...options, audio: false }).then(
      (result) => {
        out.end();
        return result;
      },
      (err: unknown) => {
        out.destroy(err as Error);
        throw err;
      },
    );
    done.catch(() => undefined);
    for await (const chunk of out) yield chunk as Buffer;
    await done;
  });
}

/**
 * A Duplex that takes the bytes of a neurocodec Matroska file and gives its decoded frames
 * ({@link DecodedVideoFrame}, object mode). The file is gathered whole before decoding (it
 * is the compressed form); frames come out one at a time.
 * @example
 * await pipeline(createReadStream('clip.mkv'), createVideoDecodeStream(), async (frames) => { for await (const f of frames) use(f); });
 * @throws (as 'error' events) what {@link decodeVideoFrames} throws.
 */
export function createVideoDecodeStream(options: Pick<VideoDecodeOptions, 'codec' | 'threads' | 'signal' | 'limits'> = {}): Duplex {
  return Duplex.from(async function* (source: AsyncIterable<Buffer | Uint8Array | string>) {
    const chunks: Buffer[] = [];
    for await (const c of source) chunks.push(typeof c === 'string' ? Buffer.from(c) : Buffer.from(c.buffer, c.byteOffset, c.byteLength));
    yield* decodeVideoFrames(new Uint8Array(Buffer.concat(chunks)), options);
  });
}

/**
 * Describe a neurocodec Matroska file without decoding any frame: the sequence header,
 * the audio tracks and every frame's type and size. Each frame's container is checked (its
 * header and unit CRCs), so a damaged file fails here too.
 * @example const { sequenceHeader, frames } = inspectVideo(await readFile('clip.mkv'));
 * @throws BitstreamError / LimitExceededError for a malformed file or a damaged frame.
 */
export function inspectVideo(bytes: Uint8Array, limits?: Partial<Limits>): VideoSummary {
  const { mkv, seq, blocks, scale } = parseVideo(bytes, limits);
  const frames: VideoFrameSummary[] = blocks.map((b, index) => {
    const { type, data } = readFramePayload(b.data, index);
    // every frame is CRC-protected (a container, or a compact P-frame record): a damaged one
    // is reported here, not at decode
    try {
      if (type === 'P' && seq.frameFormat === FrameFormat.COMPACT_P) checkCompactPFrame(data);
      else readContainer(data, limits);
    } catch (err) {
      throw err instanceof BitstreamError ? new BitstreamError(`frame ${index}: ${err.message}`) : err;
    }
    return { index, timestamp: Math.round(b.timestamp * scale), type, keyframe: b.keyframe, bytes: b.data.length };
  });
  const videoBytes = frames.reduce((s, f) => s + f.bytes, 0);
  const seconds = (frames.length * seq.fps.den) / seq.fps.num;
  const audioTracks = mkv.tracks
    .filter((t) => t.type === 2)
    .map((t) => ({
      number: t.number,
      codecId: t.codecId,
      sampleRate: t.audio?.samplingFrequency,
      channels: t.audio?.channels,
      packets: mkv.blocks.filter((b) => b.track === t.number).length,
    }));
  return {
    byteLength: bytes.length,
    sequenceHeader: { ...seq, modelHash: toHex(seq.modelHash), quality: seq.quality100 / 100 },
    duration: mkv.duration === undefined ? undefined : mkv.duration * scale,
    audioTracks,
    frames,
    videoBytes,
    bitrate: (videoBytes * 8) / seconds,
  };
}

/** Writes the audio tracks of a parsed file into a Matroska audio-only file. */
async function writeAudioFile(mkv: MkvFile, path: string, signal: AbortSignal | undefined): Promise<number> {
  const audio = mkv.tracks.filter((t) => t.type === 2);
  if (audio.length === 0) return 0;
  const renumber = new Map(audio.map((t, i) => [t.number, i + 1]));
  const tracks = audio.map((t, i) => ({ ...t, number: i + 1, uid: BigInt(i + 1) }));
  const scale = mkv.timestampScale / 1e6;
  const writer = new MatroskaWriter(await fileSink(path), { tracks });
  const blocks = mkv.blocks
    .filter((b) => renumber.has(b.track))
    .map((b) => ({ ...b, track: renumber.get(b.track)!, timestamp: Math.round(b.timestamp * scale), duration: b.duration === undefined ? undefined : Math.round(b.duration * scale) }))
    .sort((a, b) => a.timestamp - b.timestamp);
  for (const b of blocks) {
    throwIfAborted(signal);
    await writer.addBlock(b);
  }
  await writer.finish();
  return audio.length;
}

/**
 * Decode a neurocodec Matroska file (a path or its bytes) to a video through ffmpeg: a
 * path ending in .mp4, .y4m or .mkv (written atomically), `-` for standard output, or a
 * Writable. The audio goes back into mp4 and mkv outputs unchanged.
 * @example
 * await decodeVideo('clip.mkv', 'clip.mp4');
 * await decodeVideo(bytes, process.stdout, { format: 'y4m' });
 * @throws InvalidOptionError for bad options; InputError when the file cannot be read;
 *   BitstreamError / LimitExceededError for a corrupt file; ModelMismatchError when it
 *   needs other weights or a codec that is not installed; OutputError when the output
 *   cannot be written; AbortError when `signal` fires.
 */
export async function decodeVideo(input: string | Uint8Array, output: string | Writable, options: VideoDecodeOptions = {}): Promise<VideoDecodeResult> {
  checkDecodeOptions({ codec: options.codec, threads: options.threads, signal: options.signal, limits: options.limits });
  const { signal } = options;
  throwIfAborted(signal);
  const started = performance.now();
  let bytes: Uint8Array;
  if (typeof input === 'string') {
    try {
      bytes = await readFile(input);
    } catch (err) {
      throw new InputError(`cannot read '${input}': ${fsReason(err)}`, { cause: err });
    }
  } else if (input instanceof Uint8Array) bytes = input;
  else throw invalidOption('path or Uint8Array', 'input', input);

  const { mkv, seq, blocks } = parseVideo(bytes, options.limits);
  const codec = await codecForFile(seq.codecId, options.codec, options.threads);
  checkModel(seq, { codecId: codec.id, modelHash: codec.bundle.hashPrefix });

  const toFile = typeof output === 'string' && output !== '-';
  let format: VideoOutputFormat;
  if (options.format !== undefined) format = options.format;
  else if (!toFile) format = 'y4m';
  else {
    const ext = /\.([a-z0-9]+)$/i.exec(output as string)?.[1]?.toLowerCase();
    if (ext === 'mp4' || ext === 'm4v' || ext === 'mov') format = 'mp4';
    else if (ext === 'y4m' || ext === 'mkv') format = ext;
    else throw invalidOption('output ending in .mp4, .y4m or .mkv (or a format option)', 'output', output);
  }
  if (!['mp4', 'y4m', 'mkv'].includes(format)) throw invalidOption('one of mp4, y4m, mkv', 'format', format);

  const { width, height, fps } = seq;
  let frames = 0;
  let coded = 0;
  async function* decoded(): AsyncGenerator<Uint8Array> {
    for await (const f of framesOf(codec, seq, blocks, options)) {
      frames++;
      coded += f.bytes;
      options.onProgress?.({ frames, totalFrames: blocks.length, bytes: coded, elapsedMs: performance.now() - started, fps });
      yield f.data;
    }
  }

  const workDir = await mkdtemp(join(tmpdir(), 'neurocodec-decode-'));
  let tmp: string | undefined;
  try {
    let audioFrom: string | undefined;
    let audioTracks = 0;
    if (format !== 'y4m' && options.audio !== false) {
      const mka = join(workDir, 'audio.mka');
      audioTracks = await writeAudioFile(mkv, mka, signal);
      if (audioTracks > 0) audioFrom = mka;
    }
    const target = toFile ? (tmp = tempPathFor(output as string)) : output === '-' ? '-' : output;
    const res = await writeFrames(decoded(), target, { fps, width, height, format, audioFrom, signal });
    if (frames !== blocks.length) throw new OutputError(`ffmpeg stopped after ${frames} of ${blocks.length} frames`);
    if (tmp !== undefined) {
      await renameInto(tmp, output as string);
      tmp = undefined;
    }
    return { frames, width, height, fps, format, encoder: res.encoder, audioTracks, sequenceHeader: seq };
  } finally {
    if (tmp !== undefined) await unlink(tmp).catch(() => undefined);
    await rm(workDir, { recursive: true, force: true }).catch(() => undefined);
  }
}
