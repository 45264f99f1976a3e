/**
 * The video sequence header and the per-frame payload framing.
 *
 * Sequence header (stored as the Matroska video track's CodecPrivate), all integers
 * unsigned LEB128 varints unless noted:
 *
 * ```
 * magic        4 bytes  "NCVS"
 * version      u8       1
 * codec id     u8 length + ASCII [A-Za-z0-9._-]
 * model hash   8 bytes  first bytes of the model's sha256 (as in the image container)
 * width        varint   1..65535
 * height       varint   1..65535
 * fps          varint num, varint den (both ≥ 1)
 * frame count  varint   0 when unknown when the header was written; a hint, the blocks are the truth
 * intra period varint   distance between I-frames; 1 = every frame is an I-frame
 * quality      varint   quality × 100 (100..10000)
 * frame format u8       0: each frame payload holds a complete image container;
 *                       1: I-frames as in 0, P-frames as compact records (pframe.ts)
 * crc32        u32le    over everything before it
 * ```
 *
 * Frame payload (one Matroska block): a frame-type byte, then the frame's data. Type
 * 0x49 ('I') is an intra frame whose data is a complete image container from the image
 * codec (its own header, units and CRCs); type 0x50 ('P') is a P-frame coded against the
 * previous decoded frame, an image container of units (frame format 0) or a compact record
 * with its own CRC (frame format 1); other types are reserved and rejected by this reader.
 */
import { ByteReader, ByteWriter } from '../bitstream/bytes.js';
import { MODEL_HASH_BYTES, toHex } from '../bitstream/container.js';
import { crc32 } from '../bitstream/crc32.js';
import { checkLimit, resolveLimits, type Limits } from '../bitstream/limits.js';
import { BitstreamError, invalidOption } from '../errors.js';

/** First bytes of a sequence header. */
export const SEQUENCE_MAGIC: Uint8Array = Uint8Array.of(0x4e, 0x43, 0x56, 0x53); // "NCVS"
/** Version this library writes. */
export const SEQUENCE_VERSION = 1;
/** Largest frame-rate numerator or denominator accepted. */
export const MAX_FPS_TERM = 1_000_000;
/** Highest frame rate accepted (num / den). */
export const MAX_FPS = 1000;

/** Frame types (the first byte of each frame payload). */
export const FrameType = Object.freeze({
  /** Intra: the rest of the payload is a complete image container. */
  I: 0x49,
  /** Predicted: coded against the previous decoded frame (a container of units or a compact record; see FrameFormat). */
  P: 0x50,
} as const);
export type FrameTypeName = keyof typeof FrameType;

/** How frame payloads are laid out. */
export const FrameFormat = Object.freeze({
  /** Frame-type byte + complete image container. */
  IMAGE_CONTAINER: 0,
  /** I-frames as IMAGE_CONTAINER; P-frames as compact records (one CRC, one rANS stream). */
  COMPACT_P: 1,
} as const);

const CODEC_ID = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export interface SequenceHeader {
  version: number;
  codecId: string;
  /** 8 bytes. */
  modelHash: Uint8Array;
  width: number;
  height: number;
  fps: { num: number; den: number };
  /** 0 when unknown. */
  frameCount: number;
  /** 1: all intra. */
  intraPeriod: number;
  /** Quality × 100, 100..10000. */
  quality100: number;
  frameFormat: number;
}

export type SequenceHeaderInput = Omit<SequenceHeader, 'version' | 'frameFormat'> & { frameFormat?: number };

function checkInt(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalidOption(`integer between ${min} and ${max}`, name, value);
  }
  return value;
}

/**
 * Serialise a sequence header.
 * @example
 * const bytes = writeSequenceHeader({ codecId: 'nc-small', modelHash, width: 64, height: 48,
 *   fps: { num: 10, den: 1 }, frameCount: 10, intraPeriod: 1, quality100: 7500 });
 * @throws InvalidOptionError for a field out of range.
 */
export function writeSequenceHeader(h: SequenceHeaderInput): Uint8Array {
  if (h === null || typeof h !== 'object') throw invalidOption('object', 'sequence header', h);
  if (typeof h.codecId !== 'string' || h.codecId.length > 64 || !CODEC_ID.test(h.codecId)) {
    throw invalidOption('codec id of 1..64 characters [A-Za-z0-9._-]', 'codecId', h.codecId);
  }
  if (!(h.modelHash instanceof Uint8Array) || h.modelHash.length !== MODEL_HASH_BYTES) {
    throw invalidOption(`Uint8Array of ${MODEL_HASH_BYTES} bytes`, 'modelHash', h.modelHash);
  }
  const w = new ByteWriter(64);
  w.bytes(SEQUENCE_MAGIC).u8(SEQUENCE_VERSION).u8(h.codecId.length).ascii(h.codecId).bytes(h.modelHash);
  w.varuint(checkInt('width', h.width, 1, 65_535));
  w.varuint(checkInt('height', h.height, 1, 65_535));
  const num = checkInt('fps.num', h.fps?.num, 1, MAX_FPS_TERM);
  const den = checkInt('fps.den', h.fps?.den, 1, MAX_FPS_TERM);
  if (num / den > MAX_FPS) throw invalidOption(`frame rate up to ${MAX_FPS}`, 'fps', `${num}/${den}`);
  w.varuint(num).varuint(den);
  w.varuint(checkInt('frameCount', h.frameCount, 0, 1_000_000));
  w.varuint(checkInt('intraPeriod', h.intraPeriod, 1, 1_000_000));
  w.varuint(checkInt('quality100', h.quality100, 100, 10_000));
  w.u8(checkInt('frameFormat', h.frameFormat ?? FrameFormat.IMAGE_CONTAINER, 0, 1));
  w.u32le(crc32(w.view()));
  return w.finish();
}

