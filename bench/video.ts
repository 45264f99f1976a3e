/**
 * Video benchmark on the clips in ../shared/data/video: for each clip, its first frames
 * (decoded to RGB by our ffmpeg reader) coded by our codec at several qualities and, side by
 * side in the same run, by x264 (preset medium) and x265 (preset medium) through ffmpeg at
 * several CRFs (yuv420p, BT.709 limited range both ways; their SEI units, which hold the
 * encoder's settings text, removed). Reported per clip and on average:
 * bits per pixel of the video stream, PSNR-RGB against the reference frames, encode and
 * decode frames per second (ours also measured on each clip resized to 854x480), and
 * BD-rates of ours against x264 and x265.
 *
 * "ours" uses I- and P-frames (the codec's default intra period) when the codec ships a
 * temporal prior; "ours all-intra" codes every frame as an I-frame with the same codec. The
 * BD-rate of the first against the second is the P-frames' saving at equal PSNR.
 *
 * Writes bench/results/video.json and video-rd.svg (video.quick.* with --quick).
 * Run: npm run build && npm run bench:video [-- --quick] [--frames N] [--clips a,b]
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { closeCodecs, getCodec } from '../src/api.js';
import type { LearnedImageCodec } from '../src/codec/image.js';
import type { Frame } from '../src/image/frame.js';
import { BufferSink, NEUROCODEC_CODEC_ID, readMatroska } from '../src/video/matroska.js';
import { DEFAULT_INTRA_PERIOD, DEFAULT_VIDEO_CODEC, encodeVideo } from '../src/video/codec.js';
import { findFfmpeg, probe, readFrames } from '../src/video/ffmpeg.js';
import { PFrameCoder, supportsPFrames } from '../src/video/pframe.js';
import { FrameFormat, readFramePayload, readSequenceHeader } from '../src/video/sequence.js';
import { packageRoot } from '../src/paths.js';
import { bdRate, type BdResult, type RdPoint } from './lib/bd.js';
import { psnr } from './lib/metrics.js';
import { formatTable, mean, writeResult } from './lib/stats.js';
import { renderFigure, type Series } from './lib/svg.js';

const OUR_QUALITIES = [1, 25, 50, 75, 100];
const QUICK_OUR_QUALITIES = [1, 50, 100];
const X264_CRF = [23, 28, 33, 38, 43];
const X265_CRF = [25, 30, 35, 40, 45];
const QUICK_CRF = { x264: [28, 38], x265: [30, 40] };
/** Quality of the 854x480 decode-speed run. */
const SPEED_QUALITY = 50;

interface Point {
  setting: number;
  bytes: number;
  bpp: number;
  psnr: number;
  encodeFps: number;
  decodeFps: number;
}

interface ClipRecord {
  clip: string;
  width: number;
  height: number;
  frames: number;
  fps: string;
  ours: Point[];
  intra: Point[];
  /** Frames coded as P-frames by "ours", per quality. */
  pFrames: number[];
  x264: Point[];
  x265: Point[];
  bd: Record<string, BdResult>;
  /** Our decode speed on the clip resized to 854x480 (I- and P-frames, as coded by default). */
  decode480?: { quality: number; frames: number; decodeFps: number };
}

const pct = (b: BdResult) => (b.percent === null ? `n/a (${b.reason})` : `${b.percent >= 0 ? '+' : ''}${b.percent.toFixed(1)}%`);
const rd = (ps: Point[]): RdPoint[] => ps.map((p) => ({ bpp: p.bpp, psnr: p.psnr }));

function meanPsnr(ref: Uint8Array[], dec: Uint8Array[], width: number, height: number): number {
  return mean(ref.map((r, i) => psnr({ data: r, width, height, channels: 3 }, { data: dec[i], width, height, channels: 3 })));
}

