/**
 * Kodak rate-distortion and speed benchmark: our codec and sharp's JPEG (mozjpeg), WebP and
 * AVIF 4:4:4 side by side in one run, on the 24 images of ../shared/data/kodak.
 *
 * Each codec runs in its own child process (bench/lib/worker.ts) so its peak RSS is its own;
 * they run one after another so their timings do not mix. Per image and setting: real file
 * size (bpp = bytes * 8 / pixels), PSNR on 8-bit RGB, MS-SSIM (RGB, mean over channels),
 * encode and decode wall ms. Curves are means over images per setting (as the anchors are);
 * BD-rates use PCHIP on log-rate over PSNR, over the curves' overlap clipped to 26-40 dB
 * (the classic cubic fit is reported beside it). Then: the same networks in PyTorch eager on
 * one 768x512 image (bench/torch_speed.py), and whole-process encode/decode times.
 *
 * Writes bench/results/kodak.json and kodak-rd.svg (kodak.quick.* for --quick, kodak.custom.*
 * when images, qualities or codecs are narrowed). Absolute times drift on shared machines:
 * compare the ratios.
 *
 * Run: npm run build && npm run bench:kodak [-- --quick] [--images N] [--qualities 5,20,...]
 *      [--codecs ours,jpeg,webp,avif] [--threads 2] [--data DIR]
 */
import { fork, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { arch, availableParallelism, cpus, loadavg, platform, release, totalmem } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { COMPRESSAI_REFERENCES, loadCompressai, loadSharpAnchors, type AnchorCurve } from './lib/anchors.js';
import { bdRate, type BdResult, type RdPoint } from './lib/bd.js';
import { CLASSICAL, decodeToRgb } from './lib/classical.js';
import { msssimDb } from './lib/metrics.js';
import { cliSpeed, torchSpeed, type CliSpeed, type TorchSpeed } from './lib/speed.js';
import { formatTable, mean, median, writeResult } from './lib/stats.js';
import { renderFigure, type Series } from './lib/svg.js';
import type { CodecName, Job, PointRecord, WorkerDone, WorkerMessage } from './lib/worker.js';
import { packageRoot } from '../src/paths.js';

/** The quality window of every BD-rate here (dB, PSNR-RGB). */
const BD_WINDOW = { min: 26, max: 40 } as const;
const OUR_QUALITIES = [5, 20, 35, 50, 65, 80, 95];
const OUR_QUICK_QUALITIES = [5, 35, 65, 95];
const QUICK_IMAGES = 4;
const KODAK_IMAGES = 24;
const ALL_CODECS: CodecName[] = ['ours', 'jpeg', 'webp', 'avif'];
const COLOURS: Record<string, string> = { ours: '#d62728', jpeg: '#1f77b4', webp: '#2ca02c', avif: '#9467bd' };
const REFERENCE_COLOURS = ['#ff7f0e', '#8c564b'];

interface Options {
  quick: boolean;
  custom: boolean;
  images: number;
  qualities: number[];
  codecs: CodecName[];
  threads: number;
  data: string;
}

function parseOptions(root: string): Options {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      images: { type: 'string' },
      qualities: { type: 'string' },
      codecs: { type: 'string' },
      threads: { type: 'string', default: '2' },
      data: { type: 'string', default: join(root, '..', 'shared', 'data', 'kodak') },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log('usage: node dist/bench/kodak.js [--quick] [--images N] [--qualities 5,20,35,...] [--codecs ours,jpeg,webp,avif] [--threads N] [--data DIR]');
    process.exit(0);
  }
  const int = (name: string, v: string, min: number, max: number): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) throw new RangeError(`Expected integer between ${min} and ${max} for ${name} but received ${v}`);
    return n;
  };
  const quick = values.quick ?? false;
  const qualities = values.qualities
    ? values.qualities.split(',').map((q) => {
        const n = Number(q);
        if (!Number.isFinite(n) || n < 1 || n > 100) throw new RangeError(`Expected numbers between 1 and 100 for --qualities but received ${q}`);
        return n;
      })
    : quick
      ? OUR_QUICK_QUALITIES
      : OUR_QUALITIES;
  const codecs = values.codecs ? (values.codecs.split(',') as CodecName[]) : ALL_CODECS;
  for (const c of codecs) if (!ALL_CODECS.includes(c)) throw new RangeError(`Expected codecs among ${ALL_CODECS.join(', ')} but received ${c}`);
  return {
    quick,
    custom: !quick && (values.images !== undefined || values.qualities !== undefined || values.codecs !== undefined),
    images: values.images ? int('--images', values.images, 1, 1000) : quick ? QUICK_IMAGES : Infinity,
    qualities,
    codecs,
    threads: int('--threads', values.threads ?? '2', 1, 64),
    data: values.data!,
  };
}

