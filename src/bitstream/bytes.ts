/**
 * Byte-level reading and writing: a growable writer, a bounds-checked reader, unsigned
 * LEB128 varints and signed zigzag varints.
 *
 * Fixed-width integers are little-endian. Varints carry at most 32 bits in at most
 * 5 bytes and must use the shortest encoding, so every value has exactly one encoding
 * and a parse followed by a write gives back the same bytes.
 */
import { BitstreamError, invalidOption } from '../errors.js';

/** Largest value an unsigned varint may carry: 2^32 - 1. */
export const MAX_VARUINT = 0xffff_ffff;
/** Longest varint encoding accepted, in bytes. */
export const MAX_VARINT_BYTES = 5;
const MIN_INT32 = -0x8000_0000;
const MAX_INT32 = 0x7fff_ffff;

function assertUint(value: number, max: number, name: string): void {
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw invalidOption(`integer between 0 and ${max}`, name, value);
  }
}

/** Bytes needed to write `value` as an unsigned varint (1..5). */
export function varUintLength(value: number): number {
  assertUint(value, MAX_VARUINT, 'varint value');
  let length = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 0x80);
    length += 1;
  }
  return length;
}

/** Map a signed 32-bit integer onto an unsigned one: 0, -1, 1, -2, 2 … → 0, 1, 2, 3, 4 …. */
export function zigzagEncode(value: number): number {
  if (!Number.isInteger(value) || value < MIN_INT32 || value > MAX_INT32) {
    throw invalidOption(`integer between ${MIN_INT32} and ${MAX_INT32}`, 'signed varint value', value);
  }
  return ((value << 1) ^ (value >> 31)) >>> 0;
}

/** Inverse of {@link zigzagEncode}. */
export function zigzagDecode(value: number): number {
  return (value >>> 1) ^ -(value & 1);
}

/** A byte sink that grows as needed. `finish()` returns exactly the bytes written. */
export class ByteWriter {
  #buffer: Uint8Array;
  #length = 0;

  constructor(initialCapacity = 256) {
    assertUint(initialCapacity, 0x7fff_ffff, 'initialCapacity');
    this.#buffer = new Uint8Array(Math.max(16, initialCapacity));
  }

  /** Number of bytes written so far. */
  get length(): number {
    return this.#length;
  }

  #reserve(extra: number): void {
    const needed = this.#length + extra;
    if (needed <= this.#buffer.length) return;
    let capacity = this.#buffer.length * 2;
    while (capacity < needed) capacity *= 2;
    const next = new Uint8Array(capacity);
    next.set(this.#buffer.subarray(0, this.#length));
    this.#buffer = next;
  }

  u8(value: number): this {
    assertUint(value, 0xff, 'u8 value');
    this.#reserve(1);
    this.#buffer[this.#length++] = value;
    return this;
  }

  u16le(value: number): this {
    assertUint(value, 0xffff, 'u16 value');
    this.#reserve(2);
    this.#buffer[this.#length++] = value & 0xff;
    this.#buffer[this.#length++] = value >>> 8;
    return this;
  }

  u32le(value: number): this {
    assertUint(value, 0xffff_ffff, 'u32 value');
    this.#reserve(4);
    for (let i = 0; i < 4; i++) this.#buffer[this.#length++] = (value >>> (8 * i)) & 0xff;
    return this;
  }

  /** Unsigned LEB128, shortest form, at most 5 bytes. */
  varuint(value: number): this {
    assertUint(value, MAX_VARUINT, 'varint value');
    this.#reserve(MAX_VARINT_BYTES);
    while (value >= 0x80) {
      this.#buffer[this.#length++] = (value & 0x7f) | 0x80;
      value = Math.floor(value / 0x80);
    }
    this.#buffer[this.#length++] = value;
    return this;
  }

  /** Signed 32-bit integer as a zigzag varint. */
  varint(value: number): this {
    return this.varuint(zigzagEncode(value));
  }

  bytes(data: Uint8Array): this {
    if (!(data instanceof Uint8Array)) throw invalidOption('Uint8Array', 'bytes', data);
    this.#reserve(data.length);
    this.#buffer.set(data, this.#length);
    this.#length += data.length;
    return this;
  }

  /** Printable ASCII only (0x20..0x7e); anything else is an InvalidOptionError. */
  ascii(text: string): this {
    this.#reserve(text.length);
    for (let i = 0; i < text.length; i++) {
      const code = text.charCodeAt(i);
      if (code < 0x20 || code > 0x7e) throw invalidOption('printable ASCII text', 'ascii', JSON.stringify(text));
      this.#buffer[this.#length++] = code;
    }
    return this;
  }

  /** A view of the bytes written so far; it stays valid only until the next write. */
  view(): Uint8Array {
    return this.#buffer.subarray(0, this.#length);
  }

  /** A copy of exactly the bytes written. */
  finish(): Uint8Array {
    return this.#buffer.slice(0, this.#length);
  }
}

/**
 * A cursor over a byte range that never reads past its end: every read checks the
 * bytes left first and throws BitstreamError on truncation. `bytes()` returns views of
 * the input, not copies.
 */
export class ByteReader {
  readonly data: Uint8Array;
  readonly end: number;
  #pos: number;

