/**
 * The learned image codec class with the tiny test model: file layout, tiles, the checks
 * the decoder makes, and a decoder fuzz test (random, truncated, bit-flipped and re-framed
 * variants of a real file must end in a typed error or a valid image, never anything else).
 */
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readContainer, writeContainer } from '../src/bitstream/container.js';
import { decodeCodingParams } from '../src/bitstream/coding-params.js';
import { inspect } from '../src/bitstream/inspect.js';
import { UnitType } from '../src/bitstream/units.js';
import { LearnedImageCodec, cropFrame, parseImageUnits } from '../src/codec/image.js';
import {
  AbortError,
  BitstreamError,
  CodecError,
  InvalidOptionError,
  LimitExceededError,
  ModelMismatchError,
} from '../src/errors.js';
import type { Frame } from '../src/image/frame.js';
import { readImage } from '../src/image/io.js';

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const TINY = fixture('tiny-codec');

let codec: LearnedImageCodec;
let odd: Frame;
let alpha: Frame;

beforeAll(async () => {
  codec = await LearnedImageCodec.load(TINY, { threads: 1 });
  odd = (await readImage(fixture('odd-77x45.png'))).frame;
  alpha = (await readImage(fixture('alpha-96x80.png'))).frame;
});

afterAll(async () => {
  await codec?.dispose();
});

function rng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

const errorOf = async (p: Promise<unknown>): Promise<unknown> => p.then(() => undefined, (err: unknown) => err);

