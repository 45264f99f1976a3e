import { invalidOption } from '../errors.js';
import { MAX_CDF_LENGTH, PROB_SCALE } from './constants.js';

const INT32_MIN = -0x80000000;
const INT32_MAX = 0x7fffffff;

/** One table as the builders produce it: a 16-bit CDF and the value of its symbol 0. */
export interface CdfTable {
  /** `cdf[0] = 0`, strictly increasing, `cdf[cdf.length - 1] = 65536`; the last interval is the escape symbol. */
  readonly cdf: ArrayLike<number>;
  /** Value coded by symbol 0; symbol s codes value `offset + s`. */
  readonly offset: number;
}

/**
 * An immutable, validated set of integer CDF tables, in CompressAI's flat form: the CDFs
 * one after another, their lengths, and their offsets. Table t has `lengths[t] - 2` real
 * symbols (values `offsets[t]` to `offsets[t] + lengths[t] - 3`) and one escape symbol, the
 * last interval, which codes every other int32 with bypass bits.
 *
 * Build it once and pass it to every encode/decode call that uses it; the WASM coder uploads
 * it on first use and frees its copy when the object is garbage-collected.
 *
 * @example
 * const tables = RansTables.fromList([{ cdf: [0, 30000, 65535, 65536], offset: 0 }]);
 * @throws InvalidOptionError when a CDF is not strictly increasing from 0 to 65536, is
 *   longer than 65537 entries, or its values do not fit int32.
 */
export class RansTables {
  /** Number of tables. */
  readonly count: number;
  /** All CDFs, one after another. */
  readonly cdfs: Uint32Array;
  /** CDF length of each table: real symbols + escape + 1. */
  readonly lengths: Uint32Array;
  /** Value of symbol 0 of each table. */
  readonly offsets: Int32Array;
  /** Position of each table's CDF in `cdfs`. */
  readonly starts: Uint32Array;

  constructor(cdfs: ArrayLike<number>, cdfLengths: ArrayLike<number>, offsets: ArrayLike<number>) {
    const count = cdfLengths.length;
    if (count < 1 || count > INT32_MAX) {
      throw invalidOption('at least one table', 'cdfLengths.length', count);
    }
    if (offsets.length !== count) {
      throw invalidOption(`${count} offsets (one per table)`, 'offsets.length', offsets.length);
    }
    const lengths = new Uint32Array(count);
    const starts = new Uint32Array(count);
    const offs = new Int32Array(count);
    let total = 0;
    for (let t = 0; t < count; t++) {
      const len = cdfLengths[t];
      if (!Number.isInteger(len) || len < 2 || len > MAX_CDF_LENGTH) {
        throw invalidOption(`integer between 2 and ${MAX_CDF_LENGTH}`, `cdfLengths[${t}]`, len);
      }
      const off = offsets[t];
      if (!Number.isInteger(off) || off < INT32_MIN || off + Math.max(0, len - 3) > INT32_MAX) {
        throw invalidOption(
          `integer such that every value of table ${t} fits int32`,
          `offsets[${t}]`,
          off,
        );
      }
      lengths[t] = len;
      starts[t] = total;
      offs[t] = off;
      total += len;
    }
    if (cdfs.length !== total) {
      throw invalidOption(`${total} CDF entries (the sum of cdfLengths)`, 'cdfs.length', cdfs.length);
    }
    const flat = new Uint32Array(total);
    for (let t = 0; t < count; t++) {
      const start = starts[t];
      const end = start + lengths[t];
      let prev = -1;
      for (let i = start; i < end; i++) {
        const v = cdfs[i];
        const first = i === start;
        const last = i === end - 1;
        const ok = Number.isInteger(v) && (first ? v === 0 : v > prev) && (last ? v === PROB_SCALE : v < PROB_SCALE);
        if (!ok) {
          const what = first
            ? '0 (first CDF entry)'
            : last
              ? `${PROB_SCALE} (last CDF entry)`
              : `integer above ${prev} and below ${PROB_SCALE} (CDFs are strictly increasing)`;
          throw invalidOption(what, `cdfs[${i}] (table ${t})`, v);
        }
        flat[i] = v;
        prev = v;
      }
    }
    this.count = count;
    this.cdfs = flat;
    this.lengths = lengths;
    this.offsets = offs;
    this.starts = starts;
    Object.freeze(this);
  }

  /** Builds a table set from separate tables. */
  static fromList(tables: readonly CdfTable[]): RansTables {
    let total = 0;
    for (const t of tables) total += t.cdf.length;
    const cdfs = new Uint32Array(total);
    const lengths = new Array<number>(tables.length);
    const offsets = new Array<number>(tables.length);
    let pos = 0;
    tables.forEach((t, i) => {
      for (let k = 0; k < t.cdf.length; k++) {
        const v = t.cdf[k];
        // out-of-range values are reported by the constructor, not silently wrapped
        if (!Number.isInteger(v) || v < 0 || v > PROB_SCALE) {
          throw invalidOption(`integer between 0 and ${PROB_SCALE}`, `tables[${i}].cdf[${k}]`, v);
        }
        cdfs[pos++] = v;
      }
      lengths[i] = t.cdf.length;
      offsets[i] = t.offset;
    });
    return new RansTables(cdfs, lengths, offsets);
  }

  /**
   * Builds a table set from CompressAI's padded layout: row t of `cdf` (row length
   * `rowLength`) holds table t in its first `cdfLengths[t]` entries.
   */
  static fromPadded(
    cdf: ArrayLike<number>,
    rowLength: number,
    cdfLengths: ArrayLike<number>,
    offsets: ArrayLike<number>,
  ): RansTables {
    if (!Number.isInteger(rowLength) || rowLength < 2 || cdf.length !== rowLength * cdfLengths.length) {
      throw invalidOption(
        `row length matching cdf.length / cdfLengths.length = ${cdf.length / Math.max(1, cdfLengths.length)}`,
        'rowLength',
        rowLength,
      );
    }
    const list: CdfTable[] = [];
    for (let t = 0; t < cdfLengths.length; t++) {
      const len = cdfLengths[t];
      if (!Number.isInteger(len) || len < 2 || len > rowLength) {
        throw invalidOption(`integer between 2 and ${rowLength}`, `cdfLengths[${t}]`, len);
      }
      list.push({ cdf: Array.prototype.slice.call(cdf, t * rowLength, t * rowLength + len) as number[], offset: offsets[t] });
    }
    return RansTables.fromList(list);
  }

  /** The CDF of table t (a view, do not modify). */
  cdf(t: number): Uint32Array {
    return this.cdfs.subarray(this.starts[t], this.starts[t] + this.lengths[t]);
  }

  /** Index of the escape symbol of table t (= its number of real symbols). */
  escapeSymbol(t: number): number {
    return this.lengths[t] - 2;
  }

  /**
   * Frequency (out of 65536) the coder spends on `value` with table t: the symbol's own
   * frequency, or the escape symbol's for a value outside the table (bypass bits not counted).
   */
  frequency(t: number, value: number): number {
    const s = value - this.offsets[t];
    const esc = this.lengths[t] - 2;
    const base = this.starts[t];
    const k = s >= 0 && s < esc ? s : esc;
    return this.cdfs[base + k + 1] - this.cdfs[base + k];
  }
}
