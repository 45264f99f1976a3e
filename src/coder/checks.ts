import { BitstreamError, invalidOption } from '../errors.js';
import { STATE_BYTES } from './constants.js';
import { RansTables } from './tables.js';
import type { IntArray } from './types.js';

/** Status codes returned by the WASM exports (wasm/rans.ts). */
export const Status = {
  OK: 0,
  TRUNCATED: -1,
  BAD_INDEX: -2,
  BAD_ESCAPE: -3,
  BAD_HEADER: -4,
  FAILED: -5,
  NOT_AT_END: -6,
} as const;

function isIntArray(a: unknown): a is IntArray {
  return (
    a instanceof Int32Array ||
    a instanceof Int16Array ||
    a instanceof Int8Array ||
    a instanceof Uint16Array ||
    a instanceof Uint8Array
  );
}

export function checkIntArray(a: unknown, name: string): asserts a is IntArray {
  if (!isIntArray(a)) {
    throw invalidOption('Int32Array, Int16Array, Int8Array, Uint16Array or Uint8Array', name, a);
  }
}

export function checkTables(tables: unknown): asserts tables is RansTables {
  if (!(tables instanceof RansTables)) throw invalidOption('RansTables', 'tables', tables);
}

export function checkEncodeArgs(symbols: unknown, indexes: unknown, tables: unknown): void {
  checkIntArray(symbols, 'symbols');
  checkIntArray(indexes, 'indexes');
  checkTables(tables);
  if (symbols.length !== indexes.length) {
    throw invalidOption(`${symbols.length} indexes (one per symbol)`, 'indexes.length', indexes.length);
  }
}

export function checkOut(out: unknown, n: number): asserts out is Int32Array {
  if (!(out instanceof Int32Array) || out.length < n) {
    throw invalidOption(`Int32Array of at least ${n} elements`, 'out', out);
  }
}

export function badIndex(indexes: IntArray, i: number, tables: RansTables): Error {
  return invalidOption(`integer between 0 and ${tables.count - 1}`, `indexes[${i}]`, indexes[i]);
}

/** Turns a decoder status into the error it stands for. */
export function decodeError(status: number, valueNumber: number, streamLength: number): BitstreamError {
  switch (status) {
    case Status.TRUNCATED:
      return new BitstreamError(
        `rANS stream truncated: value ${valueNumber} needs bytes past the end of the ${streamLength}-byte stream`,
      );
    case Status.BAD_ESCAPE:
      return new BitstreamError(`Corrupt rANS stream: escaped value ${valueNumber} is not a canonical int32 code`);
    case Status.FAILED:
      return new BitstreamError('rANS decoder cannot continue after an earlier error');
    default:
      return new BitstreamError(`Corrupt rANS stream (status ${status}) at value ${valueNumber}`);
  }
}

export function headerError(streamLength: number, stateIndex: number, state: number): BitstreamError {
  if (streamLength < STATE_BYTES) {
    return new BitstreamError(
      `rANS stream is ${streamLength} bytes, shorter than its ${STATE_BYTES} bytes of initial states`,
    );
  }
  return new BitstreamError(
    `Corrupt rANS stream: initial state ${stateIndex} is 0x${(state >>> 0).toString(16)}, outside [0x800000, 0x80000000)`,
  );
}

export function notAtEndError(remaining: number, decoded: number): BitstreamError {
  return new BitstreamError(
    remaining !== 0
      ? `Corrupt rANS stream: ${remaining} bytes left unread after ${decoded} values`
      : `Corrupt rANS stream: final states do not match the initial ones after ${decoded} values`,
  );
}
