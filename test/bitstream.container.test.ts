import { describe, expect, it } from 'vitest';
import { ByteWriter } from '../src/bitstream/bytes.js';
import {
  FORMAT_VERSION,
  MAGIC,
  checkModel,
  modelHashFromSha256,
  readContainer,
  writeContainer,
  type ContainerInput,
} from '../src/bitstream/container.js';
import { crc32 } from '../src/bitstream/crc32.js';
import { encodeImageInfo } from '../src/bitstream/image-info.js';
import { inspect } from '../src/bitstream/inspect.js';
import { UnitType } from '../src/bitstream/units.js';
import {
  BitstreamError,
  CodecError,
  InvalidOptionError,
  LimitExceededError,
  ModelMismatchError,
} from '../src/errors.js';

const SHA256 = '0123456789abcdef'.repeat(4);
const HASH = modelHashFromSha256(SHA256);

function filled(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (i * 31 + seed * 17) & 0xff;
  return out;
}

const sample: ContainerInput = {
  codecId: 'hyperprior-q3',
  modelHash: HASH,
  units: [
    {
      type: UnitType.IMAGE_INFO,
      payload: encodeImageInfo({ width: 33, height: 17, channels: 3, bitDepth: 8, colourMatrix: 1, fullRange: true, alpha: false }),
    },
    { type: UnitType.Z_STREAM, payload: filled(40, 1) },
    { type: UnitType.Y_STREAM, payload: filled(200, 2) },
    { type: UnitType.COMMENT, payload: new TextEncoder().encode('test') },
    { type: UnitType.SYMBOL_CHECKSUM, payload: new Uint8Array(0) },
  ],
};

/** Build a file by hand, following the documented layout, so tests can write what the writer refuses to. */
function handBuilt(options: {
  magic?: Uint8Array;
  version?: number;
  codecId?: Uint8Array;
  idLength?: number;
  units?: { type: number; payload?: Uint8Array; length?: number; crc?: number }[];
  end?: boolean;
}): Uint8Array {
  const id = options.codecId ?? new TextEncoder().encode('test');
  const w = new ByteWriter();
  w.bytes(options.magic ?? MAGIC).u8(options.version ?? FORMAT_VERSION).u8(options.idLength ?? id.length).bytes(id).bytes(HASH);
  w.u32le(crc32(w.view()));
  const units = [...(options.units ?? [])];
  if (options.end !== false) units.push({ type: UnitType.END });
  for (const unit of units) {
    const start = w.length;
    const payload = unit.payload ?? new Uint8Array(0);
    w.u8(unit.type).varuint(unit.length ?? payload.length).bytes(payload);
    w.u32le(unit.crc ?? crc32(w.view().subarray(start)));
  }
  return w.finish();
}

function errorOf(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw');
}

describe('container round trip', () => {
  it('reads back what it wrote, and writes back what it read', () => {
    const bytes = writeContainer(sample);
    const file = readContainer(bytes);
    expect(file.version).toBe(FORMAT_VERSION);
    expect(file.codecId).toBe(sample.codecId);
    expect([...file.modelHash]).toEqual([...HASH]);
    expect(file.units.map((u) => ({ type: u.type, payload: [...u.payload] }))).toEqual(
      sample.units.map((u) => ({ type: u.type, payload: [...u.payload] })),
    );
    expect(file.units.map((u) => u.name)).toEqual(['IMAGE_INFO', 'Z_STREAM', 'Y_STREAM', 'COMMENT', 'SYMBOL_CHECKSUM']);
    expect(writeContainer(file)).toEqual(bytes);
  });

  it('round-trips an empty unit list and a payload needing a multi-byte length', () => {
    const empty = writeContainer({ codecId: 'a', modelHash: HASH, units: [] });
    expect(readContainer(empty).units).toEqual([]);
    const big = filled(70_000, 3);
    const file = readContainer(writeContainer({ codecId: 'a', modelHash: HASH, units: [{ type: UnitType.Y_STREAM, payload: big }] }));
    expect(file.units[0].length).toBe(70_000);
    expect(Buffer.compare(file.units[0].payload, big)).toBe(0);
  });

  it('lays out the header and units as documented', () => {
    const bytes = writeContainer({ codecId: 'ab', modelHash: HASH, units: [{ type: UnitType.Z_STREAM, payload: Uint8Array.of(9, 8, 7) }] });
    const header = [0x4e, 0x43, 0x44, 0x43, FORMAT_VERSION, 2, 0x61, 0x62, ...HASH];
    expect([...bytes.subarray(0, 16)]).toEqual(header);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    expect(view.getUint32(16, true)).toBe(crc32(Uint8Array.from(header)));
    expect([...bytes.subarray(20, 25)]).toEqual([UnitType.Z_STREAM, 3, 9, 8, 7]);
    expect(view.getUint32(25, true)).toBe(crc32(bytes.subarray(20, 25)));
    expect([...bytes.subarray(29, 31)]).toEqual([UnitType.END, 0]);
    expect(view.getUint32(31, true)).toBe(crc32(Uint8Array.of(0, 0)));
    expect(bytes.length).toBe(35);

    const file = readContainer(bytes);
    expect(file.headerLength).toBe(20);
    expect(file.units[0]).toMatchObject({ offset: 20, payloadOffset: 22, length: 3, optional: false, known: true });
  });

  it('returns payloads as views of the input', () => {
    const bytes = writeContainer(sample);
    const unit = readContainer(bytes).units[1];
    expect(unit.payload.buffer).toBe(bytes.buffer);
    expect(unit.payload.byteOffset).toBe(unit.payloadOffset);
  });

  it('accepts a Buffer as input', () => {
    expect(readContainer(Buffer.from(writeContainer(sample))).codecId).toBe('hyperprior-q3');
  });
});