/** Runs one codec in a child process; resolves with its points and its summary. */
function runWorker(job: Job, log: (p: PointRecord) => void): Promise<{ points: PointRecord[]; done: WorkerDone }> {
  const script = fileURLToPath(new URL('./lib/worker.js', import.meta.url));
  return new Promise((resolve, reject) => {
    const child = fork(script, [JSON.stringify(job)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const points: PointRecord[] = [];
    let done: WorkerDone | undefined;
    let error: string | undefined;
    let settled = false;
    const settle = (err?: Error) => {
      if (settled) return;
      settled = true;
      if (err) reject(err);
      else resolve({ points, done: done! });
    };
    child.on('message', (m: WorkerMessage) => {
      if (m.type === 'point') {
        points.push(m.point);
        log(m.point);
      } else if (m.type === 'done') done = m.done;
      else error = m.message;
    });
    child.on('error', (err) => settle(err));
    child.on('exit', (code, signal) => {
      if (error || !done) settle(new Error(`${job.codec} worker ended (${code ?? signal}) ${error ?? 'without results'}`));
      else settle();
    });
  });
}

interface CurvePoint {
  quality: number;
  images: number;
  bpp: number;
  psnr: number;
  msssim: number;
  msssimDb: number;
  encMsMedian: number;
  encMsMean: number;
  decMsMedian: number;
  decMsMean: number;
}

function curveOf(points: PointRecord[]): CurvePoint[] {
  const qualities = [...new Set(points.map((p) => p.quality))].sort((a, b) => a - b);
  return qualities.map((quality) => {
    const ps = points.filter((p) => p.quality === quality);
    const ms = mean(ps.map((p) => p.msssim));
    return {
      quality,
      images: ps.length,
      bpp: mean(ps.map((p) => p.bpp)),
      psnr: mean(ps.map((p) => p.psnr)),
      msssim: ms,
      msssimDb: msssimDb(ms),
      encMsMedian: median(ps.map((p) => p.encMs)),
      encMsMean: mean(ps.map((p) => p.encMs)),
      decMsMedian: median(ps.map((p) => p.decMs)),
      decMsMean: mean(ps.map((p) => p.decMs)),
    };
  });
}

interface CodecResult {
  codec: CodecName;
  label: string;
  settings: Record<string, unknown>;
  curve: CurvePoint[];
  encMsMedian: number;
  encMsMean: number;
  decMsMedian: number;
  decMsMean: number;
  maxRssMiB: number;
  warmupMs: number;
  points: PointRecord[];
}

const f = (v: number | null | undefined, digits: number): string => (v === null || v === undefined || !Number.isFinite(v) ? 'n/a' : v.toFixed(digits));
const pct = (r: BdResult): string => (r.percent === null ? 'n/a' : `${r.percent >= 0 ? '+' : ''}${r.percent.toFixed(1)}%`);
const range = (r: BdResult): string =>
  r.percent === null ? r.reason : `${r.range[0].toFixed(2)}-${r.range[1].toFixed(2)} dB${r.warning ? ` (${r.warning})` : ''}`;
const rd = (c: { bpp: number; psnr: number }[]): RdPoint[] => c.map((p) => ({ bpp: p.bpp, psnr: p.psnr }));

function bdBoth(anchor: RdPoint[], test: RdPoint[]): { pchip: BdResult; cubic: BdResult } {
  return { pchip: bdRate(anchor, test, { ...BD_WINDOW, method: 'pchip' }), cubic: bdRate(anchor, test, { ...BD_WINDOW, method: 'cubic' }) };
}

function niceCeil(v: number, step: number): number {
  return Math.ceil(v / step - 1e-9) * step;
}

function plot(results: CodecResult[], references: AnchorCurve[], images: number, subtitle: string): string {
  const measured: (Series & { ms: { x: number; y: number }[] })[] = results.map((r) => ({
    label: r.codec === 'ours' ? `${r.label} (measured)` : `sharp ${r.label} (measured)`,
    colour: COLOURS[r.codec] ?? '#333',
    points: r.curve.map((p) => ({ x: p.bpp, y: p.psnr })),
    ms: r.curve.map((p) => ({ x: p.bpp, y: p.msssimDb })),
  }));
  const refs = references.map((c, i) => ({
    label: c.label,
    colour: REFERENCE_COLOURS[i % REFERENCE_COLOURS.length],
    dashed: true,
    points: c.points.map((p) => ({ x: p.bpp, y: p.psnr })),
    ms: c.points.filter((p) => p.msssim !== undefined).map((p) => ({ x: p.bpp, y: msssimDb(p.msssim!) })),
  }));
  // x: up to the bpp where the measured curves pass ~42 dB (Kodak's useful range), at most 3
  const inRange = measured.flatMap((s) => s.points).filter((p) => p.y <= 42);
  const xMax = Math.min(3, niceCeil(Math.max(1, ...inRange.map((p) => p.x)), 0.25));
  const visible = (pts: { x: number; y: number }[]) => pts.filter((p) => p.x <= xMax);
  const all = [...measured, ...refs];
  const yP = all.flatMap((s) => visible(s.points).map((p) => p.y));
  const yM = all.flatMap((s) => visible(s.ms).map((p) => p.y));
  const yRange = (ys: number[], lo: number, hi: number): [number, number] => [
    Math.max(lo, Math.floor(Math.min(hi - 4, ...ys)) - 1),
    Math.min(hi, Math.ceil(Math.max(lo + 4, ...ys)) + 1),
  ];
  return renderFigure({
    title: `Kodak (${images} image${images === 1 ? '' : 's'}): rate-distortion`,
    subtitle,
    panels: [
      {
        title: 'PSNR (8-bit RGB)',
        xLabel: 'bits per pixel',
        yLabel: 'PSNR-RGB (dB)',
        x: [0, xMax],
        y: yRange(yP, 15, 46),
        band: { from: BD_WINDOW.min, to: BD_WINDOW.max, label: `BD-rate window ${BD_WINDOW.min}-${BD_WINDOW.max} dB` },
        series: all.map(({ ms: _ms, ...s }) => s),
      },
      {
        title: 'MS-SSIM (RGB, mean over channels)',
        xLabel: 'bits per pixel',
        yLabel: 'MS-SSIM (dB) = -10 log10(1 - MS-SSIM)',
        x: [0, xMax],
        y: yRange(yM, 0, 30),
        series: all.map(({ ms, ...s }) => ({ ...s, points: ms })),
      },
    ],
  });
}

/** The commit measured, and whether the working tree differed from it. */
function gitState(root: string): { commit: string; dirty: boolean } | { error: string } {
  const run = (args: string[]) => spawnSync('git', args, { cwd: root, encoding: 'utf8', timeout: 30_000 });
  const head = run(['rev-parse', 'HEAD']);
  if (head.status !== 0) return { error: head.stderr.trim() || 'git failed' };
  return { commit: head.stdout.trim(), dirty: run(['status', '--porcelain', '--untracked-files=no']).stdout.trim().length > 0 };
}

function versionOf(root: string, pkg: string): string {
  try {
    const require = createRequire(join(root, 'package.json'));
    return (require(`${pkg}/package.json`) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

async function main(): Promise<void> {
  const root = packageRoot();
  const opts = parseOptions(root);
  const started = new Date();
  const t0 = performance.now();
  const load0 = loadavg();
  const files = readdirSync(opts.data)
    .filter((n) => /^kodim\d+\.png$/.test(n))
    .sort()
    .slice(0, opts.images)
    .map((n) => join(opts.data, n));
  if (files.length === 0) throw new Error(`no kodim*.png in ${opts.data}`);
  const quickQualities = (id: string) => CLASSICAL.find((c) => c.id === id)!.quickQualities;
  const qualitiesOf = (codec: CodecName): number[] =>
    codec === 'ours' ? opts.qualities : opts.quick ? quickQualities(codec) : CLASSICAL.find((c) => c.id === codec)!.qualities;
  const manifest = JSON.parse(readFileSync(join(root, 'codecs', 'nc-small', 'manifest.json'), 'utf8')) as Record<string, unknown>;

  console.error(`kodak: ${files.length} images, codecs ${opts.codecs.join(', ')}, threads ${opts.threads}`);
  const baseline = await runWorker({ codec: 'baseline', images: files, qualities: [], threads: opts.threads }, () => undefined);
  const results: CodecResult[] = [];
  const versions: Record<string, string> = { ...baseline.done.versions };
  for (const codec of opts.codecs) {
    const tc = performance.now();
    const job: Job = { codec, images: files, qualities: qualitiesOf(codec), threads: opts.threads, codecId: 'nc-small' };
    const { points, done } = await runWorker(job, (p) =>
      console.error(`  ${codec.padEnd(4)} ${p.image} q${p.quality}: ${p.bpp.toFixed(3)} bpp ${p.psnr.toFixed(2)} dB enc ${p.encMs.toFixed(0)} ms dec ${p.decMs.toFixed(0)} ms`),
    );
    console.error(`${codec}: ${points.length} points in ${((performance.now() - tc) / 1000).toFixed(0)} s`);
    const classical = CLASSICAL.find((c) => c.id === codec);
    results.push({
      codec,
      label: classical?.label ?? `neurocodec ${String(manifest.id)}`,
      settings: classical
        ? { ...classical.options, sharpConcurrency: opts.threads }
        : { codec: manifest.id, modelHash: manifest.modelHash, training: manifest.training, threads: opts.threads },
      curve: curveOf(points),
      encMsMedian: median(points.map((p) => p.encMs)),
      encMsMean: mean(points.map((p) => p.encMs)),
      decMsMedian: median(points.map((p) => p.decMs)),
      decMsMean: mean(points.map((p) => p.decMs)),
      maxRssMiB: done.maxRssKiB / 1024,
      warmupMs: done.warmupMs,
      points,
    });
  }

  // --- BD-rates
  const anchorsDir = join(root, '..', 'shared', 'anchors');
  const sharpAnchors = loadSharpAnchors(anchorsDir);
  const references = COMPRESSAI_REFERENCES.map((r) => loadCompressai(anchorsDir, r.file, r.label)).filter((c): c is AnchorCurve => c !== undefined);
  const ours = results.find((r) => r.codec === 'ours');
  const classicalResults = results.filter((r) => r.codec !== 'ours');
  const bd = {
    window: BD_WINDOW,
    method: 'pchip on ln(bpp) over PSNR-RGB (cubic: least-squares cubic fit); negative = fewer bits than the anchor',
    oursVs: Object.fromEntries(ours ? classicalResults.map((c) => [c.codec, bdBoth(rd(c.curve), rd(ours.curve))]) : []),
    oursVsReferences: Object.fromEntries(ours ? references.map((c) => [c.label, bdBoth(rd(c.points), rd(ours.curve))]) : []),
    sharpVsAnchors: Object.fromEntries(
      classicalResults
        // the anchors are means over all 24 images: a subset is not comparable
        .filter((c) => files.length === KODAK_IMAGES && sharpAnchors[c.codec as 'jpeg'] !== undefined)
        .map((c) => {
          const a = sharpAnchors[c.codec as 'jpeg']!;
          const same = c.curve
            .map((p) => ({ p, q: a.points.find((x) => x.q === p.quality) }))
            .filter((m) => m.q !== undefined)
            .map(({ p, q }) => ({ quality: p.quality, bppRatio: p.bpp / q!.bpp, psnrDelta: p.psnr - q!.psnr }));
          return [c.codec, { ...bdBoth(rd(a.points), rd(c.curve)), sameQualities: same, anchor: a.source }];
        }),
    ),
  };

  // --- speed against PyTorch on one 768x512 image, and whole-process times
  const speedPath = files.find((p) => ours?.points.some((q) => p.endsWith(`${q.image}.png`) && q.width === 768 && q.height === 512)) ?? files[0];
  const speedImage = await decodeToRgb(readFileSync(speedPath));
  const speedName = relative(join(root, '..'), speedPath);
  let torch: TorchSpeed | undefined;
  let cli: CliSpeed | { error: string } | undefined;
  let vsTorch: Record<string, number | string> | undefined;
  if (ours) {
    console.error(`pytorch: timing the networks on ${speedName}`);
    torch = torchSpeed(root, speedImage, { quality: 50, runs: opts.quick ? 3 : 7, threads: opts.threads });
    const mine = ours.points.filter((p) => speedPath.endsWith(`${p.image}.png`));
    const enc = median(mine.map((p) => p.encMs));
    const dec = median(mine.map((p) => p.decMs));
    vsTorch = { image: speedName, oursEncodeMs: enc, oursDecodeMs: dec, oursOver: 'median over the qualities measured on this image' };
    if (torch.available) {
      Object.assign(vsTorch, {
        torchEncodeNetMs: torch.encodeNetMs,
        torchDecodeNetMs: torch.decodeNetMs,
        encodeRatio: enc / torch.encodeNetMs,
        decodeRatio: dec / torch.decodeNetMs,
      });
    }
    console.error(`whole-process encode/decode on ${speedName}`);
    try {
      cli = cliSpeed(root, speedPath, 50, 5);
    } catch (err) {
      cli = { error: (err as Error).message };
    }
  }

  // --- ratios: ours against each classical codec (per-image medians, peak RSS)
  const ratios = ours
    ? Object.fromEntries(
        classicalResults.map((c) => [
          c.codec,
          { encodeMs: ours.encMsMedian / c.encMsMedian, decodeMs: ours.decMsMedian / c.decMsMedian, maxRss: ours.maxRssMiB / c.maxRssMiB },
        ]),
      )
    : {};

  // --- printed tables
  const rowsRd = results.flatMap((r) =>
    r.curve.map((p) => [r.codec, String(p.quality), f(p.bpp, 4), f(p.psnr, 2), f(p.msssim, 4), f(p.msssimDb, 2), f(p.encMsMedian, 0), f(p.encMsMean, 0), f(p.decMsMedian, 0), f(p.decMsMean, 0)]),
  );
  const out: string[] = [];
  out.push(`Kodak, ${files.length} images; means over images per setting; ms per image (median / mean); threads ${opts.threads}; ${cpus()[0]?.model ?? 'cpu'} x${cpus().length}`);
  out.push(formatTable(['codec', 'q', 'bpp', 'PSNR', 'MS-SSIM', 'MS-SSIM dB', 'enc med', 'enc mean', 'dec med', 'dec mean'], rowsRd));
  out.push('');
  out.push(`BD-rate of ours against each codec over ${BD_WINDOW.min}-${BD_WINDOW.max} dB PSNR-RGB clipped to the overlap (negative = fewer bits)`);
  const bdRows: string[][] = [];
  for (const [id, v] of Object.entries(bd.oursVs)) bdRows.push([`vs sharp ${id} (measured)`, pct(v.pchip), pct(v.cubic), range(v.pchip)]);
  for (const [id, v] of Object.entries(bd.oursVsReferences)) bdRows.push([`vs ${id}`, pct(v.pchip), pct(v.cubic), range(v.pchip)]);
  for (const [id, v] of Object.entries(bd.sharpVsAnchors)) bdRows.push([`check: sharp ${id} now vs anchors file`, pct(v.pchip), pct(v.cubic), range(v.pchip)]);
  if (files.length !== KODAK_IMAGES) bdRows.push(['check: sharp now vs anchors file', 'n/a', 'n/a', `the anchors average all ${KODAK_IMAGES} images`]);
  out.push(formatTable(['comparison', 'BD-rate', 'cubic fit', 'overlap used'], bdRows));
  out.push('');
  const speedRows = results.map((r) => [
    r.codec,
    f(r.encMsMedian, 0),
    f(r.encMsMean, 0),
    f(r.decMsMedian, 0),
    f(r.decMsMean, 0),
    f(r.maxRssMiB, 0),
    f(r.maxRssMiB - baseline.done.maxRssKiB / 1024, 0),
    r.codec === 'ours' ? '1.00x' : `${f(ratios[r.codec]?.encodeMs, 2)}x`,
    r.codec === 'ours' ? '1.00x' : `${f(ratios[r.codec]?.decodeMs, 2)}x`,
    f(r.warmupMs, 0),
  ]);
  out.push(`Speed and memory (all settings and images; peak RSS of each codec's own process; harness alone ${f(baseline.done.maxRssKiB / 1024, 0)} MiB)`);
  out.push(formatTable(['codec', 'enc med', 'enc mean', 'dec med', 'dec mean', 'peak RSS MiB', 'over harness', 'ours/enc', 'ours/dec', 'first call ms'], speedRows));
  if (vsTorch) {
    out.push('');
    if (torch?.available) {
      out.push(
        `PyTorch ${torch.torch} eager, ${torch.threads} threads, median of ${torch.runs}, ${vsTorch.image}: encoder networks ${f(torch.encodeNetMs, 0)} ms, decoder networks ${f(torch.decodeNetMs, 0)} ms (peak RSS ${f(torch.maxRssKiB / 1024, 0)} MiB)`,
      );
      out.push(
        `ours end to end on the same image: encode ${f(vsTorch.oursEncodeMs as number, 0)} ms (${f(vsTorch.encodeRatio as number, 2)}x PyTorch's networks), decode ${f(vsTorch.oursDecodeMs as number, 0)} ms (${f(vsTorch.decodeRatio as number, 2)}x)`,
      );
    } else out.push(`PyTorch speed skipped: ${torch?.available === false ? torch.reason : 'not run'}`);
  }
  if (cli) {
    if ('error' in cli) out.push(`whole-process timing failed: ${cli.error}`);
    else out.push(`whole process (${cli.mode}), ${vsTorch?.image}, q50, median of ${cli.runs}: encode ${f(cli.medianEncodeMs, 0)} ms, decode ${f(cli.medianDecodeMs, 0)} ms; ${cli.note}`);
  }
  console.log(out.join('\n'));

  // --- files
  const sharpVersions = sharp.versions as Record<string, string | undefined>;
  const suffix = opts.quick ? '.quick' : opts.custom ? '.custom' : '';
  const dir = join(root, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const jsonFile = join(dir, `kodak${suffix}.json`);
  const svgFile = join(dir, `kodak-rd${suffix}.svg`);
  const argv = process.argv.slice(2);
  const json = {
    generatedAt: started.toISOString(),
    durationS: (performance.now() - t0) / 1000,
    command: process.env.npm_lifecycle_event === 'bench:kodak' ? `npm run bench:kodak${argv.length ? ' -- ' + argv.join(' ') : ''}` : `node dist/bench/kodak.js ${argv.join(' ')}`.trim(),
    machine: {
      cpu: cpus()[0]?.model ?? 'unknown',
      cpus: cpus().length,
      availableParallelism: availableParallelism(),
      memoryGiB: totalmem() / 2 ** 30,
      os: `${platform()} ${release()} ${arch()}`,
      loadavgStart: load0,
      loadavgEnd: loadavg(),
      note: 'shared with a background training job; absolute times drift, compare ratios',
    },
    versions: {
      node: process.version,
      neurocodec: versionOf(root, '.'),
      onnxruntimeNode: versionOf(root, 'onnxruntime-node'),
      sharp: sharpVersions.sharp ?? versionOf(root, 'sharp'),
      vips: sharpVersions.vips,
      mozjpeg: sharpVersions.mozjpeg,
      webp: sharpVersions.webp,
      aom: sharpVersions.aom,
      heif: sharpVersions.heif,
      workers: versions,
    },
    git: gitState(root),
    dataset: { dir: relative(root, opts.data), images: files.map((p) => relative(opts.data, p)) },
    metrics: {
      bpp: 'file bytes * 8 / (width * height), mean over images',
      psnr: 'per image over the 3 channels of 8-bit RGB (peak 255), mean over images',
      msssim: '5-scale MS-SSIM (Wang et al. 2003), 11x11 Gaussian sigma 1.5, valid filtering, 2x2 average pooling, computed per RGB channel and averaged; mean over images',
      times: 'wall ms per image from raw RGB pixels to file bytes (encode) and back (decode), after one untimed warm-up call',
      maxRss: "process.resourceUsage().maxRSS of each codec's own child process, MiB",
    },
    options: { quick: opts.quick, threads: opts.threads, qualities: Object.fromEntries(opts.codecs.map((c) => [c, qualitiesOf(c)])) },
    harness: { maxRssMiB: baseline.done.maxRssKiB / 1024, note: 'a child that only reads the images and runs the metrics' },
    codecs: results.map(({ points, ...r }) => r),
    bdRate: bd,
    ratios: { note: 'ours / other: median encode and decode ms per image, peak RSS', ...ratios },
    speedVsPytorch: vsTorch ? { ...vsTorch, torch } : { skipped: 'our codec not run' },
    wholeProcess: cli ?? { skipped: 'our codec not run' },
    references: {
      note: 'published curves, not measured in this run',
      sharpAnchors: sharpAnchors.about,
      compressai: references.map((r) => ({ label: r.label, source: r.source, points: r.points })),
    },
    perImage: Object.fromEntries(results.map((r) => [r.codec, r.points])),
  };
  writeResult(jsonFile, JSON.stringify(json, null, 1) + '\n');
  const subtitle = `measured ${started.toISOString().slice(0, 10)}, ${files.length} images, sharp ${json.versions.sharp}; ours: ${String(manifest.id)} at training step ${String((manifest.training as { step?: number } | undefined)?.step ?? '?')}; dashed: CompressAI published results (reference, not measured here)`;
  writeResult(svgFile, plot(results, references, files.length, subtitle));
  console.log(`wrote ${relative(root, jsonFile)} and ${relative(root, svgFile)}`);
}

await main();