/**
 * Parse and check a sequence header.
 * @example const seq = readSequenceHeader(track.codecPrivate!);
 * @throws BitstreamError for a bad magic number or version, truncation, a CRC mismatch, a
 *   bad field or trailing bytes; LimitExceededError when the size, frame count or codec
 *   id breaks a limit.
 */
export function readSequenceHeader(bytes: Uint8Array, limits?: Partial<Limits>): SequenceHeader {
  if (!(bytes instanceof Uint8Array)) throw invalidOption('Uint8Array', 'bytes', bytes);
  const lim = resolveLimits(limits);
  const r = new ByteReader(bytes);
  const magic = r.bytes(SEQUENCE_MAGIC.length, 'sequence header magic');
  if (!magic.every((b, i) => b === SEQUENCE_MAGIC[i])) {
    throw new BitstreamError(`not a neurocodec sequence header: bad magic 0x${toHex(magic)} (expected "NCVS")`);
  }
  const version = r.u8('sequence header version');
  if (version !== SEQUENCE_VERSION) throw new BitstreamError(`unsupported sequence header version ${version} (this reader reads ${SEQUENCE_VERSION})`);
  const idLength = r.u8('codec id length');
  if (idLength === 0) throw new BitstreamError('empty codec id in the sequence header');
  checkLimit('maxCodecIdLength', idLength, lim.maxCodecIdLength);
  const codecId = String.fromCharCode(...r.bytes(idLength, 'codec id'));
  if (!CODEC_ID.test(codecId)) throw new BitstreamError(`codec id ${JSON.stringify(codecId)} has characters outside [A-Za-z0-9._-]`);
  const modelHash = r.bytes(MODEL_HASH_BYTES, 'model hash').slice();
  const width = r.varuint('width');
  const height = r.varuint('height');
  if (width === 0 || height === 0) throw new BitstreamError(`bad frame size ${width}x${height} in the sequence header`);
  checkLimit('maxDimension', Math.max(width, height), lim.maxDimension);
  checkLimit('maxPixels', width * height, lim.maxPixels);
  const num = r.varuint('fps numerator');
  const den = r.varuint('fps denominator');
  if (num === 0 || den === 0 || num > MAX_FPS_TERM || den > MAX_FPS_TERM || num / den > MAX_FPS) {
    throw new BitstreamError(`bad frame rate ${num}/${den} in the sequence header`);
  }
  const frameCount = r.varuint('frame count');
  checkLimit('maxFrames', frameCount, lim.maxFrames);
  const intraPeriod = r.varuint('intra period');
  if (intraPeriod === 0) throw new BitstreamError('intra period 0 in the sequence header');
  checkLimit('maxFrames', intraPeriod, lim.maxFrames);
  const quality100 = r.varuint('quality');
  if (quality100 < 100 || quality100 > 10_000) throw new BitstreamError(`quality ${quality100 / 100} in the sequence header is outside 1..100`);
  const frameFormat = r.u8('frame format');
  if (frameFormat !== FrameFormat.IMAGE_CONTAINER && frameFormat !== FrameFormat.COMPACT_P) throw new BitstreamError(`unknown frame format ${frameFormat} in the sequence header`);
  const end = r.position;
  const stored = r.u32le('sequence header CRC');
  const computed = crc32(bytes.subarray(0, end));
  if (stored !== computed) {
    throw new BitstreamError(`sequence header CRC mismatch: stored 0x${stored.toString(16).padStart(8, '0')}, computed 0x${computed.toString(16).padStart(8, '0')}`);
  }
  r.expectEnd('the sequence header');
  return { version, codecId, modelHash, width, height, fps: { num, den }, frameCount, intraPeriod, quality100, frameFormat };
}

/** The frame-type name of a payload's first byte, or undefined for a reserved type. */
export function frameTypeName(type: number): FrameTypeName | undefined {
  return type === FrameType.I ? 'I' : type === FrameType.P ? 'P' : undefined;
}

/** A frame payload: type byte + data. */
export function writeFramePayload(type: FrameTypeName, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(1 + data.length);
  out[0] = FrameType[type];
  out.set(data, 1);
  return out;
}

/**
 * Split a frame payload into its type and data (a view).
 * @throws BitstreamError for an empty payload or a reserved frame type.
 */
export function readFramePayload(payload: Uint8Array, index: number): { type: FrameTypeName; data: Uint8Array } {
  if (payload.length < 2) throw new BitstreamError(`frame ${index} is empty`);
  const type = frameTypeName(payload[0]);
  if (type === undefined) throw new BitstreamError(`frame ${index} has unknown frame type 0x${payload[0].toString(16).padStart(2, '0')}`);
  return { type, data: payload.subarray(1) };
}
