import { CodecError } from '../errors.js';
import type { RansTables } from '../coder/tables.js';
import type { IntArray, RansDecoder, RansEncoder } from '../coder/types.js';

/**
 * An entropy model: it owns the CDF tables the coder needs and refuses to code before they
 * are built (`update()`), instead of coding with missing or stale tables.
 */
export abstract class EntropyModel {
  #tables: RansTables | undefined;

  /** Whether `update()` has built the tables. */
  get initialized(): boolean {
    return this.#tables !== undefined;
  }

  /**
   * The built tables.
   * @throws CodecError (ERR_INTERNAL) "Uninitialized CDFs. Run update() first" before update().
   */
  get tables(): RansTables {
    if (this.#tables === undefined) {
      throw new CodecError('ERR_INTERNAL', `Uninitialized CDFs. Run update() first (${this.constructor.name})`);
    }
    return this.#tables;
  }

  protected setTables(tables: RansTables): void {
    this.#tables = tables;
  }

  /** Queues `symbols[i]` with table `indexes[i]` on the encoder. */
  encode(encoder: RansEncoder, symbols: IntArray, indexes: IntArray): void {
    encoder.encodeWithIndexes(symbols, indexes, this.tables);
  }

  /** Decodes `indexes.length` values, continuing the decoder's stream. */
  decode(decoder: RansDecoder, indexes: IntArray, out?: Int32Array): Int32Array {
    return decoder.decodeWithIndexes(indexes, this.tables, out);
  }
}
