/**
 * BSQ benchmark on Kodak at very low rates: the BSQ mode at every group count, our
 * hyperprior codec at its lowest qualities and sharp's JPEG, WebP and AVIF at settings that
 * reach 0.02-0.15 bpp, all measured in this run: mean bpp (real file sizes), PSNR-RGB and
 * MS-SSIM; the BSQ tokens' raw and entropy-coded bits per token; and, at 0.1 bpp and below,
 * the BSQ mode's MS-SSIM against AVIF's at the same rate (AVIF's mean curve interpolated
 * in log-bpp).
 *
 * Writes bench/results/bsq.json and bsq-rd.svg (bsq.quick.* with --quick).
 * Run: npm run build && npm run bench:bsq [-- --quick] [--images N] [--codec ID]
 */
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import sharp, { type Sharp } from 'sharp';
import { closeCodecs, decode, encodeWithInfo, getBsqCodec, DEFAULT_BSQ_CODEC, DEFAULT_CODEC } from '../src/api.js';
import { readContainer } from '../src/bitstream/container.js';
import { UnitType } from '../src/bitstream/units.js';
import { readImage } from '../src/image/io.js';
import { packageRoot } from '../src/paths.js';
import { bdRate, type BdResult, type RdPoint } from './lib/bd.js';
import { decodeToRgb } from './lib/classical.js';
import { msssim, msssimDb, psnr, type Pixels } from './lib/metrics.js';
import { formatTable, mean, writeResult } from './lib/stats.js';
import { renderFigure, type Series } from './lib/svg.js';

/** Settings that put each codec's Kodak means between about 0.02 and 0.3 bpp. */
const CLASSICAL = {
  jpeg: { label: 'JPEG (mozjpeg 4:2:0)', qualities: [1, 2, 4, 6, 10], encode: (s: Sharp, q: number) => s.jpeg({ quality: q, mozjpeg: true }) },
  webp: { label: 'WebP (effort 6)', qualities: [1, 2, 4, 7, 10], encode: (s: Sharp, q: number) => s.webp({ quality: q, effort: 6 }) },
  avif: { label: 'AVIF (effort 6, 4:4:4)', qualities: [1, 4, 8, 12, 16, 20], encode: (s: Sharp, q: number) => s.avif({ quality: q, effort: 6, chromaSubsampling: '4:4:4' }) },
} as const;
type ClassicalId = keyof typeof CLASSICAL;
const HYPERPRIOR_QUALITIES = [1, 5, 10];

interface Point {
  setting: number;
  bytes: number;
  bpp: number;
  psnr: number;
  msssim: number;
}

interface TokenStats {
  groups: number;
  tokens: number;
  rawBitsPerToken: number;
  /** Bits per token of the BSQ_TOKENS payloads (the entropy-coded bits alone). */
  codedBitsPerToken: number;
  /** Bits per token of the whole file (headers and checksum included). */
  fileBitsPerToken: number;
}

interface ImageRecord {
  image: string;
  bsq: Point[];
  tokens: TokenStats[];
  hyperprior: Point[];
  classical: Record<ClassicalId, Point[]>;
  bsqEncodeMs: number;
  bsqDecodeMs: number;
}

const pct = (b: BdResult) => (b.percent === null ? `n/a (${b.reason})` : `${b.percent >= 0 ? '+' : ''}${b.percent.toFixed(1)}%`);

function meanCurve(records: ImageRecord[], pick: (r: ImageRecord) => Point[]): Point[] {
  const n = pick(records[0]).length;
  return Array.from({ length: n }, (_, i) => {
    const ps = records.map((r) => pick(r)[i]);
    return { setting: ps[0].setting, bytes: mean(ps.map((p) => p.bytes)), bpp: mean(ps.map((p) => p.bpp)), psnr: mean(ps.map((p) => p.psnr)), msssim: mean(ps.map((p) => p.msssim)) };
  });
}

