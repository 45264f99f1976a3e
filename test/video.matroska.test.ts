import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BitstreamError, InvalidOptionError, LimitExceededError } from '../src/errors.js';
import { findFfmpeg, findFfprobe, readFrames } from '../src/video/ffmpeg.js';
import {
  BufferSink,
  MatroskaWriter,
  NEUROCODEC_CODEC_ID,
  extractAudio,
  readMatroska,
  writeNeurocodecMatroska,
  type AudioCopy,
  type CodedFrame,
  type MkvTrack,
} from '../src/video/matroska.js';
import { audioPacketHashes as packetHashes, makeTestClip, probeJson } from './helpers/video.js';

let dir: string;
let clip: string;
let ffmpeg: string;
let ffprobe: string;
let pngs: Uint8Array[];
let audio: AudioCopy;
const header = new Uint8Array([0x4e, 0x43, 0x56, 0x31, 1, 2, 3, 4]);

const coded = (): CodedFrame[] => pngs.map((data) => ({ data, keyframe: true }));

const ffprobeJson = (path: string) => probeJson(ffprobe, path);

const audioPacketHashes = (path: string) => packetHashes(ffmpeg, path);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nc-mkv-'));
  ffmpeg = await findFfmpeg();
  ffprobe = await findFfprobe();
  clip = join(dir, 'clip.mp4');
  makeTestClip(ffmpeg, clip, { sampleRate: 44100, videoCodec: 'libx264' });
  pngs = [];
  for await (const f of readFrames(clip)) {
    pngs.push(new Uint8Array(await sharp(f.data, { raw: { width: f.width, height: f.height, channels: 3 } }).png().toBuffer()));
  }
  audio = await extractAudio(clip);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('writing a neurocodec Matroska file', () => {
  let out: string;
  beforeAll(async () => {
    out = join(dir, 'out.mkv');
    const res = await writeNeurocodecMatroska(coded(), out, { width: 64, height: 48, fps: { num: 10, den: 1 }, sequenceHeader: header, audioFrom: clip });
    expect(res.frames).toBe(10);
    expect(res.audioTracks).toBe(1);
  });

  it('extracts the audio track of the source', () => {
    expect(audio.tracks).toHaveLength(1);
    expect(audio.tracks[0].codecId).toBe('A_AAC');
    expect(audio.tracks[0].audio).toMatchObject({ samplingFrequency: 44100, channels: 1 });
    expect(audio.blocks.length).toBeGreaterThan(40);
  });

  it('is accepted by ffprobe with both streams, the right frame count and duration', () => {
    const info = ffprobeJson(out);
    const video = info.streams.find((s) => s.codec_type === 'video')!;
    const aud = info.streams.find((s) => s.codec_type === 'audio')!;
    expect(video).toMatchObject({ width: 64, height: 48, nb_read_packets: '10', r_frame_rate: '10/1' });
    expect(aud).toMatchObject({ codec_name: 'aac', sample_rate: '44100', channels: 1 });
    expect(Number(aud.nb_read_packets)).toBe(audio.blocks.length);
    expect(Number(info.format.duration)).toBeGreaterThanOrEqual(1);
    expect(Number(info.format.duration)).toBeLessThan(1.1);
  });

  it('lets ffmpeg copy the audio out bit-identical to the source', async () => {
    const mka = join(dir, 'a.mka');
    execFileSync(ffmpeg, ['-v', 'error', '-y', '-i', out, '-map', '0:a', '-c', 'copy', mka]);
    const back = readMatroska(await readFile(mka));
    const blocks = back.blocks.filter((b) => b.track === back.tracks[0].number);
    expect(blocks).toHaveLength(audio.blocks.length);
    for (let i = 0; i < blocks.length; i++) {
      expect(Buffer.from(blocks[i].data).equals(Buffer.from(audio.blocks[i].data))).toBe(true);
    }
    expect(Buffer.from(back.tracks[0].codecPrivate!).equals(Buffer.from(audio.tracks[0].codecPrivate!))).toBe(true);
    // Independently of our reader: ffmpeg's per-packet hashes of source and result match.
    const source = audioPacketHashes(clip);
    expect(source.length).toBe(audio.blocks.length);
    expect(audioPacketHashes(out)).toEqual(source);
  });

  it('reads back what was written', async () => {
    const mkv = readMatroska(await readFile(out));
    expect(mkv.docType).toBe('matroska');
    expect(mkv.timestampScale).toBe(1_000_000);
    expect(mkv.duration).toBeGreaterThanOrEqual(1000);
    const [video, aud] = mkv.tracks;
    expect(video).toMatchObject({ number: 1, type: 1, codecId: NEUROCODEC_CODEC_ID, defaultDuration: 100_000_000, video: { width: 64, height: 48 } });
    expect(Buffer.from(video.codecPrivate!).equals(Buffer.from(header))).toBe(true);
    expect(aud).toMatchObject({ number: 2, type: 2, codecId: 'A_AAC' });
    const frames = mkv.blocks.filter((b) => b.track === 1);
    expect(frames.map((b) => b.timestamp)).toEqual([0, 100, 200, 300, 400, 500, 600, 700, 800, 900]);
    frames.forEach((b, i) => {
      expect(b.keyframe).toBe(true);
      expect(Buffer.from(b.data).equals(Buffer.from(pngs[i]))).toBe(true);
    });
    const audioBlocks = mkv.blocks.filter((b) => b.track === 2);
    expect(audioBlocks.map((b) => b.timestamp)).toEqual(audio.blocks.map((b) => b.timestamp));
    // One cluster per second of video here: one cue, at the first cluster.
    expect(mkv.cues.length).toBeGreaterThanOrEqual(1);
    expect(mkv.cues[0]).toMatchObject({ time: 0, track: 1 });
    const bytes = await readFile(out);
    const seg = bytes.indexOf(Buffer.from([0x18, 0x53, 0x80, 0x67])) + 12;
    for (const cue of mkv.cues) expect(bytes.readUInt32BE(seg + cue.clusterPosition)).toBe(0x1f43b675);
  });

  it('writes a Writable with an unknown-size Segment that ffprobe and our reader accept', async () => {
    const chunks: Buffer[] = [];
    const stream = new PassThrough();
    stream.on('data', (c: Buffer) => chunks.push(c));
    await writeNeurocodecMatroska(coded(), stream, { width: 64, height: 48, fps: { num: 10, den: 1 }, sequenceHeader: header, audio });
    const bytes = Buffer.concat(chunks);
    const mkv = readMatroska(bytes);
    expect(mkv.blocks.filter((b) => b.track === 1)).toHaveLength(10);
    expect(mkv.blocks.filter((b) => b.track === 2)).toHaveLength(audio.blocks.length);
    const path = join(dir, 'streamed.mkv');
    await writeFile(path, bytes);
    const info = ffprobeJson(path);
    expect(info.streams.map((s) => s.codec_type).sort()).toEqual(['audio', 'video']);
    expect(info.streams.find((s) => s.codec_type === 'video')!.nb_read_packets).toBe('10');
  });

  it('starts clusters at keyframes and indexes them', () => {
    const sink = new BufferSink();
    const frames: CodedFrame[] = Array.from({ length: 30 }, (_, i) => ({ data: new Uint8Array([i]), keyframe: i % 10 === 0 }));
    return writeNeurocodecMatroska(frames, sink, { width: 8, height: 8, fps: { num: 5, den: 1 }, sequenceHeader: header }).then(() => {
      const mkv = readMatroska(sink.bytes());
      expect(mkv.cues.map((c) => c.time)).toEqual([0, 2000, 4000]);
      expect(mkv.blocks.map((b) => b.keyframe)).toEqual(frames.map((f) => f.keyframe));
      expect(mkv.duration).toBe(6000);
    });
  });
});

