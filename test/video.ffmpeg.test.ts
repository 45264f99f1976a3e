import { execFileSync } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AbortError, InputError, OutputError } from '../src/errors.js';
import {
  ProcessExitError,
  ffmpegEncoders,
  findFfmpeg,
  findFfprobe,
  mp4VideoEncoder,
  probe,
  readFrames,
  resetToolPaths,
  writeFrames,
  type RgbFrame,
} from '../src/video/ffmpeg.js';
import { TailBuffer } from '../src/video/process.js';

let dir: string;
let clip: string;
let clipMkv: string;
let ffmpeg: string;

async function collect(iter: AsyncIterable<RgbFrame>): Promise<RgbFrame[]> {
  const out: RgbFrame[] = [];
  for await (const f of iter) out.push(f);
  return out;
}

function psnr(a: Uint8Array, b: Uint8Array): number {
  let se = 0;
  for (let i = 0; i < a.length; i++) se += (a[i] - b[i]) ** 2;
  return se === 0 ? Infinity : 10 * Math.log10((255 * 255 * a.length) / se);
}

/** ffmpeg processes that are children of this test process. */
function ffmpegChildren(): number {
  try {
    const out = execFileSync('ps', ['-o', 'comm=', '--ppid', String(process.pid)], { encoding: 'utf8' });
    return out.split('\n').filter((l) => l.trim() === 'ffmpeg' || l.trim() === 'ffprobe').length;
  } catch {
    return 0; // ps exits 1 when there are no children
  }
}

