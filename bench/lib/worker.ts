/**
 * Child process that measures one codec on a list of images, so that its peak RSS is its
 * own: forked by bench/kodak.ts with a {@link Job} as its argument, it posts one
 * {@link PointRecord} per image and quality and then a {@link WorkerDone}.
 *
 * Codecs: 'ours' (the library's encodeWithInfo/decode, real bitstreams), 'jpeg' | 'webp' |
 * 'avif' (sharp), and 'baseline' (reads the images and runs the metrics only, to show how
 * much of each peak RSS is the harness).
 */
import { readFile } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import sharp from 'sharp';
import { closeCodecs, decode, encodeWithInfo } from '../../src/api.js';
import { CLASSICAL, decodeToRgb } from './classical.js';
import { msssim, psnr, type Pixels } from './metrics.js';

export type CodecName = 'ours' | 'jpeg' | 'webp' | 'avif' | 'baseline';

export interface Job {
  codec: CodecName;
  images: string[];
  qualities: number[];
  /** Threads for the codec: onnxruntime intra-op threads for ours, sharp.concurrency() for the others. */
  threads: number;
  /** Our codec id or folder. */
  codecId?: string;
}

export interface PointRecord {
  image: string;
  width: number;
  height: number;
  quality: number;
  bytes: number;
  bpp: number;
  psnr: number;
  msssim: number;
  encMs: number;
  decMs: number;
}

export interface WorkerDone {
  /** Peak resident set size of this process, KiB (process.resourceUsage().maxRSS). */
  maxRssKiB: number;
  /** The first, untimed encode + decode (loading models or libraries), ms. */
  warmupMs: number;
  versions: Record<string, string>;
}

export type WorkerMessage = { type: 'point'; point: PointRecord } | { type: 'done'; done: WorkerDone } | { type: 'error'; message: string };

interface Coder {
  encode(img: Pixels, quality: number): Promise<Uint8Array>;
  decode(bytes: Uint8Array): Promise<Pixels>;
}

function coderFor(job: Job): Coder {
  if (job.codec === 'ours') {
    return {
      encode: async (img, quality) => (await encodeWithInfo(img, { quality, codec: job.codecId, threads: job.threads })).bytes,
      decode: async (bytes) => decode(bytes, { threads: job.threads }),
    };
  }
  const classical = CLASSICAL.find((c) => c.id === job.codec);
  if (!classical) throw new Error(`unknown codec ${job.codec}`);
  return { encode: (img, quality) => classical.encode(img, quality), decode: decodeToRgb };
}

const post = (m: WorkerMessage): Promise<void> =>
  new Promise((resolve, reject) => process.send!(m, undefined, {}, (err) => (err ? reject(err) : resolve())));

async function run(job: Job): Promise<void> {
  sharp.cache(false);
  sharp.concurrency(job.threads);
  const versions: Record<string, string> = { node: process.version, sharp: sharp.versions.sharp ?? '', vips: sharp.versions.vips };
  if (job.codec === 'baseline') {
    for (const path of job.images) {
      const img = await decodeToRgb(await readFile(path));
      // the metrics' own working memory, as every codec's worker has it
      psnr(img, img);
      msssim(img, img);
    }
    await post({ type: 'done', done: { maxRssKiB: process.resourceUsage().maxRSS, warmupMs: 0, versions } });
    return;
  }
  const coder = coderFor(job);
  let warmupMs = 0;
  for (const [i, path] of job.images.entries()) {
    const img = await decodeToRgb(await readFile(path));
    if (i === 0) {
      const t0 = performance.now();
      await coder.decode(await coder.encode(img, job.qualities[0]));
      warmupMs = performance.now() - t0;
    }
    for (const quality of job.qualities) {
      const t0 = performance.now();
      const bytes = await coder.encode(img, quality);
      const t1 = performance.now();
      const out = await coder.decode(bytes);
      const t2 = performance.now();
      if (out.width !== img.width || out.height !== img.height || out.channels < 3) {
        throw new Error(`${job.codec} q${quality} ${path}: decoded ${out.width}x${out.height}x${out.channels}, expected ${img.width}x${img.height}x3`);
      }
      const point: PointRecord = {
        image: basename(path, extname(path)),
        width: img.width,
        height: img.height,
        quality,
        bytes: bytes.length,
        bpp: (bytes.length * 8) / (img.width * img.height),
        psnr: psnr(img, out),
        msssim: msssim(img, out),
        encMs: t1 - t0,
        decMs: t2 - t1,
      };
      await post({ type: 'point', point });
    }
  }
  if (job.codec === 'ours') await closeCodecs();
  await post({ type: 'done', done: { maxRssKiB: process.resourceUsage().maxRSS, warmupMs, versions } });
}

if (process.send) {
  const job = JSON.parse(process.argv[2] ?? '{}') as Job;
  try {
    await run(job);
  } catch (err) {
    await post({ type: 'error', message: (err as Error).stack ?? String(err) });
    process.exitCode = 1;
  }
  process.disconnect();
}
