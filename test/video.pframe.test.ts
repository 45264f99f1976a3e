/**
 * P-frames: block motion (search, coding, compensation), the P-frame coder with the tiny
 * video model (the decoder rebuilds exactly the encoder's reconstruction, corrupt payloads
 * fail typed), and I/P sequences through encodeVideo / decodeVideo / inspectVideo.
 */
import { copyFileSync, cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeCodecs, getCodec } from '../src/api.js';
import { LearnedImageCodec } from '../src/codec/image.js';
import { ByteReader, ByteWriter } from '../src/bitstream/bytes.js';
import { readContainer, writeContainer } from '../src/bitstream/container.js';
import { crc32 } from '../src/bitstream/crc32.js';
import { UnitType } from '../src/bitstream/units.js';
import { loadRans } from '../src/coder/wasm.js';
import { BitstreamError, CodecError, InvalidOptionError, ModelMismatchError } from '../src/errors.js';
import type { Frame } from '../src/image/frame.js';
import { readImage } from '../src/image/io.js';
import { createVideoDecodeStream, createVideoEncodeStream, decodeVideo, decodeVideoFrames, encodeVideo, inspectVideo } from '../src/video/codec.js';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { findFfmpeg } from '../src/video/ffmpeg.js';
import { BufferSink, MatroskaWriter, readMatroska } from '../src/video/matroska.js';
import { FrameFormat, readFramePayload, writeFramePayload, writeSequenceHeader } from '../src/video/sequence.js';
import { MOTION_BLOCK, compensate, decodeMotion, decodeMotionAdaptive, encodeMotion, encodeMotionAdaptive, estimateMotion, luma } from '../src/video/motion.js';
import { PFrameCoder, predictionError } from '../src/video/pframe.js';
import { chooseSkips, decodeSkips, encodeSkips, symbolBits } from '../src/video/skip.js';
import { makeTestClip } from './helpers/video.js';

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const VIDEO = fixture('tiny-video');
const PHOTO = fixture('photo-256x192.png');

afterAll(() => closeCodecs());

/** The motion unit a P-frame holds: the encoder writes whichever of the two codings is shorter. */
function motionUnit(bytes: Uint8Array): string {
  const name = readContainer(bytes).units[2].name;
  expect(['MOTION', 'MOTION_ADAPTIVE']).toContain(name);
  return name;
}

/** A window of a frame moved by (dx, dy): pixel (x, y) of the result is (x + dx, y + dy) of the source, edges clamped. */
function shifted(src: Frame, dx: number, dy: number): Frame {
  const { width: w, height: h } = src;
  const out = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const sx = Math.min(w - 1, Math.max(0, x + dx));
      const sy = Math.min(h - 1, Math.max(0, y + dy));
      out.set(src.data.subarray((sy * w + sx) * 3, (sy * w + sx) * 3 + 3), (y * w + x) * 3);
    }
  }
  return { data: out, width: w, height: h, channels: 3 };
}