/** Value of `key` on a curve at `bpp`, linear in log-bpp between neighbours; null outside it. */
function interpolate(curve: Point[], bpp: number, key: 'msssim' | 'psnr'): number | null {
  const c = [...curve].sort((a, b) => a.bpp - b.bpp);
  if (c.length === 0 || bpp < c[0].bpp || bpp > c[c.length - 1].bpp) return null;
  for (let i = 1; i < c.length; i++) {
    if (bpp <= c[i].bpp) {
      const t = (Math.log(bpp) - Math.log(c[i - 1].bpp)) / (Math.log(c[i].bpp) - Math.log(c[i - 1].bpp) || 1);
      return c[i - 1][key] + t * (c[i][key] - c[i - 1][key]);
    }
  }
  return c[c.length - 1][key];
}

function measure(ref: Pixels, dec: Pixels, bytes: number, setting: number): Point {
  return { setting, bytes, bpp: (bytes * 8) / (ref.width * ref.height), psnr: psnr(ref, dec), msssim: msssim(ref, dec) };
}

async function main() {
  const root = packageRoot();
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      images: { type: 'string' },
      data: { type: 'string', default: join(root, '..', 'shared', 'data', 'kodak') },
      codec: { type: 'string', default: DEFAULT_BSQ_CODEC },
    },
  });
  const quick = values.quick ?? false;
  const files = readdirSync(values.data).filter((f) => /^kodim\d+\.png$/.test(f)).sort();
  if (files.length === 0) throw new Error(`no Kodak images in ${values.data}`);
  const nImages = values.images ? Number(values.images) : quick ? 4 : files.length;
  const codecId = values.codec!;
  const codec = await getBsqCodec(codecId);
  const G = codec.layout.groups;
  const records: ImageRecord[] = [];
  const started = Date.now();

  for (const name of files.slice(0, nImages)) {
    const path = join(values.data, name);
    const { frame } = await readImage(path);
    const ref: Pixels = frame;
    const rec: ImageRecord = { image: name, bsq: [], tokens: [], hyperprior: [], classical: { jpeg: [], webp: [], avif: [] }, bsqEncodeMs: 0, bsqDecodeMs: 0 };
    for (let k = 1; k <= G; k++) {
      const t0 = performance.now();
      const enc = await encodeWithInfo(frame, { mode: 'bsq', codec: codecId, groups: k });
      const t1 = performance.now();
      const dec = await decode(enc.bytes, { codec: codecId });
      const t2 = performance.now();
      if (k === G) {
        rec.bsqEncodeMs = t1 - t0;
        rec.bsqDecodeMs = t2 - t1;
      }
      rec.bsq.push(measure(ref, dec, enc.bytes.length, k));
      const tokens = Math.ceil(frame.width / 16) * Math.ceil(frame.height / 16);
      const coded = readContainer(enc.bytes).units.filter((u) => u.type === UnitType.BSQ_TOKENS).reduce((s, u) => s + u.payload.length, 0);
      rec.tokens.push({ groups: k, tokens, rawBitsPerToken: k * codec.layout.groupBits, codedBitsPerToken: (coded * 8) / tokens, fileBitsPerToken: (enc.bytes.length * 8) / tokens });
    }
    for (const q of HYPERPRIOR_QUALITIES) {
      const enc = await encodeWithInfo(frame, { quality: q });
      const dec = await decode(enc.bytes);
      rec.hyperprior.push(measure(ref, dec, enc.bytes.length, q));
    }
    for (const id of Object.keys(CLASSICAL) as ClassicalId[]) {
      for (const q of CLASSICAL[id].qualities) {
        const bytes = await CLASSICAL[id].encode(sharp(frame.data, { raw: { width: frame.width, height: frame.height, channels: 3 } }), q).toBuffer();
        rec.classical[id].push(measure(ref, await decodeToRgb(bytes), bytes.length, q));
      }
    }
    records.push(rec);
    const last = rec.bsq[G - 1];
    console.log(`${name}: BSQ ${G} groups ${last.bpp.toFixed(4)} bpp ${last.psnr.toFixed(2)} dB MS-SSIM ${last.msssim.toFixed(4)}; 1 group ${rec.bsq[0].bpp.toFixed(4)} bpp [${((Date.now() - started) / 1000).toFixed(0)} s]`);
  }
  await closeCodecs();

  const curves = {
    bsq: meanCurve(records, (r) => r.bsq),
    hyperprior: meanCurve(records, (r) => r.hyperprior),
    jpeg: meanCurve(records, (r) => r.classical.jpeg),
    webp: meanCurve(records, (r) => r.classical.webp),
    avif: meanCurve(records, (r) => r.classical.avif),
  };
  const tokenStats = Array.from({ length: G }, (_, i) => {
    const s = records.map((r) => r.tokens[i]);
    const raw = s[0].rawBitsPerToken;
    const coded = mean(s.map((x) => x.codedBitsPerToken));
    return { groups: i + 1, rawBitsPerToken: raw, codedBitsPerToken: coded, fileBitsPerToken: mean(s.map((x) => x.fileBitsPerToken)), saving: 1 - coded / raw };
  });
  // the target: at 0.1 bpp and below, MS-SSIM at least AVIF's at the same rate
  const vsAvif = curves.bsq
    .filter((p) => p.bpp <= 0.1)
    .map((p) => {
      const avif = interpolate(curves.avif, p.bpp, 'msssim');
      return { groups: p.setting, bpp: p.bpp, msssim: p.msssim, avifMsssim: avif, atLeastAvif: avif === null ? null : p.msssim >= avif };
    });
  const toDb = (c: Point[]): RdPoint[] => c.map((p) => ({ bpp: p.bpp, psnr: msssimDb(p.msssim) }));
  const toPsnr = (c: Point[]): RdPoint[] => c.map((p) => ({ bpp: p.bpp, psnr: p.psnr }));
  const bd: Record<string, BdResult> = {};
  for (const id of ['jpeg', 'webp', 'avif', 'hyperprior'] as const) {
    bd[`msssim_vs_${id}`] = bdRate(toDb(curves[id]), toDb(curves.bsq));
    bd[`psnr_vs_${id}`] = bdRate(toPsnr(curves[id]), toPsnr(curves.bsq));
  }

  const table = (c: Point[], what: string) => c.map((p) => [what, String(p.setting), p.bpp.toFixed(4), p.psnr.toFixed(2), p.msssim.toFixed(4)]);
  console.log(`\nMean over ${records.length} images:`);
  console.log(
    formatTable(
      ['codec', 'setting', 'bpp', 'PSNR', 'MS-SSIM'],
      [...table(curves.bsq, 'BSQ groups'), ...table(curves.hyperprior, `${DEFAULT_CODEC} q`), ...table(curves.jpeg, 'JPEG q'), ...table(curves.webp, 'WebP q'), ...table(curves.avif, 'AVIF q')],
    ),
  );
  console.log('\nBSQ tokens: bits per token');
  console.log(formatTable(['groups', 'raw', 'entropy-coded', 'whole file', 'saving'], tokenStats.map((t) => [String(t.groups), String(t.rawBitsPerToken), t.codedBitsPerToken.toFixed(2), t.fileBitsPerToken.toFixed(2), `${(100 * t.saving).toFixed(1)}%`])));
  console.log('\nAt 0.1 bpp and below, BSQ MS-SSIM vs AVIF at the same bpp:');
  for (const v of vsAvif) console.log(`  ${v.groups} groups ${v.bpp.toFixed(4)} bpp: ${v.msssim.toFixed(4)} vs AVIF ${v.avifMsssim === null ? 'outside its range' : v.avifMsssim.toFixed(4)}${v.atLeastAvif === null ? '' : v.atLeastAvif ? '  (at least AVIF)' : '  (below AVIF)'}`);
  console.log('\nBD-rates of BSQ (over each pair\'s overlap):');
  for (const [k, v] of Object.entries(bd)) console.log(`  ${k.padEnd(22)} ${pct(v)}`);

  const suffix = quick ? '.quick' : nImages !== files.length ? '.custom' : '';
  const outDir = join(root, 'bench', 'results');
  mkdirSync(outDir, { recursive: true });
  const manifest = codec.bundle.manifest as unknown as { training?: Record<string, unknown>; init?: unknown };
  const result = {
    date: new Date().toISOString(),
    command: `npm run bench:bsq${quick ? ' -- --quick' : ''}`,
    codec: { id: codecId, modelHash: codec.bundle.manifest.modelHash, layout: codec.layout, training: manifest.training, init: manifest.init },
    hyperpriorCodec: DEFAULT_CODEC,
    images: records.length,
    versions: { node: process.version, sharp: sharp.versions.sharp, vips: sharp.versions.vips },
    settings: { hyperpriorQualities: HYPERPRIOR_QUALITIES, ...Object.fromEntries(Object.entries(CLASSICAL).map(([k, v]) => [k, { label: v.label, qualities: v.qualities }])) },
    curves,
    tokens: tokenStats,
    msssimVsAvifAtOrBelow0_1Bpp: vsAvif,
    bdRate: bd,
    meanBsqEncodeMs: mean(records.map((r) => r.bsqEncodeMs)),
    meanBsqDecodeMs: mean(records.map((r) => r.bsqDecodeMs)),
    perImage: records,
    seconds: Math.round((Date.now() - started) / 1000),
  };
  const write = writeResult;
  write(join(outDir, `bsq${suffix}.json`), JSON.stringify(result, null, 1) + '\n');
  const colours = { bsq: '#d62728', hyperprior: '#1f77b4', jpeg: '#2ca02c', webp: '#ff7f0e', avif: '#9467bd' } as const;
  const labels = { bsq: `BSQ ${codecId} (1-${G} groups)`, hyperprior: `${DEFAULT_CODEC} (q ${HYPERPRIOR_QUALITIES.join(', ')})`, jpeg: CLASSICAL.jpeg.label, webp: CLASSICAL.webp.label, avif: CLASSICAL.avif.label };
  const series = (key: 'psnr' | 'msssim'): Series[] =>
    (Object.keys(curves) as (keyof typeof curves)[]).map((id) => ({ label: labels[id], colour: colours[id], points: curves[id].map((p) => ({ x: p.bpp, y: p[key] })) }));
  const xMax = 0.35;
  const range = (key: 'psnr' | 'msssim'): [number, number] => {
    const ys = Object.values(curves).flatMap((c) => c.filter((p) => p.bpp <= xMax).map((p) => p[key]));
    return key === 'psnr' ? [Math.floor(Math.min(...ys)) - 1, Math.ceil(Math.max(...ys)) + 1] : [Math.floor(Math.min(...ys) * 50) / 50, Math.min(1, Math.ceil(Math.max(...ys) * 50) / 50)];
  };
  write(
    join(outDir, `bsq-rd${suffix}.svg`),
    renderFigure({
      title: `BSQ tokens on Kodak (${records.length} images) at very low rates`,
      subtitle: `${result.date.slice(0, 10)}, ${codecId}; all curves measured in this run; BD-rate (MS-SSIM) vs AVIF ${pct(bd.msssim_vs_avif)}`,
      panels: [
        { title: 'MS-SSIM (RGB)', xLabel: 'bits per pixel', yLabel: 'MS-SSIM', x: [0, xMax], y: range('msssim'), series: series('msssim') },
        { title: 'PSNR-RGB', xLabel: 'bits per pixel', yLabel: 'dB', x: [0, xMax], y: range('psnr'), series: series('psnr') },
      ],
    }),
  );
  console.log(`\nwrote bench/results/bsq${suffix}.json and bsq-rd${suffix}.svg (${result.seconds} s)`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
