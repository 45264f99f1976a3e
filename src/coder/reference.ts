/**
 * Plain TypeScript rANS coder: the readable definition of the stream format, bit-identical
 * with the WASM coder (wasm/rans.ts). Slower; used to cross-check the WASM build and where
 * WebAssembly is unavailable.
 */
import { BYPASS_BITS, NUM_STATES, PROB_BITS, PROB_SCALE, RANS_L, STATE_BYTES, STATE_LIMIT } from './constants.js';
import {
  Status,
  badIndex,
  checkEncodeArgs,
  checkIntArray,
  checkOut,
  checkTables,
  decodeError,
  headerError,
  notAtEndError,
} from './checks.js';
import type { RansTables } from './tables.js';
import type { IntArray, RansCoder, RansDecoder, RansEncoder } from './types.js';
import { CodecError, invalidOption } from '../errors.js';

const PROB_MASK = PROB_SCALE - 1;
const BYPASS_SHIFT = PROB_BITS - BYPASS_BITS;
const BYPASS_FREQ = 1 << BYPASS_SHIFT;
/** Packed op of a bypass step with value 0: start 0, freq 4096. */
const BYPASS_OP_HI = (BYPASS_FREQ - 1) * 0x10000;

/** Number of 4-bit groups needed for d (at least 1). */
function nibbleCount(d: number): number {
  const bits = 32 - Math.clz32(d);
  return Math.max(1, (bits + 3) >> 2);
}

/**
 * Buffered encoder. Each value becomes one op, `start | (freq - 1) << 16`; an escaped value
 * also keeps (direction, distance). `flush()` codes the ops last to first.
 */
export class ReferenceRansEncoder implements RansEncoder {
  #ops = new Uint32Array(1024);
  #n = 0;
  #esc: number[] = [];
  #disposed = false;

  get pending(): number {
    return this.#n;
  }

