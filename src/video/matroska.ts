/**
 * Matroska (EBML) muxing and demuxing of our own, enough for a neurocodec video track
 * (`V_NEUROCODEC`, the sequence header as CodecPrivate) beside audio tracks copied
 * unchanged from another file.
 *
 * Writer: EBML header (DocType `matroska`), one Segment with Info (1 ms timestamps),
 * Tracks, Clusters of SimpleBlocks and Cues to the clusters that start at video
 * keyframes. Clusters go out as they fill, so memory holds at most one cluster. With a
 * seekable sink (a file, a buffer) the Segment size, Duration and a SeekHead are patched
 * in at the end; with a plain stream the Segment has unknown size.
 *
 * Reader: parses the same and well-formed Matroska/WebM from other muxers (SimpleBlocks,
 * BlockGroups, Xiph/EBML/fixed lacing, unknown-size Segment and Clusters). Every size
 * and count is checked against the input's length and {@link MatroskaLimits} before use;
 * corrupt input throws BitstreamError or LimitExceededError.
 */
import { open, readFile, rm, mkdtemp, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { BitstreamError, OutputError, fsReason, invalidOption, throwIfAborted } from '../errors.js';
import { checkLimit, MAX_FRAMES } from '../bitstream/limits.js';
import { probe, runFfmpeg, type Rational } from './ffmpeg.js';

// ---------------------------------------------------------------------------------------
// Element ids

export const EbmlId = {
  EBML: 0x1a45dfa3,
  EBMLVersion: 0x4286,
  EBMLReadVersion: 0x42f7,
  EBMLMaxIDLength: 0x42f2,
  EBMLMaxSizeLength: 0x42f3,
  DocType: 0x4282,
  DocTypeVersion: 0x4287,
  DocTypeReadVersion: 0x4285,
  Void: 0xec,
  CRC32: 0xbf,
  Segment: 0x18538067,
  SeekHead: 0x114d9b74,
  Seek: 0x4dbb,
  SeekID: 0x53ab,
  SeekPosition: 0x53ac,
  Info: 0x1549a966,
  TimestampScale: 0x2ad7b1,
  Duration: 0x4489,
  MuxingApp: 0x4d80,
  WritingApp: 0x5741,
  Tracks: 0x1654ae6b,
  TrackEntry: 0xae,
  TrackNumber: 0xd7,
  TrackUID: 0x73c5,
  TrackType: 0x83,
  FlagLacing: 0x9c,
  CodecID: 0x86,
  CodecPrivate: 0x63a2,
  DefaultDuration: 0x23e383,
  CodecDelay: 0x56aa,
  SeekPreRoll: 0x56bb,
  Language: 0x22b59c,
  Name: 0x536e,
  ContentEncodings: 0x6d80,
  Video: 0xe0,
  PixelWidth: 0xb0,
  PixelHeight: 0xba,
  Audio: 0xe1,
  SamplingFrequency: 0xb5,
  Channels: 0x9f,
  BitDepth: 0x6264,
  Cluster: 0x1f43b675,
  Timestamp: 0xe7,
  SimpleBlock: 0xa3,
  BlockGroup: 0xa0,
  Block: 0xa1,
  BlockDuration: 0x9b,
  ReferenceBlock: 0xfb,
  Cues: 0x1c53bb6b,
  CuePoint: 0xbb,
  CueTime: 0xb3,
  CueTrackPositions: 0xb7,
  CueTrack: 0xf7,
  CueClusterPosition: 0xf1,
} as const;

/** CodecID of our video track. */
export const NEUROCODEC_CODEC_ID = 'V_NEUROCODEC';

// ---------------------------------------------------------------------------------------
// Limits

/** Named budgets for what the reader accepts; a broken one throws LimitExceededError. */
export interface MatroskaLimits {
  /** Largest input, in bytes. */
  readonly maxFileBytes: number;
  /** Largest single block payload, in bytes. */
  readonly maxBlockBytes: number;
  /** Most blocks (laced frames counted one by one) in a file. */
  readonly maxBlocks: number;
  /** Most tracks. */
  readonly maxTracks: number;
  /** Largest CodecPrivate, in bytes. */
  readonly maxCodecPrivateBytes: number;
  /** Most cue points. */
  readonly maxCuePoints: number;
}

export const MATROSKA_LIMITS: Readonly<MatroskaLimits> = Object.freeze({
  maxFileBytes: 4 * 1024 * 1024 * 1024,
  maxBlockBytes: 256 * 1024 * 1024,
  maxBlocks: 4 * MAX_FRAMES,
  maxTracks: 64,
  maxCodecPrivateBytes: 16 * 1024 * 1024,
  maxCuePoints: MAX_FRAMES,
});

function resolveMkvLimits(overrides?: Partial<MatroskaLimits>): MatroskaLimits {
  if (overrides === undefined) return MATROSKA_LIMITS;
  const out: Record<string, number> = { ...MATROSKA_LIMITS };
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) continue;
    if (!Object.hasOwn(MATROSKA_LIMITS, key)) throw invalidOption(`one of ${Object.keys(MATROSKA_LIMITS).join(', ')}`, 'limits key', key);
    const max = MATROSKA_LIMITS[key as keyof MatroskaLimits];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > max) {
      throw invalidOption(`integer between 0 and ${max}`, `limits.${key}`, value);
    }
    out[key] = value;
  }
  return out as unknown as MatroskaLimits;
}

// ---------------------------------------------------------------------------------------
// Shared types

export interface MkvTrack {
  /** Track number used by blocks (1..127 here). */
  number: number;
  uid: bigint;
  /** 1 video, 2 audio, 17 subtitle … */
  type: number;
  codecId: string;
  codecPrivate?: Uint8Array;
  /** Nanoseconds per frame. */
  defaultDuration?: number;
  /** Nanoseconds. */
  codecDelay?: number;
  /** Nanoseconds. */
  seekPreRoll?: number;
  language?: string;
  name?: string;
  video?: { width: number; height: number };
  audio?: { samplingFrequency: number; channels: number; bitDepth?: number };
}