describe('block motion', () => {
  let photo: Frame;
  beforeAll(async () => {
    photo = (await readImage(PHOTO)).frame;
  });

  it('finds a global shift and predicts the frame from it', () => {
    const cur = shifted(photo, 5, -3);
    const field = estimateMotion(luma(cur.data, 256, 192), luma(photo.data, 256, 192), 256, 192);
    expect([field.cols, field.rows]).toEqual([256 / MOTION_BLOCK, 192 / MOTION_BLOCK]);
    // interior blocks (away from the clamped edges) find the true vector, but for a few flat
    // ones where another vector matches as well
    let right = 0;
    for (let r = 1; r < field.rows - 1; r++) for (let c = 1; c < field.cols - 1; c++) right += field.mv[2 * (r * field.cols + c)] === 10 && field.mv[2 * (r * field.cols + c) + 1] === -6 ? 1 : 0;
    expect(right).toBeGreaterThanOrEqual(0.8 * (field.rows - 2) * (field.cols - 2));
    const pred = compensate(photo.data, 256, 192, field);
    expect(predictionError(cur.data, pred, 256, 192)).toBeLessThan(1);
    expect(predictionError(cur.data, photo.data, 256, 192)).toBeGreaterThan(5);
  });

  it('compensates at half pixels as the rounded mean of two or four clamped pixels', () => {
    const W = 101;
    const H = 67;
    let seed = 7;
    const r = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    const ref = Uint8Array.from({ length: W * H * 3 }, () => Math.floor(r() * 256));
    const cols = Math.ceil(W / 16);
    const rows = Math.ceil(H / 16);
    const mv = Int16Array.from({ length: 2 * cols * rows }, () => Math.floor(r() * 41) - 20);
    const out = compensate(ref, W, H, { cols, rows, mv });
    const at = (x: number, y: number, k: number) => ref[(Math.min(H - 1, Math.max(0, y)) * W + Math.min(W - 1, Math.max(0, x))) * 3 + k];
    let bad = 0;
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const i = Math.floor(y / 16) * cols + Math.floor(x / 16);
        const x2 = 2 * x + mv[2 * i];
        const y2 = 2 * y + mv[2 * i + 1];
        const [x0, y0, hx, hy] = [x2 >> 1, y2 >> 1, x2 & 1, y2 & 1];
        for (let k = 0; k < 3; k++) {
          const v = !hx && !hy ? at(x0, y0, k)
            : !hy ? (at(x0, y0, k) + at(x0 + 1, y0, k) + 1) >> 1
            : !hx ? (at(x0, y0, k) + at(x0, y0 + 1, k) + 1) >> 1
            : (at(x0, y0, k) + at(x0 + 1, y0, k) + at(x0, y0 + 1, k) + at(x0 + 1, y0 + 1, k) + 2) >> 2;
          if (out[(y * W + x) * 3 + k] !== v) bad++;
        }
      }
    }
    expect(bad).toBe(0);
  });

  it('codes vectors with per-frame context parameters: exact, cheaper on smooth fields, typed errors', async () => {
    const rans = await loadRans();
    let seed = 3;
    const r = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    const cols = 40;
    const rows = 23;
    const smooth = Int16Array.from({ length: 2 * cols * rows }, (_, i) => (i % 2 ? -3 : 5) + (r() < 0.05 ? Math.floor(r() * 9) - 4 : 0));
    const wild = Int16Array.from({ length: 2 * cols * rows }, () => Math.floor(r() * 129) - 64);
    for (const mv of [smooth, wild, new Int16Array(2 * cols * rows)]) {
      const field = { cols, rows, mv };
      const payload = encodeMotionAdaptive(field, rans);
      expect(decodeMotionAdaptive(payload, cols * 16, rows * 16 - 5, rans).mv).toEqual(mv);
      expect(() => decodeMotionAdaptive(payload, cols * 16 + 16, rows * 16, rans)).toThrow(BitstreamError);
    }
    const field = { cols, rows, mv: smooth };
    expect(encodeMotionAdaptive(field, rans).length).toBeLessThan(0.9 * encodeMotion(field, rans).length);
    const still = { cols, rows, mv: new Int16Array(2 * cols * rows) };
    expect(encodeMotionAdaptive(still, rans).length).toBeLessThan(0.25 * encodeMotion(still, rans).length);
    const good = encodeMotionAdaptive(field, rans);
    const zero = good.slice();
    zero[3] = 0;
    expect(() => decodeMotionAdaptive(zero, cols * 16, rows * 16, rans)).toThrow(BitstreamError);
    let rejected = 0;
    for (let i = 0; i < 400; i++) {
      const input = i % 2 ? good.subarray(0, Math.floor(r() * good.length)) : good.slice();
      if (i % 2 === 0) input[Math.floor(r() * input.length)] ^= 1 << Math.floor(r() * 8);
      try {
        const f = decodeMotionAdaptive(input, cols * 16, rows * 16, rans);
        expect(f.mv.every((v) => Math.abs(v) <= 64)).toBe(true);
      } catch (err) {
        expect(err).toBeInstanceOf(CodecError);
        rejected++;
      }
    }
    expect(rejected).toBeGreaterThan(200);
  });

  it('codes vectors exactly and rejects a grid of another size or a bad stream', async () => {
    const rans = await loadRans();
    const field = estimateMotion(luma(shifted(photo, -7, 2).data, 256, 192), luma(photo.data, 256, 192), 256, 192);
    const payload = encodeMotion(field, rans);
    expect(payload.length).toBeLessThan(field.mv.length);
    expect(decodeMotion(payload, 256, 192, rans).mv).toEqual(field.mv);
    expect(() => decodeMotion(payload, 240, 192, rans)).toThrow(BitstreamError);
    const bad = payload.slice();
    bad[bad.length - 2] ^= 0xff;
    expect(() => decodeMotion(bad, 256, 192, rans)).toThrow(CodecError);
  });
});

describe('P-frame coder', () => {
  it('decodes to exactly the encoder reconstruction, and fails typed on corruption', async () => {
    const codec = await getCodec(VIDEO);
    const p = new PFrameCoder(codec, { skipBlocks: false, predictZ: false, layout: 'container' });
    const { frame } = await readImage(PHOTO);
    const ref = (await codec.decode(await codec.encode(frame, { quality: 50 }))).frame;
    const cur = shifted(frame, 3, 1);
    const { bytes, decoded } = await p.encode(cur, ref, 5000);
    const again = await p.decode(bytes, ref);
    expect(Buffer.compare(Buffer.from(again.data), Buffer.from(decoded.data))).toBe(0);
    const units = readContainer(bytes).units.map((u) => u.name);
    expect(units).toEqual(['IMAGE_INFO', 'CODING_PARAMS', motionUnit(bytes), 'Z_STREAM', 'Y_STREAM', 'SYMBOL_CHECKSUM']);
    // a re-framed, altered y stream: the checksum catches it
    const c = readContainer(bytes);
    const forged = c.units.map((u) => ({ type: u.type, payload: u.payload.slice() }));
    const y = forged.find((u) => u.type === UnitType.Y_STREAM)!;
    y.payload[Math.floor(y.payload.length / 2)] ^= 0x11;
    await expect(p.decode(writeContainer({ codecId: c.codecId, modelHash: c.modelHash, units: forged }), ref)).rejects.toThrow(BitstreamError);
    await expect(p.decode(bytes.subarray(0, bytes.length - 3), ref)).rejects.toThrow(BitstreamError);
    await expect(p.decode(bytes, { ...ref, width: 128 })).rejects.toThrow(BitstreamError);
    expect(() => new PFrameCoder({ ...codec, bundle: { ...codec.bundle, manifest: { ...codec.bundle.manifest, files: {} } } } as never)).toThrow(ModelMismatchError);
  });
});

