/**
 * The rANS coder compiled to WebAssembly (wasm/rans.ts → build/rans.wasm), loaded once and
 * shared. Every call crosses the boundary once per tensor (in chunks of at most
 * {@link CHUNK_SYMBOLS} values, to bound the scratch memory), never once per symbol.
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CodecError, captureStack, invalidOption, rethrowWith } from '../errors.js';
import { PROB_SCALE } from './constants.js';
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
import { packageRoot } from '../paths.js';

/** Largest number of values moved across the JS/WASM boundary in one call. */
export const CHUNK_SYMBOLS = 1 << 20;

// The project compiles against ES2022 + Node types, which do not describe WebAssembly;
// these are the few parts used here.
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
}
interface WasmModule {
  readonly __brand?: 'WebAssembly.Module';
}
interface WasmApi {
  compile(bytes: Uint8Array): Promise<WasmModule>;
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule, imports: object) => { readonly exports: unknown };
}
/** The WebAssembly global, with the types of the parts this package uses. */
export const WebAssembly = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

interface RansExports {
  memory: WasmMemory;
  alloc(size: number): number;
  free(ptr: number): void;
  encNew(): number;
  encFree(enc: number): void;
  encTruncate(enc: number, opsLen: number, escLen: number): void;
  encEscapes(enc: number): number;
  encPending(enc: number): number;
  encPush(enc: number, tbl: number, sp: number, ip: number, n: number): number;
  encFlush(enc: number): number;
  encReleaseOutput(enc: number): void;
  decNew(len: number): number;
  decData(dec: number): number;
  decFree(dec: number): void;
  decInit(dec: number, len: number): number;
  decRemaining(dec: number): number;
  decDecode(dec: number, tbl: number, io: number, n: number): number;
  decFinish(dec: number): number;
}

// Field offsets of the encoder and decoder objects (wasm/rans.ts).
const ENC_OUT = 28;
const ENC_OUT_LEN = 32;
const ENC_ERR_POS = 36;
const DEC_ERR_POS = 32;

/** Finds build/rans.wasm in the package root: the nearest ancestor holding package.json. */
export function ransWasmPath(): string {
  return join(packageRoot(), 'build', 'rans.wasm');
}

function missingWasm(path: string, cause: unknown): CodecError {
  return new CodecError('ERR_INTERNAL', `Cannot load the rANS WebAssembly module ${path}; run \`npm run build:wasm\``, {
    cause,
  });
}

let instance: WasmRans | undefined;
let loading: Promise<WasmRans> | undefined;

function instantiate(module: WasmModule): WasmRans {
  // both loaders may race: whichever finishes first wins, so there is only ever one instance
  if (instance) return instance;
  let exports: RansExports | undefined;
  const imports = {
    env: {
      abort(msg: number, _file: number, line: number, column: number): never {
        let text = 'abort';
        if (exports && msg) {
          const buf = exports.memory.buffer;
          const bytes = new Uint32Array(buf, msg - 4, 1)[0];
          text = String.fromCharCode(...new Uint16Array(buf, msg, Math.min(bytes >>> 1, 200)));
        }
        throw new CodecError('ERR_INTERNAL', `rANS WebAssembly module failed: ${text} (${line}:${column})`);
      },
    },
  };
  exports = new WebAssembly.Instance(module, imports).exports as unknown as RansExports;
  instance = new WasmRans(exports);
  return instance;
}

/**
 * Loads the WASM coder once (memoised) and resolves to it.
 * @example
 * const rans = await loadRans();
 * const enc = rans.createEncoder();
 * @throws CodecError (ERR_INTERNAL) when build/rans.wasm is missing.
 */
export function loadRans(): Promise<WasmRans> {
  if (instance) return Promise.resolve(instance);
  const holder = captureStack();
  return (loading ??= (async () => {
    const path = ransWasmPath();
    let bytes: Buffer;
    try {
      bytes = await readFile(path);
    } catch (err) {
      loading = undefined;
      rethrowWith(missingWasm(path, err), holder);
    }
    return instantiate(await WebAssembly.compile(bytes));
  })());
}

