/**
 * Binary spherical quantization: the token layout helpers, the BSQ_INFO unit, the BSQ codec
 * with the tiny test model (round trips at every group count, tokens <-> files <-> images,
 * tiles, grey and alpha, determinism across thread counts, typed errors, corrupt input) and
 * the CLI (encode --mode bsq, info, tokens, detokenize).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { closeCodecs, decode, detokenize, encodeWithInfo, tokenize, tokenizeVideo } from '../src/api.js';
import { createDecodeStream, createEncodeStream } from '../src/stream/index.js';
import { findFfmpeg } from '../src/video/ffmpeg.js';
import { makeTestClip } from './helpers/video.js';
import { decodeBsqInfo, encodeBsqInfo } from '../src/bitstream/bsq-info.js';
import { readContainer, writeContainer } from '../src/bitstream/container.js';
import { inspect } from '../src/bitstream/inspect.js';
import { UnitType } from '../src/bitstream/units.js';
import { tokensFromJson, tokensToJson } from '../src/codec/bsq.js';
import { BitstreamError, CodecError, InvalidOptionError, ModelMismatchError } from '../src/errors.js';
import type { Frame } from '../src/image/frame.js';
import { readImage } from '../src/image/io.js';
import { groupCodes, logitIndex, phasePositions, planesToTokens, tokensToPlanes } from '../src/quant/bsq.js';
import { TRIT_TABLES } from '../src/quant/tritplane.js';
import { runCliInProcess } from './helpers/cli.js';
import { rng } from './helpers/rng.js';

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const CODEC = fixture('tiny-bsq');
const PHOTO = fixture('photo-256x192.png');

afterAll(() => closeCodecs());

const same = (a: Uint8Array, b: Uint8Array) => a.length === b.length && Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0;

describe('BSQ token layout', () => {
  it('phases cover every position exactly once, in the documented order', () => {
    for (const [h, w] of [[1, 1], [1, 5], [4, 4], [5, 7], [12, 16]]) {
      const phases = phasePositions(h, w);
      const seen = new Uint8Array(h * w);
      for (const p of phases) for (const i of p) seen[i]++;
      expect(Array.from(seen).every((c) => c === 1)).toBe(true);
      if (h * w > 0) expect(phases[0][0]).toBe(0);
      for (const i of phases[1]) expect([Math.floor(i / w) % 2, (i % w) % 2]).toEqual([1, 1]);
    }
  });

  it('planes and tokens are inverse layouts; group codes weigh bit b by 2^b', () => {
    const r = rng(3);
    const hw = 35;
    const c = 12;
    const planes = Uint8Array.from({ length: hw * c }, () => (r() < 0.5 ? 1 : 0));
    const tokens = planesToTokens(planes, hw, c);
    expect(same(tokensToPlanes(tokens, hw, c), planes)).toBe(true);
    expect(tokens[0 * c + 5]).toBe(planes[5 * hw + 0]);
    const codes = groupCodes(Uint8Array.of(1, 0, 1, 1, 0, 0, 0, 1), 1, 2, 4);
    expect(Array.from(codes)).toEqual([1 + 4 + 8, 8]);
  });

  it('logits map onto the shared binary table grid, clamped, NaN refused', () => {
    expect(logitIndex(0)).toBe((TRIT_TABLES - 1) / 2);
    expect(logitIndex(-1e9)).toBe(0);
    expect(logitIndex(1e9)).toBe(TRIT_TABLES - 1);
    expect(logitIndex(0.05)).toBe((TRIT_TABLES - 1) / 2 + 1);
    expect(() => logitIndex(NaN)).toThrow(BitstreamError);
  });
});

describe('BSQ_INFO unit', () => {
  it('round-trips and rejects inconsistent geometry', () => {
    const info = { d: 36, groupBits: 6, groups: 4 };
    expect(decodeBsqInfo(encodeBsqInfo(info))).toEqual(info);
    expect(() => encodeBsqInfo({ d: 36, groupBits: 5, groups: 1 })).toThrow(InvalidOptionError);
    expect(() => decodeBsqInfo(Uint8Array.of(1, 36, 6, 7))).toThrow(BitstreamError);
    expect(() => decodeBsqInfo(Uint8Array.of(2, 36, 6, 1))).toThrow(/version/);
    expect(() => decodeBsqInfo(Uint8Array.of(1, 36, 6))).toThrow(BitstreamError);
    expect(() => decodeBsqInfo(Uint8Array.of(1, 36, 6, 1, 0))).toThrow(BitstreamError);
  });
});

describe('BSQ codec', () => {
  it('codes every group count; more groups, more bytes; decode equals detokenize(tokenize)', async () => {
    const sizes: number[] = [];
    for (const groups of [1, 2, 3]) {
      const enc = await encodeWithInfo(PHOTO, { mode: 'bsq', codec: CODEC, groups });
      expect(enc.groups).toBe(groups);
      const dec = await decode(enc.bytes, { codec: CODEC });
      expect([dec.width, dec.height, dec.channels]).toEqual([256, 192, 3]);
      expect(dec.bsq).toEqual({ groups, d: 12, groupBits: 4 });
      const tokens = await tokenize(PHOTO, { codec: CODEC, groups });
      expect(tokens.shape).toEqual([12, 16]);
      expect(tokens.bits.length).toBe(12 * 16 * groups * 4);
      const img = await detokenize(tokens, { codec: CODEC });
      expect(same(img.data, dec.data)).toBe(true);
      // the file holds exactly these tokens
      const back = await tokenize(enc.bytes, { codec: CODEC });
      expect(same(back.bits, tokens.bits)).toBe(true);
      // entropy coding never costs much more than the raw bits, whatever the model
      const units = readContainer(enc.bytes).units;
      const stream = units.find((u) => u.type === UnitType.BSQ_TOKENS)!;
      expect(stream.payload.length).toBeLessThanOrEqual(Math.ceil((tokens.bits.length / 8) * 1.1) + 16);
      sizes.push(enc.bytes.length);
    }
    expect(sizes[0]).toBeLessThan(sizes[1]);
    expect(sizes[1]).toBeLessThan(sizes[2]);
    expect(inspect((await encodeWithInfo(PHOTO, { mode: 'bsq', codec: CODEC, groups: 2 })).bytes).bsq).toEqual({ d: 12, groupBits: 4, groups: 2, tokens: 192 });
  });

  it('maps quality to groups and meets byte targets by choosing groups', async () => {
    expect((await encodeWithInfo(PHOTO, { mode: 'bsq', codec: CODEC, quality: 1 })).groups).toBe(1);
    expect((await encodeWithInfo(PHOTO, { mode: 'bsq', codec: CODEC, quality: 100 })).groups).toBe(3);
    expect((await encodeWithInfo(PHOTO, { mode: 'bsq', codec: CODEC })).groups).toBe(3);
    const two = await encodeWithInfo(PHOTO, { mode: 'bsq', codec: CODEC, groups: 2 });
    const aimed = await encodeWithInfo(PHOTO, { mode: 'bsq', codec: CODEC, targetBytes: two.bytes.length + 1 });
    expect(aimed.groups).toBe(2);
    expect(aimed.bytes.length).toBe(two.bytes.length);
  });

  it('token JSON round-trips exactly', async () => {
    const tokens = await tokenize(PHOTO, { codec: CODEC, groups: 2 });
    const json = JSON.parse(JSON.stringify(tokensToJson(tokens)));
    expect(json.codes.length).toBe(192 * 2);
    const back = tokensFromJson(json);
    expect(same(back.bits, tokens.bits)).toBe(true);
    expect(same((await detokenize(back, { codec: CODEC })).data, (await detokenize(tokens, { codec: CODEC })).data)).toBe(true);
    expect(() => tokensFromJson({ ...json, bits: 'AAAA' })).toThrow(InvalidOptionError);
    expect(() => tokensFromJson({ ...json, shape: [0, 3] })).toThrow(InvalidOptionError);
  });

  it('handles odd sizes, 1x1, grey, alpha and tiles', async () => {
    for (const name of ['odd-77x45.png', 'pixel-1x1.png', 'grey-128.png', 'alpha-96x80.png']) {
      const { frame } = await readImage(fixture(name));
      const enc = await encodeWithInfo(fixture(name), { mode: 'bsq', codec: CODEC });
      const dec = await decode(enc.bytes, { codec: CODEC });
      expect([dec.width, dec.height, dec.channels]).toEqual([frame.width, frame.height, frame.channels]);
      if (frame.channels === 4) {
        for (let i = 3; i < frame.data.length; i += 4) expect(dec.data[i]).toBe(frame.data[i]);
      }
    }
    const tiled = await encodeWithInfo(PHOTO, { mode: 'bsq', codec: CODEC, tileSize: 64 });
    expect(inspect(tiled.bytes).coding?.tiles).toBe(12);
    const dec = await decode(tiled.bytes, { codec: CODEC });
    const tokens = await tokenize(PHOTO, { codec: CODEC, tileSize: 64 });
    expect(same((await detokenize(tokens, { codec: CODEC })).data, dec.data)).toBe(true);
    expect(same((await tokenize(tiled.bytes, { codec: CODEC })).bits, tokens.bits)).toBe(true);
  });

  it('gives identical files and images with 1 and 2 threads', async () => {
    const a = await encodeWithInfo(PHOTO, { mode: 'bsq', codec: CODEC, threads: 1 });
    const b = await encodeWithInfo(PHOTO, { mode: 'bsq', codec: CODEC, threads: 2 });
    expect(same(a.bytes, b.bytes)).toBe(true);
    const da = await decode(a.bytes, { codec: CODEC, threads: 2 });
    const db = await decode(b.bytes, { codec: CODEC, threads: 1 });
    expect(same(da.data, db.data)).toBe(true);
  });

  it('throws typed errors for bad options, other models and bad tokens', async () => {
    await expect(encodeWithInfo(PHOTO, { mode: 'bsq', codec: CODEC, groups: 4 })).rejects.toThrow(/Expected integer between 1 and 3 for groups but received 4/);
    await expect(encodeWithInfo(PHOTO, { groups: 2 })).rejects.toThrow(InvalidOptionError);
    await expect(encodeWithInfo(PHOTO, { mode: 'bsq', progressive: true })).rejects.toThrow(InvalidOptionError);
    await expect(encodeWithInfo(PHOTO, { mode: 'vq' as 'bsq' })).rejects.toThrow(/Expected one of 'hyperprior', 'bsq' for mode/);
    const bsq = (await encodeWithInfo(PHOTO, { mode: 'bsq', codec: CODEC })).bytes;
    await expect(decode(bsq, { codec: fixture('tiny-codec') })).rejects.toThrow(ModelMismatchError);
    const hyper = (await encodeWithInfo(PHOTO, { codec: fixture('tiny-codec'), quality: 50 })).bytes;
    await expect(decode(hyper, { codec: CODEC })).rejects.toThrow(ModelMismatchError);
    await expect(encodeWithInfo(PHOTO, { mode: 'bsq', codec: fixture('tiny-codec') })).rejects.toThrow(ModelMismatchError);
    await expect(tokenize(hyper)).rejects.toThrow(/not a BSQ file/);
    const tokens = await tokenize(PHOTO, { codec: CODEC });
    await expect(detokenize({ ...tokens, d: 36, groupBits: 6 }, { codec: CODEC })).rejects.toThrow(ModelMismatchError);
    await expect(detokenize({ ...tokens, modelHash: '0000000000000000' }, { codec: CODEC })).rejects.toThrow(ModelMismatchError);
    const bad = tokens.bits.slice();
    bad[7] = 2;
    await expect(detokenize({ ...tokens, bits: bad }, { codec: CODEC })).rejects.toThrow(InvalidOptionError);
    await expect(detokenize({ ...tokens, bits: tokens.bits.subarray(1) }, { codec: CODEC })).rejects.toThrow(InvalidOptionError);
    await expect(detokenize({ ...tokens, shape: [3, 3] }, { codec: CODEC })).rejects.toThrow(InvalidOptionError);
  });

  it('rejects truncated, corrupt and re-framed files with typed errors, never garbage', async () => {
    const file = (await encodeWithInfo(PHOTO, { mode: 'bsq', codec: CODEC })).bytes;
    const ref = await decode(file, { codec: CODEC });
    for (const n of [1, 10, 40, file.length - 5, file.length - 1]) {
      await expect(decode(file.subarray(0, n), { codec: CODEC })).rejects.toThrow(CodecError);
    }
    // a stream that was altered but re-framed with valid CRCs: the symbol checksum catches it
    const c = readContainer(file);
    const units = c.units.map((u) => ({ type: u.type, payload: u.payload.slice() }));
    const tok = units.find((u) => u.type === UnitType.BSQ_TOKENS)!;
    tok.payload[Math.floor(tok.payload.length / 2)] ^= 0x5a;
    const forged = writeContainer({ codecId: c.codecId, modelHash: c.modelHash, units });
    await expect(decode(forged, { codec: CODEC })).rejects.toThrow(BitstreamError);
    const r = rng(11);
    let decodedOk = 0;
    for (let trial = 0; trial < 40; trial++) {
      const f = file.slice();
      f[Math.floor(r() * f.length)] ^= 1 << Math.floor(r() * 8);
      try {
        const d = await decode(f, { codec: CODEC });
        // only a flip that changes nothing decodable may pass, and then the image is the same
        expect(same(d.data, ref.data)).toBe(true);
        decodedOk++;
      } catch (err) {
        expect(err).toBeInstanceOf(CodecError);
      }
    }
    expect(decodedOk).toBeLessThan(40);
  });
});

describe('BSQ through streams and video', () => {
  it('encodes and decodes BSQ files through the Node streams', async () => {
    const png = readFileSync(PHOTO);
    const chunks: Buffer[] = [];
    const enc = createEncodeStream({ mode: 'bsq', codec: CODEC, groups: 2 });
    await pipeline(Readable.from([png]), enc, async function* (src) {
      for await (const c of src) chunks.push(c);
    });
    const file = new Uint8Array(Buffer.concat(chunks));
    expect(inspect(file).bsq?.groups).toBe(2);
    const out: Buffer[] = [];
    await pipeline(Readable.from([file]), createDecodeStream({ codec: CODEC, format: 'png' }), async function* (src) {
      for await (const c of src) out.push(c);
    });
    const { frame } = await readImage(Buffer.concat(out));
    expect(same(frame.data, (await decode(file, { codec: CODEC })).data)).toBe(true);
  });

  it('tokenizes a video frame by frame, each frame as its image would be', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nc-bsq-video-'));
    try {
      const clip = join(dir, 'clip.mp4');
      makeTestClip(await findFfmpeg(), clip);
      const frames = [];
      for await (const f of tokenizeVideo(clip, { codec: CODEC, maxFrames: 3 })) frames.push(f);
      expect(frames.map((f) => f.index)).toEqual([0, 1, 2]);
      for (const f of frames) expect(f.tokens.shape).toEqual([3, 4]);
      const r = await runCliInProcess(['tokens', '--codec', CODEC, '--json', '--max-frames', '2', clip]);
      expect(r.status, r.stderr).toBe(0);
      const lines = r.stdout.toString().trim().split('\n').map((l) => JSON.parse(l));
      expect(lines.map((l) => l.frame)).toEqual([0, 1]);
      expect(same(tokensFromJson(lines[1]).bits, frames[1].tokens.bits)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('BSQ on the command line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nc-bsq-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('encodes, shows, decodes, prints tokens and detokenizes them to the same image', async () => {
    const bin = join(dir, 'p.ncdc');
    let r = await runCliInProcess(['encode', '--mode', 'bsq', '--codec', CODEC, '--groups', '2', PHOTO, bin]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/2 BSQ groups/);
    r = await runCliInProcess(['info', bin]);
    expect(r.status).toBe(0);
    expect(r.stdout.toString()).toMatch(/bsq +2 of 3 groups of 4 bits \(8 of 12 bits per token\), 192 tokens/);
    const png = join(dir, 'p.png');
    r = await runCliInProcess(['decode', '--codec', CODEC, bin, png]);
    expect(r.status, r.stderr).toBe(0);
    r = await runCliInProcess(['tokens', '--codec', CODEC, '--json', bin]);
    expect(r.status, r.stderr).toBe(0);
    const json = JSON.parse(r.stdout.toString());
    expect(json).toMatchObject({ shape: [12, 16], d: 12, groups: 2, groupBits: 4 });
    const jsonPath = join(dir, 't.json');
    writeFileSync(jsonPath, r.stdout);
    const png2 = join(dir, 't.png');
    r = await runCliInProcess(['detokenize', '--codec', CODEC, jsonPath, png2]);
    expect(r.status, r.stderr).toBe(0);
    const [a, b] = await Promise.all([readImage(png), readImage(png2)]);
    expect(same(a.frame.data, b.frame.data)).toBe(true);
    r = await runCliInProcess(['tokens', '--codec', CODEC, PHOTO]);
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/12x16 tokens of 12 bits/);
  });

  it('exits 2 for bad options, 1 for bad input, with one line and no output', async () => {
    const out = join(dir, 'bad.ncdc');
    for (const args of [
      ['encode', '--mode', 'bsq', '--codec', CODEC, '--groups', '9', PHOTO, out],
      ['encode', '--groups', '2', PHOTO, out],
      ['encode', '--mode', 'nope', PHOTO, out],
    ]) {
      const r = await runCliInProcess(args);
      expect(r.status).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(existsSync(out)).toBe(false);
    }
    const notJson = join(dir, 'x.json');
    writeFileSync(notJson, '{"shape": [1');
    const png = join(dir, 'x.png');
    const r = await runCliInProcess(['detokenize', '--codec', CODEC, notJson, png]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/not JSON/);
    expect(existsSync(png)).toBe(false);
    const hyper = join(dir, 'h.ncdc');
    expect((await runCliInProcess(['encode', '--codec', fixture('tiny-codec'), PHOTO, hyper])).status).toBe(0);
    const t = await runCliInProcess(['tokens', '--json', hyper]);
    expect(t.status).toBe(1);
    expect(t.stderr).toMatch(/not a BSQ file/);
    expect(readFileSync(hyper).length).toBeGreaterThan(0);
  });
});