  encodeWithIndexes(symbols: IntArray, indexes: IntArray, tables: RansTables): void {
    this.#alive();
    checkEncodeArgs(symbols, indexes, tables);
    const n = symbols.length;
    const count = tables.count;
    for (let i = 0; i < n; i++) {
      const idx = indexes[i];
      if (!(idx >= 0 && idx < count)) throw badIndex(indexes, i, tables);
    }
    if (this.#n + n > this.#ops.length) {
      const grown = new Uint32Array(Math.max(this.#n + n, this.#ops.length * 2));
      grown.set(this.#ops.subarray(0, this.#n));
      this.#ops = grown;
    }
    const { cdfs, lengths, offsets, starts } = tables;
    const ops = this.#ops;
    let pos = this.#n;
    for (let i = 0; i < n; i++) {
      const t = indexes[i];
      const esc = lengths[t] - 2;
      const base = starts[t];
      const s = symbols[i] - offsets[t];
      let k: number;
      if (s >= 0 && s < esc) {
        k = s;
      } else {
        k = esc;
        if (s < 0) this.#esc.push(0, -s - 1);
        else this.#esc.push(1, s - esc);
      }
      const start = cdfs[base + k];
      const freq = cdfs[base + k + 1] - start;
      ops[pos++] = start + (freq - 1) * 0x10000;
    }
    this.#n = pos;
  }

  flush(): Uint8Array {
    this.#alive();
    const n = this.#n;
    const escs = this.#esc;
    const size = STATE_BYTES + 2 * n + 18 * (escs.length / 2);
    const buf = new Uint8Array(size);
    let p = size;
    const states = new Array<number>(NUM_STATES).fill(RANS_L);

    // one step: renormalise, then push (start, freq)
    const step = (k: number, op: number): void => {
      const start = op & 0xffff;
      const freq = (op >>> 16) + 1;
      const xmax = freq * 0x8000; // ((RANS_L >> PROB_BITS) << 8) * freq
      let x = states[k];
      while (x >= xmax) {
        buf[--p] = x & 0xff;
        x >>>= 8;
      }
      states[k] = Math.floor(x / freq) * PROB_SCALE + (x % freq) + start;
    };

    let e = escs.length;
    for (let j = n - 1; j >= 0; j--) {
      const k = j % NUM_STATES;
      const op = this.#ops[j];
      if ((op & 0xffff) + (op >>> 16) === 0xffff) {
        // escape: distance nibbles (high first), then the header, then the escape symbol
        e -= 2;
        const dir = escs[e];
        const d = escs[e + 1];
        const m = nibbleCount(d);
        for (let q = m - 1; q >= 0; q--) {
          const nib = Math.floor(d / 2 ** (4 * q)) % 16;
          step(k, nib * BYPASS_FREQ + BYPASS_OP_HI);
        }
        step(k, (((m - 1) << 1) | dir) * BYPASS_FREQ + BYPASS_OP_HI);
      }
      step(k, op);
    }
    p -= STATE_BYTES;
    const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    for (let k = 0; k < NUM_STATES; k++) view.setUint32(p + 4 * k, states[k], true);

    this.#n = 0;
    this.#esc = [];
    if (this.#ops.length > 1 << 20) this.#ops = new Uint32Array(1024);
    return buf.slice(p);
  }

  dispose(): void {
    this.#disposed = true;
    this.#ops = new Uint32Array(0);
    this.#esc = [];
    this.#n = 0;
  }

  #alive(): void {
    if (this.#disposed) throw new CodecError('ERR_INTERNAL', 'rANS encoder used after dispose()');
  }
}

/** Resumable decoder over one stream. */
export class ReferenceRansDecoder implements RansDecoder {
  readonly #bytes: Uint8Array;
  #pos = STATE_BYTES;
  readonly #states: number[] = [];
  #decoded = 0;
  #failed = false;
  #exhausted = false;
  #disposed = false;

  /** @throws BitstreamError when the stream is shorter than its states or a state is out of range. */
  constructor(bytes: Uint8Array) {
    if (!(bytes instanceof Uint8Array)) throw invalidOption('Uint8Array', 'bytes', bytes);
    this.#bytes = bytes.slice();
    const len = bytes.length;
    if (len < STATE_BYTES) throw headerError(len, 0, 0);
    const view = new DataView(this.#bytes.buffer);
    for (let k = 0; k < NUM_STATES; k++) {
      const x = view.getUint32(4 * k, true);
      if (x < RANS_L || x >= STATE_LIMIT) throw headerError(len, k, x);
      this.#states.push(x);
    }
  }

  get decoded(): number {
    return this.#decoded;
  }

  get remainingBytes(): number {
    return this.#bytes.length - this.#pos;
  }

  decodeWithIndexes(indexes: IntArray, tables: RansTables, out?: Int32Array): Int32Array {
    out ??= new Int32Array(indexes.length);
    this.#decode(indexes, tables, out, false);
    return out;
  }

  decodePrefix(indexes: IntArray, tables: RansTables, out: Int32Array): number {
    return this.#decode(indexes, tables, out, true);
  }

  #decode(indexes: IntArray, tables: RansTables, out: Int32Array, prefix: boolean): number {
    this.#alive();
    checkIntArray(indexes, 'indexes');
    checkTables(tables);
    const n = indexes.length;
    checkOut(out, n);
    if (this.#exhausted && prefix) return 0;
    if (this.#failed) throw decodeError(Status.FAILED, this.#decoded, this.#bytes.length);
    const count = tables.count;
    for (let i = 0; i < n; i++) {
      const idx = indexes[i];
      if (!(idx >= 0 && idx < count)) {
        // like the WASM decoder: the stream position is lost, the decoder cannot go on
        this.#failed = true;
        throw badIndex(indexes, i, tables);
      }
    }
    for (let i = 0; i < n; i++) {
      const r = this.#one(indexes[i], tables);
      if (r === undefined) {
        this.#failed = true;
        if (prefix && this.#status === Status.TRUNCATED) {
          this.#exhausted = true;
          return i;
        }
        throw decodeError(this.#status, this.#decoded, this.#bytes.length);
      }
      out[i] = r;
      this.#decoded++;
    }
    return n;
  }

  finish(): void {
    this.#alive();
    if (this.#failed) throw decodeError(Status.FAILED, this.#decoded, this.#bytes.length);
    const remaining = this.remainingBytes;
    const ok = remaining === 0 && this.#states.every((x) => x === RANS_L);
    this.dispose();
    if (!ok) throw notAtEndError(remaining, this.#decoded);
  }

  dispose(): void {
    this.#disposed = true;
  }

  #status: number = Status.OK;

  /** Pops (start, freq) from state k; false when the stream ran out. */
  #advance(k: number, start: number, freq: number): boolean {
    const x0 = this.#states[k];
    let x = freq * (x0 >>> PROB_BITS) + (x0 & PROB_MASK) - start;
    const bytes = this.#bytes;
    while (x < RANS_L) {
      if (this.#pos >= bytes.length) return false;
      x = x * 256 + bytes[this.#pos++];
    }
    this.#states[k] = x;
    return true;
  }

  #bypass(k: number): number {
    const nib = (this.#states[k] & PROB_MASK) >>> BYPASS_SHIFT;
    if (!this.#advance(k, nib * BYPASS_FREQ, BYPASS_FREQ)) return -1;
    return nib;
  }

  /** Decodes the next value with table t; undefined (and #status set) on a stream error. */
  #one(t: number, tables: RansTables): number | undefined {
    const k = this.#decoded % NUM_STATES;
    const { cdfs } = tables;
    const base = tables.starts[t];
    const esc = tables.lengths[t] - 2;
    const slot = this.#states[k] & PROB_MASK;
    // largest s in [0, esc] with cdf[s] <= slot
    let lo = 0;
    let hi = esc;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (cdfs[base + mid] <= slot) lo = mid;
      else hi = mid - 1;
    }
    const start = cdfs[base + lo];
    if (!this.#advance(k, start, cdfs[base + lo + 1] - start)) {
      this.#status = Status.TRUNCATED;
      return undefined;
    }
    const offset = tables.offsets[t];
    if (lo !== esc) return offset + lo;

    const h = this.#bypass(k);
    if (h < 0) {
      this.#status = Status.TRUNCATED;
      return undefined;
    }
    const m = (h >> 1) + 1;
    let d = 0;
    let top = 0;
    for (let q = 0; q < m; q++) {
      const nib = this.#bypass(k);
      if (nib < 0) {
        this.#status = Status.TRUNCATED;
        return undefined;
      }
      d += nib * 2 ** (4 * q);
      top = nib;
    }
    const v = h & 1 ? offset + esc + d : offset - 1 - d;
    if ((m > 1 && top === 0) || v < -0x80000000 || v > 0x7fffffff) {
      this.#status = Status.BAD_ESCAPE;
      return undefined;
    }
    return v;
  }

  #alive(): void {
    if (this.#disposed) throw new CodecError('ERR_INTERNAL', 'rANS decoder used after finish() or dispose()');
  }
}

/** The TypeScript reference coder as a RansCoder. */
export const referenceRans: RansCoder = {
  name: 'typescript',
  createEncoder: () => new ReferenceRansEncoder(),
  createDecoder: (bytes: Uint8Array) => new ReferenceRansDecoder(bytes),
};