export interface MkvBlock {
  track: number;
  /** Absolute timestamp in ticks of the file's TimestampScale (1 ms in files we write). */
  timestamp: number;
  keyframe: boolean;
  data: Uint8Array;
  /** In ticks, when a BlockGroup gave one. */
  duration?: number;
}

export interface MkvCuePoint {
  time: number;
  track: number;
  /** Offset of the cluster from the start of the Segment's data. */
  clusterPosition: number;
}

export interface MkvFile {
  docType: string;
  /** Nanoseconds per timestamp tick. */
  timestampScale: number;
  /** In ticks, when the file says. */
  duration: number | undefined;
  muxingApp: string | undefined;
  writingApp: string | undefined;
  tracks: MkvTrack[];
  blocks: MkvBlock[];
  cues: MkvCuePoint[];
}

// ---------------------------------------------------------------------------------------
// Writing EBML

const UNKNOWN_SIZE = new Uint8Array([0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);

function idBytes(id: number): Uint8Array {
  const len = id >= 0x1000000 ? 4 : id >= 0x10000 ? 3 : id >= 0x100 ? 2 : 1;
  const out = new Uint8Array(len);
  for (let i = 0; i < len; i++) out[i] = Math.floor(id / 256 ** (len - 1 - i)) & 0xff;
  return out;
}

/** EBML size field; `width` forces a length (1..8). */
function sizeBytes(size: number, width?: number): Uint8Array {
  let len = width ?? 1;
  if (width === undefined) while (len < 8 && size >= 2 ** (7 * len) - 1) len++;
  if (size >= 2 ** (7 * len) - 1 || !Number.isSafeInteger(size) || size < 0) throw invalidOption(`size below 2^${7 * len}-1`, 'EBML size', size);
  const out = new Uint8Array(len);
  let rest = size;
  for (let i = len - 1; i >= 0; i--) {
    out[i] = rest % 256;
    rest = Math.floor(rest / 256);
  }
  out[0] |= 0x80 >> (len - 1);
  return out;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  return Buffer.concat(parts);
}

function el(id: number, ...payload: Uint8Array[]): Uint8Array {
  const body = payload.length === 1 ? payload[0] : concat(payload);
  return concat([idBytes(id), sizeBytes(body.length), body]);
}

function uintBytes(value: number | bigint): Uint8Array {
  let v = BigInt(value);
  if (v < 0n) throw invalidOption('unsigned integer', 'EBML uint', value);
  const bytes: number[] = [];
  do {
    bytes.unshift(Number(v & 0xffn));
    v >>= 8n;
  } while (v > 0n);
  return new Uint8Array(bytes);
}

/** An unsigned integer in exactly 8 bytes, big-endian. */
function uint64(value: number): Uint8Array {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(value));
  return b;
}

const elUint = (id: number, value: number | bigint) => el(id, uintBytes(value));
const elString = (id: number, text: string) => el(id, Buffer.from(text, 'utf8'));
function elFloat(id: number, value: number): Uint8Array {
  const b = Buffer.alloc(8);
  b.writeDoubleBE(value);
  return el(id, b);
}

function voidElement(total: number): Uint8Array {
  // A Void of exactly `total` bytes (total ≥ 2): id, 1- or 8-byte size, zero filler.
  const sizeLen = total - 1 - 1 <= 126 ? 1 : 8;
  const body = total - 1 - sizeLen;
  return concat([idBytes(EbmlId.Void), sizeBytes(body, sizeLen), new Uint8Array(body)]);
}

function trackEntry(t: MkvTrack): Uint8Array {
  const parts = [elUint(EbmlId.TrackNumber, t.number), elUint(EbmlId.TrackUID, t.uid), elUint(EbmlId.TrackType, t.type)];
  parts.push(elUint(EbmlId.FlagLacing, 0), elString(EbmlId.CodecID, t.codecId));
  if (t.language) parts.push(elString(EbmlId.Language, t.language));
  if (t.name) parts.push(elString(EbmlId.Name, t.name));
  if (t.codecPrivate) parts.push(el(EbmlId.CodecPrivate, t.codecPrivate));
  if (t.defaultDuration) parts.push(elUint(EbmlId.DefaultDuration, Math.round(t.defaultDuration)));
  if (t.codecDelay) parts.push(elUint(EbmlId.CodecDelay, t.codecDelay));
  if (t.seekPreRoll) parts.push(elUint(EbmlId.SeekPreRoll, t.seekPreRoll));
  if (t.video) parts.push(el(EbmlId.Video, elUint(EbmlId.PixelWidth, t.video.width), elUint(EbmlId.PixelHeight, t.video.height)));
  if (t.audio) {
    const a = [elFloat(EbmlId.SamplingFrequency, t.audio.samplingFrequency), elUint(EbmlId.Channels, t.audio.channels)];
    if (t.audio.bitDepth) a.push(elUint(EbmlId.BitDepth, t.audio.bitDepth));
    parts.push(el(EbmlId.Audio, ...a));
  }
  return el(EbmlId.TrackEntry, ...parts);
}

// ---------------------------------------------------------------------------------------
// Sinks

/** Where a {@link MatroskaWriter} puts its bytes. `patch` (optional) overwrites bytes already written. */
export interface MatroskaSink {
  write(bytes: Uint8Array): Promise<void> | void;
  patch?(position: number, bytes: Uint8Array): Promise<void> | void;
  close?(): Promise<void> | void;
}