describe('MatroskaWriter checks', () => {
  const track: MkvTrack = { number: 1, uid: 1n, type: 1, codecId: NEUROCODEC_CODEC_ID, video: { width: 2, height: 2 } };
  it('refuses blocks out of order, unknown tracks and bad track numbers', async () => {
    const w = new MatroskaWriter(new BufferSink(), { tracks: [track] });
    await w.addBlock({ track: 1, timestamp: 10, keyframe: true, data: new Uint8Array(1) });
    await expect(w.addBlock({ track: 1, timestamp: 5, keyframe: true, data: new Uint8Array(1) })).rejects.toThrow(InvalidOptionError);
    await expect(w.addBlock({ track: 2, timestamp: 20, keyframe: true, data: new Uint8Array(1) })).rejects.toThrow(InvalidOptionError);
    expect(() => new MatroskaWriter(new BufferSink(), { tracks: [{ ...track, number: 0 }] })).toThrow(InvalidOptionError);
  });
});

describe('readMatroska lacing', () => {
  /** A file with one SimpleBlock carrying `payload`, its flags set to `lacing`. */
  async function laced(lacing: number, payload: number[]): Promise<Uint8Array> {
    const sink = new BufferSink();
    const track: MkvTrack = { number: 1, uid: 1n, type: 2, codecId: 'A_TEST', audio: { samplingFrequency: 8000, channels: 1 } };
    const w = new MatroskaWriter(sink, { tracks: [track] });
    const data = new Uint8Array(payload);
    await w.addBlock({ track: 1, timestamp: 0, keyframe: true, data });
    await w.finish();
    const bytes = new Uint8Array(sink.bytes());
    const at = Buffer.from(bytes).indexOf(Buffer.from(data));
    bytes[at - 1] |= lacing << 1; // the flags byte sits just before the payload
    return bytes;
  }
  const text = (b: Uint8Array) => Buffer.from(b).toString('latin1');

  it('splits Xiph, EBML and fixed laces, and rejects bad ones', async () => {
    const xiph = readMatroska(await laced(1, [2, 3, 2, ...Buffer.from('aaabbc')]));
    expect(xiph.blocks.map((b) => text(b.data))).toEqual(['aaa', 'bb', 'c']);
    const ebml = readMatroska(await laced(3, [2, 0x83, 0x80 | 62, ...Buffer.from('aaabbc')]));
    expect(ebml.blocks.map((b) => text(b.data))).toEqual(['aaa', 'bb', 'c']);
    const fixed = readMatroska(await laced(2, [2, ...Buffer.from('aabbcc')]));
    expect(fixed.blocks.map((b) => text(b.data))).toEqual(['aa', 'bb', 'cc']);
    const uneven = await laced(2, [2, ...Buffer.from('aabbc')]);
    expect(() => readMatroska(uneven)).toThrow(BitstreamError);
    const tooLong = await laced(1, [1, 200, ...Buffer.from('ab')]);
    expect(() => readMatroska(tooLong)).toThrow(/lace sizes/);
  });
});