describe('skip blocks', () => {
  it('codes flags exactly, rejects another grid and fails typed on damage', async () => {
    const rans = await loadRans();
    let seed = 99;
    const r = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    for (const [cols, rows, density] of [[1, 1, 1], [54, 30, 0.8], [11, 9, 0.1], [7, 3, 0], [5, 5, 1]] as const) {
      const flags = Uint8Array.from({ length: cols * rows }, () => (r() < density ? 1 : 0));
      const payload = encodeSkips(flags, cols, rows, rans);
      expect(decodeSkips(payload, cols, rows, rans)).toEqual(flags);
      if (cols * rows > 100) expect(payload.length).toBeLessThan((cols * rows) / 8);
      expect(() => decodeSkips(payload, cols + 1, rows, rans)).toThrow(BitstreamError);
    }
    const good = encodeSkips(Uint8Array.from({ length: 300 }, () => (r() < 0.6 ? 1 : 0)), 20, 15, rans);
    const zero = good.slice();
    zero[2] = 0;
    expect(() => decodeSkips(zero, 20, 15, rans)).toThrow(BitstreamError);
    let rejected = 0;
    for (let i = 0; i < 300; i++) {
      const input = i % 2 ? good.subarray(0, Math.floor(r() * good.length)) : good.slice();
      if (i % 2 === 0) input[2 + Math.floor(r() * (input.length - 2))] ^= 1 << Math.floor(r() * 8);
      try {
        const flags = decodeSkips(input, 20, 15, rans);
        expect(flags.every((f) => f === 0 || f === 1)).toBe(true);
      } catch (err) {
        expect(err).toBeInstanceOf(CodecError);
        rejected++;
      }
    }
    expect(rejected).toBeGreaterThan(100);
  });

  it('skips a block when its prediction beats coding it, by the rate-distortion rule', () => {
    const width = 40;
    const height = 20; // 3 x 2 blocks, the last column and row partial
    const frame = new Uint8Array(width * height * 3).fill(100);
    const prediction = frame.slice();
    const coded = frame.slice();
    for (let y = 0; y < 16; y++) {
      for (let x = 0; x < 16; x++) coded[(y * width + x) * 3] = 90; // block 0: coding errs, prediction exact
      for (let x = 16; x < 40; x++) for (let k = 0; k < 3; k++) prediction[(y * width + x) * 3 + k] = 110; // blocks 1, 2: prediction errs
    }
    const scaleTable = [0.11, 100];
    // block 1's symbol costs about 8 bits (a wide table), block 2's almost nothing
    const latent = { symbols: new Int32Array(6), indexes: Int32Array.from([0, 1, 0, 0, 0, 0]), channels: 1, h: 2, w: 3, scaleTable };
    const bits1 = symbolBits(0, 100);
    expect(bits1).toBeGreaterThan(7);
    const sse1 = 16 * 16 * 3 * 100;
    const sse2 = 8 * 16 * 3 * 100;
    expect(sse2).toBeGreaterThan(symbolBits(0, 0.11) * 1e6);
    // row 2 is the same everywhere: a tie, skipped
    expect(Array.from(chooseSkips(frame, prediction, coded, width, height, latent, (sse1 / bits1) * 1.01))).toEqual([1, 1, 0, 1, 1, 1]);
    expect(Array.from(chooseSkips(frame, prediction, coded, width, height, latent, (sse1 / bits1) * 0.99))).toEqual([1, 0, 0, 1, 1, 1]);
  });

  it('keeps what the prediction already has: fewer bytes, exact decode, pixels pasted', async () => {
    const codec = await getCodec(VIDEO);
    const rans = await loadRans();
    const { frame } = await readImage(PHOTO);
    const ref = (await codec.decode(await codec.encode(frame, { quality: 50 }))).frame;
    // the decoded frame itself, moved: every interior block's prediction is exact, but for a
    // 48x48 patch turned to its negative, which has to be coded
    const cur = shifted(ref, 3, 1);
    for (let y = 16; y < 64; y++) for (let x = 16 * 3; x < 64 * 3; x++) cur.data[y * 256 * 3 + x] = 255 - cur.data[y * 256 * 3 + x];
    const withSkips = await new PFrameCoder(codec, { predictZ: false, layout: 'container' }).encode(cur, ref, 5000);
    const without = await new PFrameCoder(codec, { skipBlocks: false, predictZ: false, layout: 'container' }).encode(cur, ref, 5000);
    const file = readContainer(withSkips.bytes);
    expect(file.units.map((u) => u.name)).toEqual(['IMAGE_INFO', 'CODING_PARAMS', motionUnit(withSkips.bytes), 'SKIP', 'Z_STREAM', 'Y_STREAM', 'SYMBOL_CHECKSUM']);
    const flags = decodeSkips(file.units.find((u) => u.type === UnitType.SKIP)!.payload, 16, 12, rans);
    let interior = 0;
    for (let r = 1; r < 11; r++) for (let c = 1; c < 15; c++) interior += flags[r * 16 + c];
    expect(interior).toBeGreaterThanOrEqual(0.9 * 10 * 14);
    expect(withSkips.bytes.length).toBeLessThan(0.8 * without.bytes.length);
    const p = new PFrameCoder(codec, { layout: 'container' });
    const again = await p.decode(withSkips.bytes, ref);
    expect(Buffer.compare(Buffer.from(again.data), Buffer.from(withSkips.decoded.data))).toBe(0);
    // a skipped interior block is the prediction, here the frame itself
    const b = flags.findIndex((f, i) => f === 1 && i > 16 && i % 16 > 0 && i % 16 < 15 && i < 11 * 16);
    const [bx, by] = [(b % 16) * 16, Math.floor(b / 16) * 16];
    for (let y = by; y < by + 16; y++) {
      expect(Buffer.compare(Buffer.from(again.data.subarray((y * 256 + bx) * 3, (y * 256 + bx + 16) * 3)), Buffer.from(cur.data.subarray((y * 256 + bx) * 3, (y * 256 + bx + 16) * 3)))).toBe(0);
    }
    // flags changed in the stream: the checksum (or the y stream) catches it
    const forged = file.units.map((u) => ({ type: u.type, payload: u.payload.slice() }));
    const s = forged.find((u) => u.type === UnitType.SKIP)!;
    s.payload[s.payload.length - 2] ^= 0x40;
    await expect(p.decode(writeContainer({ codecId: file.codecId, modelHash: file.modelHash, units: forged }), ref)).rejects.toThrow(CodecError);
    // a SKIP unit in the wrong place
    const moved = file.units.map((u) => ({ type: u.type, payload: u.payload }));
    moved.splice(5, 0, moved.splice(3, 1)[0]);
    await expect(p.decode(writeContainer({ codecId: file.codecId, modelHash: file.modelHash, units: moved }), ref)).rejects.toThrow(BitstreamError);
  });
});