describe('container errors', () => {
  const valid = writeContainer(sample);

  it('rejects a bad magic number', () => {
    const png = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);
    expect(() => readContainer(png)).toThrow(BitstreamError);
    expect(() => readContainer(png)).toThrow(/bad magic number 0x89504e47/);
    expect(() => readContainer(handBuilt({ magic: new TextEncoder().encode('NCDX') }))).toThrow(/bad magic/);
    expect(() => readContainer(Uint8Array.of(0x4e, 0x00))).toThrow(/bad magic/);
  });

  it('rejects unsupported versions', () => {
    for (const version of [0, 3, 255]) {
      expect(() => readContainer(handBuilt({ version }))).toThrow(BitstreamError);
      expect(() => readContainer(handBuilt({ version }))).toThrow(`unsupported format version ${version}`);
    }
    expect(readContainer(handBuilt({ version: 1 })).version).toBe(1);
    expect(readContainer(handBuilt({ version: 2 })).version).toBe(2);
  });

  it('rejects a header CRC mismatch', () => {
    const bytes = valid.slice();
    bytes[8] ^= 0x20; // inside the codec id
    expect(() => readContainer(bytes)).toThrow(/header CRC mismatch/);
  });

  it('rejects a unit CRC mismatch, in the payload, the length or the CRC itself', () => {
    const file = readContainer(valid);
    const y = file.units[2];
    for (const at of [y.offset, y.payloadOffset + 5, y.payloadOffset + y.length + 2]) {
      const bytes = valid.slice();
      bytes[at] ^= 0x01;
      expect(() => readContainer(bytes), `flip at ${at}`).toThrow(BitstreamError);
    }
    const bytes = valid.slice();
    bytes[y.payloadOffset + 5] ^= 0x01;
    expect(() => readContainer(bytes)).toThrow(/CRC mismatch in unit Y_STREAM at offset/);
  });

  it('rejects every truncation of a valid file with BitstreamError', () => {
    for (let length = 0; length < valid.length; length++) {
      const err = errorOf(() => readContainer(valid.subarray(0, length)));
      expect(err, `truncated to ${length} bytes`).toBeInstanceOf(BitstreamError);
    }
    expect(() => readContainer(valid.subarray(0, valid.length - 6))).toThrow(/without an END unit/);
  });

  it('rejects trailing garbage after the END unit', () => {
    expect(() => readContainer(Uint8Array.of(...valid, 0))).toThrow(/1 byte\(s\) of trailing garbage/);
    const oneUnit = writeContainer({ codecId: 'x', modelHash: HASH, units: [{ type: UnitType.Z_STREAM, payload: Uint8Array.of(1) }] });
    const unitBytes = oneUnit.subarray(readContainer(oneUnit).headerLength);
    expect(() => readContainer(Uint8Array.of(...valid, ...unitBytes))).toThrow(/trailing garbage/);
  });

  it('rejects an END unit with a payload', () => {
    expect(() => readContainer(handBuilt({ units: [{ type: UnitType.END, payload: Uint8Array.of(1) }] }))).toThrow(/END unit .* must be empty/);
  });

  it('rejects an unknown required unit type', () => {
    const bytes = handBuilt({ units: [{ type: 0x7f, payload: Uint8Array.of(1, 2) }] });
    expect(() => readContainer(bytes)).toThrow(BitstreamError);
    expect(() => readContainer(bytes)).toThrow(/unknown required unit type 0x7f at offset 22/);
  });

  it('skips an unknown optional unit type, listing it as unknown', () => {
    const info = sample.units[0];
    const bytes = handBuilt({
      units: [
        { type: 0xc3, payload: Uint8Array.of(1, 2, 3) },
        { type: info.type, payload: info.payload },
        { type: 0xff, payload: new Uint8Array(0) },
      ],
    });
    const file = readContainer(bytes);
    expect(file.units.map((u) => [u.name, u.known, u.optional])).toEqual([
      ['UNKNOWN_0xc3', false, true],
      ['IMAGE_INFO', true, false],
      ['UNKNOWN_0xff', false, true],
    ]);
    expect([...file.units[0].payload]).toEqual([1, 2, 3]);
    expect(inspect(bytes).image?.width).toBe(33);
    expect(writeContainer(file)).toEqual(bytes);
  });

  it('still checks the CRC of unknown optional units', () => {
    const bytes = handBuilt({ units: [{ type: 0xc3, payload: Uint8Array.of(1), crc: 0 }] });
    expect(() => readContainer(bytes)).toThrow(/CRC mismatch in unit UNKNOWN_0xc3/);
  });

  it('rejects bad codec ids', () => {
    expect(() => readContainer(handBuilt({ codecId: new Uint8Array(0) }))).toThrow(/empty codec id/);
    const spaced = handBuilt({ codecId: new TextEncoder().encode('a b') });
    expect(() => readContainer(spaced)).toThrow(BitstreamError);
    expect(() => readContainer(spaced)).toThrow(/outside \[A-Za-z0-9._-\]/);
    expect(() => readContainer(handBuilt({ codecId: Uint8Array.of(0x61, 0xff) }))).toThrow(BitstreamError);
  });
});

