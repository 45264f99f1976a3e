/**
 * Fuzzing the container parser: random, truncated and bit-flipped inputs, plus
 * well-framed units with random contents. Every input must end in a BitstreamError, a
 * LimitExceededError or a valid result (which must then write back to the same bytes),
 * quickly. The seed is fixed so failures reproduce; set FUZZ_SEED to explore others.
 */
import { describe, expect, it } from 'vitest';
import { ByteWriter } from '../src/bitstream/bytes.js';
import { MAGIC, FORMAT_VERSION, readContainer, writeContainer, type UnitInput } from '../src/bitstream/container.js';
import { crc32 } from '../src/bitstream/crc32.js';
import { encodeImageInfo } from '../src/bitstream/image-info.js';
import { inspect } from '../src/bitstream/inspect.js';
import { UnitType } from '../src/bitstream/units.js';
import { BitstreamError, LimitExceededError } from '../src/errors.js';

const SEED = Number(process.env.FUZZ_SEED ?? 0x5eed);
const CASES = 10_000;
/** Far above what a few hundred bytes need; only a hang or a blow-up would break it. */
const MAX_MS_PER_INPUT = 1_000;

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

type Outcome = 'valid' | 'BitstreamError' | 'LimitExceededError';

/** Feed one input to readContainer and inspect; anything but a typed error or a faithful result fails. */
function feed(input: Uint8Array, label: string): Outcome {
  const started = performance.now();
  let outcome: Outcome;
  try {
    const file = readContainer(input);
    const rewritten = writeContainer(file);
    if (Buffer.compare(rewritten, input) !== 0) throw new Error(`${label}: accepted input does not write back to the same bytes`);
    outcome = 'valid';
    try {
      inspect(input);
    } catch (err) {
      if (!(err instanceof BitstreamError || err instanceof LimitExceededError)) throw err;
    }
  } catch (err) {
    if (err instanceof LimitExceededError) outcome = 'LimitExceededError';
    else if (err instanceof BitstreamError) outcome = 'BitstreamError';
    else {
      const hex = Buffer.from(input).toString('hex');
      throw new Error(`${label} (seed ${SEED}): untyped failure ${String(err)} for input ${hex}`, { cause: err });
    }
  }
  const elapsed = performance.now() - started;
  if (elapsed > MAX_MS_PER_INPUT) throw new Error(`${label}: took ${elapsed.toFixed(0)} ms`);
  return outcome;
}

function randomBytes(next: () => number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = Math.floor(next() * 256);
  return out;
}

const int = (next: () => number, below: number): number => Math.floor(next() * below);

const UNIT_TYPES_TO_TRY = [
  UnitType.IMAGE_INFO,
  UnitType.Z_STREAM,
  UnitType.Y_STREAM,
  UnitType.ALPHA,
  UnitType.PROGRESSIVE_PLANE,
  UnitType.SYMBOL_CHECKSUM,
  UnitType.COMMENT,
  0x9a,
  0xff,
];

/** A valid file with a random codec id and random units. */
function validFile(next: () => number): Uint8Array {
  const units: UnitInput[] = [];
  if (next() < 0.8) {
    const alpha = next() < 0.3;
    units.push({
      type: UnitType.IMAGE_INFO,
      payload: encodeImageInfo({
        width: 1 + int(next, 5000),
        height: 1 + int(next, 5000),
        channels: (next() < 0.2 ? 1 : 3) + (alpha ? 1 : 0),
        bitDepth: 1 + int(next, 16),
        colourMatrix: [0, 1, 2, 6, 9][int(next, 5)],
        fullRange: next() < 0.5,
        alpha,
      }),
    });
  }
  const count = int(next, 6);
  for (let i = 0; i < count; i++) {
    const length = next() < 0.1 ? 128 + int(next, 300) : int(next, 40);
    units.push({ type: UNIT_TYPES_TO_TRY[1 + int(next, UNIT_TYPES_TO_TRY.length - 1)], payload: randomBytes(next, length) });
  }
  const idChars = 'abcdefghijklmnopqrstuvwxyz0123456789._-';
  let codecId = 'abcdefghijklmnopqrstuvwxyz'[int(next, 26)];
  for (let i = int(next, 20); i > 0; i--) codecId += idChars[int(next, idChars.length)];
  return writeContainer({ codecId, modelHash: randomBytes(next, 8), units });
}