describe('a frame with every block skipped', () => {
  it('is its prediction: no z, no symbols, no networks to decode it', async () => {
    const codec = await getCodec(VIDEO);
    const { frame } = await readImage(PHOTO);
    const ref = (await codec.decode(await codec.encode(frame, { quality: 50 }))).frame;
    const p = new PFrameCoder(codec, { layout: 'container' });
    const still = await p.encode({ ...ref, data: ref.data.slice() }, ref, 5000);
    const file = readContainer(still.bytes);
    expect(file.units.map((u) => u.name)).toEqual(['IMAGE_INFO', 'CODING_PARAMS', motionUnit(still.bytes), 'SKIP', 'Y_STREAM', 'SYMBOL_CHECKSUM']);
    expect(still.bytes.length).toBeLessThan(200); // framing, motion, flags and an empty y stream
    expect(Buffer.compare(Buffer.from(still.decoded.data), Buffer.from(ref.data))).toBe(0);
    // decoded without running a network: the sessions are never asked
    const runs: string[] = [];
    const spy = new PFrameCoder({ ...codec, id: codec.id, scaleTable: codec.scaleTable, gains: codec.gains.bind(codec), tileGeometry: codec.tileGeometry.bind(codec), sessions: { run: (stage: string) => (runs.push(stage), Promise.reject(new Error('no'))) } } as never, { layout: 'container' });
    const again = await spy.decode(still.bytes, ref);
    expect(runs).toEqual([]);
    expect(Buffer.compare(Buffer.from(again.data), Buffer.from(ref.data))).toBe(0);
    // a Z_STREAM beside every block skipped is malformed
    const units = file.units.map((u) => ({ type: u.type, payload: u.payload }));
    units.splice(4, 0, { type: UnitType.Z_STREAM, payload: new Uint8Array(8) });
    await expect(p.decode(writeContainer({ codecId: file.codecId, modelHash: file.modelHash, units }), ref)).rejects.toThrow(BitstreamError);
  });
});