/** A sink that keeps everything in memory; `bytes()` gives the file. */
export class BufferSink implements MatroskaSink {
  #chunks: Uint8Array[] = [];
  #joined: Uint8Array | undefined;
  write(bytes: Uint8Array): void {
    this.#chunks.push(bytes);
    this.#joined = undefined;
  }
  patch(position: number, bytes: Uint8Array): void {
    const all = this.bytes();
    all.set(bytes, position);
  }
  bytes(): Uint8Array {
    if (!this.#joined) {
      const joined = concat(this.#chunks);
      // A plain Uint8Array, so that slice() copies as callers expect.
      this.#joined = new Uint8Array(joined.buffer, joined.byteOffset, joined.length);
      this.#chunks = [this.#joined];
    }
    return this.#joined;
  }
}

/** A seekable sink over a file (created or truncated). */
export async function fileSink(path: string): Promise<MatroskaSink> {
  let handle;
  try {
    handle = await open(path, 'w');
  } catch (err) {
    throw new OutputError(`cannot write '${path}': ${fsReason(err)}`, { cause: err });
  }
  let position = 0;
  const fail = (err: unknown) => new OutputError(`cannot write '${path}': ${fsReason(err)}`, { cause: err });
  return {
    async write(bytes) {
      try {
        await handle.write(bytes, 0, bytes.length, position);
      } catch (err) {
        throw fail(err);
      }
      position += bytes.length;
    },
    async patch(at, bytes) {
      try {
        await handle.write(bytes, 0, bytes.length, at);
      } catch (err) {
        throw fail(err);
      }
    },
    async close() {
      await handle.close();
    },
  };
}

/** A non-seekable sink over a Writable, with backpressure; the Segment gets unknown size. */
export function streamSink(stream: Writable): MatroskaSink {
  let failure: Error | undefined;
  stream.on('error', (err) => (failure ??= err));
  const check = () => {
    if (failure) throw new OutputError(`cannot write the output stream: ${failure.message}`, { cause: failure });
  };
  return {
    async write(bytes) {
      check();
      if (!stream.write(bytes)) {
        await new Promise<void>((resolve) => {
          const done = () => {
            stream.off('drain', done);
            stream.off('close', done);
            stream.off('error', done);
            resolve();
          };
          stream.on('drain', done);
          stream.on('close', done);
          stream.on('error', done);
        });
      }
      check();
    },
  };
}

// ---------------------------------------------------------------------------------------
// MatroskaWriter

export interface MatroskaWriterOptions {
  tracks: MkvTrack[];
  /** Duration in ms to write up front, for sinks that cannot patch. */
  duration?: number;
  /** Longest cluster in ms before a new one starts at the next video keyframe (default 1000). */
  clusterMs?: number;
  writingApp?: string;
}

const SEEKHEAD_RESERVED = 96;
const MAX_CLUSTER_BYTES = 32 * 1024 * 1024;

/**
 * Streaming Matroska writer. Blocks must come in non-decreasing timestamp order (ms).
 * @example
 * const sink = new BufferSink();
 * const w = new MatroskaWriter(sink, { tracks: [videoTrack] });
 * await w.addBlock({ track: 1, timestamp: 0, keyframe: true, data });
 * await w.finish();
 * @throws InvalidOptionError for bad tracks or out-of-order blocks, OutputError when the sink fails.
 */
export class MatroskaWriter {
  readonly #sink: MatroskaSink;
  readonly #options: MatroskaWriterOptions;
  readonly #videoTracks: Set<number>;
  #started = false;
  #finished = false;
  #written = 0;
  #segmentDataStart = 0;
  #durationPos = -1;
  #infoPos = 0;
  #tracksPos = 0;
  #cluster: Uint8Array[] = [];
  #clusterBytes = 0;
  #clusterTime = -1;
  #lastTime = 0;
  #end = 0;
  #cues: MkvCuePoint[] = [];
  #defaultDurations = new Map<number, number>();

  constructor(sink: MatroskaSink, options: MatroskaWriterOptions) {
    if (!options || !Array.isArray(options.tracks) || options.tracks.length === 0) throw invalidOption('non-empty array', 'tracks', options?.tracks);
    const numbers = new Set<number>();
    for (const t of options.tracks) {
      if (!Number.isInteger(t.number) || t.number < 1 || t.number > 126 || numbers.has(t.number)) {
        throw invalidOption('unique integer between 1 and 126', 'track number', t.number);
      }
      numbers.add(t.number);
      if (typeof t.codecId !== 'string' || !/^[\x20-\x7e]+$/.test(t.codecId)) throw invalidOption('ASCII codec id', 'codecId', t.codecId);
      if (t.defaultDuration) this.#defaultDurations.set(t.number, t.defaultDuration / 1e6);
    }
    this.#sink = sink;
    this.#options = options;
    this.#videoTracks = new Set(options.tracks.filter((t) => t.type === 1).map((t) => t.number));
  }

  async #write(bytes: Uint8Array): Promise<void> {
    await this.#sink.write(bytes);
    this.#written += bytes.length;
  }

  async #start(): Promise<void> {
    this.#started = true;
    const header = el(
      EbmlId.EBML,
      elUint(EbmlId.EBMLVersion, 1),
      elUint(EbmlId.EBMLReadVersion, 1),
      elUint(EbmlId.EBMLMaxIDLength, 4),
      elUint(EbmlId.EBMLMaxSizeLength, 8),
      elString(EbmlId.DocType, 'matroska'),
      elUint(EbmlId.DocTypeVersion, 4),
      elUint(EbmlId.DocTypeReadVersion, 2),
    );
    await this.#write(concat([header, idBytes(EbmlId.Segment), UNKNOWN_SIZE]));
    this.#segmentDataStart = this.#written;
    await this.#write(voidElement(SEEKHEAD_RESERVED));