/** Synchronous variant of {@link loadRans}; returns the same instance. */
export function loadRansSync(): WasmRans {
  if (instance) return instance;
  const path = ransWasmPath();
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw missingWasm(path, err);
  }
  return instantiate(new WebAssembly.Module(bytes));
}

type Owned = { kind: 'enc' | 'dec' | 'block'; ptr: number };

/** The WASM coder: a RansCoder plus the memory bookkeeping shared by its encoders and decoders. */
export class WasmRans implements RansCoder {
  readonly name = 'wasm';
  /** @internal */
  readonly ex: RansExports;
  #scratch = 0;
  #scratchBytes = 0;
  readonly #tables = new WeakMap<RansTables, number>();
  /** @internal frees native memory of objects dropped without dispose() */
  readonly registry: FinalizationRegistry<Owned>;

  /** @internal use loadRans() */
  constructor(ex: RansExports) {
    this.ex = ex;
    this.registry = new FinalizationRegistry<Owned>((o) => this.release(o));
  }

  createEncoder(): WasmRansEncoder {
    return new WasmRansEncoder(this);
  }

  createDecoder(bytes: Uint8Array): WasmRansDecoder {
    return new WasmRansDecoder(this, bytes);
  }

  /** Bytes of WebAssembly memory in use (it grows, it never shrinks). */
  get memoryBytes(): number {
    return this.ex.memory.buffer.byteLength;
  }

  /** @internal */
  release(o: Owned): void {
    if (o.kind === 'enc') this.ex.encFree(o.ptr);
    else if (o.kind === 'dec') this.ex.decFree(o.ptr);
    else this.ex.free(o.ptr);
  }

  /** @internal a scratch block of at least `bytes`, shared by all calls (they are synchronous) */
  scratch(bytes: number): number {
    if (bytes > this.#scratchBytes) {
      this.ex.free(this.#scratch);
      this.#scratch = 0;
      this.#scratchBytes = 0;
      const size = Math.max(bytes, 4096);
      this.#scratch = this.ex.alloc(size);
      this.#scratchBytes = size;
    }
    return this.#scratch;
  }

  /** @internal pointer to the uploaded copy of `tables`, uploading it on first use */
  tablesPtr(tables: RansTables): number {
    let ptr = this.#tables.get(tables);
    if (ptr === undefined) {
      ptr = this.#upload(tables);
      this.#tables.set(tables, ptr);
      this.registry.register(tables, { kind: 'block', ptr });
    }
    return ptr;
  }

  /**
   * Layout (README): 16-byte header {count}, then per table 16 bytes {cdf ptr, escape |
   * shift << 16, offset, bucket ptr}, the CDFs as u32, then the u16 bucket tables:
   * bucket[b] is the symbol holding slot b << shift, and bucket[last] the escape symbol.
   */
  #upload(tables: RansTables): number {
    const { count, cdfs, lengths, offsets, starts } = tables;
    const bits = new Uint8Array(count);
    let bucketEntries = 0;
    for (let t = 0; t < count; t++) {
      const symbols = lengths[t] - 1;
      // about 16 buckets per symbol, at most 1024: the search below a bucket is then
      // nearly always empty
      bits[t] = Math.min(10, 36 - Math.clz32(symbols - 1));
      bucketEntries += (1 << bits[t]) + 1;
    }
    const cdfBytes = 16 + 16 * count;
    const bucketBytes = cdfBytes + 4 * cdfs.length;
    const size = bucketBytes + 2 * bucketEntries;
    const ptr = this.ex.alloc(size);
    const buf = this.ex.memory.buffer;
    const u32 = new Uint32Array(buf, ptr, bucketBytes >> 2);
    const i32 = new Int32Array(buf, ptr, bucketBytes >> 2);
    const u16 = new Uint16Array(buf, ptr + bucketBytes, bucketEntries);
    u32[0] = count;
    u32.set(cdfs, cdfBytes >> 2);
    let b = 0;
    for (let t = 0; t < count; t++) {
      const e = 4 + 4 * t;
      const shift = 16 - bits[t];
      const esc = lengths[t] - 2;
      u32[e] = ptr + cdfBytes + 4 * starts[t];
      u32[e + 1] = esc | (shift << 16);
      i32[e + 2] = offsets[t];
      u32[e + 3] = ptr + bucketBytes + 2 * b;
      const base = starts[t];
      const buckets = 1 << bits[t];
      let s = 0;
      for (let k = 0; k < buckets; k++) {
        const slot = k << shift;
        while (cdfs[base + s + 1] <= slot) s++;
        u16[b++] = s;
      }
      u16[b++] = esc;
      if (s > esc || cdfs[base + esc + 1] !== PROB_SCALE) {
        throw new CodecError('ERR_INTERNAL', 'rANS table upload inconsistent');
      }
    }
    return ptr;
  }
}

