/**
 * The file container: a checked header followed by a sequence of typed, CRC-protected
 * units ending with an END unit.
 *
 * ```
 * offset   size  field
 * 0        4     magic "NCDC"
 * 4        1     format version (2; 1 is still read)
 * 5        1     codec id length n (1..maxCodecIdLength)
 * 6        n     codec id, ASCII [A-Za-z0-9._-], starting with a letter or digit
 * 6+n      8     model hash: the first 8 bytes of the model's sha256
 * 14+n     4     header CRC32 (little-endian) over bytes 0 .. 14+n
 * 18+n     …     units
 *
 * unit:    type (1 byte) · payload length (varuint) · payload · CRC32 (4 bytes,
 *          little-endian) over type, length and payload
 * last:    END unit (type 0x00, length 0); nothing may follow it
 * ```
 *
 * Reading is strict: a file that does not end with an END unit is truncated, and bytes
 * after it are an error. Writing then reading gives back the same units, and reading
 * then writing gives back the same bytes.
 */
import { BitstreamError, ModelMismatchError, invalidOption } from '../errors.js';
import { ByteReader, ByteWriter, varUintLength } from './bytes.js';
import { crc32 } from './crc32.js';
import { DEFAULT_LIMITS, checkLimit, resolveLimits, type Limits } from './limits.js';
import { UNIT_TYPES, UnitType, hexByte, isOptionalUnitType, unitTypeName } from './units.js';

/** The four bytes every file starts with: ASCII "NCDC". */
export const MAGIC: Uint8Array = Uint8Array.of(0x4e, 0x43, 0x44, 0x43);
/**
 * The format version this library writes. Version 2 changed how a learned image's tiles are
 * padded (see `LearnedImageCodec.tileGeometry`): to the latent's stride (16) instead of the
 * codec's padding factor (64). Units and their payloads are the same in both.
 */
export const FORMAT_VERSION = 2;
/** The format versions this library reads. */
export const SUPPORTED_VERSIONS: readonly number[] = Object.freeze([1, 2]);
/** Bytes of the model's sha256 stored in the header. */
export const MODEL_HASH_BYTES = 8;

const CODEC_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const UNIT_CRC_BYTES = 4;

/** A unit to write: its type byte and payload. */
export interface UnitInput {
  readonly type: number;
  readonly payload: Uint8Array;
}

/** What {@link writeContainer} takes. */
export interface ContainerInput {
  /** Id of the codec that wrote the units, e.g. `hyperprior`. */
  readonly codecId: string;
  /** First 8 bytes of the model's sha256 (see {@link modelHashFromSha256}). */
  readonly modelHash: Uint8Array;
  /** Units in file order; the END unit is added by the writer. */
  readonly units: readonly UnitInput[];
}

/** A unit as read from a file. */
export interface ContainerUnit extends UnitInput {
  /** Registered name, or `UNKNOWN_0x9a` for an optional type this reader does not know. */
  readonly name: string;
  /** Whether the type is optional (high bit set). */
  readonly optional: boolean;
  /** Whether the type is in this reader's registry. */
  readonly known: boolean;
  /** Offset of the unit's type byte in the file. */
  readonly offset: number;
  /** Offset of the first payload byte in the file. */
  readonly payloadOffset: number;
  /** Payload length in bytes. */
  readonly length: number;
  /** The payload: a view into the input bytes, not a copy. */
  readonly payload: Uint8Array;
}

/** What {@link readContainer} returns. */
export interface Container {
  readonly version: number;
  readonly codecId: string;
  /** The 8 stored bytes of the model's sha256 (a copy). */
  readonly modelHash: Uint8Array;
  /** Bytes taken by the header, CRC included; the first unit starts here. */
  readonly headerLength: number;
  /** Units in file order, END excluded. Optional units of unknown type are listed with `known: false`. */
  readonly units: readonly ContainerUnit[];
  /** Whether the END unit was read (always true unless truncation was allowed). */
  readonly complete: boolean;
  /**
   * With `allowTruncation`: the unit the file was cut inside, if its type and length were
   * readable; `payload` holds the bytes present (fewer than `length`), unchecked by any CRC.
   */
  readonly tail?: ContainerUnit;
}