describe('LearnedImageCodec', () => {
  it('loads a codec folder and names it', () => {
    expect(codec.id).toBe('tiny');
    expect(codec.bundle.manifest.paddingFactor).toBe(64);
  });

  it('writes IMAGE_INFO, CODING_PARAMS, then Z/Y/checksum per tile, and decodes back', async () => {
    const bytes = await codec.encode(odd, { quality: 42.5 });
    const s = inspect(bytes);
    expect(s.codecId).toBe('tiny');
    expect(s.units.map((u) => u.name)).toEqual(['IMAGE_INFO', 'CODING_PARAMS', 'Z_STREAM', 'Y_STREAM', 'SYMBOL_CHECKSUM']);
    expect(s.image).toMatchObject({ width: 77, height: 45, channels: 3, bitDepth: 8, alpha: false });
    // small images are one tile whose side is the image's larger side rounded up to 64
    expect(s.coding).toEqual({ quality: 42.5, tileSize: 128, tiles: 1 });
    const { frame, info, quality } = await codec.decode(bytes);
    expect(quality).toBe(42.5);
    expect(info.width).toBe(77);
    expect([frame.width, frame.height, frame.channels, frame.data.length]).toEqual([77, 45, 3, 77 * 45 * 3]);
  });

  it('codes an alpha plane losslessly in its own unit', async () => {
    const bytes = await codec.encode(alpha, { quality: 50 });
    expect(inspect(bytes).units.map((u) => u.name)).toContain('ALPHA');
    const { frame } = await codec.decode(bytes);
    expect(frame.channels).toBe(4);
    for (let i = 3; i < alpha.data.length; i += 4) {
      if (frame.data[i] !== alpha.data[i]) throw new Error(`alpha differs at pixel ${(i - 3) / 4}`);
    }
  });

  it('cuts large images into independent tiles', async () => {
    const bytes = await codec.encode(odd, { quality: 60, tileSize: 64 });
    const s = inspect(bytes);
    expect(s.coding).toEqual({ quality: 60, tileSize: 64, tiles: 2 });
    expect(s.units.filter((u) => u.name === 'Y_STREAM')).toHaveLength(2);
    // the first tile's streams are those of the same pixels coded alone
    const left = cropFrame(odd, { x: 0, y: 0, width: 64, height: 45 });
    const alone = readContainer(await codec.encode(left, { quality: 60, tileSize: 64 }));
    const tiled = readContainer(bytes);
    const payloads = (f: typeof tiled, type: number) => f.units.filter((u) => u.type === type).map((u) => [...u.payload]);
    expect(payloads(tiled, UnitType.Z_STREAM)[0]).toEqual(payloads(alone, UnitType.Z_STREAM)[0]);
    expect(payloads(tiled, UnitType.Y_STREAM)[0]).toEqual(payloads(alone, UnitType.Y_STREAM)[0]);
    const whole = (await codec.decode(bytes)).frame;
    const part = (await codec.decode(writeContainer(alone))).frame;
    expect([whole.width, whole.height]).toEqual([77, 45]);
    expect(cropFrame(whole, { x: 0, y: 0, width: 64, height: 45 }).data).toEqual(part.data);
  });

  it('rejects a tile size that is not a multiple of the padding factor', () => {
    expect(() => codec.plan(odd, { tileSize: 100 })).toThrow(InvalidOptionError);
    expect(() => codec.plan(odd, { tileSize: 100 })).toThrow(/^Expected multiple of 64 between 64 and 65472 for tileSize but received 100 of type number$/);
    expect(codec.plan(odd, { tileSize: 64 }).tiles).toHaveLength(2);
  });

  it('interpolates the gains between the trained rates', () => {
    const { gain, invGain } = codec.bundle.tables;
    const g1 = codec.gains(1);
    const g100 = codec.gains(100);
    expect(g1.gain[0]).toBeCloseTo(Math.abs(gain[0][0]), 5);
    expect(g100.gain[0]).toBeCloseTo(Math.abs(gain[gain.length - 1][0]), 5);
    expect(g100.invGain[3]).toBeCloseTo(Math.abs(invGain[invGain.length - 1][3]), 5);
    expect(codec.gains(50).gain).toHaveLength(gain[0].length);
  });

  it('refuses files made by another codec or other weights', async () => {
    const file = readContainer(await codec.encode(odd, { quality: 50 }));
    const otherWeights = writeContainer({ ...file, modelHash: new Uint8Array(8).fill(0xaa) });
    const otherCodec = writeContainer({ ...file, codecId: 'nc-small' });
    expect(await errorOf(codec.decode(otherWeights))).toBeInstanceOf(ModelMismatchError);
    expect(await errorOf(codec.decode(otherCodec))).toBeInstanceOf(ModelMismatchError);
  });

  it('checks the unit sequence, the tile count and the symbol checksum', async () => {
    const file = readContainer(await codec.encode(odd, { quality: 50 }));
    const units = file.units.map((u) => ({ type: u.type, payload: u.payload }));
    const rebuild = (list: typeof units) => writeContainer({ codecId: file.codecId, modelHash: file.modelHash, units: list });
    const cases: [string, Uint8Array, RegExp][] = [
      ['no CODING_PARAMS', rebuild(units.filter((u) => u.type !== UnitType.CODING_PARAMS)), /not followed by CODING_PARAMS/],
      ['no IMAGE_INFO', rebuild(units.slice(1)), /does not start with IMAGE_INFO/],
      ['a tile missing', rebuild(units.slice(0, 2)), /File has 0 tiles, expected 1/],
      ['an extra tile', rebuild([...units, ...units.slice(2)]), /File has 2 tiles, expected 1/],
      ['an unexpected ALPHA unit', rebuild([...units.slice(0, 2), { type: UnitType.ALPHA, payload: Uint8Array.of(1) }, ...units.slice(2)]), /Unexpected ALPHA/],
      [
        'a wrong checksum',
        rebuild(units.map((u) => (u.type === UnitType.SYMBOL_CHECKSUM ? { ...u, payload: u.payload.map((b) => b ^ 0xff) } : u))),
        /do not match the stream checksum/,
      ],
      [
        'a checksum with trailing bytes',
        rebuild(units.map((u) => (u.type === UnitType.SYMBOL_CHECKSUM ? { ...u, payload: Uint8Array.of(...u.payload, 0) } : u))),
        /SYMBOL_CHECKSUM/,
      ],
      [
        'a quality out of range',
        rebuild(units.map((u) => (u.type === UnitType.CODING_PARAMS ? { ...u, payload: Uint8Array.of(0x10, 0x27 + 1, 0x80, 0x10) } : u))),
        /CODING_PARAMS quality 102.56 is outside 1..100/,
      ],
    ];
    for (const [what, bytes, message] of cases) {
      const err = await errorOf(codec.decode(bytes));
      expect(err, what).toBeInstanceOf(BitstreamError);
      expect((err as Error).message, what).toMatch(message);
    }
    expect(() => parseImageUnits(readContainer(rebuild(units.slice(1))).units)).toThrow(BitstreamError);
    expect(decodeCodingParams(units[1].payload)).toEqual({ quality100: 5000, tileSize: 128 });
  });

  it('applies the decoder limits before allocating', async () => {
    const bytes = await codec.encode(odd, { quality: 50 });
    const err = await errorOf(codec.decode(bytes, { limits: { maxPixels: 77 * 45 - 1 } }));
    expect(err).toBeInstanceOf(LimitExceededError);
    expect(err).toMatchObject({ limit: 'maxPixels', value: 77 * 45 });
  });

  it('stops with AbortError when the signal fires', async () => {
    const bytes = await codec.encode(odd, { quality: 50 });
    const signal = AbortSignal.abort();
    expect(await errorOf(codec.encode(odd, { quality: 50, signal }))).toBeInstanceOf(AbortError);
    expect(await errorOf(codec.decode(bytes, { signal }))).toBeInstanceOf(AbortError);
  });
});