async function waitNoChildren(): Promise<number> {
  for (let i = 0; i < 50 && ffmpegChildren() > 0; i++) await new Promise((r) => setTimeout(r, 20));
  return ffmpegChildren();
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nc-ffmpeg-'));
  ffmpeg = await findFfmpeg();
  clip = join(dir, 'clip.mp4');
  clipMkv = join(dir, 'clip.mkv');
  const src = ['-f', 'lavfi', '-i', 'testsrc=size=64x48:rate=10', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100', '-t', '1'];
  execFileSync(ffmpeg, ['-v', 'error', '-y', ...src, '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest', clip]);
  execFileSync(ffmpeg, ['-v', 'error', '-y', '-i', clip, '-c', 'copy', clipMkv]);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('finding the tools', () => {
  it('finds runnable ffmpeg and ffprobe, and lists the encoders once', async () => {
    expect(execFileSync(await findFfmpeg(), ['-version'], { encoding: 'utf8' })).toMatch(/^ffmpeg version/);
    expect(execFileSync(await findFfprobe(), ['-version'], { encoding: 'utf8' })).toMatch(/^ffprobe version/);
    const encoders = await ffmpegEncoders();
    expect(encoders.has('rawvideo')).toBe(true);
    expect(await mp4VideoEncoder()).toBe(encoders.has('libx264') ? 'libx264' : 'mpeg4');
  });

  it('honours FFMPEG_PATH and rejects a path that is not executable', async () => {
    const saved = process.env.FFMPEG_PATH;
    try {
      process.env.FFMPEG_PATH = join(dir, 'no-such-ffmpeg');
      resetToolPaths();
      await expect(findFfmpeg()).rejects.toThrow(InputError);
      await expect(findFfmpeg()).rejects.toThrow(/FFMPEG_PATH/);
      process.env.FFMPEG_PATH = ffmpeg;
      resetToolPaths();
      expect(await findFfmpeg()).toBe(ffmpeg);
    } finally {
      if (saved === undefined) delete process.env.FFMPEG_PATH;
      else process.env.FFMPEG_PATH = saved;
      resetToolPaths();
    }
  });

  it('gives the shipped binary its execute bit when the install left it without', async () => {
    if (process.env.FFPROBE_PATH || process.getuid?.() !== 0) return;
    const bin = await findFfprobe();
    const { mode } = await stat(bin);
    try {
      await chmod(bin, mode & ~0o111);
      resetToolPaths();
      expect(await findFfprobe()).toBe(bin);
      expect((await stat(bin)).mode & 0o100).toBe(0o100);
    } finally {
      await chmod(bin, mode);
      resetToolPaths();
    }
  });
});

describe('probe', () => {
  it('reports the video and audio streams of a file', async () => {
    const info = await probe(clip);
    expect(info.format).toContain('mp4');
    expect(info.video).toHaveLength(1);
    const [v] = info.video;
    expect(v).toMatchObject({ width: 64, height: 48, fps: { num: 10, den: 1 }, frames: 10, framesFrom: 'container', pixFmt: 'yuv420p' });
    expect(v.duration).toBeCloseTo(1, 1);
    expect(info.audio).toHaveLength(1);
    expect(info.audio[0]).toMatchObject({ codec: 'aac', sampleRate: 44100, channels: 1 });
  });

  it('counts frames when asked, and probes a stream', async () => {
    const counted = await probe(clipMkv, { countFrames: true });
    expect(counted.video[0]).toMatchObject({ frames: 10, framesFrom: 'counted' });
    const piped = await probe(createReadStream(clipMkv));
    expect(piped.video[0]).toMatchObject({ width: 64, height: 48, fps: { num: 10, den: 1 } });
  });

  it('fails on a missing file with InputError carrying the stderr tail and exit code', async () => {
    const missing = join(dir, 'missing.mp4');
    const err = await probe(missing).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toMatch(/No such file or directory/);
    const cause = (err as Error).cause as ProcessExitError;
    expect(cause).toBeInstanceOf(ProcessExitError);
    expect(cause.exitCode).not.toBe(0);
    expect(cause.stderrTail).toContain('missing.mp4');
  });
});

describe('readFrames', () => {
  let frames: RgbFrame[];
  beforeAll(async () => {
    frames = await collect(readFrames(clip));
  });

  it('decodes every frame of a file to RGB24', () => {
    expect(frames).toHaveLength(10);
    for (const [i, f] of frames.entries()) {
      expect(f).toMatchObject({ width: 64, height: 48, channels: 3, index: i });
      expect(f.data.length).toBe(64 * 48 * 3);
    }
    // testsrc moves: consecutive frames differ, and the picture is not flat.
    expect(psnr(frames[0].data, frames[1].data)).toBeLessThan(40);
    expect(new Set(frames[0].data).size).toBeGreaterThan(20);
  });

  it('stops after maxFrames', async () => {
    expect(await collect(readFrames(clip, { maxFrames: 3 }))).toHaveLength(3);
  });

  it('reads a piped stream, with and without a given size, to the same pixels', async () => {
    const fromFile = await collect(readFrames(clipMkv));
    const raw = await collect(readFrames(createReadStream(clipMkv), { width: 64, height: 48, colorMatrix: 'bt601', colorRange: 'tv' }));
    const ppm = await collect(readFrames(createReadStream(clipMkv), { colorMatrix: 'bt601', colorRange: 'tv' }));
    expect(raw).toHaveLength(10);
    expect(ppm).toHaveLength(10);
    for (let i = 0; i < 10; i++) {
      expect(Buffer.from(raw[i].data).equals(Buffer.from(fromFile[i].data))).toBe(true);
      expect(Buffer.from(ppm[i].data).equals(Buffer.from(fromFile[i].data))).toBe(true);
      expect(Buffer.from(fromFile[i].data).equals(Buffer.from(frames[i].data))).toBe(true);
    }
  });

  it('kills ffmpeg when the consumer stops early', async () => {
    for await (const f of readFrames(clip)) {
      expect(f.index).toBe(0);
      break;
    }
    expect(await waitNoChildren()).toBe(0);
  });

  it('rejects with AbortError and kills ffmpeg when the signal fires', async () => {
    const input = new PassThrough(); // never ends: ffmpeg waits on its stdin
    const ac = new AbortController();
    const started = Date.now();
    const pending = collect(readFrames(input, { width: 64, height: 48, signal: ac.signal }));
    setTimeout(() => ac.abort(), 200);
    await expect(pending).rejects.toThrow(AbortError);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(await waitNoChildren()).toBe(0);
    await expect(collect(readFrames(clip, { signal: AbortSignal.abort() }))).rejects.toThrow(AbortError);
  });

  it('kills ffmpeg when the input stream errors', async () => {
    const input = new PassThrough();
    const pending = collect(readFrames(input, { width: 64, height: 48 }));
    setTimeout(() => input.destroy(new Error('disk on fire')), 100);
    await expect(pending).rejects.toThrow(/disk on fire/);
    expect(await waitNoChildren()).toBe(0);
  });

  it('fails on a corrupt file with InputError and the stderr tail', async () => {
    const bad = join(dir, 'bad.mkv');
    const bytes = await readFile(clipMkv);
    await import('node:fs/promises').then((fs) => fs.writeFile(bad, bytes.subarray(0, 40)));
    const err = await collect(readFrames(bad)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect(((err as Error).cause as ProcessExitError).stderrTail.length).toBeGreaterThan(0);
    expect(((err as Error).cause as ProcessExitError).stderrTail.length).toBeLessThanOrEqual(4096);
  });
});

describe('writeFrames', () => {
  let frames: RgbFrame[];
  beforeAll(async () => {
    frames = await collect(readFrames(clip));
  });

  it('writes .mp4 with the copied audio, and .y4m, with the right frames, size and rate', async () => {
    const mp4 = join(dir, 'out.mp4');
    const res = await writeFrames(frames, mp4, { fps: 10, width: 64, height: 48, audioFrom: clip });
    expect(res).toEqual({ frames: 10, encoder: await mp4VideoEncoder() });
    const info = await probe(mp4);
    expect(info.video[0]).toMatchObject({ width: 64, height: 48, fps: { num: 10, den: 1 }, frames: 10 });
    expect(info.audio).toHaveLength(1);
    expect(info.audio[0].codec).toBe('aac');
    const back = await collect(readFrames(mp4));
    expect(back).toHaveLength(10);
    expect(psnr(back[5].data, frames[5].data)).toBeGreaterThan(25);

    const y4m = join(dir, 'out.y4m');
    await writeFrames(frames, y4m, { fps: { num: 10, den: 1 }, width: 64, height: 48 });
    const yinfo = await probe(y4m, { countFrames: true });
    expect(yinfo.video[0]).toMatchObject({ width: 64, height: 48, fps: { num: 10, den: 1 }, frames: 10 });
    const yback = await collect(readFrames(y4m));
    expect(psnr(yback[3].data, frames[3].data)).toBeGreaterThan(38);
  });

  it('writes to a Writable', async () => {
    const chunks: Buffer[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        chunks.push(chunk);
        cb();
      },
    });
    async function* gen() {
      yield* frames.slice(0, 4);
    }
    await writeFrames(gen(), sink, { fps: 10, width: 64, height: 48 });
    const bytes = Buffer.concat(chunks);
    expect(bytes.subarray(0, 10).toString('latin1')).toBe('YUV4MPEG2 ');
    expect(bytes.toString('latin1').split('FRAME').length - 1).toBe(4);
  });

  it('rejects frames of the wrong size', async () => {
    await expect(writeFrames([new Uint8Array(10)], join(dir, 'x.y4m'), { fps: 10, width: 64, height: 48 })).rejects.toThrow(
      /9216 bytes of RGB24/,
    );
    expect(await waitNoChildren()).toBe(0);
  });

  it('aborts an endless write and kills ffmpeg', async () => {
    const ac = new AbortController();
    let n = 0;
    async function* endless() {
      for (;;) {
        if (n++ === 5) setTimeout(() => ac.abort(), 0);
        yield frames[n % 10];
        await new Promise((r) => setImmediate(r));
      }
    }
    await expect(writeFrames(endless(), join(dir, 'endless.y4m'), { fps: 10, width: 64, height: 48, signal: ac.signal })).rejects.toThrow(
      AbortError,
    );
    expect(await waitNoChildren()).toBe(0);
  });

  it('kills ffmpeg when the output stream errors', async () => {
    const sink = new Writable({
      write(_chunk, _enc, cb) {
        cb(new Error('pipe burst'));
      },
    });
    async function* endless() {
      for (let i = 0; ; i++) {
        yield frames[i % 10];
        await new Promise((r) => setImmediate(r));
      }
    }
    const err = await writeFrames(endless(), sink, { fps: 10, width: 64, height: 48 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OutputError);
    expect((err as Error).message).toMatch(/pipe burst/);
    expect(await waitNoChildren()).toBe(0);
  });

  it('reports an ffmpeg failure as OutputError with the stderr tail', async () => {
    const err = await writeFrames(frames, join(dir, 'a.mkv'), {
      fps: 10,
      width: 64,
      height: 48,
      audioFrom: join(dir, 'missing-audio.mp4'),
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OutputError);
    expect((err as Error).message).toMatch(/missing-audio\.mp4/);
  });
});

describe('TailBuffer', () => {
  it('keeps only the last bytes', () => {
    const tail = new TailBuffer(16);
    for (let i = 0; i < 100; i++) tail.push(Buffer.from(`line ${i}\n`));
    const text = tail.text();
    expect(text.length).toBeLessThanOrEqual(16);
    expect(text.endsWith('line 99')).toBe(true);
    tail.push(Buffer.alloc(100, 'x'));
    expect(tail.text()).toBe('x'.repeat(16));
  });
});