/** x264 / x265 through ffmpeg: raw RGB in, an elementary stream out, decoded back to RGB. */
function classical(ffmpeg: string, encoder: 'libx264' | 'libx265', crf: number, frames: Uint8Array[], width: number, height: number, fps: string, dir: string): { bytes: number; decoded: Uint8Array[]; encodeMs: number; decodeMs: number } {
  const out = join(dir, `${encoder}-${crf}.${encoder === 'libx264' ? 'h264' : 'hevc'}`);
  const input = Buffer.concat(frames);
  const colour = ['-color_primaries', 'bt709', '-color_trc', 'bt709', '-colorspace', 'bt709', '-color_range', 'tv'];
  const t0 = performance.now();
  const enc = spawnSync(
    ffmpeg,
    [
      '-hide_banner', '-v', 'error', '-y',
      '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${width}x${height}`, '-r', fps, '-i', 'pipe:0',
      '-vf', 'scale=out_color_matrix=bt709:out_range=tv:flags=bicubic+accurate_rnd+full_chroma_int,format=yuv420p',
      '-c:v', encoder, '-preset', 'medium', '-crf', String(crf), ...colour,
      ...(encoder === 'libx265' ? ['-x265-params', 'log-level=error:info=0'] : []),
      // the encoders' settings text (SEI) is not picture data: counted for neither side
      '-bsf:v', encoder === 'libx264' ? 'filter_units=remove_types=6' : 'filter_units=remove_types=39|40',
      out,
    ],
    { input, maxBuffer: 1 << 20 },
  );
  const encodeMs = performance.now() - t0;
  if (enc.status !== 0) throw new Error(`${encoder} failed: ${enc.stderr.toString().slice(-500)}`);
  const t1 = performance.now();
  const dec = spawnSync(
    ffmpeg,
    // -vsync 0: an elementary stream has no timestamps; pass frames through, one for one
    ['-hide_banner', '-v', 'error', '-i', out, '-vsync', '0', '-vf', 'scale=in_color_matrix=bt709:in_range=tv:flags=bicubic+accurate_rnd+full_chroma_int,format=rgb24', '-f', 'rawvideo', 'pipe:1'],
    { maxBuffer: input.length + (1 << 20) },
  );
  const decodeMs = performance.now() - t1;
  if (dec.status !== 0) throw new Error(`${encoder} decode failed: ${dec.stderr.toString().slice(-500)}`);
  const size = width * height * 3;
  const decoded = frames.map((_, i) => new Uint8Array(dec.stdout.buffer, dec.stdout.byteOffset + i * size, size));
  if (dec.stdout.length !== size * frames.length) throw new Error(`${encoder} gave ${dec.stdout.length / size} frames, expected ${frames.length}`);
  return { bytes: statSync(out).size, decoded, encodeMs, decodeMs };
}

/** Decodes every frame of our Matroska bytes to RGB, I- and P-frames alike. */
async function decodeFrames(bytes: Uint8Array, codec: LearnedImageCodec): Promise<Uint8Array[]> {
  const mkv = readMatroska(bytes);
  const seq = readSequenceHeader(mkv.tracks.find((t) => t.codecId === NEUROCODEC_CODEC_ID)?.codecPrivate ?? new Uint8Array(0));
  const p = supportsPFrames(codec) ? new PFrameCoder(codec, { layout: seq.frameFormat === FrameFormat.COMPACT_P ? 'compact' : 'container' }) : undefined;
  const out: Uint8Array[] = [];
  let ref: Frame | undefined;
  for (const [i, b] of mkv.blocks.entries()) {
    const { type, data } = readFramePayload(b.data, i);
    ref = type === 'P' ? await p!.decode(data, ref!) : (await codec.decode(data)).frame;
    out.push(ref.data);
  }
  return out;
}