describe('decoder fuzz', () => {
  const SEED = Number(process.env.FUZZ_SEED ?? 0xc0dec);
  const CASES = 2_400;

  it(`ends ${CASES} damaged files in a typed error or a valid image`, async () => {
    const random = rng(SEED);
    const pick = (n: number) => Math.floor(random() * n);
    const original = await codec.encode(alpha, { quality: 50 });
    const file = readContainer(original);
    const counts: Record<string, number> = {};
    for (let i = 0; i < CASES; i++) {
      let input: Uint8Array;
      let kind: string;
      switch (i % 4) {
        case 0: {
          kind = 'bit flips';
          input = original.slice();
          for (let k = 1 + pick(4); k > 0; k--) input[pick(input.length)] ^= 1 << pick(8);
          break;
        }
        case 1: {
          kind = 'truncated';
          input = original.slice(0, pick(original.length));
          break;
        }
        case 2: {
          kind = 'random';
          input = new Uint8Array(pick(600));
          for (let k = 0; k < input.length; k++) input[k] = pick(256);
          // keep a valid header now and then, so the unit parser is reached
          if (random() < 0.5) input.set(original.subarray(0, Math.min(input.length, 22 + pick(40))));
          break;
        }
        default: {
          // well-framed units (valid CRCs) with damaged contents reach the entropy decoder
          kind = 'reframed';
          const units = file.units.map((u) => ({ type: u.type, payload: u.payload.slice() }));
          const u = units[pick(units.length)];
          const r = random();
          if (r < 0.4 && u.payload.length > 0) {
            for (let k = 1 + pick(3); k > 0; k--) u.payload[pick(u.payload.length)] ^= 1 << pick(8);
          } else if (r < 0.65) {
            u.payload = u.payload.slice(0, pick(u.payload.length + 1));
          } else if (r < 0.8) {
            u.payload = Uint8Array.from({ length: pick(80) }, () => pick(256));
          } else if (r < 0.9) {
            units.splice(pick(units.length), 1);
          } else {
            const j = pick(units.length);
            [units[j], units[(j + 1) % units.length]] = [units[(j + 1) % units.length], units[j]];
          }
          input = writeContainer({ codecId: file.codecId, modelHash: file.modelHash, units });
        }
      }
      let outcome: string;
      try {
        const { frame, info } = await codec.decode(input);
        expect(frame.data.length).toBe(info.width * info.height * info.channels);
        outcome = 'valid';
      } catch (err) {
        const typed = err instanceof BitstreamError || err instanceof LimitExceededError || err instanceof ModelMismatchError;
        if (!typed) {
          const hex = Buffer.from(input).toString('hex');
          throw new Error(`case ${i} (${kind}, seed ${SEED}): untyped failure ${String(err)} for input ${hex}`, { cause: err });
        }
        outcome = (err as CodecError).name;
      }
      counts[`${kind}: ${outcome}`] = (counts[`${kind}: ${outcome}`] ?? 0) + 1;
    }
    // every kind of damage was tried, and the re-framed ones got past the container
    expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(CASES);
    expect(Object.keys(counts).some((k) => k.startsWith('reframed: '))).toBe(true);
    expect(counts['bit flips: valid'] ?? 0).toBe(0);
  });
});
