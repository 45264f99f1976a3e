/**
 * The registry of unit types, kept as data. A type with the high bit set (0x80..0xff)
 * is optional: a reader that does not know it keeps going. Any other type a reader does
 * not know is an error. The registry is checked when it is built, so a duplicate id or
 * name, or an `optional` flag that disagrees with the high bit, fails at load time.
 */
import { CodecError } from '../errors.js';

/** Bit that marks a unit type as optional (safe to skip when unknown). */
export const OPTIONAL_UNIT_BIT = 0x80;

export interface UnitTypeInfo {
  /** The type byte. */
  readonly id: number;
  /** Upper-case name shown by `codec info`. */
  readonly name: string;
  /** Whether a reader that does not know the type may skip it; must match the high bit. */
  readonly optional: boolean;
  /** One line on what the payload holds. */
  readonly description: string;
}

/** Type bytes of the units defined so far. */
export const UnitType = Object.freeze({
  /** Ends the unit sequence; empty payload. Written by the container itself. */
  END: 0x00,
  /** Original image geometry and colour description. */
  IMAGE_INFO: 0x01,
  /** Entropy-coded hyper-latent (side information). */
  Z_STREAM: 0x02,
  /** Entropy-coded main latent. */
  Y_STREAM: 0x03,
  /** Entropy-coded alpha plane. */
  ALPHA: 0x04,
  /** One refinement plane of a progressive stream. */
  PROGRESSIVE_PLANE: 0x05,
  /** Checksum of the decoded symbols, to catch encoder/decoder drift. */
  SYMBOL_CHECKSUM: 0x06,
  /** Coding parameters of a learned image: rate (quality) and tile grid. */
  CODING_PARAMS: 0x07,
  /** Parameters of a trit-plane progressive stream: plane count, context heads used. */
  PROGRESSIVE_INFO: 0x08,
  /** Token geometry of a binary-spherical-quantization (BSQ) file. */
  BSQ_INFO: 0x09,
  /** Entropy-coded BSQ token bits of one tile. */
  BSQ_TOKENS: 0x0a,
  /** Block motion of a P-frame. */
  MOTION: 0x0b,
  /** Skipped blocks of a P-frame (prediction kept, no latent symbols). */
  SKIP: 0x0c,
  /** Block motion of a P-frame, coded with per-frame context probabilities. */
  MOTION_ADAPTIVE: 0x0d,
  /** Free-form UTF-8 text (encoder name, settings); optional. */
  COMMENT: 0x80,
} as const);

export type UnitTypeName = keyof typeof UnitType;

/** The built-in unit types. */
export const UNIT_TYPE_TABLE: readonly UnitTypeInfo[] = [
  { id: UnitType.END, name: 'END', optional: false, description: 'end of the unit sequence (empty payload)' },
  { id: UnitType.IMAGE_INFO, name: 'IMAGE_INFO', optional: false, description: 'width, height, channels, bit depth, colour matrix and range, alpha' },
  { id: UnitType.Z_STREAM, name: 'Z_STREAM', optional: false, description: 'entropy-coded hyper-latent z' },
  { id: UnitType.Y_STREAM, name: 'Y_STREAM', optional: false, description: 'entropy-coded latent y' },
  { id: UnitType.ALPHA, name: 'ALPHA', optional: false, description: 'entropy-coded alpha plane' },
  { id: UnitType.PROGRESSIVE_PLANE, name: 'PROGRESSIVE_PLANE', optional: false, description: 'one refinement plane of a progressive stream' },
  { id: UnitType.SYMBOL_CHECKSUM, name: 'SYMBOL_CHECKSUM', optional: false, description: 'checksum of the decoded symbols' },
  { id: UnitType.CODING_PARAMS, name: 'CODING_PARAMS', optional: false, description: 'quality and tile grid of a learned image' },
  { id: UnitType.PROGRESSIVE_INFO, name: 'PROGRESSIVE_INFO', optional: false, description: 'trit-plane count and context heads of a progressive stream' },
  { id: UnitType.BSQ_INFO, name: 'BSQ_INFO', optional: false, description: 'bits per token, bits per group and groups coded of a BSQ file' },
  { id: UnitType.BSQ_TOKENS, name: 'BSQ_TOKENS', optional: false, description: 'entropy-coded BSQ token bits of one tile' },
  { id: UnitType.MOTION, name: 'MOTION', optional: false, description: 'block motion of a P-frame: grid size and rANS-coded vector differences' },
  { id: UnitType.SKIP, name: 'SKIP', optional: false, description: 'skipped blocks of a P-frame: grid size, context probabilities and rANS-coded flags' },
  { id: UnitType.MOTION_ADAPTIVE, name: 'MOTION_ADAPTIVE', optional: false, description: 'block motion of a P-frame: grid size, per-frame context parameters and rANS-coded vector differences' },
  { id: UnitType.COMMENT, name: 'COMMENT', optional: true, description: 'free-form UTF-8 text' },
];

/**
 * Build a lookup table from a list of unit types.
 *
 * @throws CodecError (ERR_INTERNAL) for an id outside 0..255, a duplicate id or name,
 *   or an `optional` flag that does not match the id's high bit.
 */
export function buildUnitRegistry(table: readonly UnitTypeInfo[]): ReadonlyMap<number, UnitTypeInfo> {
  const byId = new Map<number, UnitTypeInfo>();
  const names = new Set<string>();
  for (const entry of table) {
    if (!Number.isInteger(entry.id) || entry.id < 0 || entry.id > 0xff) {
      throw new CodecError('ERR_INTERNAL', `unit type ${entry.name}: id ${entry.id} is not a byte`);
    }
    if (byId.has(entry.id)) {
      throw new CodecError('ERR_INTERNAL', `unit type id ${hexByte(entry.id)} is registered twice (${byId.get(entry.id)?.name} and ${entry.name})`);
    }
    if (names.has(entry.name)) {
      throw new CodecError('ERR_INTERNAL', `unit type name ${entry.name} is registered twice`);
    }
    if (entry.optional !== ((entry.id & OPTIONAL_UNIT_BIT) !== 0)) {
      throw new CodecError(
        'ERR_INTERNAL',
        `unit type ${entry.name} (${hexByte(entry.id)}): optional must be ${!entry.optional} for this id; the high bit marks optional types`,
      );
    }
    byId.set(entry.id, Object.freeze({ ...entry }));
    names.add(entry.name);
  }
  return byId;
}

/** The built-in registry, checked at load time. */
export const UNIT_TYPES: ReadonlyMap<number, UnitTypeInfo> = buildUnitRegistry(UNIT_TYPE_TABLE);

/** Whether a type byte marks an optional unit. */
export function isOptionalUnitType(type: number): boolean {
  return (type & OPTIONAL_UNIT_BIT) !== 0;
}

/** Display name of a unit type: its registered name, or `UNKNOWN_0x9a`. */
export function unitTypeName(type: number, registry: ReadonlyMap<number, UnitTypeInfo> = UNIT_TYPES): string {
  return registry.get(type)?.name ?? `UNKNOWN_${hexByte(type)}`;
}

/** `0x1f` style hex for a byte. */
export function hexByte(value: number): string {
  return `0x${value.toString(16).padStart(2, '0')}`;
}
