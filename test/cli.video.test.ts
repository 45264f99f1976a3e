/**
 * `codec encode|decode|info` on a video: a tiny generated clip (64x48, 10 frames at 10 fps,
 * 1 s of AAC) coded all-intra with the tiny codec, run in-process through runCli (the
 * binary is a thin wrapper of it) to keep the suite fast.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeCodecs } from '../src/api.js';
import { ANCHOR_PERIOD, DEFAULT_ANCHOR_BOOST, DEFAULT_INTRA_BOOST } from '../src/video/codec.js';
import { findFfmpeg, findFfprobe } from '../src/video/ffmpeg.js';
import { audioPacketHashes, makeTestClip, probeJson } from './helpers/video.js';
import { runCliInProcess } from './helpers/cli.js';

const TINY = fileURLToPath(new URL('./fixtures/tiny-codec', import.meta.url));
const ONE_ERROR_LINE = /^codec: error: [^\n]+\n$/;

let dir: string;
let clip: string;
let mkv: string;
let ffmpeg: string;
let ffprobe: string;

const cli = (args: string[], isTTY = false, input?: Uint8Array) => runCliInProcess(args, input, isTTY);

const probe = (path: string) => probeJson(ffprobe, path);

const audioHashes = (path: string) => audioPacketHashes(ffmpeg, path);

const leftovers = () => readdirSync(dir).filter((f) => f.endsWith('.tmp'));

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nc-cli-video-'));
  ffmpeg = await findFfmpeg();
  ffprobe = await findFfprobe();
  clip = join(dir, 'clip.mp4');
  makeTestClip(ffmpeg, clip);
  mkv = join(dir, 'clip.mkv');
});

afterAll(async () => {
  await closeCodecs();
  await rm(dir, { recursive: true, force: true });
});

describe('codec encode with a video input', () => {
  it('writes a Matroska file with video and audio, and a JSON summary', async () => {
    const r = await cli(['encode', clip, mkv, '--codec', TINY, '-q', '60', '--json']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const report = JSON.parse(r.stdout.toString('utf8'));
    expect(report).toMatchObject({ input: clip, output: mkv, width: 64, height: 48, fps: '10', frames: 10, quality: 60, audioTracks: 1 });
    expect(report.bytes).toBe(readFileSync(mkv).length);
    expect(report.bitrate).toBeGreaterThan(0);
    const info = probe(mkv);
    const v = info.streams.find((s) => s.codec_type === 'video')!;
    expect(v).toMatchObject({ width: 64, height: 48, nb_read_packets: '10', r_frame_rate: '10/1' });
    expect(info.streams.filter((s) => s.codec_type === 'audio')).toHaveLength(1);
    expect(Number(info.format.duration)).toBeGreaterThanOrEqual(0.99);
    expect(Number(info.format.duration)).toBeLessThan(1.1);
    expect(leftovers()).toEqual([]);
  });

  it('draws progress on a terminal and prints one summary line', async () => {
    const out = join(dir, 'tty.mkv');
    const r = await cli(['encode', clip, out, '--codec', TINY, '--max-frames', '3'], true);
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/\rframe 3\/3, [\d.]+ fps, [\d.]+ kbit\/s/);
    expect(r.stderr).toMatch(/-> .*tty\.mkv: 64x48 at 10 fps, 3 I-frames and 0 P-frames, quality 75, .* 1 audio track copied/);
    const quiet = await cli(['encode', clip, join(dir, 'quiet.mkv'), '--codec', TINY, '--max-frames', '2', '--quiet'], true);
    expect(quiet).toMatchObject({ status: 0, stderr: '' });
  });

  it('reads a video from standard input with --video and --fps', async () => {
    const y4m = execFileSync(ffmpeg, ['-v', 'error', '-i', clip, '-frames:v', '3', '-f', 'yuv4mpegpipe', '-']);
    const out = join(dir, 'stdin.mkv');
    const r = await cli(['encode', '--video', '--fps', '10', '-', out, '--codec', TINY, '--json'], false, y4m);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout.toString('utf8'))).toMatchObject({ frames: 3, width: 64, height: 48, fps: '10', audioTracks: 0 });
    expect(probe(out).streams).toHaveLength(1);
  });

  it('rejects a non-Matroska output and image-only options with exit 2', async () => {
    const a = await cli(['encode', clip, join(dir, 'x.ncdc'), '--codec', TINY]);
    expect(a.status).toBe(2);
    expect(a.stderr).toMatch(ONE_ERROR_LINE);
    const b = await cli(['encode', clip, join(dir, 'x.mkv'), '--target-bytes', '100', '--codec', TINY]);
    expect(b.status).toBe(2);
    expect(b.stderr).toMatch(/--target-bytes/);
    expect(existsSync(join(dir, 'x.mkv'))).toBe(false);
    for (const [flag, bad] of [['--intra-boost', '100'], ['--anchor-boost', '-3']]) {
      const c = await cli(['encode', clip, join(dir, 'x.mkv'), flag, bad, '--codec', TINY]);
      expect(c.status).toBe(2);
      expect(c.stderr).toContain(flag.slice(2));
      const d = await cli(['encode', join(dir, 'missing.png'), join(dir, 'x.ncdc'), flag, '8']);
      expect(d.status).toBe(2);
      expect(d.stderr).toContain(`${flag}' needs a video input`);
    }
    expect(existsSync(join(dir, 'x.mkv'))).toBe(false);
  });

  it('names the library defaults in its help', async () => {
    const help = await cli(['encode', '--help']);
    expect(help.stdout.toString().replace(/\s+/g, ' ')).toContain(`P-frames follow, 0..99 (default ${DEFAULT_INTRA_BOOST})`);
    expect(help.stdout.toString().replace(/\s+/g, ' ')).toContain(`every ${ANCHOR_PERIOD}th P-frame after an I-frame, 0..99 (default ${DEFAULT_ANCHOR_BOOST})`);
  });
});

describe('codec info and codec decode with a video', () => {
  it('lists the sequence header and the frames', async () => {
    const r = await cli(['info', mkv]);
    expect(r.status).toBe(0);
    const text = r.stdout.toString('utf8');
    expect(text).toMatch(/codec {7}tiny/);
    expect(text).toMatch(/video {7}64x48, 10 fps, 10 frames declared/);
    expect(text).toMatch(/coding {6}all-intra, quality 60/);
    expect(text).toMatch(/format {6}Matroska, neurocodec sequence version 1, frame format 0 \(image containers\)/);
    expect(text).toMatch(/audio {7}track 2 A_AAC/);
    const rows = text.split('\n').filter((l) => /^\s+\d+\s+\d+\s+I\s+key\s+\d+$/.test(l));
    expect(rows).toHaveLength(10);
    const json = JSON.parse((await cli(['info', '--json', mkv])).stdout.toString('utf8'));
    expect(json.frames).toHaveLength(10);
    expect(json.frames[9]).toMatchObject({ index: 9, timestamp: 900, type: 'I', keyframe: true });
    expect(json.sequenceHeader).toMatchObject({ codecId: 'tiny', width: 64, height: 48, frameCount: 10 });
  });

  it('decodes to .mp4 with the frame count, size, rate and audio of the input', async () => {
    const mp4 = join(dir, 'back.mp4');
    const r = await cli(['decode', mkv, mp4, '--codec', TINY, '--json']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout.toString('utf8'))).toMatchObject({ frames: 10, width: 64, height: 48, fps: '10', format: 'mp4', audioTracks: 1 });
    const src = probe(clip).streams.find((s) => s.codec_type === 'video')!;
    const back = probe(mp4).streams.find((s) => s.codec_type === 'video')!;
    for (const key of ['width', 'height', 'nb_read_packets', 'r_frame_rate'] as const) expect(back[key]).toBe(src[key]);
    expect(audioHashes(mp4)).toEqual(audioHashes(clip));
    expect(leftovers()).toEqual([]);
  });

  it('decodes to .y4m and to standard output as y4m', async () => {
    const y4m = join(dir, 'back.y4m');
    expect((await cli(['decode', mkv, y4m, '--codec', TINY, '--quiet'])).status).toBe(0);
    const file = readFileSync(y4m);
    const r = await cli(['decode', mkv, '-f', 'y4m', '-', '--codec', TINY]);
    expect(r.status).toBe(0);
    for (const bytes of [file, r.stdout]) {
      const head = bytes.subarray(0, bytes.indexOf(0x0a)).toString('latin1');
      expect(head).toMatch(/^YUV4MPEG2 W64 H48 F10:1 /);
      expect(bytes.toString('latin1').split('FRAME').length - 1).toBe(10);
    }
    expect(r.stdout.equals(file)).toBe(true);
    const v = probe(y4m).streams[0];
    expect(v).toMatchObject({ width: 64, height: 48, nb_read_packets: '10', r_frame_rate: '10/1' });
  });

  it('fails on a corrupt .mkv with one error line, exit 1 and no output file', async () => {
    const good = readFileSync(mkv);
    const cases: [string, Buffer][] = [
      ['truncated.mkv', good.subarray(0, Math.floor(good.length / 2))],
      ['flipped.mkv', Buffer.from(good.map((b, i) => (i > good.length / 2 && i % 97 === 0 ? b ^ 0xff : b)))],
      ['garbage.mkv', Buffer.concat([good.subarray(0, 4), Buffer.alloc(200, 0x7f)])],
    ];
    for (const [name, bytes] of cases) {
      const path = join(dir, name);
      writeFileSync(path, bytes);
      for (const out of ['bad.mp4', 'bad.y4m']) {
        const r = await cli(['decode', path, join(dir, out), '--codec', TINY]);
        expect(r.status, `${name} -> ${out}`).toBe(1);
        expect(r.stderr).toMatch(ONE_ERROR_LINE);
        expect(r.stderr).toMatch(/ERR_BITSTREAM|ERR_LIMIT_EXCEEDED/);
        expect(existsSync(join(dir, out))).toBe(false);
      }
      const info = await cli(['info', path]);
      expect(info.status).toBe(1);
      expect(info.stderr).toMatch(ONE_ERROR_LINE);
    }
    expect(leftovers()).toEqual([]);
  });
});