/** A correct header, then units framed with correct lengths and CRCs but any type and payload. */
function wellFramedFile(next: () => number): Uint8Array {
  const w = new ByteWriter();
  w.bytes(MAGIC).u8(FORMAT_VERSION).u8(3).ascii('fzz').bytes(randomBytes(next, 8));
  w.u32le(crc32(w.view()));
  const count = int(next, 5);
  for (let i = 0; i <= count; i++) {
    const last = i === count;
    const type = last ? UnitType.END : next() < 0.5 ? UnitType.IMAGE_INFO : int(next, 256);
    const payload = last && next() < 0.9 ? new Uint8Array(0) : randomBytes(next, int(next, 12));
    const start = w.length;
    w.u8(type).varuint(payload.length).bytes(payload);
    w.u32le(crc32(w.view().subarray(start)));
  }
  if (next() < 0.1) w.bytes(randomBytes(next, 1 + int(next, 4)));
  return w.finish();
}

function tally(outcomes: Outcome[]): Record<Outcome, number> {
  const counts: Record<Outcome, number> = { valid: 0, BitstreamError: 0, LimitExceededError: 0 };
  for (const o of outcomes) counts[o] += 1;
  return counts;
}

describe('container fuzzing', () => {
  it(`survives ${CASES} random inputs`, () => {
    const next = rng(SEED);
    const outcomes: Outcome[] = [];
    for (let i = 0; i < CASES; i++) {
      const mode = i % 4;
      const body = randomBytes(next, int(next, 300));
      let input: Uint8Array;
      if (mode === 0) input = body;
      else if (mode === 1) input = Uint8Array.of(...MAGIC, ...body);
      else if (mode === 2) input = Uint8Array.of(...MAGIC, FORMAT_VERSION, ...body);
      else {
        // a valid header followed by random bytes
        const header = validFile(next);
        input = Uint8Array.of(...header.subarray(0, readContainer(header).headerLength), ...body);
      }
      outcomes.push(feed(input, `random #${i}`));
    }
    const counts = tally(outcomes);
    // Headers alone pass only with the right CRC; random bytes after one must reach the unit parser.
    expect(counts.BitstreamError).toBeGreaterThan(CASES / 2);
    expect(counts.LimitExceededError).toBeGreaterThan(0);
  });

  it(`rejects ${CASES} random truncations of valid files with BitstreamError`, () => {
    const next = rng(SEED + 1);
    for (let i = 0; i < CASES; i++) {
      const file = validFile(next);
      const cut = int(next, file.length);
      expect(feed(file.subarray(0, cut), `truncated #${i} at ${cut}/${file.length}`)).toBe('BitstreamError');
    }
  });

  it(`survives ${CASES} bit-flipped valid files`, () => {
    const next = rng(SEED + 2);
    const outcomes: Outcome[] = [];
    for (let i = 0; i < CASES; i++) {
      const file = validFile(next);
      const flips = 1 + int(next, 8);
      for (let f = 0; f < flips; f++) file[int(next, file.length)] ^= 1 << int(next, 8);
      outcomes.push(feed(file, `bit-flipped #${i}`));
    }
    // A flip can cancel an earlier one, so a few may come out valid; most must be caught.
    expect(tally(outcomes).valid).toBeLessThan(CASES / 20);
  });

  it('rejects every single-bit flip of a valid file', () => {
    const file = validFile(rng(SEED + 3));
    for (let bit = 0; bit < file.length * 8; bit++) {
      const flipped = file.slice();
      flipped[bit >> 3] ^= 1 << (bit & 7);
      expect(feed(flipped, `flip of bit ${bit}`), `flip of bit ${bit}`).not.toBe('valid');
    }
  });

  it(`survives ${CASES} well-framed files with random unit types and payloads`, () => {
    const next = rng(SEED + 4);
    const outcomes: Outcome[] = [];
    for (let i = 0; i < CASES; i++) outcomes.push(feed(wellFramedFile(next), `well-framed #${i}`));
    const counts = tally(outcomes);
    expect(counts.valid).toBeGreaterThan(0);
    expect(counts.BitstreamError).toBeGreaterThan(0);
  });
});
