/**
 * Tuning of the video encoder's settings on sequences made from training photos (never on
 * the evaluation clips): each photo becomes a clip with synthetic camera motion (a slow pan;
 * a zoom with a slight rotation; a still camera; a faster pan with a brightness drift), all
 * with sensor noise, and is coded as one group of pictures (an I-frame, then P-frames) at
 * several qualities for every combination of the settings tried:
 *
 * - `--motion-scale`: the motion search's Lagrangian per unit of sqrt(3 / lambda);
 * - `--intra-boost`: the quality added to the I-frame;
 * - `--skip-scale`: a factor on the skip decision's Lagrangian;
 * - `--anchor-boost`: the quality added to every ANCHOR_PERIOD-th P-frame.
 *
 * Prints and writes bench/results/video-tune.json (or `--out NAME` for NAME.json): bits per
 * pixel and PSNR-RGB per setting and quality (and per sequence, with the P-frames' bits per pixel
 * alone), and the BD-rate of each setting against the first.
 *
 * Run: npm run build && npm run bench:video-tune [-- --motion-scale 0.5,1,2 --intra-boost 0,16,32 --skip-scale 1 --anchor-boost 0,24]
 *   [--photos 4] [--frames 32] [--size 448x256] [--qualities 10,30,50,70,90] [--data DIR] [--out NAME]
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { closeCodecs, getCodec } from '../src/api.js';
import type { Frame } from '../src/image/frame.js';
import { ANCHOR_PERIOD, DEFAULT_ANCHOR_BOOST, DEFAULT_INTRA_BOOST, DEFAULT_VIDEO_CODEC } from '../src/video/codec.js';
import { MOTION_SCALE, PFrameCoder, SKIP_SCALE } from '../src/video/pframe.js';
import { packageRoot } from '../src/paths.js';
import { bdRate, type RdPoint } from './lib/bd.js';
import { psnr } from './lib/metrics.js';
import { formatTable, writeResult } from './lib/stats.js';

interface Motion {
  name: string;
  /** pan, pixels per frame */
  vx: number;
  vy: number;
  /** zoom per frame (scale 1 + zoom * t) and rotation per frame, radians */
  zoom: number;
  rotate: number;
  /** brightness gain per frame */
  drift: number;
  /** sensor noise, standard deviation in 8-bit levels */
  noise: number;
  /** camera shake: a random offset of up to this many pixels, new every frame */
  shake?: number;
  /**
   * A foreground object: an ellipse of the photo's texture (taken from elsewhere in it)
   * moving over the background with its own velocity (pixels per frame) and spin (radians
   * per frame), with a soft edge.
   */
  object?: { vx: number; vy: number; spin: number };
}

const MOTIONS: readonly Motion[] = [
  { name: 'pan', vx: 1.3, vy: 0.4, zoom: 0, rotate: 0, drift: 0, noise: 1 },
  { name: 'zoom', vx: 0, vy: 0, zoom: 0.006, rotate: 0.0017, drift: 0, noise: 1 },
  { name: 'still', vx: 0, vy: 0, zoom: 0, rotate: 0, drift: 0, noise: 1.5 },
  { name: 'fast pan', vx: -2.7, vy: 1.1, zoom: 0, rotate: 0, drift: 0.003, noise: 1 },
  { name: 'object', vx: 0.6, vy: 0, zoom: 0, rotate: 0, drift: 0, noise: 1, object: { vx: 3.1, vy: -1.2, spin: 0.02 } },
  { name: 'shake', vx: 0.4, vy: 0.2, zoom: 0, rotate: 0, drift: 0, noise: 1.5, shake: 2.5 },
];

/** A deterministic generator (LCG) and Gaussian noise from it. */
function noiseSource(seed: number): () => number {
  let s = seed >>> 0;
  const u = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) + 0.5) / 2 ** 32;
  return () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
}

