import type { RansTables } from './tables.js';

/** Integer arrays accepted for symbols and table indexes. */
export type IntArray = Int32Array | Int16Array | Int8Array | Uint16Array | Uint8Array;

/**
 * Buffered rANS encoder with CompressAI `encode_with_indexes` semantics: push any number
 * of tensors, then `flush()` returns the bytes of one stream that decodes them in push order.
 */
export interface RansEncoder {
  /**
   * Queues `symbols[i]` to be coded with table `indexes[i]` of `tables`. Values outside a
   * table's range are coded as its escape symbol plus bypass bits, so any int32 round-trips.
   * @throws InvalidOptionError for mismatched lengths, non-integer arrays or an index
   *   outside the table set (nothing is queued then).
   */
  encodeWithIndexes(symbols: IntArray, indexes: IntArray, tables: RansTables): void;
  /** Codes everything queued into one stream and resets the encoder for reuse. */
  flush(): Uint8Array;
  /** Number of values queued since the last flush. */
  readonly pending: number;
  /** Releases native memory; the encoder is unusable afterwards. Idempotent. */
  dispose(): void;
}

/**
 * Resumable rANS decoder over one stream: each `decodeWithIndexes` call continues exactly
 * where the previous one stopped, with whatever tables the caller passes.
 */
export interface RansDecoder {
  /**
   * Decodes `indexes.length` values, value i with table `indexes[i]`.
   * @throws BitstreamError when the stream is truncated or corrupt (the decoder is then
   *   unusable); InvalidOptionError for an index outside the table set.
   */
  decodeWithIndexes(indexes: IntArray, tables: RansTables, out?: Int32Array): Int32Array;
  /**
   * Decodes as many of the values as a truncated stream allows (progressive files cut at
   * any byte): returns how many of `out` were filled, every one of them exact, and from
   * then on 0. A stream that runs out is not an error here; a corrupt one still throws.
   */
  decodePrefix(indexes: IntArray, tables: RansTables, out: Int32Array): number;
  /**
   * Checks that the stream ended exactly: every byte read and every state back at its
   * initial value; releases native memory.
   * @throws BitstreamError otherwise.
   */
  finish(): void;
  /** Number of values decoded so far. */
  readonly decoded: number;
  /** Stream bytes not read yet. */
  readonly remainingBytes: number;
  /** Releases native memory without the end-of-stream check. Idempotent. */
  dispose(): void;
}

/** A coder implementation: the WASM one or the TypeScript reference. */
export interface RansCoder {
  readonly name: string;
  createEncoder(): RansEncoder;
  /** @throws BitstreamError when the stream is too short or its states are out of range. */
  createDecoder(bytes: Uint8Array): RansDecoder;
}
