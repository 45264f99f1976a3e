/**
 * The sequence header (round trip, typed errors on random, truncated and bit-flipped
 * input) and the all-intra video path of the library: encodeVideo / decodeVideo /
 * inspectVideo on a tiny generated clip with the tiny codec.
 */
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeCodecs } from '../src/api.js';
import { BitstreamError, LimitExceededError, ModelMismatchError } from '../src/errors.js';
import { decodeVideo, encodeVideo, inspectVideo, isMatroska, isVideoPath } from '../src/video/codec.js';
import { findFfmpeg, findFfprobe } from '../src/video/ffmpeg.js';
import { readMatroska } from '../src/video/matroska.js';
import { FrameType, readFramePayload, readSequenceHeader, writeFramePayload, writeSequenceHeader, type SequenceHeaderInput } from '../src/video/sequence.js';
import { audioPacketHashes, makeTestClip, probeJson } from './helpers/video.js';

const TINY = fileURLToPath(new URL('./fixtures/tiny-codec', import.meta.url));

const sample: SequenceHeaderInput = {
  codecId: 'nc-small',
  modelHash: Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8),
  width: 64,
  height: 48,
  fps: { num: 30000, den: 1001 },
  frameCount: 10,
  intraPeriod: 1,
  quality100: 7550,
};

