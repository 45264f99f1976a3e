/**
 * A plain-data summary of a file: what `codec info` prints and `inspect()` returns.
 */
import { decodeCodingParams } from './coding-params.js';
import { readContainer, toHex } from './container.js';
import { decodeBsqInfo } from './bsq-info.js';
import { decodeProgressiveInfo, type ProgressiveInfo } from './progressive-info.js';
import { decodeImageInfo, type ImageInfo } from './image-info.js';
import type { Limits } from './limits.js';
import { UnitType } from './units.js';

/** One unit in a {@link ContainerSummary}. */
export interface UnitSummary {
  /** Type byte. */
  readonly type: number;
  /** Registered name, or `UNKNOWN_0x9a`. */
  readonly name: string;
  readonly optional: boolean;
  readonly known: boolean;
  /** Offset of the unit's type byte. */
  readonly offset: number;
  /** Payload length in bytes. */
  readonly length: number;
  /** Whole unit in bytes: type, length varint, payload and CRC. */
  readonly size: number;
}

/** The coding parameters of a learned image, as {@link inspect} reports them. */
export interface CodingSummary {
  /** The quality the file was coded at, 1..100 (in steps of 0.01). */
  readonly quality: number;
  /** Tile side in pixels. */
  readonly tileSize: number;
  /** Number of tiles in the grid (known when IMAGE_INFO comes first), else null. */
  readonly tiles: number | null;
}

/** What {@link inspect} returns; JSON-serialisable as is. */
export interface ContainerSummary {
  /** Always `NCDC`. */
  readonly format: 'NCDC';
  readonly version: number;
  readonly codecId: string;
  /** The stored model hash as 16 lower-case hex digits. */
  readonly modelHash: string;
  /** Size of the whole file. */
  readonly byteLength: number;
  /** Size of the header, CRC included. */
  readonly headerLength: number;
  /** The decoded IMAGE_INFO unit (the first, if several), or null if there is none. */
  readonly image: ImageInfo | null;
  /** The decoded CODING_PARAMS unit of a learned image (the first, if several), or null. */
  readonly coding: CodingSummary | null;
  /** Units in file order, END excluded (for a cut progressive file, the cut unit last). */
  readonly units: readonly UnitSummary[];
  /** For a progressive file: its trit-plane count, whether CRR coded it, and whether the file is whole. */
  readonly progressive: (ProgressiveInfo & { readonly complete: boolean }) | null;
  /** For a BSQ file: bits per token of the model, bits per group, groups coded and tokens. */
  readonly bsq: { readonly d: number; readonly groupBits: number; readonly groups: number; readonly tokens: number | null } | null;
}

/**
 * Read a file's header and unit list without decoding any image data.
 *
 * @example
 * const summary = inspect(await readFile('photo.ncdc'));
 * console.log(summary.codecId, summary.image?.width, summary.units.map((u) => u.name));
 * @throws BitstreamError for a corrupt, truncated or foreign file, or a bad IMAGE_INFO or
 *   CODING_PARAMS unit.
 * @throws LimitExceededError when a size in the file breaks a limit.
 * @throws InvalidOptionError when `bytes` is not a Uint8Array or `limits` is invalid.
 */
export function inspect(bytes: Uint8Array, limits?: Partial<Limits>): ContainerSummary {
  // a progressive file may be cut anywhere and still be valid; anything else must be whole
  let container = readContainer(bytes, limits, { allowTruncation: true });
  const progressiveUnit = container.units.find((u) => u.type === UnitType.PROGRESSIVE_INFO);
  if (!progressiveUnit) container = readContainer(bytes, limits);
  let progressive: ContainerSummary['progressive'] = null;
  if (progressiveUnit) progressive = { ...decodeProgressiveInfo(progressiveUnit.payload), complete: container.complete };
  const bsqUnit = container.units.find((u) => u.type === UnitType.BSQ_INFO);
  const all = container.tail ? [...container.units, container.tail] : container.units;
  let image: ImageInfo | null = null;
  let coding: CodingSummary | null = null;
  const units = all.map((unit): UnitSummary => {
    if (unit.type === UnitType.IMAGE_INFO) {
      const info = decodeImageInfo(unit.payload, limits);
      image ??= info;
    } else if (unit.type === UnitType.CODING_PARAMS) {
      const { quality100, tileSize } = decodeCodingParams(unit.payload);
      const tiles = image === null ? null : Math.ceil(image.width / tileSize) * Math.ceil(image.height / tileSize);
      coding ??= { quality: quality100 / 100, tileSize, tiles };
    }
    return {
      type: unit.type,
      name: unit.name,
      optional: unit.optional,
      known: unit.known,
      offset: unit.offset,
      length: unit.payload.length,
      size: unit.payloadOffset - unit.offset + unit.payload.length + (unit === container.tail ? 0 : 4),
    };
  });
  let bsq: ContainerSummary['bsq'] = null;
  if (bsqUnit) {
    const b = decodeBsqInfo(bsqUnit.payload);
    const img = image as ImageInfo | null;
    bsq = { ...b, tokens: img ? Math.ceil(img.width / 16) * Math.ceil(img.height / 16) : null };
  }
  return {
    format: 'NCDC',
    version: container.version,
    codecId: container.codecId,
    modelHash: toHex(container.modelHash),
    byteLength: bytes.length,
    headerLength: container.headerLength,
    image,
    coding,
    units,
    progressive,
    bsq,
  };
}