/** Options of {@link readContainer}. */
export interface ReadContainerOptions {
  /**
   * Accept a file cut at any byte after its header (a progressive stream's prefix): the
   * units read completely are returned, every CRC checked, plus the partial last unit as
   * `tail`. Corruption inside complete units is still an error.
   */
  readonly allowTruncation?: boolean;
}

/** The fields {@link checkModel} compares. */
export interface ModelIdentity {
  readonly codecId: string;
  /** The 8-byte hash prefix, or the model's full sha256 as bytes or hex. */
  readonly modelHash: Uint8Array | string;
}

function isValidCodecId(id: string): boolean {
  return id.length >= 1 && id.length <= DEFAULT_LIMITS.maxCodecIdLength && CODEC_ID_PATTERN.test(id);
}

/** Lower-case hex of a byte array. */
export function toHex(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) out += b.toString(16).padStart(2, '0');
  return out;
}

function hex32(value: number): string {
  return `0x${value.toString(16).padStart(8, '0')}`;
}

/**
 * Serialise a container.
 *
 * @example
 * const bytes = writeContainer({
 *   codecId: 'hyperprior',
 *   modelHash: modelHashFromSha256(manifest.sha256),
 *   units: [{ type: UnitType.IMAGE_INFO, payload: encodeImageInfo(info) }],
 * });
 * @throws InvalidOptionError for a codec id that is empty, too long or not
 *   `[A-Za-z0-9._-]`, a model hash that is not 8 bytes, a unit type that is not a byte,
 *   is END, or is a required type this library does not know, or a payload that is not
 *   a Uint8Array.
 * @throws LimitExceededError when a payload or the unit count breaks the default limits
 *   (which every reader accepts).
 */
export function writeContainer(input: ContainerInput): Uint8Array {
  if (input === null || typeof input !== 'object') throw invalidOption('object', 'container', input);
  const { codecId, modelHash, units } = input;
  if (typeof codecId !== 'string' || !isValidCodecId(codecId)) {
    throw invalidOption(
      `string of 1 to ${DEFAULT_LIMITS.maxCodecIdLength} characters [A-Za-z0-9._-] starting with a letter or digit`,
      'codecId',
      codecId,
    );
  }
  if (!(modelHash instanceof Uint8Array) || modelHash.length !== MODEL_HASH_BYTES) {
    throw invalidOption(`Uint8Array of ${MODEL_HASH_BYTES} bytes`, 'modelHash', modelHash);
  }
  if (!Array.isArray(units)) throw invalidOption('array', 'units', units);
  checkLimit('maxUnits', units.length, DEFAULT_LIMITS.maxUnits);

  let size = MAGIC.length + 2 + codecId.length + MODEL_HASH_BYTES + 4;
  units.forEach((unit: UnitInput, i) => {
    if (unit === null || typeof unit !== 'object') throw invalidOption('object', `units[${i}]`, unit);
    const { type, payload } = unit;
    if (!Number.isInteger(type) || type < 0 || type > 0xff) {
      throw invalidOption('integer between 0 and 255', `units[${i}].type`, type);
    }
    if (type === UnitType.END) {
      throw invalidOption('unit type other than END (the writer adds END itself)', `units[${i}].type`, type);
    }
    if (!UNIT_TYPES.has(type) && !isOptionalUnitType(type)) {
      throw invalidOption('registered unit type, or an optional one (0x80..0xff)', `units[${i}].type`, type);
    }
    if (!(payload instanceof Uint8Array)) throw invalidOption('Uint8Array', `units[${i}].payload`, payload);
    checkLimit('maxUnitBytes', payload.length, DEFAULT_LIMITS.maxUnitBytes);
    size += 1 + varUintLength(payload.length) + payload.length + UNIT_CRC_BYTES;
  });
  size += 1 + 1 + UNIT_CRC_BYTES; // END

  const w = new ByteWriter(size);
  w.bytes(MAGIC).u8(FORMAT_VERSION).u8(codecId.length).ascii(codecId).bytes(modelHash);
  w.u32le(crc32(w.view()));
  const writeUnit = (type: number, payload: Uint8Array): void => {
    const start = w.length;
    w.u8(type).varuint(payload.length).bytes(payload);
    w.u32le(crc32(w.view().subarray(start)));
  };
  for (const unit of units) writeUnit(unit.type, unit.payload);
  writeUnit(UnitType.END, new Uint8Array(0));
  return w.finish();
}