  /** Read `data` from `start` (default 0) up to `end` (default its length). */
  constructor(data: Uint8Array, start = 0, end = data.length) {
    if (!(data instanceof Uint8Array)) throw invalidOption('Uint8Array', 'data', data);
    assertUint(end, data.length, 'end');
    assertUint(start, end, 'start');
    this.data = data;
    this.end = end;
    this.#pos = start;
  }

  /** Offset of the next byte to read, relative to the start of `data`. */
  get position(): number {
    return this.#pos;
  }

  /** Bytes left before `end`. */
  get remaining(): number {
    return this.end - this.#pos;
  }

  /** Throw BitstreamError unless `count` more bytes are available for `what`. */
  need(count: number, what: string): void {
    if (count > this.end - this.#pos) {
      throw new BitstreamError(
        `truncated data: ${what} needs ${count} byte${count === 1 ? '' : 's'} at offset ${this.#pos}, ` +
          `but only ${this.end - this.#pos} remain`,
      );
    }
  }

  u8(what = 'u8'): number {
    this.need(1, what);
    return this.data[this.#pos++];
  }

  u16le(what = 'u16'): number {
    this.need(2, what);
    const d = this.data;
    const p = this.#pos;
    this.#pos += 2;
    return d[p] | (d[p + 1] << 8);
  }

  u32le(what = 'u32'): number {
    this.need(4, what);
    const d = this.data;
    const p = this.#pos;
    this.#pos += 4;
    return (d[p] | (d[p + 1] << 8) | (d[p + 2] << 16) | (d[p + 3] << 24)) >>> 0;
  }

  /** Unsigned LEB128; rejects encodings over 5 bytes, values over 2^32-1 and non-shortest forms. */
  varuint(what = 'varint'): number {
    const start = this.#pos;
    let result = 0;
    let scale = 1;
    for (let i = 0; i < MAX_VARINT_BYTES; i++) {
      const byte = this.u8(what);
      if (i === MAX_VARINT_BYTES - 1 && byte > 0x0f) {
        throw new BitstreamError(
          byte & 0x80
            ? `bad ${what} at offset ${start}: varint longer than ${MAX_VARINT_BYTES} bytes`
            : `bad ${what} at offset ${start}: varint above ${MAX_VARUINT}`,
        );
      }
      result += (byte & 0x7f) * scale;
      if ((byte & 0x80) === 0) {
        if (byte === 0 && i > 0) {
          throw new BitstreamError(`bad ${what} at offset ${start}: varint not in its shortest form`);
        }
        return result;
      }
      scale *= 0x80;
    }
    // Unreachable: the fifth byte either ends the varint or throws above.
    throw new BitstreamError(`bad ${what} at offset ${start}`);
  }

  /** Signed zigzag varint. */
  varint(what = 'signed varint'): number {
    return zigzagDecode(this.varuint(what));
  }

  /** A view (not a copy) of the next `count` bytes. */
  bytes(count: number, what = 'bytes'): Uint8Array {
    this.need(count, what);
    const view = this.data.subarray(this.#pos, this.#pos + count);
    this.#pos += count;
    return view;
  }

  skip(count: number, what = 'bytes'): void {
    this.need(count, what);
    this.#pos += count;
  }

  /** Throw BitstreamError if any bytes are left. */
  expectEnd(what: string): void {
    if (this.#pos !== this.end) {
      throw new BitstreamError(`${this.end - this.#pos} unexpected trailing byte(s) after ${what} at offset ${this.#pos}`);
    }
  }
}