async function main() {
  const root = packageRoot();
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      frames: { type: 'string' },
      clips: { type: 'string' },
      data: { type: 'string', default: join(root, '..', 'shared', 'data', 'video') },
      codec: { type: 'string', default: DEFAULT_VIDEO_CODEC },
    },
  });
  const quick = values.quick ?? false;
  const maxFrames = values.frames ? Number(values.frames) : quick ? 6 : 16;
  const ours = quick ? QUICK_OUR_QUALITIES : OUR_QUALITIES;
  const crfs = quick ? QUICK_CRF : { x264: X264_CRF, x265: X265_CRF };
  let clips = readdirSync(values.data).filter((f) => /\.(mp4|webm|mkv|mov|y4m)$/i.test(f)).sort();
  if (values.clips) clips = clips.filter((c) => values.clips!.split(',').some((k) => c.includes(k)));
  if (quick && !values.clips) clips = clips.slice(0, 2);
  if (clips.length === 0) throw new Error(`no clips in ${values.data}`);
  const ffmpeg = await findFfmpeg();
  const codec = await getCodec(values.codec!);
  const pCapable = supportsPFrames(codec);
  const dir = mkdtempSync(join(tmpdir(), 'nc-bench-video-'));
  const records: ClipRecord[] = [];
  const started = Date.now();
  try {
    for (const clip of clips) {
      const path = join(values.data, clip);
      const info = await probe(path);
      const v = info.video[0];
      const fps = `${v.fps.num}/${v.fps.den}`;
      const ref: Uint8Array[] = [];
      for await (const f of readFrames(path, { maxFrames })) ref.push(f.data);
      const { width, height } = v;
      const pixels = width * height * ref.length;
      const rec: ClipRecord = { clip, width, height, frames: ref.length, fps, ours: [], intra: [], pFrames: [], x264: [], x265: [], bd: {} };
      const variants = pCapable ? (['ours', 'intra'] as const) : (['intra'] as const);
      for (const variant of variants) {
        for (const q of ours) {
          const sink = new BufferSink();
          const t0 = performance.now();
          const res = await encodeVideo(path, sink, { quality: q, maxFrames, codec: values.codec, audio: false, ...(variant === 'intra' ? { intraPeriod: 1 } : {}) });
          const encodeMs = performance.now() - t0;
          const t1 = performance.now();
          const dec = await decodeFrames(sink.bytes(), codec);
          const decodeMs = performance.now() - t1;
          rec[variant].push({ setting: q, bytes: res.videoBytes, bpp: (res.videoBytes * 8) / pixels, psnr: meanPsnr(ref, dec, width, height), encodeFps: (ref.length * 1000) / encodeMs, decodeFps: (ref.length * 1000) / decodeMs });
          if (variant === 'ours') rec.pFrames.push(res.pFrames);
        }
      }
      if (!pCapable) rec.ours = rec.intra;
      for (const [name, encoder] of [['x264', 'libx264'], ['x265', 'libx265']] as const) {
        for (const crf of crfs[name]) {
          const r = classical(ffmpeg, encoder, crf, ref, width, height, fps, dir);
          rec[name].push({ setting: crf, bytes: r.bytes, bpp: (r.bytes * 8) / pixels, psnr: meanPsnr(ref, r.decoded, width, height), encodeFps: (ref.length * 1000) / r.encodeMs, decodeFps: (ref.length * 1000) / r.decodeMs });
        }
      }
      // decode speed at 480p measured, not scaled: the clip resized to 854x480 by ffmpeg
      const small = join(dir, 'scaled-480p.y4m');
      const sc = spawnSync(ffmpeg, ['-hide_banner', '-v', 'error', '-y', '-i', path, '-frames:v', String(maxFrames), '-vf', 'scale=854:480:flags=bicubic', '-pix_fmt', 'yuv420p', '-an', small]);
      if (sc.status !== 0) throw new Error(`ffmpeg could not scale ${clip} to 854x480: ${sc.stderr.toString().slice(-500)}`);
      const sink480 = new BufferSink();
      await encodeVideo(small, sink480, { quality: SPEED_QUALITY, maxFrames, codec: values.codec, audio: false });
      const t480 = performance.now();
      const frames480 = (await decodeFrames(sink480.bytes(), codec)).length;
      rec.decode480 = { quality: SPEED_QUALITY, frames: frames480, decodeFps: (frames480 * 1000) / (performance.now() - t480) };
      rmSync(small, { force: true });
      rec.bd.ours_vs_x264 = bdRate(rd(rec.x264), rd(rec.ours));
      rec.bd.ours_vs_x265 = bdRate(rd(rec.x265), rd(rec.ours));
      rec.bd.ours_vs_all_intra = bdRate(rd(rec.intra), rd(rec.ours));
      rec.bd.all_intra_vs_x264 = bdRate(rd(rec.x264), rd(rec.intra));
      records.push(rec);
      console.log(`${clip}: ${width}x${height}, ${ref.length} frames; ours vs x264 ${pct(rec.bd.ours_vs_x264)}, vs x265 ${pct(rec.bd.ours_vs_x265)}, vs all-intra ${pct(rec.bd.ours_vs_all_intra)} [${((Date.now() - started) / 1000).toFixed(0)} s]`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await closeCodecs();
  }

  for (const r of records) {
    console.log(`\n${r.clip} (${r.width}x${r.height}, ${r.frames} frames at ${r.fps})`);
    const kinds = pCapable ? (['ours', 'intra', 'x264', 'x265'] as const) : (['intra', 'x264', 'x265'] as const);
    const rows = kinds.flatMap((k) =>
      r[k].map((p) => [k === 'ours' ? `ours q${p.setting}` : k === 'intra' ? `all-intra q${p.setting}` : `${k} crf ${p.setting}`, p.bpp.toFixed(4), p.psnr.toFixed(2), p.encodeFps.toFixed(2), p.decodeFps.toFixed(2)]),
    );
    console.log(formatTable(['codec', 'bpp', 'PSNR-RGB', 'enc fps', 'dec fps'], rows));
  }
  const meanBd = (key: string) => {
    const v = records.map((r) => r.bd[key]).filter((b) => b.percent !== null).map((b) => b.percent as number);
    return v.length ? mean(v) : null;
  };
  const fps480 = records.map((r) => ({ clip: r.clip, decodeFps: mean(r.ours.map((p) => p.decodeFps)), at854x480: r.decode480?.decodeFps ?? null, scaledTo854x480: (mean(r.ours.map((p) => p.decodeFps)) * r.width * r.height) / (854 * 480) }));
  console.log(`\nMean BD-rate of ours over clips: vs x264 ${meanBd('ours_vs_x264')?.toFixed(1) ?? 'n/a'}%, vs x265 ${meanBd('ours_vs_x265')?.toFixed(1) ?? 'n/a'}%, vs ours all-intra ${meanBd('ours_vs_all_intra')?.toFixed(1) ?? 'n/a'}%`);
  console.log(`Our decode speed at 854x480 (each clip resized, quality ${SPEED_QUALITY}, I- and P-frames): ` + fps480.map((f) => `${f.clip.split('_')[0]} ${f.at854x480?.toFixed(2) ?? 'n/a'} fps`).join(', '));

  const suffix = quick ? '.quick' : values.frames || values.clips ? '.custom' : '';
  const outDir = join(root, 'bench', 'results');
  mkdirSync(outDir, { recursive: true });
  const result = {
    date: new Date().toISOString(),
    command: `npm run bench:video${quick ? ' -- --quick' : ''}`,
    codec: { id: codec.id, modelHash: codec.bundle.manifest.modelHash, training: codec.bundle.manifest.training },
    pFrames: pCapable,
    intraPeriod: pCapable ? DEFAULT_INTRA_PERIOD : 1,
    framesPerClip: maxFrames,
    settings: { ours: ours, x264: { preset: 'medium', crf: crfs.x264, pixFmt: 'yuv420p', matrix: 'bt709 limited' }, x265: { preset: 'medium', crf: crfs.x265, pixFmt: 'yuv420p', matrix: 'bt709 limited' } },
    meanBdRate: { ours_vs_x264: meanBd('ours_vs_x264'), ours_vs_x265: meanBd('ours_vs_x265'), ours_vs_all_intra: meanBd('ours_vs_all_intra'), all_intra_vs_x264: meanBd('all_intra_vs_x264') },
    decodeFps: fps480,
    clips: records,
    seconds: Math.round((Date.now() - started) / 1000),
  };
  const write = writeResult;
  write(join(outDir, `video${suffix}.json`), JSON.stringify(result, null, 1) + '\n');
  const colours = { ours: '#d62728', intra: '#ff9896', x264: '#2ca02c', x265: '#9467bd' } as const;
  const label = { ours: `ours (${codec.id}, I+P)`, intra: `ours all-intra`, x264: 'x264 medium', x265: 'x265 medium' };
  const panels = records.map((r) => {
    const series: Series[] = (pCapable ? (['ours', 'intra', 'x264', 'x265'] as const) : (['intra', 'x264', 'x265'] as const)).map((k) => ({ label: label[k], colour: colours[k], points: r[k].map((p) => ({ x: p.bpp, y: p.psnr })) }));
    const xs = series.flatMap((s) => s.points.map((p) => p.x));
    const ys = series.flatMap((s) => s.points.map((p) => p.y));
    return { title: `${r.clip.split('_')[0]} ${r.width}x${r.height}, ${r.frames} frames`, xLabel: 'bits per pixel', yLabel: 'PSNR-RGB dB', x: [0, Math.max(...xs) * 1.05] as [number, number], y: [Math.floor(Math.min(...ys)) - 1, Math.ceil(Math.max(...ys)) + 1] as [number, number], series };
  });
  write(join(outDir, `video-rd${suffix}.svg`), renderFigure({ title: `Video: ours against x264 and x265 (first ${maxFrames} frames of each clip)`, subtitle: `${result.date.slice(0, 10)}; all measured in this run`, panels }));
  console.log(`\nwrote bench/results/video${suffix}.json and video-rd${suffix}.svg (${result.seconds} s)`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
