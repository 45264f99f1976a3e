import { describe, expect, it } from 'vitest';
import {
  ByteReader,
  ByteWriter,
  MAX_VARUINT,
  varUintLength,
  zigzagDecode,
  zigzagEncode,
} from '../src/bitstream/bytes.js';
import { BitstreamError, InvalidOptionError } from '../src/errors.js';

const bytes = (...values: number[]): Uint8Array => Uint8Array.from(values);

describe('unsigned varints', () => {
  const cases: [number, number[]][] = [
    [0, [0x00]],
    [1, [0x01]],
    [127, [0x7f]],
    [128, [0x80, 0x01]],
    [300, [0xac, 0x02]],
    [16_383, [0xff, 0x7f]],
    [16_384, [0x80, 0x80, 0x01]],
    [2 ** 28 - 1, [0xff, 0xff, 0xff, 0x7f]],
    [2 ** 28, [0x80, 0x80, 0x80, 0x80, 0x01]],
    [2 ** 31, [0x80, 0x80, 0x80, 0x80, 0x08]],
    [MAX_VARUINT, [0xff, 0xff, 0xff, 0xff, 0x0f]],
  ];

  it.each(cases)('%i encodes to the expected bytes and back', (value, encoded) => {
    const written = new ByteWriter().varuint(value).finish();
    expect([...written]).toEqual(encoded);
    expect(varUintLength(value)).toBe(encoded.length);
    const r = new ByteReader(written);
    expect(r.varuint()).toBe(value);
    expect(r.remaining).toBe(0);
  });

  it('round-trips values spread over the whole range', () => {
    const w = new ByteWriter(1);
    const values: number[] = [];
    for (let v = 1; v <= MAX_VARUINT; v = Math.floor(v * 1.37) + 1) values.push(v, v - 1);
    for (const v of values) w.varuint(v);
    const r = new ByteReader(w.finish());
    for (const v of values) expect(r.varuint()).toBe(v);
    expect(r.remaining).toBe(0);
  });

  it('rejects encodings longer than 5 bytes', () => {
    expect(() => new ByteReader(bytes(0x80, 0x80, 0x80, 0x80, 0x80, 0x01)).varuint()).toThrow(/longer than 5 bytes/);
  });

  it('rejects values above 2^32-1', () => {
    expect(() => new ByteReader(bytes(0xff, 0xff, 0xff, 0xff, 0x1f)).varuint()).toThrow(/above 4294967295/);
    expect(() => new ByteReader(bytes(0x80, 0x80, 0x80, 0x80, 0x10)).varuint()).toThrow(BitstreamError);
  });

  it('rejects non-shortest encodings', () => {
    expect(() => new ByteReader(bytes(0x80, 0x00)).varuint()).toThrow(/shortest form/);
    expect(() => new ByteReader(bytes(0x81, 0x80, 0x00)).varuint()).toThrow(BitstreamError);
  });

  it('throws BitstreamError when the data ends inside a varint', () => {
    for (const input of [bytes(), bytes(0x80), bytes(0xff, 0xff, 0xff, 0xff)]) {
      expect(() => new ByteReader(input).varuint('length')).toThrow(BitstreamError);
    }
    expect(() => new ByteReader(bytes(0x80)).varuint('length')).toThrow(/truncated data: length needs 1 byte at offset 1/);
  });

  it('refuses to write what it cannot encode', () => {
    for (const bad of [-1, 1.5, MAX_VARUINT + 1, Number.NaN]) {
      expect(() => new ByteWriter().varuint(bad)).toThrow(InvalidOptionError);
    }
  });
});