/**
 * Parse and check a container. Every length is checked against `limits` before it is
 * used, and every CRC is verified, including those of optional units of unknown type.
 *
 * @example
 * const { codecId, units } = readContainer(await readFile('photo.ncdc'));
 * const info = decodeImageInfo(units.find((u) => u.type === UnitType.IMAGE_INFO)!.payload);
 * @param limits tighter limits than {@link DEFAULT_LIMITS}, if wanted.
 * @throws BitstreamError for a bad magic number, an unsupported version, a bad codec
 *   id, a CRC mismatch, truncation (including a missing END unit), a required unit
 *   type this reader does not know, or bytes after the END unit.
 * @throws LimitExceededError when the codec id length, a unit length or the unit count
 *   breaks a limit; nothing is allocated for the oversized item.
 * @throws InvalidOptionError when `bytes` is not a Uint8Array or `limits` is invalid.
 */
export function readContainer(bytes: Uint8Array, limits?: Partial<Limits>, options: ReadContainerOptions = {}): Container {
  if (!(bytes instanceof Uint8Array)) throw invalidOption('Uint8Array', 'bytes', bytes);
  const lim = resolveLimits(limits);
  const r = new ByteReader(bytes);

  const magicLength = Math.min(bytes.length, MAGIC.length);
  for (let i = 0; i < magicLength; i++) {
    if (bytes[i] !== MAGIC[i]) {
      throw new BitstreamError(`not a neurocodec file: bad magic number 0x${toHex(bytes.subarray(0, magicLength))} (expected "NCDC")`);
    }
  }
  r.skip(MAGIC.length, 'magic number');
  const version = r.u8('format version');
  if (!SUPPORTED_VERSIONS.includes(version)) {
    throw new BitstreamError(`unsupported format version ${version} (this reader reads ${SUPPORTED_VERSIONS.join(', ')})`);
  }
  const idLength = r.u8('codec id length');
  if (idLength === 0) throw new BitstreamError('empty codec id');
  checkLimit('maxCodecIdLength', idLength, lim.maxCodecIdLength);
  const idBytes = r.bytes(idLength, 'codec id');
  const modelHash = r.bytes(MODEL_HASH_BYTES, 'model hash');
  const headerEnd = r.position;
  const storedHeaderCrc = r.u32le('header CRC');
  const headerCrc = crc32(bytes.subarray(0, headerEnd));
  if (storedHeaderCrc !== headerCrc) {
    throw new BitstreamError(`header CRC mismatch: stored ${hex32(storedHeaderCrc)}, computed ${hex32(headerCrc)}`);
  }
  const codecId = String.fromCharCode(...idBytes);
  if (!CODEC_ID_PATTERN.test(codecId)) {
    throw new BitstreamError(`codec id ${JSON.stringify(codecId)} has characters outside [A-Za-z0-9._-]`);
  }
  const headerLength = r.position;

  const units: ContainerUnit[] = [];
  const prefix = options.allowTruncation === true;
  let tail: ContainerUnit | undefined;
  let complete = false;
  for (;;) {
    const offset = r.position;
    if (r.remaining === 0) {
      if (prefix) break;
      throw new BitstreamError(`truncated data: the file ends at offset ${offset} without an END unit`);
    }
    const type = r.u8('unit type');
    const name = unitTypeName(type);
    if (prefix && !fullVarUint(bytes, r.position)) break;
    const length = r.varuint(`length of unit ${name} at offset ${offset}`);
    checkLimit('maxUnitBytes', length, lim.maxUnitBytes);
    const payloadOffset = r.position;
    if (prefix && r.remaining < length + UNIT_CRC_BYTES) {
      const known = UNIT_TYPES.has(type);
      const optional = isOptionalUnitType(type);
      if (!known && !optional) throw new BitstreamError(`unknown required unit type ${hexByte(type)} at offset ${offset}`);
      if (type !== UnitType.END) {
        const payload = bytes.subarray(payloadOffset, payloadOffset + Math.min(length, r.remaining));
        tail = { type, name, optional, known, offset, payloadOffset, length, payload };
      }
      break;
    }
    const payload = r.bytes(length, `payload of unit ${name} at offset ${offset}`);
    const crcOffset = r.position;
    const storedCrc = r.u32le(`CRC of unit ${name} at offset ${offset}`);
    const crc = crc32(bytes.subarray(offset, crcOffset));
    if (storedCrc !== crc) {
      throw new BitstreamError(`CRC mismatch in unit ${name} at offset ${offset}: stored ${hex32(storedCrc)}, computed ${hex32(crc)}`);
    }
    if (type === UnitType.END) {
      if (length !== 0) throw new BitstreamError(`END unit at offset ${offset} has a ${length}-byte payload; it must be empty`);
      complete = true;
      break;
    }
    const known = UNIT_TYPES.has(type);
    const optional = isOptionalUnitType(type);
    if (!known && !optional) {
      throw new BitstreamError(`unknown required unit type ${hexByte(type)} at offset ${offset}`);
    }
    checkLimit('maxUnits', units.length + 1, lim.maxUnits);
    units.push({ type, name, optional, known, offset, payloadOffset, length, payload });
  }
  if (complete && r.remaining > 0) {
    throw new BitstreamError(`${r.remaining} byte(s) of trailing garbage after the END unit at offset ${r.position}`);
  }
  return { version, codecId, modelHash: modelHash.slice(), headerLength, units, complete, ...(tail ? { tail } : {}) };
}