/** A deterministic PRNG, so that a failing case can be replayed. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('sequence header', () => {
  it('round-trips every field', () => {
    const bytes = writeSequenceHeader(sample);
    expect(Buffer.from(bytes.subarray(0, 4)).toString('latin1')).toBe('NCVS');
    const back = readSequenceHeader(bytes);
    expect(back).toMatchObject({ ...sample, version: 1, frameFormat: 0 });
    expect(Buffer.from(back.modelHash).equals(Buffer.from(sample.modelHash))).toBe(true);
    expect(writeSequenceHeader(back)).toEqual(bytes);
  });

  it('rejects bad fields when writing', () => {
    expect(() => writeSequenceHeader({ ...sample, width: 0 })).toThrow(/width/);
    expect(() => writeSequenceHeader({ ...sample, quality100: 10001 })).toThrow(/quality100/);
    expect(() => writeSequenceHeader({ ...sample, fps: { num: 5000, den: 1 } })).toThrow(/fps/);
    expect(() => writeSequenceHeader({ ...sample, codecId: 'a b' })).toThrow(/codecId/);
    expect(() => writeSequenceHeader({ ...sample, modelHash: new Uint8Array(4) })).toThrow(/modelHash/);
  });

  it('names the broken limit', () => {
    const big = writeSequenceHeader({ ...sample, width: 65535, height: 65535 });
    expect(() => readSequenceHeader(big)).toThrow(LimitExceededError);
    expect(() => readSequenceHeader(writeSequenceHeader(sample), { maxFrames: 5 })).toThrow(/maxFrames/);
  });

  it('throws only typed errors for 3,000 random, truncated and bit-flipped inputs', () => {
    const good = writeSequenceHeader(sample);
    const rand = prng(7);
    let typed = 0;
    for (let i = 0; i < 3000; i++) {
      let input: Uint8Array;
      if (i % 3 === 0) {
        input = good.slice(0, Math.floor(rand() * good.length));
      } else if (i % 3 === 1) {
        input = good.slice();
        const flips = 1 + Math.floor(rand() * 3);
        for (let f = 0; f < flips; f++) input[Math.floor(rand() * input.length)] ^= 1 << Math.floor(rand() * 8);
      } else {
        input = new Uint8Array(Math.floor(rand() * 48));
        for (let k = 0; k < input.length; k++) input[k] = Math.floor(rand() * 256);
        if (rand() < 0.5) input.set(good.subarray(0, Math.min(5, input.length)));
      }
      try {
        readSequenceHeader(input);
        // Only an input equal to the original parses (two flips of one bit cancel out).
        expect(Buffer.from(input).equals(Buffer.from(good))).toBe(true);
      } catch (err) {
        if (!(err instanceof Error) || err.name === 'AssertionError') throw err;
        expect(err instanceof BitstreamError || err instanceof LimitExceededError, String(err)).toBe(true);
        typed++;
      }
    }
    // Every damaged header fails (the CRC catches flips the field checks let through).
    expect(typed).toBeGreaterThan(2950);
  });

  it('frames a payload with its type byte', () => {
    const p = writeFramePayload('I', Uint8Array.of(9, 8, 7));
    expect(p[0]).toBe(FrameType.I);
    expect(readFramePayload(p, 0)).toMatchObject({ type: 'I', data: Uint8Array.of(9, 8, 7) });
    expect(readFramePayload(Uint8Array.of(0x50, 1), 3).type).toBe('P');
    expect(() => readFramePayload(Uint8Array.of(0x51, 1), 3)).toThrow(/frame 3 has unknown frame type 0x51/);
    expect(() => readFramePayload(new Uint8Array(0), 0)).toThrow(BitstreamError);
  });

  it('tells video paths and Matroska bytes apart', () => {
    expect(isVideoPath('a/b.MP4')).toBe(true);
    expect(isVideoPath('x.y4m')).toBe(true);
    expect(isVideoPath('x.png')).toBe(false);
    expect(isMatroska(Uint8Array.of(0x1a, 0x45, 0xdf, 0xa3, 0))).toBe(true);
    expect(isMatroska(Uint8Array.of(0x4e, 0x43, 0x44, 0x43))).toBe(false);
  });
});

describe('all-intra video through the library', () => {
  let dir: string;
  let clip: string;
  let ffmpeg: string;
  let ffprobe: string;

  const streams = (path: string) => probeJson(ffprobe, path);
  const audioHashes = (path: string) => audioPacketHashes(ffmpeg, path);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nc-video-'));
    ffmpeg = await findFfmpeg();
    ffprobe = await findFfprobe();
    clip = join(dir, 'clip.mp4');
    makeTestClip(ffmpeg, clip);
  });

  afterAll(async () => {
    await closeCodecs();
    await rm(dir, { recursive: true, force: true });
  });

  it('encodes, inspects and decodes with the audio kept bit-identical', async () => {
    const mkv = join(dir, 'clip.mkv');
    const seen: number[] = [];
    const res = await encodeVideo(clip, mkv, { codec: TINY, quality: 50, onProgress: (p) => seen.push(p.frames) });
    expect(res).toMatchObject({ frames: 10, width: 64, height: 48, fps: { num: 10, den: 1 }, quality: 50, audioTracks: 1 });
    expect(seen).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(res.bitrate).toBeGreaterThan(0);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);

    const probe = streams(mkv);
    const v = probe.streams.find((s) => s.codec_type === 'video')!;
    expect(v).toMatchObject({ width: 64, height: 48, nb_read_packets: '10' });
    expect(probe.streams.some((s) => s.codec_type === 'audio')).toBe(true);
    expect(Number(probe.format.duration)).toBeGreaterThanOrEqual(0.99);
    expect(Number(probe.format.duration)).toBeLessThan(1.1);
    expect(audioHashes(mkv)).toEqual(audioHashes(clip));

    const bytes = await readFile(mkv);
    const summary = inspectVideo(bytes);
    expect(summary.sequenceHeader).toMatchObject({ codecId: 'tiny', width: 64, height: 48, fps: { num: 10, den: 1 }, intraPeriod: 1, quality: 50 });
    expect(summary.frames).toHaveLength(10);
    expect(summary.frames.every((f) => f.type === 'I' && f.keyframe)).toBe(true);
    expect(summary.frames.map((f) => f.timestamp)).toEqual([0, 100, 200, 300, 400, 500, 600, 700, 800, 900]);
    expect(summary.audioTracks).toHaveLength(1);

    const mp4 = join(dir, 'back.mp4');
    const dec = await decodeVideo(mkv, mp4, { codec: TINY });
    expect(dec).toMatchObject({ frames: 10, width: 64, height: 48, format: 'mp4', audioTracks: 1 });
    const back = streams(mp4);
    const bv = back.streams.find((s) => s.codec_type === 'video')!;
    expect(bv).toMatchObject({ width: 64, height: 48, nb_read_packets: '10', r_frame_rate: '10/1' });
    expect(audioHashes(mp4)).toEqual(audioHashes(clip));
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('refuses a file made with other weights, and a damaged frame, leaving no output', async () => {
    const mkv = join(dir, 'short.mkv');
    await encodeVideo(clip, mkv, { codec: TINY, maxFrames: 2, audio: false });
    const file = readMatroska(await readFile(mkv));
    expect(file.tracks).toHaveLength(1);
    expect(file.blocks).toHaveLength(2);
    const bytes = new Uint8Array(await readFile(mkv));
    // Flip a byte inside the second frame's image data.
    const block = file.blocks[1];
    const at = block.data.byteOffset + Math.floor(block.data.length / 2);
    bytes[at] ^= 0x55;
    const out = join(dir, 'broken.y4m');
    await expect(decodeVideo(bytes, out, { codec: TINY })).rejects.toThrow(/frame 1/);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);

    // Same file decoded with the shipped model: the header's model hash does not match.
    await expect(decodeVideo(mkv, join(dir, 'x.y4m'), { codec: 'nc-small' })).rejects.toThrow(ModelMismatchError);
  });
});