describe('readMatroska on hostile input', () => {
  let sample: Uint8Array;
  beforeAll(async () => {
    const sink = new BufferSink();
    const frames = Array.from({ length: 6 }, (_, i) => ({ data: new Uint8Array(20 + i).fill(i), keyframe: i % 3 === 0 }));
    const few: AudioCopy = { tracks: audio.tracks, blocks: audio.blocks.slice(0, 8) };
    await writeNeurocodecMatroska(frames, sink, { width: 4, height: 4, fps: { num: 10, den: 1 }, sequenceHeader: header, audio: few });
    sample = new Uint8Array(sink.bytes());
    expect(readMatroska(sample).blocks).toHaveLength(14);
  });

  it('enforces the named limits', () => {
    expect(() => readMatroska(sample, { limits: { maxBlocks: 3 } })).toThrow(LimitExceededError);
    expect(() => readMatroska(sample, { limits: { maxCodecPrivateBytes: 4 } })).toThrow(/maxCodecPrivateBytes/);
    expect(() => readMatroska(sample, { limits: { maxTracks: 1 } })).toThrow(LimitExceededError);
    expect(() => readMatroska(sample, { limits: { maxBlockBytes: 10 } })).toThrow(LimitExceededError);
    expect(() => readMatroska(sample, { limits: { maxBlocks: -1 } })).toThrow(InvalidOptionError);
  });

  it('rejects non-Matroska and other DocTypes', () => {
    expect(() => readMatroska(new Uint8Array(0))).toThrow(BitstreamError);
    expect(() => readMatroska(Buffer.from('RIFF....WAVE'))).toThrow(BitstreamError);
    const other = Buffer.from(sample);
    other.set(Buffer.from('matroskb'), other.indexOf('matroska'));
    expect(() => readMatroska(other)).toThrow(/DocType/);
  });

  it('survives 2,000 random, truncated and bit-flipped inputs with typed errors only', () => {
    let seed = 0x9e3779b9;
    const rand = () => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) / 2 ** 32;
    };
    const counts = { ok: 0, bitstream: 0, limit: 0 };
    const started = Date.now();
    for (let i = 0; i < 2000; i++) {
      let input: Uint8Array;
      const kind = i % 4;
      if (kind === 0) {
        input = new Uint8Array(Math.floor(rand() * 300));
        for (let j = 0; j < input.length; j++) input[j] = Math.floor(rand() * 256);
        // Half of them start with a valid EBML header, to get past the first check.
        if (i % 8 === 0) input = new Uint8Array(Buffer.concat([sample.subarray(0, 40), input]));
      } else if (kind === 1) {
        input = sample.subarray(0, Math.floor(rand() * sample.length));
      } else {
        input = new Uint8Array(sample);
        const flips = 1 + Math.floor(rand() * (kind === 2 ? 3 : 12));
        for (let f = 0; f < flips; f++) {
          const at = Math.floor(rand() * input.length);
          input[at] ^= 1 << Math.floor(rand() * 8);
        }
      }
      try {
        const mkv = readMatroska(input);
        for (const b of mkv.blocks) expect(b.data.byteOffset + b.data.length).toBeLessThanOrEqual(input.byteOffset + input.length);
        counts.ok++;
      } catch (err) {
        if (err instanceof LimitExceededError) counts.limit++;
        else if (err instanceof BitstreamError) counts.bitstream++;
        else throw new Error(`input ${i} (kind ${kind}) threw ${String(err)}`, { cause: err });
      }
    }
    expect(counts.ok + counts.bitstream + counts.limit).toBe(2000);
    expect(counts.bitstream).toBeGreaterThan(500);
    expect(counts.ok).toBeGreaterThan(50);
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});