/** Whether a whole varuint starts at `pos` (its last byte has the high bit clear). */
function fullVarUint(bytes: Uint8Array, pos: number): boolean {
  for (let i = pos; i < bytes.length && i < pos + 10; i++) if ((bytes[i] & 0x80) === 0) return true;
  return false;
}

/**
 * The header's 8-byte model hash from a model's sha256, given as 64 hex digits or as
 * bytes (at least 8).
 *
 * @throws InvalidOptionError for anything else.
 */
export function modelHashFromSha256(sha256: string | Uint8Array): Uint8Array {
  if (sha256 instanceof Uint8Array) {
    if (sha256.length < MODEL_HASH_BYTES) throw invalidOption(`Uint8Array of at least ${MODEL_HASH_BYTES} bytes`, 'sha256', sha256);
    return sha256.slice(0, MODEL_HASH_BYTES);
  }
  if (typeof sha256 !== 'string' || !/^[0-9a-fA-F]{64}$/.test(sha256)) {
    throw invalidOption('sha256 as 64 hex digits', 'sha256', sha256);
  }
  const out = new Uint8Array(MODEL_HASH_BYTES);
  for (let i = 0; i < MODEL_HASH_BYTES; i++) out[i] = Number.parseInt(sha256.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/**
 * Check that a file was written by the loaded codec and weights.
 *
 * @example checkModel(readContainer(bytes), { codecId: 'hyperprior', modelHash: manifest.sha256 })
 * @throws ModelMismatchError when the codec id or the model hash differs.
 * @throws InvalidOptionError when `model.modelHash` is not a hash.
 */
export function checkModel(file: Pick<Container, 'codecId' | 'modelHash'>, model: ModelIdentity): void {
  const expected =
    model.modelHash instanceof Uint8Array && model.modelHash.length === MODEL_HASH_BYTES
      ? model.modelHash
      : modelHashFromSha256(model.modelHash);
  if (file.codecId !== model.codecId) {
    throw new ModelMismatchError(`the file was written by codec '${file.codecId}', but the loaded codec is '${model.codecId}'`);
  }
  const stored = toHex(file.modelHash);
  if (stored !== toHex(expected)) {
    throw new ModelMismatchError(
      `the file was written with model weights ${stored}…, but the loaded weights are ${toHex(expected)}… ` +
        `(weights change between releases: decode it with the release that wrote it, or encode the source again)`,
    );
  }
}