    const app = this.#options.writingApp ?? 'neurocodec';
    const info = [elUint(EbmlId.TimestampScale, 1_000_000), elString(EbmlId.MuxingApp, app), elString(EbmlId.WritingApp, app)];
    const withDuration = this.#sink.patch !== undefined || this.#options.duration !== undefined;
    const infoBody = concat(info);
    const durationEl = withDuration ? elFloat(EbmlId.Duration, this.#options.duration ?? 0) : new Uint8Array(0);
    const infoEl = el(EbmlId.Info, infoBody, durationEl);
    this.#infoPos = this.#written - this.#segmentDataStart;
    if (withDuration) this.#durationPos = this.#written + infoEl.length - 8;
    await this.#write(infoEl);
    this.#tracksPos = this.#written - this.#segmentDataStart;
    await this.#write(el(EbmlId.Tracks, ...this.#options.tracks.map(trackEntry)));
  }

  async #flushCluster(): Promise<void> {
    if (this.#cluster.length === 0) return;
    const body = concat([elUint(EbmlId.Timestamp, this.#clusterTime), ...this.#cluster]);
    this.#cluster = [];
    this.#clusterBytes = 0;
    await this.#write(concat([idBytes(EbmlId.Cluster), sizeBytes(body.length), body]));
  }

  /** Add one frame or audio packet; `timestamp` in ms, never below the previous one. */
  async addBlock(block: MkvBlock): Promise<void> {
    if (this.#finished) throw invalidOption('writer that is not finished', 'addBlock', 'finished writer');
    if (!this.#options.tracks.some((t) => t.number === block.track)) throw invalidOption('a declared track number', 'block track', block.track);
    if (!Number.isSafeInteger(block.timestamp) || block.timestamp < this.#lastTime) {
      throw invalidOption(`integer timestamp ≥ ${this.#lastTime}`, 'block timestamp', block.timestamp);
    }
    if (!(block.data instanceof Uint8Array)) throw invalidOption('Uint8Array', 'block data', block.data);
    if (!this.#started) await this.#start();
    this.#lastTime = block.timestamp;
    const isVideoKey = block.keyframe && this.#videoTracks.has(block.track);
    const age = block.timestamp - this.#clusterTime;
    const newCluster =
      this.#clusterTime < 0 ||
      age > 32767 ||
      this.#clusterBytes + block.data.length > MAX_CLUSTER_BYTES ||
      (isVideoKey && age >= (this.#options.clusterMs ?? 1000)) ||
      (this.#videoTracks.size === 0 && age >= (this.#options.clusterMs ?? 1000));
    if (newCluster) {
      await this.#flushCluster();
      this.#clusterTime = block.timestamp;
      if (isVideoKey || this.#videoTracks.size === 0) {
        this.#cues.push({ time: block.timestamp, track: block.track, clusterPosition: this.#written - this.#segmentDataStart });
      }
    }
    const head = new Uint8Array(4);
    head[0] = 0x80 | block.track;
    const rel = block.timestamp - this.#clusterTime;
    head[1] = (rel >> 8) & 0xff;
    head[2] = rel & 0xff;
    head[3] = block.keyframe ? 0x80 : 0;
    const simple = concat([idBytes(EbmlId.SimpleBlock), sizeBytes(4 + block.data.length), head, block.data]);
    this.#cluster.push(simple);
    this.#clusterBytes += simple.length;
    const length = block.duration ?? this.#defaultDurations.get(block.track) ?? 0;
    this.#end = Math.max(this.#end, block.timestamp + length);
  }

  /** Write the last cluster and the Cues, patch sizes when the sink can, and close it. Returns the duration in ms. */
  async finish(): Promise<number> {
    if (this.#finished) return this.#end;
    if (!this.#started) await this.#start();
    this.#finished = true;
    await this.#flushCluster();
    const cuesPos = this.#written - this.#segmentDataStart;
    if (this.#cues.length > 0) {
      const points = this.#cues.map((c) =>
        el(
          EbmlId.CuePoint,
          elUint(EbmlId.CueTime, c.time),
          el(EbmlId.CueTrackPositions, elUint(EbmlId.CueTrack, c.track), elUint(EbmlId.CueClusterPosition, c.clusterPosition)),
        ),
      );
      await this.#write(el(EbmlId.Cues, ...points));
    }
    if (this.#sink.patch) {
      const segmentSize = this.#written - this.#segmentDataStart;
      await this.#sink.patch(this.#segmentDataStart - 8, sizeBytes(segmentSize, 8));
      if (this.#durationPos >= 0) {
        const d = Buffer.alloc(8);
        d.writeDoubleBE(this.#end);
        await this.#sink.patch(this.#durationPos, d);
      }
      const seek = (id: number, pos: number) =>
        el(EbmlId.Seek, el(EbmlId.SeekID, idBytes(id)), el(EbmlId.SeekPosition, uint64(pos)));
      const entries = [seek(EbmlId.Info, this.#infoPos), seek(EbmlId.Tracks, this.#tracksPos)];
      if (this.#cues.length > 0) entries.push(seek(EbmlId.Cues, cuesPos));
      const seekHead = el(EbmlId.SeekHead, ...entries);
      await this.#sink.patch(this.#segmentDataStart, concat([seekHead, voidElement(SEEKHEAD_RESERVED - seekHead.length)]));
    }
    await this.#sink.close?.();
    return this.#end;
  }
}

// ---------------------------------------------------------------------------------------
// Reading EBML

interface Header {
  id: number;
  /** Start of the element's data. */
  start: number;
  /** End of its data; for an unknown size, the end of the parent. */
  end: number;
  unknown: boolean;
}

class EbmlReader {
  constructor(readonly data: Uint8Array) {}

  header(pos: number, parentEnd: number, what: string): Header {
    const d = this.data;
    if (pos >= parentEnd) throw new BitstreamError(`truncated ${what} at offset ${pos}`);
    const b0 = d[pos];
    const idLen = b0 >= 0x80 ? 1 : b0 >= 0x40 ? 2 : b0 >= 0x20 ? 3 : b0 >= 0x10 ? 4 : 0;
    if (idLen === 0) throw new BitstreamError(`bad element id 0x${b0.toString(16)} at offset ${pos} in ${what}`);
    if (pos + idLen > parentEnd) throw new BitstreamError(`truncated element id at offset ${pos} in ${what}`);
    let id = 0;
    for (let i = 0; i < idLen; i++) id = id * 256 + d[pos + i];
    const sizePos = pos + idLen;
    if (sizePos >= parentEnd) throw new BitstreamError(`truncated element size at offset ${sizePos} in ${what}`);
    const s0 = d[sizePos];
    if (s0 === 0) throw new BitstreamError(`bad element size at offset ${sizePos} in ${what}`);
    const sizeLen = Math.clz32(s0) - 23;
    if (sizePos + sizeLen > parentEnd) throw new BitstreamError(`truncated element size at offset ${sizePos} in ${what}`);
    let size = s0 & (0xff >> sizeLen);
    let allOnes = size === 0xff >> sizeLen;
    for (let i = 1; i < sizeLen; i++) {
      const b = d[sizePos + i];
      size = size * 256 + b;
      if (b !== 0xff) allOnes = false;
    }
    const start = sizePos + sizeLen;
    if (allOnes) return { id, start, end: parentEnd, unknown: true };
    if (size > parentEnd - start) {
      throw new BitstreamError(`element 0x${id.toString(16)} at offset ${pos} claims ${size} bytes, but ${what} has ${parentEnd - start} left`);
    }
    return { id, start, end: start + size, unknown: false };
  }

  uint(h: Header, what: string): number {
    const len = h.end - h.start;
    if (h.unknown || len > 8) throw new BitstreamError(`bad ${what}: ${len}-byte unsigned integer`);
    let v = 0;
    for (let i = h.start; i < h.end; i++) v = v * 256 + this.data[i];
    if (!Number.isSafeInteger(v)) throw new BitstreamError(`bad ${what}: ${v} is too large`);
    return v;
  }

  bigUint(h: Header, what: string): bigint {
    const len = h.end - h.start;
    if (h.unknown || len > 8) throw new BitstreamError(`bad ${what}: ${len}-byte unsigned integer`);
    let v = 0n;
    for (let i = h.start; i < h.end; i++) v = (v << 8n) | BigInt(this.data[i]);
    return v;
  }

  float(h: Header, what: string): number {
    const len = h.end - h.start;
    const view = new DataView(this.data.buffer, this.data.byteOffset + h.start, len);
    if (len === 0) return 0;
    if (len === 4) return view.getFloat32(0);
    if (len === 8) return view.getFloat64(0);
    throw new BitstreamError(`bad ${what}: ${len}-byte float`);
  }

  string(h: Header, what: string): string {
    if (h.unknown) throw new BitstreamError(`bad ${what}: unknown size`);
    return Buffer.from(this.data.buffer, this.data.byteOffset + h.start, h.end - h.start).toString('utf8').replace(/\0+$/, '');
  }

  bytes(h: Header): Uint8Array {
    return this.data.subarray(h.start, h.end);
  }

  /** Visit the children of a known-size master element. */
  *children(parent: Header, what: string): Generator<Header> {
    if (parent.unknown) throw new BitstreamError(`${what} has unknown size`);
    let pos = parent.start;
    while (pos < parent.end) {
      const h = this.header(pos, parent.end, what);
      if (h.unknown) throw new BitstreamError(`element 0x${h.id.toString(16)} in ${what} has unknown size`);
      yield h;
      pos = h.end;
    }
  }
}

const CLUSTER_CHILDREN = new Set<number>([
  EbmlId.Timestamp,
  EbmlId.SimpleBlock,
  EbmlId.BlockGroup,
  EbmlId.Void,
  EbmlId.CRC32,
  0xa7, // Position
  0xab, // PrevSize
  0x5854, // SilentTracks
  0xaf, // EncryptedBlock
]);

export interface ReadMatroskaOptions {
  limits?: Partial<MatroskaLimits>;
}

/**
 * Parse a whole Matroska or WebM file held in memory. Block data are views of `bytes`.
 * @example
 * const mkv = readMatroska(await readFile('out.mkv'));
 * const video = mkv.tracks.find((t) => t.codecId === 'V_NEUROCODEC');
 * @throws BitstreamError on malformed input, LimitExceededError when a size or count
 *   breaks a limit.
 */
export function readMatroska(bytes: Uint8Array, options: ReadMatroskaOptions = {}): MkvFile {
  if (!(bytes instanceof Uint8Array)) throw invalidOption('Uint8Array', 'bytes', bytes);
  const limits = resolveMkvLimits(options.limits);
  checkLimit('maxFileBytes', bytes.length, limits.maxFileBytes);
  const r = new EbmlReader(bytes);
  const file: MkvFile = {
    docType: '',
    timestampScale: 1_000_000,
    duration: undefined,
    muxingApp: undefined,
    writingApp: undefined,
    tracks: [],
    blocks: [],
    cues: [],
  };
  const top: Header = { id: 0, start: 0, end: bytes.length, unknown: false };
  const ebml = r.header(0, bytes.length, 'file');
  if (ebml.id !== EbmlId.EBML || ebml.unknown) throw new BitstreamError('not an EBML file: no EBML header');
  for (const h of r.children(ebml, 'EBML header')) {
    if (h.id === EbmlId.DocType) file.docType = r.string(h, 'DocType');
    else if (h.id === EbmlId.EBMLMaxSizeLength && r.uint(h, 'EBMLMaxSizeLength') > 8) throw new BitstreamError('EBMLMaxSizeLength above 8');
    else if (h.id === EbmlId.EBMLMaxIDLength && r.uint(h, 'EBMLMaxIDLength') > 4) throw new BitstreamError('EBMLMaxIDLength above 4');
  }
  if (file.docType !== 'matroska' && file.docType !== 'webm') throw new BitstreamError(`unsupported DocType '${file.docType}'`);

  // The first Segment after the header; Void elements may come between.
  let pos = ebml.end;
  let segment: Header | undefined;
  while (pos < top.end) {
    const h = r.header(pos, top.end, 'file');
    if (h.id === EbmlId.Segment) {
      segment = h;
      break;
    }
    if (h.unknown) throw new BitstreamError(`top-level element 0x${h.id.toString(16)} has unknown size`);
    pos = h.end;
  }
  if (!segment) throw new BitstreamError('no Segment in file');

  let trackEntries = 0;
  pos = segment.start;
  while (pos < segment.end) {
    const h = r.header(pos, segment.end, 'Segment');
    if (h.id === EbmlId.Cluster) {
      pos = readCluster(r, h, file, limits);
      continue;
    }
    if (h.unknown) throw new BitstreamError(`element 0x${h.id.toString(16)} in Segment has unknown size`);
    if (h.id === EbmlId.Info) {
      for (const c of r.children(h, 'Info')) {
        if (c.id === EbmlId.TimestampScale) file.timestampScale = r.uint(c, 'TimestampScale');
        else if (c.id === EbmlId.Duration) file.duration = r.float(c, 'Duration');
        else if (c.id === EbmlId.MuxingApp) file.muxingApp = r.string(c, 'MuxingApp');
        else if (c.id === EbmlId.WritingApp) file.writingApp = r.string(c, 'WritingApp');
      }
      if (file.timestampScale === 0) throw new BitstreamError('TimestampScale is 0');
    } else if (h.id === EbmlId.Tracks) {
      for (const c of r.children(h, 'Tracks')) {
        if (c.id !== EbmlId.TrackEntry) continue;
        checkLimit('maxTracks', ++trackEntries, limits.maxTracks);
        file.tracks.push(readTrack(r, c, limits));
      }
    } else if (h.id === EbmlId.Cues) {
      for (const c of r.children(h, 'Cues')) {
        if (c.id !== EbmlId.CuePoint) continue;
        let time = -1;
        for (const p of r.children(c, 'CuePoint')) {
          if (p.id === EbmlId.CueTime) time = r.uint(p, 'CueTime');
          else if (p.id === EbmlId.CueTrackPositions) {
            let track = -1;
            let clusterPosition = -1;
            for (const q of r.children(p, 'CueTrackPositions')) {
              if (q.id === EbmlId.CueTrack) track = r.uint(q, 'CueTrack');
              else if (q.id === EbmlId.CueClusterPosition) clusterPosition = r.uint(q, 'CueClusterPosition');
            }
            if (time < 0 || track < 0 || clusterPosition < 0) throw new BitstreamError('incomplete CuePoint');
            checkLimit('maxCuePoints', file.cues.length + 1, limits.maxCuePoints);
            file.cues.push({ time, track, clusterPosition });
          }
        }
      }
    }
    pos = h.end;
  }
  return file;
}

function readTrack(r: EbmlReader, entry: Header, limits: MatroskaLimits): MkvTrack {
  const t: MkvTrack = { number: 0, uid: 0n, type: 0, codecId: '' };
  for (const c of r.children(entry, 'TrackEntry')) {
    switch (c.id) {
      case EbmlId.TrackNumber: t.number = r.uint(c, 'TrackNumber'); break;
      case EbmlId.TrackUID: t.uid = r.bigUint(c, 'TrackUID'); break;
      case EbmlId.TrackType: t.type = r.uint(c, 'TrackType'); break;
      case EbmlId.CodecID: t.codecId = r.string(c, 'CodecID'); break;
      case EbmlId.CodecPrivate:
        checkLimit('maxCodecPrivateBytes', c.end - c.start, limits.maxCodecPrivateBytes);
        t.codecPrivate = r.bytes(c);
        break;
      case EbmlId.DefaultDuration: t.defaultDuration = r.uint(c, 'DefaultDuration'); break;
      case EbmlId.CodecDelay: t.codecDelay = r.uint(c, 'CodecDelay'); break;
      case EbmlId.SeekPreRoll: t.seekPreRoll = r.uint(c, 'SeekPreRoll'); break;
      case EbmlId.Language: t.language = r.string(c, 'Language'); break;
      case EbmlId.Name: t.name = r.string(c, 'Name'); break;
      case EbmlId.ContentEncodings:
        throw new BitstreamError('track content encodings (compression, encryption) are not supported');
      case EbmlId.Video: {
        const v = { width: 0, height: 0 };
        for (const p of r.children(c, 'Video')) {
          if (p.id === EbmlId.PixelWidth) v.width = r.uint(p, 'PixelWidth');
          else if (p.id === EbmlId.PixelHeight) v.height = r.uint(p, 'PixelHeight');
        }
        t.video = v;
        break;
      }
      case EbmlId.Audio: {
        const a: NonNullable<MkvTrack['audio']> = { samplingFrequency: 8000, channels: 1 };
        for (const p of r.children(c, 'Audio')) {
          if (p.id === EbmlId.SamplingFrequency) a.samplingFrequency = r.float(p, 'SamplingFrequency');
          else if (p.id === EbmlId.Channels) a.channels = r.uint(p, 'Channels');
          else if (p.id === EbmlId.BitDepth) a.bitDepth = r.uint(p, 'BitDepth');
        }
        t.audio = a;
        break;
      }
    }
  }
  if (t.number === 0) throw new BitstreamError('TrackEntry without a TrackNumber');
  return t;
}

/** Parse one Cluster (known or unknown size); returns the offset after it. */
function readCluster(r: EbmlReader, cluster: Header, file: MkvFile, limits: MatroskaLimits): number {
  let clusterTime = -1;
  let pos = cluster.start;
  while (pos < cluster.end) {
    const h = r.header(pos, cluster.end, 'Cluster');
    // An unknown-size Cluster ends where an element that cannot be its child begins.
    if (cluster.unknown && !CLUSTER_CHILDREN.has(h.id)) return pos;
    if (h.unknown) throw new BitstreamError(`element 0x${h.id.toString(16)} in Cluster has unknown size`);
    if (h.id === EbmlId.Timestamp) clusterTime = r.uint(h, 'Cluster Timestamp');
    else if (h.id === EbmlId.SimpleBlock) readBlock(r, h, clusterTime, true, undefined, undefined, file, limits);
    else if (h.id === EbmlId.BlockGroup) {
      let block: Header | undefined;
      let duration: number | undefined;
      let referenced = false;
      for (const c of r.children(h, 'BlockGroup')) {
        if (c.id === EbmlId.Block) block = c;
        else if (c.id === EbmlId.BlockDuration) duration = r.uint(c, 'BlockDuration');
        else if (c.id === EbmlId.ReferenceBlock) referenced = true;
      }
      if (!block) throw new BitstreamError(`BlockGroup at offset ${h.start} has no Block`);
      readBlock(r, block, clusterTime, false, !referenced, duration, file, limits);
    }
    pos = h.end;
  }
  return cluster.end;
}

function readBlock(
  r: EbmlReader,
  h: Header,
  clusterTime: number,
  simple: boolean,
  keyframe: boolean | undefined,
  duration: number | undefined,
  file: MkvFile,
  limits: MatroskaLimits,
): void {
  if (clusterTime < 0) throw new BitstreamError(`block at offset ${h.start} before its Cluster Timestamp`);
  const d = r.data;
  let pos = h.start;
  const end = h.end;
  const need = (n: number, what: string) => {
    if (end - pos < n) throw new BitstreamError(`truncated block at offset ${h.start}: no room for ${what}`);
  };
  // Track number: an EBML varint.
  need(1, 'track number');
  const b0 = d[pos];
  if (b0 === 0) throw new BitstreamError(`bad track number in block at offset ${h.start}`);
  const len = Math.clz32(b0) - 23;
  need(len, 'track number');
  let track = b0 & (0xff >> len);
  for (let i = 1; i < len; i++) track = track * 256 + d[pos + i];
  pos += len;
  need(3, 'timestamp and flags');
  const rel = (d[pos] << 24) >> 16 | d[pos + 1];
  const flags = d[pos + 2];
  pos += 3;
  const timestamp = clusterTime + rel;
  if (timestamp < 0) throw new BitstreamError(`negative block timestamp at offset ${h.start}`);
  const key = simple ? (flags & 0x80) !== 0 : (keyframe ?? true);
  const lacing = (flags >> 1) & 3;
  const sizes: number[] = [];
  if (lacing === 0) {
    sizes.push(end - pos);
  } else {
    need(1, 'lace count');
    const count = d[pos++] + 1;
    if (lacing === 2) {
      if ((end - pos) % count !== 0) throw new BitstreamError(`fixed lacing at offset ${h.start} does not divide the data`);
      for (let i = 0; i < count; i++) sizes.push((end - pos) / count);
    } else if (lacing === 1) {
      for (let i = 0; i < count - 1; i++) {
        let size = 0;
        for (;;) {
          need(1, 'Xiph lace size');
          const b = d[pos++];
          size += b;
          if (b !== 255) break;
        }
        sizes.push(size);
      }
    } else {
      let prev = 0;
      for (let i = 0; i < count - 1; i++) {
        need(1, 'EBML lace size');
        const c0 = d[pos];
        if (c0 === 0) throw new BitstreamError(`bad EBML lace size in block at offset ${h.start}`);
        const n = Math.clz32(c0) - 23;
        need(n, 'EBML lace size');
        let v = c0 & (0xff >> n);
        for (let j = 1; j < n; j++) v = v * 256 + d[pos + j];
        pos += n;
        if (i === 0) prev = v;
        else prev += v - (2 ** (7 * n - 1) - 1);
        if (prev < 0) throw new BitstreamError(`negative EBML lace size in block at offset ${h.start}`);
        sizes.push(prev);
      }
    }
    if (lacing !== 2) {
      const used = sizes.reduce((a, b) => a + b, 0);
      if (used > end - pos) throw new BitstreamError(`lace sizes in block at offset ${h.start} exceed its data`);
      sizes.push(end - pos - used);
    }
  }
  checkLimit('maxBlocks', file.blocks.length + sizes.length, limits.maxBlocks);
  for (const size of sizes) {
    checkLimit('maxBlockBytes', size, limits.maxBlockBytes);
    const block: MkvBlock = { track, timestamp, keyframe: key, data: d.subarray(pos, pos + size) };
    if (duration !== undefined && sizes.length === 1) block.duration = duration;
    file.blocks.push(block);
    pos += size;
  }
}

// ---------------------------------------------------------------------------------------
// Audio copy and the neurocodec muxer

export interface AudioCopy {
  tracks: MkvTrack[];
  /** Blocks with timestamps in ms. */
  blocks: MkvBlock[];
}

/**
 * The audio of a media file, packets unchanged: ffmpeg remuxes it (`-vn -c:a copy`) into
 * a temporary Matroska file, which we read. A file without audio gives no tracks.
 * @example const { tracks, blocks } = await extractAudio('in.mp4');
 * @throws InputError when ffmpeg cannot read the file, BitstreamError/LimitExceededError
 *   when its output does not parse, AbortError when the signal fires.
 */
export async function extractAudio(input: string, options: { signal?: AbortSignal; limits?: Partial<MatroskaLimits> } = {}): Promise<AudioCopy> {
  const info = await probe(input, { signal: options.signal });
  if (info.audio.length === 0) return { tracks: [], blocks: [] };
  const dir = await mkdtemp(join(tmpdir(), 'neurocodec-audio-'));
  try {
    const mka = join(dir, 'audio.mka');
    await runFfmpeg(['-i', input, '-map', '0:a', '-vn', '-sn', '-dn', '-c:a', 'copy', '-f', 'matroska', mka], {
      what: `cannot extract the audio of '${input}'`,
      signal: options.signal,
    });
    const limits = resolveMkvLimits(options.limits);
    checkLimit('maxFileBytes', (await stat(mka)).size, limits.maxFileBytes);
    const file = readMatroska(await readFile(mka), { limits });
    const scale = file.timestampScale / 1e6;
    const tracks = file.tracks.filter((t) => t.type === 2);
    const numbers = new Set(tracks.map((t) => t.number));
    const blocks = file.blocks
      .filter((b) => numbers.has(b.track))
      .map((b) => ({ ...b, timestamp: Math.round(b.timestamp * scale), duration: b.duration === undefined ? undefined : Math.round(b.duration * scale) }));
    blocks.sort((a, b) => a.timestamp - b.timestamp);
    return { tracks, blocks };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** One coded frame for {@link writeNeurocodecMatroska}. */
export interface CodedFrame {
  data: Uint8Array;
  keyframe: boolean;
}

export interface NeurocodecMatroskaOptions {
  width: number;
  height: number;
  fps: Rational;
  /** Opaque sequence header, stored as the video track's CodecPrivate. */
  sequenceHeader: Uint8Array;
  /** Copy the audio tracks of this file (packets unchanged). */
  audioFrom?: string;
  /** Or audio already extracted with {@link extractAudio}. */
  audio?: AudioCopy;
  signal?: AbortSignal;
}

export interface NeurocodecMatroskaResult {
  frames: number;
  /** Duration in ms. */
  duration: number;
  audioTracks: number;
}

/**
 * Mux coded frames (track 1, `V_NEUROCODEC`) and copied audio (tracks 2…) into Matroska
 * at `output` (a path, seekable) or a Writable (unknown-size Segment). Frame `i` gets
 * timestamp `round(i * 1000 * fps.den / fps.num)` ms.
 * @example
 * await writeNeurocodecMatroska(frames, 'out.mkv', { width, height, fps: { num: 25, den: 1 }, sequenceHeader, audioFrom: 'in.mp4' });
 * @throws InvalidOptionError, OutputError, InputError (audio source), AbortError.
 */
export async function writeNeurocodecMatroska(
  frames: AsyncIterable<CodedFrame> | Iterable<CodedFrame>,
  output: string | Writable | MatroskaSink,
  options: NeurocodecMatroskaOptions,
): Promise<NeurocodecMatroskaResult> {
  const { fps, signal } = options;
  for (const key of ['width', 'height'] as const) {
    const v = options[key];
    if (!Number.isInteger(v) || v < 1 || v > 65_535) throw invalidOption('integer between 1 and 65535', key, v);
  }
  if (!fps || !Number.isInteger(fps.num) || !Number.isInteger(fps.den) || fps.num <= 0 || fps.den <= 0) {
    throw invalidOption('positive integer num/den', 'fps', JSON.stringify(fps));
  }
  if (!(options.sequenceHeader instanceof Uint8Array)) throw invalidOption('Uint8Array', 'sequenceHeader', options.sequenceHeader);
  throwIfAborted(signal);
  const audio = options.audio ?? (options.audioFrom !== undefined ? await extractAudio(options.audioFrom, { signal }) : { tracks: [], blocks: [] });
  if (audio.tracks.length > 125) throw invalidOption('at most 125 audio tracks', 'audio tracks', audio.tracks.length);
  const renumber = new Map<number, number>();
  const tracks: MkvTrack[] = [
    {
      number: 1,
      uid: 1n,
      type: 1,
      codecId: NEUROCODEC_CODEC_ID,
      codecPrivate: options.sequenceHeader,
      defaultDuration: (1e9 * fps.den) / fps.num,
      video: { width: options.width, height: options.height },
    },
  ];
  audio.tracks.forEach((t, i) => {
    renumber.set(t.number, i + 2);
    tracks.push({ ...t, number: i + 2, uid: BigInt(i + 2) });
  });

  let sink: MatroskaSink;
  if (typeof output === 'string') sink = await fileSink(output);
  else if (typeof (output as MatroskaSink).write === 'function' && !('writable' in output)) sink = output as MatroskaSink;
  else sink = streamSink(output as Writable);

  const writer = new MatroskaWriter(sink, { tracks });
  let a = 0;
  let count = 0;
  const flushAudio = async (before: number) => {
    while (a < audio.blocks.length && audio.blocks[a].timestamp < before) {
      const b = audio.blocks[a++];
      await writer.addBlock({ ...b, track: renumber.get(b.track) ?? 0 });
    }
  };
  try {
    for await (const frame of frames) {
      throwIfAborted(signal);
      if (!frame || !(frame.data instanceof Uint8Array)) throw invalidOption('{ data: Uint8Array, keyframe }', `frame ${count}`, frame);
      checkLimit('maxFrames', count + 1, MAX_FRAMES);
      const timestamp = Math.round((count * 1000 * fps.den) / fps.num);
      await flushAudio(timestamp);
      await writer.addBlock({ track: 1, timestamp, keyframe: frame.keyframe, data: frame.data });
      count++;
    }
    await flushAudio(Infinity);
    throwIfAborted(signal);
    const duration = await writer.finish();
    return { frames: count, duration, audioTracks: audio.tracks.length };
  } catch (err) {
    await Promise.resolve(sink.close?.()).catch(() => {});
    throw err;
  }
}