/** Frames of a photo seen by a moving camera (bilinear sampling, edges clamped). */
async function makeSequence(path: string, motion: Motion, width: number, height: number, frames: number, seed: number): Promise<Frame[]> {
  const { data, info } = await sharp(path)
    .resize({ width: Math.round(width * 1.6), height: Math.round(height * 1.9), fit: 'outside' })
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  const sw = info.width;
  const sh = info.height;
  const gauss = noiseSource(seed);
  const jitter = noiseSource(seed + 7919);
  // bilinear sample of the photo, edges clamped
  const sample = (u: number, v: number, k: number) => {
    const x0 = Math.max(0, Math.min(sw - 2, Math.floor(u)));
    const y0 = Math.max(0, Math.min(sh - 2, Math.floor(v)));
    const fx = Math.min(1, Math.max(0, u - x0));
    const fy = Math.min(1, Math.max(0, v - y0));
    const a = data[(y0 * sw + x0) * 3 + k];
    const b = data[(y0 * sw + x0 + 1) * 3 + k];
    const c = data[((y0 + 1) * sw + x0) * 3 + k];
    const d = data[((y0 + 1) * sw + x0 + 1) * 3 + k];
    return (a * (1 - fx) + b * fx) * (1 - fy) + (c * (1 - fx) + d * fx) * fy;
  };
  const rx = width * 0.17;
  const ry = height * 0.22;
  const out: Frame[] = [];
  for (let t = 0; t < frames; t++) {
    const scale = 1 / (1 + motion.zoom * t);
    const cos = Math.cos(motion.rotate * t) * scale;
    const sin = Math.sin(motion.rotate * t) * scale;
    const gain = 1 + motion.drift * t;
    const shake = motion.shake ?? 0;
    const sx = shake * Math.max(-1, Math.min(1, jitter() / 2));
    const sy = shake * Math.max(-1, Math.min(1, jitter() / 2));
    // start so that the pan stays inside the photo
    const ox = sw / 2 + motion.vx * (t - frames / 2) + sx;
    const oy = sh / 2 + motion.vy * (t - frames / 2) + sy;
    const obj = motion.object;
    // the object's centre in the frame, and its texture's centre in the photo (a quarter away)
    const cx = width * 0.3 + (obj?.vx ?? 0) * t;
    const cy = height * 0.6 + (obj?.vy ?? 0) * t;
    const ocos = Math.cos((obj?.spin ?? 0) * t);
    const osin = Math.sin((obj?.spin ?? 0) * t);
    const rgb = new Uint8Array(width * height * 3);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const u = ox + (x - width / 2) * cos - (y - height / 2) * sin;
        const v = oy + (x - width / 2) * sin + (y - height / 2) * cos;
        // soft-edged ellipse: alpha 1 inside, 0 outside, over about 1.5 pixels
        let alpha = 0;
        let ou = 0;
        let ov = 0;
        if (obj) {
          const dx = x - cx;
          const dy = y - cy;
          const r = Math.hypot(dx / rx, dy / ry);
          alpha = Math.max(0, Math.min(1, ((1 - r) * Math.min(rx, ry)) / 1.5 + 0.5));
          ou = sw * 0.75 + dx * ocos - dy * osin;
          ov = sh * 0.25 + dx * osin + dy * ocos;
        }
        for (let k = 0; k < 3; k++) {
          let base = sample(u, v, k);
          if (alpha > 0) base = base * (1 - alpha) + sample(ou, ov, k) * alpha;
          const value = base * gain + gauss() * motion.noise;
          rgb[(y * width + x) * 3 + k] = Math.max(0, Math.min(255, Math.round(value)));
        }
      }
    }
    out.push({ data: rgb, width, height, channels: 3 });
  }
  return out;
}

const list = (s: string) => s.split(',').map(Number);

