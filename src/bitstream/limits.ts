/**
 * Named budgets for every size or count read from a file. Each is checked before
 * anything is allocated for it; breaking one throws LimitExceededError, whose `limit`
 * is the key below, so a caller knows which option to tighten or to look at.
 *
 * Callers may pass tighter limits (a partial object); a value above the built-in
 * maximum is rejected, since the built-in values are what the format promises to
 * handle safely.
 */
import { LimitExceededError, invalidOption } from '../errors.js';

/** Largest payload of one unit, in bytes (256 MiB). */
export const MAX_UNIT_BYTES = 256 * 1024 * 1024;
/** Most units in one file (the END unit not counted). */
export const MAX_UNITS = 65_536;
/** Most pixels in one image: 0x3FFF * 0x3FFF, the same default budget as sharp. */
export const MAX_PIXELS = 0x3fff * 0x3fff;
/** Largest width or height of an image. */
export const MAX_DIMENSION = 65_535;
/** Most frames in one sequence. */
export const MAX_FRAMES = 1_000_000;
/** Longest codec id, in bytes. */
export const MAX_CODEC_ID_LENGTH = 64;

export interface Limits {
  /** Largest payload of one unit, in bytes. */
  readonly maxUnitBytes: number;
  /** Most units in one file. */
  readonly maxUnits: number;
  /** Most pixels (width × height) in one image. */
  readonly maxPixels: number;
  /** Largest width or height. */
  readonly maxDimension: number;
  /** Most frames in one sequence. */
  readonly maxFrames: number;
  /** Longest codec id, in bytes. */
  readonly maxCodecIdLength: number;
}

export type LimitName = keyof Limits;

export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  maxUnitBytes: MAX_UNIT_BYTES,
  maxUnits: MAX_UNITS,
  maxPixels: MAX_PIXELS,
  maxDimension: MAX_DIMENSION,
  maxFrames: MAX_FRAMES,
  maxCodecIdLength: MAX_CODEC_ID_LENGTH,
});

/**
 * Merge caller limits over the defaults.
 *
 * @throws InvalidOptionError for an unknown key, or a value that is not an integer
 *   between 0 and the built-in maximum.
 */
export function resolveLimits(overrides?: Partial<Limits>): Limits {
  if (overrides === undefined) return DEFAULT_LIMITS;
  if (overrides === null || typeof overrides !== 'object') {
    throw invalidOption('object', 'limits', overrides);
  }
  const resolved: Record<string, number> = { ...DEFAULT_LIMITS };
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) continue;
    if (!Object.hasOwn(DEFAULT_LIMITS, key)) {
      throw invalidOption(`one of ${Object.keys(DEFAULT_LIMITS).join(', ')}`, 'limits key', key);
    }
    const max = DEFAULT_LIMITS[key as LimitName];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > max) {
      throw invalidOption(`integer between 0 and ${max}`, `limits.${key}`, value);
    }
    resolved[key] = value;
  }
  return Object.freeze(resolved as unknown as Limits);
}

/**
 * Throw LimitExceededError if `value` is above `max`. Call it before allocating
 * anything sized by `value`.
 *
 * @example checkLimit('maxUnitBytes', length, limits.maxUnitBytes)
 */
export function checkLimit(name: string, value: number, max: number): void {
  if (value > max) throw new LimitExceededError(name, value, max);
}