describe('the analysis graph of the prediction', () => {
  it('is g_a_pred where the codec ships one, on both sides, else g_a', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nc-gapred-'));
    try {
      cpSync(VIDEO, dir, { recursive: true });
      const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
      // a stand-in: the same graph under the new stage name
      copyFileSync(join(dir, manifest.files.g_a.path), join(dir, 'g_a_pred.onnx'));
      manifest.files.g_a_pred = { ...manifest.files.g_a, path: 'g_a_pred.onnx' };
      manifest.modelHash = createHash('sha256').update(Object.keys(manifest.files).sort().map((k) => `${k}:${manifest.files[k].sha256};`).join('')).digest('hex');
      writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest));
      const codec = await LearnedImageCodec.load(dir);
      try {
        const stages: string[] = [];
        const run = codec.sessions.run.bind(codec.sessions);
        codec.sessions.run = (stage, inputs, signal) => (stages.push(stage), run(stage, inputs, signal));
        const { frame } = await readImage(PHOTO);
        const ref = (await codec.decode(await codec.encode(frame, { quality: 50 }))).frame;
        const p = new PFrameCoder(codec);
        expect(p.predictionStage).toBe('g_a_pred');
        stages.length = 0;
        const { bytes, decoded } = await p.encode(shifted(frame, 2, -1), ref, 5000);
        expect(stages.filter((s) => s.startsWith('g_a'))).toEqual(['g_a', 'g_a_pred']);
        stages.length = 0;
        const again = await p.decode(bytes, ref);
        expect(stages.filter((s) => s.startsWith('g_a'))).toEqual(['g_a_pred']);
        expect(Buffer.compare(Buffer.from(again.data), Buffer.from(decoded.data))).toBe(0);
      } finally {
        await codec.dispose();
      }
      expect(new PFrameCoder(await getCodec(VIDEO)).predictionStage).toBe('g_a');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('predicted hyper-latent', () => {
  it('takes z from the prediction when that is cheaper, and decodes it exactly', async () => {
    const codec = await getCodec(VIDEO);
    const { frame } = await readImage(PHOTO);
    const ref = (await codec.decode(await codec.encode(frame, { quality: 50 }))).frame;
    const cur = shifted(ref, -2, 3);
    const p = new PFrameCoder(codec, { skipBlocks: false, layout: 'container' });
    const predicted = await p.encode(cur, ref, 5000);
    const coded = await new PFrameCoder(codec, { skipBlocks: false, predictZ: false, layout: 'container' }).encode(cur, ref, 5000);
    const file = readContainer(predicted.bytes);
    expect(file.units.map((u) => u.name)).toEqual(['IMAGE_INFO', 'CODING_PARAMS', motionUnit(predicted.bytes), 'Y_STREAM', 'SYMBOL_CHECKSUM']);
    expect(predicted.bytes.length).toBeLessThan(coded.bytes.length);
    const again = await p.decode(predicted.bytes, ref);
    expect(Buffer.compare(Buffer.from(again.data), Buffer.from(predicted.decoded.data))).toBe(0);
    // the coded-z file still decodes with the same coder
    const other = await p.decode(coded.bytes, ref);
    expect(Buffer.compare(Buffer.from(other.data), Buffer.from(coded.decoded.data))).toBe(0);
    // a P-frame without z whose y stream is damaged still fails typed
    const forged = file.units.map((u) => ({ type: u.type, payload: u.payload.slice() }));
    const y = forged.find((u) => u.type === UnitType.Y_STREAM)!;
    y.payload[Math.floor(y.payload.length / 2)] ^= 0x24;
    await expect(p.decode(writeContainer({ codecId: file.codecId, modelHash: file.modelHash, units: forged }), ref)).rejects.toThrow(CodecError);
  });
});

describe('compact P-frames', () => {
  /** The record with its CRC rewritten after `edit`, so that only the fields are wrong. */
  const recrc = (bytes: Uint8Array, edit: (body: Uint8Array) => void) => {
    const body = bytes.slice(0, bytes.length - 4);
    edit(body);
    return new ByteWriter(bytes.length).bytes(body).u32le(crc32(body) >>> 0).finish();
  };

  it('decode to what the container layout decodes, in far fewer bytes', async () => {
    const codec = await getCodec(VIDEO);
    const { frame } = await readImage(PHOTO);
    const ref = (await codec.decode(await codec.encode(frame, { quality: 50 }))).frame;
    const cur = shifted(ref, 3, 1);
    for (let y = 16; y < 64; y++) for (let x = 16 * 3; x < 64 * 3; x++) cur.data[y * 256 * 3 + x] = 255 - cur.data[y * 256 * 3 + x];
    for (const options of [{}, { predictZ: false }, { skipBlocks: false }]) {
      const compact = new PFrameCoder(codec, options);
      expect(compact.layout).toBe('compact');
      const a = await compact.encode(cur, ref, 5000);
      const b = await new PFrameCoder(codec, { ...options, layout: 'container' }).encode(cur, ref, 5000);
      // the same decisions, so the same reconstruction; motion, flags, z and y in one stream
      expect(Buffer.compare(Buffer.from(a.decoded.data), Buffer.from(b.decoded.data))).toBe(0);
      expect(a.bytes.length).toBeLessThan(b.bytes.length - 60);
      const again = await compact.decode(a.bytes, ref);
      expect(Buffer.compare(Buffer.from(again.data), Buffer.from(a.decoded.data))).toBe(0);
      // the layouts are not interchangeable
      await expect(compact.decode(b.bytes, ref)).rejects.toThrow(BitstreamError);
    }
    // a still frame: every block skipped, a record of a few dozen bytes
    const still = await new PFrameCoder(codec).encode({ ...ref, data: ref.data.slice() }, ref, 5000);
    const stillUnits = await new PFrameCoder(codec, { layout: 'container' }).encode({ ...ref, data: ref.data.slice() }, ref, 5000);
    expect(still.bytes.length).toBeLessThanOrEqual(48);
    expect(still.bytes.length).toBeLessThan(stillUnits.bytes.length - 80);
    expect(Buffer.compare(Buffer.from((await new PFrameCoder(codec).decode(still.bytes, ref)).data), Buffer.from(ref.data))).toBe(0);
  });

  it('fail typed on damage: CRC, reserved flags, quality, symbols, size', async () => {
    const codec = await getCodec(VIDEO);
    const { frame } = await readImage(PHOTO);
    const ref = (await codec.decode(await codec.encode(frame, { quality: 50 }))).frame;
    const p = new PFrameCoder(codec, { skipBlocks: false });
    const { bytes } = await p.encode(shifted(frame, -2, 1), ref, 5000);
    // any single flipped byte or a cut: the CRC catches it
    for (let i = 0; i < bytes.length; i += Math.max(1, Math.floor(bytes.length / 40))) {
      const bad = bytes.slice();
      bad[i] ^= 0x5a;
      await expect(p.decode(bad, ref)).rejects.toThrow(BitstreamError);
    }
    for (const n of [0, 5, 9, bytes.length - 1]) await expect(p.decode(bytes.subarray(0, n), ref)).rejects.toThrow(BitstreamError);
    // with a valid CRC: reserved flag bits, a quality out of range, a damaged stream
    await expect(p.decode(recrc(bytes, (b) => (b[0] |= 0x80)), ref)).rejects.toThrow(/reserved/);
    await expect(p.decode(recrc(bytes, (b) => b.set([0x80 | 0x10, 0x00], 1)), ref)).rejects.toThrow(CodecError);
    await expect(p.decode(recrc(bytes, (b) => (b[Math.floor(b.length / 2)] ^= 0x24)), ref)).rejects.toThrow(CodecError);
    // z said to be coded where it is not (or the reverse): the stream no longer lines up
    await expect(p.decode(recrc(bytes, (b) => (b[0] ^= 4)), ref)).rejects.toThrow(CodecError);
    // a reference of another size
    await expect(p.decode(bytes, { ...ref, data: ref.data.subarray(0, 128 * 192 * 3), width: 128 })).rejects.toThrow(CodecError);
    // random damage behind a valid CRC: a typed error or a frame, never anything else
    let seed = 7;
    const r = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    let rejected = 0;
    for (let i = 0; i < 60; i++) {
      const cut = i % 3 === 0 ? Math.floor(r() * bytes.length) : bytes.length;
      const forged = recrc(bytes.subarray(0, Math.max(cut, 12)), (b) => {
        for (let k = 0; k < 1 + Math.floor(r() * 3); k++) b[Math.floor(r() * b.length)] ^= 1 << Math.floor(r() * 8);
      });
      try {
        const f = await p.decode(forged, ref);
        expect(f.data.length).toBe(ref.data.length);
      } catch (err) {
        expect(err).toBeInstanceOf(CodecError);
        rejected++;
      }
    }
    expect(rejected).toBeGreaterThan(40);
  });

  it('are what new video files hold (frame format 1); format 0 files still decode', async () => {
    const codec = await getCodec(VIDEO);
    const dir = mkdtempSync(join(tmpdir(), 'nc-compact-'));
    try {
      const clip = join(dir, 'clip.mp4');
      makeTestClip(await findFfmpeg(), clip);
      const sink = new BufferSink();
      await encodeVideo(clip, sink, { codec: VIDEO, intraPeriod: 8, sceneCut: 255, audio: false, maxFrames: 3 });
      const summary = inspectVideo(sink.bytes());
      expect(summary.sequenceHeader.frameFormat).toBe(FrameFormat.COMPACT_P);
      expect(summary.frames.map((f) => f.type).join('')).toBe('IPP');
      // a damaged P-frame record is reported by inspect
      const damaged = new Uint8Array(sink.bytes());
      const last = readMatroska(damaged).blocks[2].data;
      const at = Buffer.from(damaged).indexOf(Buffer.from(last));
      damaged[at + 3] ^= 0xff;
      expect(() => inspectVideo(damaged)).toThrow(BitstreamError);
      // a frame format 0 file: an I-frame container, then a P-frame container
      const { frame } = await readImage(PHOTO);
      const intra = await codec.encode(frame, { quality: 50 });
      const ref = (await codec.decode(intra)).frame;
      const p = await new PFrameCoder(codec, { layout: 'container' }).encode(shifted(frame, 2, 2), ref, 5000);
      const old = new BufferSink();
      const seq = { codecId: codec.id, modelHash: codec.bundle.hashPrefix, width: 256, height: 192, fps: { num: 25, den: 1 }, frameCount: 2, intraPeriod: 8, quality100: 5000 };
      for (const [format, expected] of [[FrameFormat.IMAGE_CONTAINER, 2], [FrameFormat.COMPACT_P, 0]] as const) {
        const sinkOld = format === FrameFormat.IMAGE_CONTAINER ? old : new BufferSink();
        const w = new MatroskaWriter(sinkOld, { tracks: [{ number: 1, uid: 1n, type: 1, codecId: 'V_NEUROCODEC', codecPrivate: writeSequenceHeader({ ...seq, frameFormat: format }), video: { width: 256, height: 192 } }] });
        await w.addBlock({ track: 1, timestamp: 0, keyframe: true, data: writeFramePayload('I', intra) });
        await w.addBlock({ track: 1, timestamp: 40, keyframe: false, data: writeFramePayload('P', p.bytes) });
        await w.finish();
        const frames: Uint8Array[] = [];
        const decoding = (async () => {
          for await (const f of decodeVideoFrames(sinkOld.bytes(), { codec: VIDEO })) frames.push(f.data);
        })();
        if (expected) {
          await decoding;
          expect(frames.length).toBe(expected);
          expect(Buffer.compare(Buffer.from(frames[1]), Buffer.from(p.decoded.data))).toBe(0);
        } else {
          await expect(decoding).rejects.toThrow(BitstreamError);
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('I/P sequences', () => {
  let dir: string;
  let clip: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'nc-pframe-'));
    clip = join(dir, 'clip.mp4');
    makeTestClip(await findFfmpeg(), clip);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('codes I and P frames by the intra period and decodes them all', async () => {
    const sink = new BufferSink();
    // the tiny model decodes poorly, so no scene-cut test here: every frame may be a P-frame
    const r = await encodeVideo(clip, sink, { codec: VIDEO, intraPeriod: 4, sceneCut: 255, audio: false });
    expect([r.frames, r.iFrames, r.pFrames]).toEqual([10, 3, 7]);
    const s = inspectVideo(sink.bytes());
    expect(s.frames.map((f) => f.type).join('')).toBe('IPPPIPPPIP');
    expect(s.frames.map((f) => f.keyframe)).toEqual(s.frames.map((f) => f.type === 'I'));
    expect(s.sequenceHeader.intraPeriod).toBe(4);
    const out = join(dir, 'out.y4m');
    const d = await decodeVideo(sink.bytes(), out, { codec: VIDEO });
    expect(d.frames).toBe(10);
  });

  it('decodes with 2 threads what was encoded with 1', async () => {
    const sink = new BufferSink();
    await encodeVideo(clip, sink, { codec: VIDEO, intraPeriod: 10, sceneCut: 255, audio: false, threads: 1, maxFrames: 4 });
    const d = await decodeVideo(sink.bytes(), join(dir, 'two.y4m'), { codec: VIDEO, threads: 2 });
    expect(d.frames).toBe(4);
  });

  it('codes I-frames that P-frames follow at the quality plus intraBoost', async () => {
    const sink = new BufferSink();
    await encodeVideo(clip, sink, { codec: VIDEO, quality: 40, intraBoost: 25, intraPeriod: 3, sceneCut: 255, audio: false, maxFrames: 4 });
    const qualities = readMatroska(sink.bytes()).blocks.map((b, i) => {
      const { type, data } = readFramePayload(b.data, i);
      // a compact P-frame record: flags, then the quality as a varint
      if (type === 'P') return `P${new ByteReader(data.subarray(1)).varuint('quality')}`;
      const params = readContainer(data).units.find((u) => u.type === UnitType.CODING_PARAMS)!.payload;
      return `${type}${params[0] | (params[1] << 8)}`;
    });
    expect(qualities).toEqual(['I6500', 'P4000', 'P4000', 'I6500']);
    const all = new BufferSink();
    await encodeVideo(clip, all, { codec: VIDEO, quality: 90, intraBoost: 25, intraPeriod: 1, audio: false, maxFrames: 1 });
    const { data } = readFramePayload(readMatroska(all.bytes()).blocks[0].data, 0);
    const params = readContainer(data).units.find((u) => u.type === UnitType.CODING_PARAMS)!.payload;
    expect(params[0] | (params[1] << 8)).toBe(9000); // all intra: no boost
    for (const intraBoost of [-1, 100, Number.NaN]) {
      await expect(encodeVideo(clip, new BufferSink(), { codec: VIDEO, intraBoost })).rejects.toThrow(InvalidOptionError);
    }
  });

  it('codes every 8th P-frame after an I-frame at the quality plus anchorBoost', async () => {
    const qualitiesOf = (bytes: Uint8Array) =>
      readMatroska(bytes).blocks.map((b, i) => {
        const { type, data } = readFramePayload(b.data, i);
        return type === 'P' ? new ByteReader(data.subarray(1)).varuint('quality') : -1;
      });
    const sink = new BufferSink();
    await encodeVideo(clip, sink, { codec: VIDEO, quality: 40, anchorBoost: 20, intraPeriod: 10, sceneCut: 255, audio: false });
    expect(qualitiesOf(sink.bytes())).toEqual([-1, 4000, 4000, 4000, 4000, 4000, 4000, 4000, 6000, 4000]);
    const flat = new BufferSink();
    await encodeVideo(clip, flat, { codec: VIDEO, quality: 90, anchorBoost: 0, intraPeriod: 10, sceneCut: 255, audio: false });
    expect(new Set(qualitiesOf(flat.bytes()).slice(1))).toEqual(new Set([9000]));
    for (const anchorBoost of [-1, 100, Number.NaN, '8']) {
      await expect(encodeVideo(clip, new BufferSink(), { codec: VIDEO, anchorBoost: anchorBoost as number })).rejects.toThrow(InvalidOptionError);
    }
  });

  it('uses I-frames at scene cuts, refuses P-frames without a temporal prior', async () => {
    const sink = new BufferSink();
    const r = await encodeVideo(clip, sink, { codec: VIDEO, intraPeriod: 4, sceneCut: 0, audio: false });
    expect(r.pFrames).toBe(0);
    await expect(encodeVideo(clip, new BufferSink(), { codec: fixture('tiny-codec'), intraPeriod: 4 })).rejects.toThrow(InvalidOptionError);
    await expect(encodeVideo(clip, new BufferSink(), { codec: VIDEO, intraPeriod: 0 })).rejects.toThrow(InvalidOptionError);
  });
});

describe('MOTION parser fuzz', () => {
  it('throws only typed errors for random, truncated and bit-flipped payloads', async () => {
    const rans = await loadRans();
    const { frame } = await readImage(PHOTO);
    const good = encodeMotion(estimateMotion(luma(shifted(frame, 2, 2).data, 256, 192), luma(frame.data, 256, 192), 256, 192), rans);
    let seed = 0x51ed;
    const r = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    let rejected = 0;
    for (let i = 0; i < 600; i++) {
      let input: Uint8Array;
      if (i % 3 === 0) input = Uint8Array.from({ length: Math.floor(r() * 64) }, () => Math.floor(r() * 256));
      else if (i % 3 === 1) input = good.subarray(0, Math.floor(r() * good.length));
      else {
        input = good.slice();
        input[Math.floor(r() * input.length)] ^= 1 << Math.floor(r() * 8);
      }
      try {
        const field = decodeMotion(input, 256, 192, rans);
        expect(field.mv.every((v) => Math.abs(v) <= 64)).toBe(true);
      } catch (err) {
        expect(err).toBeInstanceOf(CodecError);
        rejected++;
      }
    }
    expect(rejected).toBeGreaterThan(300);
  });
});

describe('video streams', () => {
  it('encodes raw frames written to createVideoEncodeStream and decodes them back through createVideoDecodeStream', async () => {
    const { frame } = await readImage(PHOTO);
    const frames = [0, 2, 4, 6, 8].map((d) => {
      const f = shifted(frame, d, d >> 1);
      return { data: f.data, width: f.width, height: f.height };
    });
    const chunks: Buffer[] = [];
    await pipeline(
      Readable.from(frames),
      createVideoEncodeStream({ codec: VIDEO, intraPeriod: 3, sceneCut: 255, fps: { num: 10, den: 1 } }),
      async function* (src) {
        for await (const c of src) chunks.push(c as Buffer);
      },
    );
    const mkv = new Uint8Array(Buffer.concat(chunks));
    expect(inspectVideo(mkv).frames.map((f) => f.type).join('')).toBe('IPPIP');
    const direct = [];
    for await (const f of decodeVideoFrames(mkv, { codec: VIDEO })) direct.push(f);
    expect(direct.map((f) => [f.index, f.type, f.timestamp])).toEqual([[0, 'I', 0], [1, 'P', 100], [2, 'P', 200], [3, 'I', 300], [4, 'P', 400]]);
    const streamed: { data: Uint8Array }[] = [];
    await pipeline(Readable.from([mkv.subarray(0, 100), mkv.subarray(100)]), createVideoDecodeStream({ codec: VIDEO }), async function* (src) {
      for await (const f of src) streamed.push(f as { data: Uint8Array });
    });
    expect(streamed).toHaveLength(5);
    for (let i = 0; i < 5; i++) expect(Buffer.compare(Buffer.from(streamed[i].data), Buffer.from(direct[i].data))).toBe(0);
  });

  it('fails the encode stream with a typed error on a malformed frame', async () => {
    const enc = createVideoEncodeStream({ codec: VIDEO });
    const run = pipeline(Readable.from([{ data: new Uint8Array(10), width: 4, height: 4 }]), enc, async function* (src) {
      for await (const _ of src) yield _;
    });
    await expect(run).rejects.toThrow(InvalidOptionError);
  });
});