/** WASM-backed buffered encoder; see {@link RansEncoder}. */
export class WasmRansEncoder implements RansEncoder {
  readonly #rans: WasmRans;
  #ptr: number;

  constructor(rans: WasmRans) {
    this.#rans = rans;
    this.#ptr = rans.ex.encNew();
    rans.registry.register(this, { kind: 'enc', ptr: this.#ptr }, this);
  }

  get pending(): number {
    return this.#ptr ? this.#rans.ex.encPending(this.#ptr) : 0;
  }

  encodeWithIndexes(symbols: IntArray, indexes: IntArray, tables: RansTables): void {
    const enc = this.#alive();
    checkEncodeArgs(symbols, indexes, tables);
    const holder = captureStack();
    const rans = this.#rans;
    const ex = rans.ex;
    const opsBefore = ex.encPending(enc);
    const escBefore = ex.encEscapes(enc);
    try {
      const tbl = rans.tablesPtr(tables);
      const n = symbols.length;
      for (let start = 0; start < n; start += CHUNK_SYMBOLS) {
        const m = Math.min(CHUNK_SYMBOLS, n - start);
        const sp = rans.scratch(8 * m);
        const mem = new Int32Array(ex.memory.buffer);
        mem.set(symbols.subarray(start, start + m), sp >> 2);
        mem.set(indexes.subarray(start, start + m), (sp >> 2) + m);
        const st = ex.encPush(enc, tbl, sp, sp + 4 * m, m);
        if (st !== Status.OK) {
          ex.encTruncate(enc, opsBefore, escBefore);
          if (st === Status.BAD_INDEX) {
            const pos = new Uint32Array(ex.memory.buffer, enc + ENC_ERR_POS, 1)[0];
            throw badIndex(indexes, start + pos, tables);
          }
          throw new CodecError('ERR_INTERNAL', `rANS encoder failed with status ${st}`);
        }
      }
    } catch (err) {
      rethrowWith(err, holder);
    }
  }

  flush(): Uint8Array {
    const enc = this.#alive();
    const holder = captureStack();
    const ex = this.#rans.ex;
    try {
      const st = ex.encFlush(enc);
      if (st !== Status.OK) throw new CodecError('ERR_INTERNAL', `rANS encoder failed with status ${st}`);
      const buf = ex.memory.buffer;
      const out = new Uint32Array(buf, enc + ENC_OUT, 1)[0];
      const len = new Uint32Array(buf, enc + ENC_OUT_LEN, 1)[0];
      const bytes = new Uint8Array(buf, out, len).slice();
      ex.encReleaseOutput(enc);
      return bytes;
    } catch (err) {
      rethrowWith(err, holder);
    }
  }

  dispose(): void {
    if (!this.#ptr) return;
    this.#rans.registry.unregister(this);
    this.#rans.ex.encFree(this.#ptr);
    this.#ptr = 0;
  }

  #alive(): number {
    if (!this.#ptr) throw new CodecError('ERR_INTERNAL', 'rANS encoder used after dispose()');
    return this.#ptr;
  }
}

/** WASM-backed resumable decoder; see {@link RansDecoder}. */
export class WasmRansDecoder implements RansDecoder {
  readonly #rans: WasmRans;
  readonly #length: number;
  #ptr: number;
  #decoded = 0;
  #failed = false;
  #exhausted = false;

  /** @throws BitstreamError when the stream is shorter than its states or a state is out of range. */
  constructor(rans: WasmRans, bytes: Uint8Array) {
    if (!(bytes instanceof Uint8Array)) throw invalidOption('Uint8Array', 'bytes', bytes);
    const holder = captureStack();
    const ex = rans.ex;
    this.#rans = rans;
    this.#length = bytes.length;
    let dec = 0;
    try {
      dec = ex.decNew(bytes.length);
      new Uint8Array(ex.memory.buffer).set(bytes, ex.decData(dec));
      const st = ex.decInit(dec, bytes.length);
      if (st !== Status.OK) {
        const buf = ex.memory.buffer;
        const k = new Uint32Array(buf, dec + DEC_ERR_POS, 1)[0];
        const x = bytes.length >= 16 ? new DataView(bytes.buffer, bytes.byteOffset).getUint32(4 * k, true) : 0;
        ex.decFree(dec);
        dec = 0;
        throw headerError(bytes.length, k, x);
      }
    } catch (err) {
      if (dec) ex.decFree(dec);
      rethrowWith(err, holder);
    }
    this.#ptr = dec;
    rans.registry.register(this, { kind: 'dec', ptr: dec }, this);
  }

  get decoded(): number {
    return this.#decoded;
  }

  get remainingBytes(): number {
    return this.#ptr ? this.#rans.ex.decRemaining(this.#ptr) : 0;
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
    const dec = this.#alive();
    checkIntArray(indexes, 'indexes');
    checkTables(tables);
    const n = indexes.length;
    checkOut(out, n);
    if (this.#exhausted && prefix) return 0;
    if (this.#failed) throw decodeError(Status.FAILED, this.#decoded, this.#length);
    const holder = captureStack();
    const rans = this.#rans;
    const ex = rans.ex;
    try {
      const tbl = rans.tablesPtr(tables);
      for (let start = 0; start < n; start += CHUNK_SYMBOLS) {
        const m = Math.min(CHUNK_SYMBOLS, n - start);
        const io = rans.scratch(4 * m);
        new Int32Array(ex.memory.buffer).set(indexes.subarray(start, start + m), io >> 2);
        const st = ex.decDecode(dec, tbl, io, m);
        if (st !== Status.OK) {
          this.#failed = true;
          const pos = new Uint32Array(ex.memory.buffer, dec + DEC_ERR_POS, 1)[0];
          this.#decoded += pos;
          if (st === Status.BAD_INDEX) throw badIndex(indexes, start + pos, tables);
          if (prefix && st === Status.TRUNCATED) {
            // values before pos were decoded from real bytes only: they are exact
            out.set(new Int32Array(ex.memory.buffer, io, pos), start);
            this.#exhausted = true;
            return start + pos;
          }
          throw decodeError(st, this.#decoded, this.#length);
        }
        out.set(new Int32Array(ex.memory.buffer, io, m), start);
        this.#decoded += m;
      }
    } catch (err) {
      rethrowWith(err, holder);
    }
    return n;
  }

  finish(): void {
    const dec = this.#alive();
    const ex = this.#rans.ex;
    const st = ex.decFinish(dec);
    const remaining = ex.decRemaining(dec);
    this.dispose();
    if (st === Status.FAILED) throw decodeError(st, this.#decoded, this.#length);
    if (st !== Status.OK) throw notAtEndError(remaining, this.#decoded);
  }

  dispose(): void {
    if (!this.#ptr) return;
    this.#rans.registry.unregister(this);
    this.#rans.ex.decFree(this.#ptr);
    this.#ptr = 0;
  }

  #alive(): number {
    if (!this.#ptr) throw new CodecError('ERR_INTERNAL', 'rANS decoder used after finish() or dispose()');
    return this.#ptr;
  }
}