describe('limits while reading', () => {
  it('rejects an oversized unit length before allocating anything', () => {
    for (const length of [0xffff_ffff, 0x1000_0001]) {
      const bytes = handBuilt({ units: [{ type: UnitType.Y_STREAM, length }], end: false });
      const before = process.memoryUsage().arrayBuffers;
      const err = errorOf(() => readContainer(bytes));
      const grown = process.memoryUsage().arrayBuffers - before;
      expect(err).toBeInstanceOf(LimitExceededError);
      expect(err).toMatchObject({ limit: 'maxUnitBytes', value: length, max: 256 * 1024 * 1024 });
      expect(grown).toBeLessThan(16 * 1024 * 1024);
    }
  });

  it('treats a length within the limit but past the end of the file as truncation', () => {
    const bytes = handBuilt({ units: [{ type: UnitType.Y_STREAM, length: 0x0fff_ffff }], end: false });
    const before = process.memoryUsage().arrayBuffers;
    expect(() => readContainer(bytes)).toThrow(BitstreamError);
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(16 * 1024 * 1024);
  });

  it('applies tighter limits from the caller', () => {
    const bytes = writeContainer(sample);
    expect(errorOf(() => readContainer(bytes, { maxUnitBytes: 199 }))).toMatchObject({ limit: 'maxUnitBytes', value: 200, max: 199 });
    expect(readContainer(bytes, { maxUnitBytes: 200 }).units.length).toBe(5);
    expect(errorOf(() => readContainer(bytes, { maxUnits: 4 }))).toMatchObject({ limit: 'maxUnits', value: 5, max: 4 });
    expect(errorOf(() => readContainer(bytes, { maxCodecIdLength: 12 }))).toMatchObject({ limit: 'maxCodecIdLength', value: 13 });
    expect(errorOf(() => inspect(bytes, { maxPixels: 33 * 17 - 1 }))).toMatchObject({ limit: 'maxPixels' });
    expect(() => readContainer(bytes, { maxUnits: -1 })).toThrow(InvalidOptionError);
  });

  it('rejects a codec id length above the default limit', () => {
    const long = new TextEncoder().encode('a'.repeat(65));
    expect(errorOf(() => readContainer(handBuilt({ codecId: long })))).toMatchObject({ limit: 'maxCodecIdLength', value: 65, max: 64 });
  });
});