describe('signed zigzag varints', () => {
  it('maps small magnitudes to small codes', () => {
    expect([0, -1, 1, -2, 2].map(zigzagEncode)).toEqual([0, 1, 2, 3, 4]);
    expect([0, 1, 2, 3, 4].map(zigzagDecode)).toEqual([0, -1, 1, -2, 2]);
  });

  it('round-trips the int32 extremes and values between', () => {
    const values = [-(2 ** 31), 2 ** 31 - 1, -(2 ** 31) + 1, -123_456_789, 987_654_321, -64, 63, -65, 64];
    const w = new ByteWriter();
    for (const v of values) w.varint(v);
    const r = new ByteReader(w.finish());
    for (const v of values) expect(r.varint()).toBe(v);
    expect(zigzagEncode(-(2 ** 31))).toBe(MAX_VARUINT);
    expect(zigzagEncode(2 ** 31 - 1)).toBe(MAX_VARUINT - 1);
  });

  it('rejects values outside int32', () => {
    expect(() => new ByteWriter().varint(2 ** 31)).toThrow(InvalidOptionError);
    expect(() => new ByteWriter().varint(-(2 ** 31) - 1)).toThrow(InvalidOptionError);
  });
});

describe('ByteWriter', () => {
  it('grows past its initial capacity and returns exactly the bytes written', () => {
    const w = new ByteWriter(1);
    for (let i = 0; i < 1000; i++) w.u8(i & 0xff);
    const out = w.finish();
    expect(out.length).toBe(1000);
    expect(out[999]).toBe(999 & 0xff);
    expect(out.buffer.byteLength).toBe(1000);
  });

  it('writes little-endian fixed-width integers and ASCII', () => {
    const out = new ByteWriter().u16le(0x1234).u32le(0xdeadbeef).ascii('Hi').bytes(bytes(7, 8)).finish();
    expect([...out]).toEqual([0x34, 0x12, 0xef, 0xbe, 0xad, 0xde, 0x48, 0x69, 7, 8]);
  });

  it('rejects out-of-range values and non-ASCII text', () => {
    expect(() => new ByteWriter().u8(256)).toThrow(/Expected integer between 0 and 255 for u8 value but received 256 of type number/);
    expect(() => new ByteWriter().u16le(-1)).toThrow(InvalidOptionError);
    expect(() => new ByteWriter().u32le(2 ** 32)).toThrow(InvalidOptionError);
    expect(() => new ByteWriter().ascii('é')).toThrow(InvalidOptionError);
    expect(() => new ByteWriter().bytes([1, 2] as unknown as Uint8Array)).toThrow(InvalidOptionError);
  });
});

describe('ByteReader', () => {
  it('reads what the writer wrote', () => {
    const data = new ByteWriter().u8(9).u16le(0xbeef).u32le(0xfeedface).varuint(1234).varint(-77).bytes(bytes(1, 2, 3)).finish();
    const r = new ByteReader(data);
    expect(r.u8()).toBe(9);
    expect(r.u16le()).toBe(0xbeef);
    expect(r.u32le()).toBe(0xfeedface);
    expect(r.varuint()).toBe(1234);
    expect(r.varint()).toBe(-77);
    expect([...r.bytes(3)]).toEqual([1, 2, 3]);
    r.expectEnd('test data');
  });

  it('returns views, not copies', () => {
    const data = bytes(1, 2, 3, 4);
    const view = new ByteReader(data).bytes(4);
    data[0] = 42;
    expect(view[0]).toBe(42);
  });

  it('never reads past its end, even inside a larger buffer', () => {
    const data = bytes(1, 2, 3, 4, 5, 6);
    const r = new ByteReader(data, 1, 3);
    expect(r.u16le()).toBe(0x0302);
    expect(r.remaining).toBe(0);
    expect(() => r.u8()).toThrow(BitstreamError);
    expect(r.position).toBe(3);
  });

  it('checks every width against the bytes left', () => {
    const r = new ByteReader(bytes(1, 2, 3));
    expect(() => r.u32le('crc')).toThrow(/crc needs 4 bytes at offset 0, but only 3 remain/);
    expect(() => r.bytes(4)).toThrow(BitstreamError);
    expect(() => r.skip(4)).toThrow(BitstreamError);
    expect(r.position).toBe(0);
    expect(r.u16le()).toBe(0x0201);
    expect(() => r.u16le()).toThrow(BitstreamError);
    expect(() => r.expectEnd('thing')).toThrow(/1 unexpected trailing byte/);
  });

  it('rejects a range outside the buffer', () => {
    expect(() => new ByteReader(bytes(1, 2), 0, 3)).toThrow(InvalidOptionError);
    expect(() => new ByteReader(bytes(1, 2), 2, 1)).toThrow(InvalidOptionError);
  });
});