async function main() {
  const root = packageRoot();
  const { values } = parseArgs({
    options: {
      'motion-scale': { type: 'string', default: String(MOTION_SCALE) },
      'intra-boost': { type: 'string', default: String(DEFAULT_INTRA_BOOST) },
      'skip-scale': { type: 'string', default: String(SKIP_SCALE) },
      'anchor-boost': { type: 'string', default: String(DEFAULT_ANCHOR_BOOST) },
      photos: { type: 'string', default: '4' },
      frames: { type: 'string', default: '32' },
      size: { type: 'string', default: '448x256' },
      qualities: { type: 'string', default: '10,30,50,70,90' },
      data: { type: 'string', default: join(root, '..', 'shared', 'data', 'train') },
      codec: { type: 'string', default: DEFAULT_VIDEO_CODEC },
      out: { type: 'string', default: 'video-tune' },
    },
  });
  if (!/^[A-Za-z0-9._-]+$/.test(values.out!)) throw new Error(`--out takes a file name without a folder (received '${values.out}')`);
  const [width, height] = values.size!.split('x').map(Number);
  const frames = Number(values.frames);
  const qualities = list(values.qualities!);
  const files = readdirSync(values.data!).filter((f) => /\.(webp|png|jpe?g)$/i.test(f)).sort();
  const count = Number(values.photos);
  if (files.length < count) throw new Error(`need ${count} photos in ${values.data}`);
  // photos spread over the sorted list, each with its own camera motion
  const picks = Array.from({ length: count }, (_, i) => files[Math.floor(((i + 0.17) * files.length) / count)]);
  const sequences: { photo: string; motion: string; frames: Frame[] }[] = [];
  for (const [i, photo] of picks.entries()) {
    const motion = MOTIONS[i % MOTIONS.length];
    sequences.push({ photo, motion: motion.name, frames: await makeSequence(join(values.data!, photo), motion, width, height, frames, 1000 + i) });
  }
  const codec = await getCodec(values.codec!);
  const settings = list(values['motion-scale']!).flatMap((motionScale) =>
    list(values['intra-boost']!).flatMap((intraBoost) =>
      list(values['skip-scale']!).flatMap((skipScale) => list(values['anchor-boost']!).map((anchorBoost) => ({ motionScale, intraBoost, skipScale, anchorBoost }))),
    ),
  );
  const started = Date.now();
  type Point = RdPoint & { quality: number; perSequence: { bpp: number; pFrameBpp: number; psnr: number }[] };
  const results: { motionScale: number; intraBoost: number; skipScale: number; anchorBoost: number; points: Point[]; bdRate?: number | null }[] = [];
  for (const { motionScale, intraBoost, skipScale, anchorBoost } of settings) {
    const pcoder = new PFrameCoder(codec, { motionScale, skipScale });
    const points: Point[] = [];
    for (const q of qualities) {
      let bits = 0;
      let quality = 0;
      let n = 0;
      const perSequence: { bpp: number; pFrameBpp: number; psnr: number }[] = [];
      for (const seq of sequences) {
        const intra = await codec.encode(seq.frames[0], { quality: Math.min(100, q + intraBoost) });
        let ref = (await codec.decode(intra)).frame;
        const intraBits = intra.length * 8;
        let seqBits = intraBits;
        let seqQuality = psnr(seq.frames[0], ref);
        for (const [k, frame] of seq.frames.slice(1).entries()) {
          // as encodeVideo: P-frame k + 1 after the I-frame is an anchor every ANCHOR_PERIOD
          const p = await pcoder.encode(frame, ref, Math.min(10000, (q + ((k + 1) % ANCHOR_PERIOD === 0 ? anchorBoost : 0)) * 100));
          seqBits += p.bytes.length * 8;
          seqQuality += psnr(frame, p.decoded);
          ref = p.decoded;
        }
        const count = seq.frames.length;
        perSequence.push({ bpp: seqBits / (width * height * count), pFrameBpp: (seqBits - intraBits) / (width * height * (count - 1)), psnr: seqQuality / count });
        bits += seqBits;
        quality += seqQuality;
        n += count;
      }
      points.push({ quality: q, bpp: bits / (width * height * n), psnr: quality / n, perSequence });
    }
    const bd = results.length === 0 ? 0 : bdRate(results[0].points, points).percent;
    results.push({ motionScale, intraBoost, skipScale, anchorBoost, points, bdRate: bd });
    console.log(`motion scale ${motionScale}, intra boost ${intraBoost}, skip scale ${skipScale}, anchor boost ${anchorBoost}: ` + points.map((p) => `q${p.quality} ${p.bpp.toFixed(4)} bpp ${p.psnr.toFixed(2)} dB`).join(', ') + `; BD-rate vs first ${bd === null ? 'n/a' : `${bd.toFixed(2)}%`} [${Math.round((Date.now() - started) / 1000)} s]`);
  }
  console.log('\n' + formatTable(['motion scale', 'intra boost', 'skip scale', 'anchor boost', 'BD-rate vs first'], results.map((r) => [String(r.motionScale), String(r.intraBoost), String(r.skipScale), String(r.anchorBoost), r.bdRate === null || r.bdRate === undefined ? 'n/a' : `${r.bdRate.toFixed(2)}%`])));
  const out = join(root, 'bench', 'results', `${values.out}.json`);
  writeResult(out, JSON.stringify({ date: new Date().toISOString(), command: 'npm run bench:video-tune', codec: codec.id, size: `${width}x${height}`, frames, qualities, sequences: sequences.map((s) => ({ photo: s.photo, motion: s.motion })), results, seconds: Math.round((Date.now() - started) / 1000) }, null, 2) + '\n');
  console.log(`\nwrote ${out}`);
  await closeCodecs();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