describe('writeContainer validation', () => {
  const unit = { type: UnitType.Z_STREAM, payload: Uint8Array.of(1) };
  const cases: [string, unknown][] = [
    ['empty codec id', { codecId: '', modelHash: HASH, units: [] }],
    ['codec id with a space', { codecId: 'a b', modelHash: HASH, units: [] }],
    ['codec id starting with a dot', { codecId: '.a', modelHash: HASH, units: [] }],
    ['codec id too long', { codecId: 'a'.repeat(65), modelHash: HASH, units: [] }],
    ['short model hash', { codecId: 'a', modelHash: new Uint8Array(7), units: [] }],
    ['model hash as text', { codecId: 'a', modelHash: SHA256, units: [] }],
    ['units not an array', { codecId: 'a', modelHash: HASH, units: unit }],
    ['END unit', { codecId: 'a', modelHash: HASH, units: [{ type: UnitType.END, payload: new Uint8Array(0) }] }],
    ['unknown required type', { codecId: 'a', modelHash: HASH, units: [{ type: 0x42, payload: new Uint8Array(0) }] }],
    ['type not a byte', { codecId: 'a', modelHash: HASH, units: [{ type: 256, payload: new Uint8Array(0) }] }],
    ['payload not bytes', { codecId: 'a', modelHash: HASH, units: [{ type: UnitType.Z_STREAM, payload: [1] }] }],
  ];
  it.each(cases)('rejects %s with InvalidOptionError', (_name, input) => {
    expect(() => writeContainer(input as ContainerInput)).toThrow(InvalidOptionError);
  });

  it('writes unknown optional types', () => {
    const bytes = writeContainer({ codecId: 'a', modelHash: HASH, units: [{ type: 0x90, payload: Uint8Array.of(5) }] });
    expect(readContainer(bytes).units[0]).toMatchObject({ type: 0x90, known: false, optional: true });
  });
});

describe('model check', () => {
  const file = readContainer(writeContainer(sample));

  it('accepts the matching codec and weights, by hash prefix or full sha256', () => {
    expect(() => checkModel(file, { codecId: 'hyperprior-q3', modelHash: HASH })).not.toThrow();
    expect(() => checkModel(file, { codecId: 'hyperprior-q3', modelHash: SHA256 })).not.toThrow();
    expect(() => checkModel(file, { codecId: 'hyperprior-q3', modelHash: Uint8Array.of(...HASH, ...new Uint8Array(24)) })).not.toThrow();
  });

  it('throws ModelMismatchError for another codec or other weights', () => {
    const otherCodec = errorOf(() => checkModel(file, { codecId: 'hyperprior-q4', modelHash: HASH }));
    expect(otherCodec).toBeInstanceOf(ModelMismatchError);
    expect((otherCodec as CodecError).code).toBe('ERR_MODEL_MISMATCH');
    expect((otherCodec as Error).message).toMatch(/written by codec 'hyperprior-q3', but the loaded codec is 'hyperprior-q4'/);
    const otherWeights = errorOf(() => checkModel(file, { codecId: 'hyperprior-q3', modelHash: 'f'.repeat(64) }));
    expect(otherWeights).toBeInstanceOf(ModelMismatchError);
    expect((otherWeights as Error).message).toMatch(/model weights 0123456789abcdef…, but the loaded weights are ffffffffffffffff…/);
  });

  it('rejects something that is not a hash', () => {
    expect(() => checkModel(file, { codecId: 'hyperprior-q3', modelHash: 'xyz' })).toThrow(InvalidOptionError);
    expect(() => modelHashFromSha256(new Uint8Array(4))).toThrow(InvalidOptionError);
    expect([...modelHashFromSha256(SHA256)]).toEqual([0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef]);
  });
});

describe('inspect', () => {
  it('summarises the header, image and units, accounting for every byte', () => {
    const bytes = writeContainer(sample);
    const s = inspect(bytes);
    expect(s).toMatchObject({
      format: 'NCDC',
      version: FORMAT_VERSION,
      codecId: 'hyperprior-q3',
      modelHash: '0123456789abcdef',
      byteLength: bytes.length,
      image: { width: 33, height: 17, channels: 3, bitDepth: 8, colourMatrix: 1, fullRange: true, alpha: false },
    });
    expect(s.units.map((u) => [u.name, u.length])).toEqual([
      ['IMAGE_INFO', 6],
      ['Z_STREAM', 40],
      ['Y_STREAM', 200],
      ['COMMENT', 4],
      ['SYMBOL_CHECKSUM', 0],
    ]);
    const endUnitSize = 6;
    expect(s.headerLength + s.units.reduce((sum, u) => sum + u.size, 0) + endUnitSize).toBe(bytes.length);
    for (let i = 1; i < s.units.length; i++) expect(s.units[i].offset).toBe(s.units[i - 1].offset + s.units[i - 1].size);
    expect(JSON.parse(JSON.stringify(s))).toEqual(s);
  });

  it('reports no image when there is no IMAGE_INFO unit, and rejects a bad one', () => {
    expect(inspect(writeContainer({ codecId: 'a', modelHash: HASH, units: [] })).image).toBeNull();
    const bad = writeContainer({ codecId: 'a', modelHash: HASH, units: [{ type: UnitType.IMAGE_INFO, payload: Uint8Array.of(0) }] });
    expect(() => inspect(bad)).toThrow(BitstreamError);
  });

  it('rejects input that is not bytes', () => {
    expect(() => inspect('NCDC' as unknown as Uint8Array)).toThrow(InvalidOptionError);
  });
});
