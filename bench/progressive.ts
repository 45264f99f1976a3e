/**
 * Progressive-coding benchmark on Kodak: one progressive file per image, cut at byte
 * budgets from 0.05 to 2 bpp, against our non-progressive codec at its qualities (--reference,
 * default the shipped nc-small; also the progressive codec's own non-progressive mode when it
 * is another codec), DPICT's published curve (../shared/anchors/DPICT_kodak_PSNR.csv) and sharp's
 * progressive JPEG cut at the same budgets, all measured in this run except DPICT.
 *
 * Variants of the progressive file, to measure what the CTC context heads bring:
 *   ctc:     coded with CRR, decoded with CDR (the default)
 *   crr:     coded with CRR, decoded without CDR
 *   cdr:     coded without CRR, decoded with CDR
 *   plain:   coded without CRR, decoded without CDR (trit-planes with RD ordering only)
 * For every prefix the decoder gets exactly the first n bytes of the file (a cut, not a
 * re-encode); a budget above the file's size decodes the whole file.
 *
 * The CRR-only and CDR-only variants run on the first --ablation images (default 6; all with
 * --quick); their BD-rates are over those images only, against the plain variant on the same.
 *
 * Writes bench/results/progressive.json and progressive-rd.svg (progressive.quick.* with
 * --quick, progressive.custom.* with fewer images or other --data). Run: npm run build &&
 * npm run bench:progressive [-- --quick] [--images N] [--ablation N] [--codec ID|DIR] [--reference ID|DIR] [--data DIR]
 * [--quality Q] (the progressive files' quality, default 100) [--passes F,F.. | checkerboard] (how
 * each plane is split into CRR passes; default: what the codec's heads were trained for)
 * --data takes any folder of PNG images, e.g. held-out training photos to compare two sets of
 * heads on without looking at Kodak.
 */
import { mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { closeCodecs, decode, encodeWithInfo, DEFAULT_CODEC, DEFAULT_PROGRESSIVE_CODEC } from '../src/api.js';
import { readImage } from '../src/image/io.js';
import { packageRoot } from '../src/paths.js';
import { bdRate, type BdResult, type RdPoint } from './lib/bd.js';
import { psnr, type Pixels } from './lib/metrics.js';
import { formatTable, mean, writeResult } from './lib/stats.js';
import { renderFigure, type Series } from './lib/svg.js';

const BUDGETS = [0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.65, 0.8, 1.0, 1.25, 1.5, 2.0];
const QUICK_BUDGETS = [0.05, 0.1, 0.2, 0.4, 0.8, 1.25, 2.0];
const QUALITIES = [1, 8, 16, 30, 45, 60, 75, 90, 100];
const QUICK_QUALITIES = [1, 30, 60, 100];
const VARIANTS = [
  { id: 'ctc', label: 'progressive, CRR + CDR', crr: true, cdr: true, colour: '#d62728' },
  { id: 'crr', label: 'progressive, CRR only', crr: true, cdr: false, colour: '#ff9896' },
  { id: 'cdr', label: 'progressive, CDR only', crr: false, cdr: true, colour: '#e377c2' },
  { id: 'plain', label: 'progressive, no context heads', crr: false, cdr: false, colour: '#7f7f7f' },
] as const;
type VariantId = (typeof VARIANTS)[number]['id'];

interface CutRecord {
  budgetBpp: number;
  bytes: number;
  bpp: number;
  psnr: number | null;
  planes?: number;
  fraction?: number;
}

interface ImageRecord {
  image: string;
  width: number;
  height: number;
  progressiveBytes: { crr: number; nocrr: number };
  encodeMs: { crr: number; nocrr: number };
  /** Decoding the whole file from scratch, and each budget continuing from the previous one. */
  wholeDecodeMs: number;
  decodeMs: number[];
  cuts: Record<VariantId | 'jpeg', CutRecord[]>;
  onePercent: { bytes: number; psnr: number };
  /** The reference codec's non-progressive files, and the progressive codec's own (when it is another codec). */
  nonProgressive: NonProgressivePoint[];
  sameBackbone: NonProgressivePoint[];
  /** Budget pairs where the PSNR fell by more than 0.01 dB with more bytes, per variant. */
  decreases: Record<VariantId, number>;
}

type NonProgressivePoint = { quality: number; bytes: number; bpp: number; psnr: number };

function curve(all: ImageRecord[], pick: (r: ImageRecord) => CutRecord[]): RdPoint[] {
  const records = all.filter((r) => pick(r).length > 0);
  if (records.length === 0) return [];
  const out: RdPoint[] = [];
  const n = pick(records[0]).length;
  for (let i = 0; i < n; i++) {
    const cuts = records.map((r) => pick(r)[i]);
    if (cuts.some((c) => c.psnr === null)) continue;
    out.push({ bpp: mean(cuts.map((c) => c.bpp)), psnr: mean(cuts.map((c) => c.psnr!)) });
  }
  // budgets above every file's size give the same point: keep one
  return out.filter((p, i) => i === 0 || p.bpp > out[i - 1].bpp + 1e-9);
}

const pct = (b: BdResult) => (b.percent === null ? `n/a (${b.reason})` : `${b.percent >= 0 ? '+' : ''}${b.percent.toFixed(1)}%`);

async function main() {
  const root = packageRoot();
  const defaultData = join(root, '..', 'shared', 'data', 'kodak');
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      images: { type: 'string' },
      data: { type: 'string', default: defaultData },
      codec: { type: 'string', default: DEFAULT_PROGRESSIVE_CODEC },
      reference: { type: 'string', default: DEFAULT_CODEC },
      ablation: { type: 'string' },
      quality: { type: 'string', default: '100' },
      passes: { type: 'string' },
    },
  });
  // the split of each plane into CRR passes: the codec's default, or e.g. --passes 0.25 / checkerboard
  const passes = values.passes === undefined ? undefined : values.passes === 'checkerboard' ? ('checkerboard' as const) : values.passes.split(',').filter(Boolean).map(Number);
  const progressiveQuality = Number(values.quality);
  const quick = values.quick ?? false;
  const budgets = quick ? QUICK_BUDGETS : BUDGETS;
  const qualities = quick ? QUICK_QUALITIES : QUALITIES;
  // Kodak by default; --data takes any folder of PNG images (a held-out set to compare heads on)
  const files = readdirSync(values.data!).filter((f) => /\.png$/i.test(f)).sort();
  const nImages = values.images ? Number(values.images) : quick ? 4 : files.length;
  if (files.length === 0) throw new Error(`no PNG images in ${values.data}`);
  const codec = values.codec!;
  const reference = values.reference!;
  // CRR-only and CDR-only decodes cost as much as the others: on the first images only
  const ablationImages = values.ablation !== undefined ? Number(values.ablation) : quick ? nImages : 6;
  const records: ImageRecord[] = [];
  const started = Date.now();

  for (const name of files.slice(0, nImages)) {
    const path = join(values.data, name);
    const { frame } = await readImage(path);
    const pixels = frame.width * frame.height;
    const ref: Pixels = frame;
    let t = performance.now();
    const withCrr = (await encodeWithInfo(path, { codec, progressive: true, quality: progressiveQuality, passes })).bytes;
    const encCrr = performance.now() - t;
    t = performance.now();
    const noCrr = (await encodeWithInfo(path, { codec, progressive: true, quality: progressiveQuality, crr: false, passes })).bytes;
    const encNo = performance.now() - t;
    const cuts = { ctc: [], crr: [], cdr: [], plain: [], jpeg: [] } as Record<VariantId | 'jpeg', CutRecord[]>;
    const decodeMs: number[] = [];
    const ablation = records.length < ablationImages;
    for (const v of VARIANTS) {
      if (!ablation && (v.id === 'crr' || v.id === 'cdr')) continue;
      const file = v.crr ? withCrr : noCrr;
      const resume = {}; // budgets ascend: each decode continues from the planes the last completed
      for (const b of budgets) {
        const n = Math.min(file.length, Math.floor((b * pixels) / 8));
        t = performance.now();
        const img = await decode(file, { codec, bytes: n, cdr: v.cdr, resume });
        if (v.id === 'ctc') decodeMs.push(performance.now() - t);
        cuts[v.id].push({ budgetBpp: b, bytes: n, bpp: (n * 8) / pixels, psnr: psnr(img, ref), planes: img.progressive!.planes, fraction: img.progressive!.fraction });
      }
    }
    // a whole decode from scratch, for its time
    t = performance.now();
    await decode(withCrr, { codec });
    const wholeDecodeMs = performance.now() - t;
    const onePercentBytes = Math.ceil(withCrr.length * 0.01);
    const one = await decode(withCrr, { codec, bytes: onePercentBytes });
    // sharp's progressive JPEG (mozjpeg scans), cut at the same budgets
    const jpeg = await sharp(frame.data, { raw: { width: frame.width, height: frame.height, channels: 3 } }).jpeg({ quality: 95, progressive: true, mozjpeg: true }).toBuffer();
    for (const b of budgets) {
      const n = Math.min(jpeg.length, Math.floor((b * pixels) / 8));
      let q: number | null = null;
      try {
        // libjpeg fills what a cut file lacks; failOn 'none' lets sharp return that image
        const { data, info } = await sharp(jpeg.subarray(0, n), { failOn: 'none' }).removeAlpha().raw().toBuffer({ resolveWithObject: true });
        q = psnr({ data, width: info.width, height: info.height, channels: info.channels }, ref);
      } catch {
        q = null; // too short for libjpeg to produce an image
      }
      cuts.jpeg.push({ budgetBpp: b, bytes: n, bpp: (n * 8) / pixels, psnr: q });
    }
    const nonProgressiveCurve = async (id: string) => {
      const out: NonProgressivePoint[] = [];
      for (const q of qualities) {
        const r = await encodeWithInfo(path, { codec: id, quality: q });
        const img = await decode(r.bytes, { codec: id });
        out.push({ quality: q, bytes: r.bytes.length, bpp: r.bpp, psnr: psnr(img, ref) });
      }
      return out;
    };
    const nonProgressive = await nonProgressiveCurve(reference);
    const sameBackbone = reference === codec ? [] : await nonProgressiveCurve(codec);
    const decreases = {} as Record<VariantId, number>;
    for (const v of VARIANTS) {
      let d = 0;
      const c = cuts[v.id];
      for (let i = 1; i < c.length; i++) if (c[i].psnr! < c[i - 1].psnr! - 0.01) d++;
      decreases[v.id] = d;
    }
    const rec: ImageRecord = {
      image: name,
      width: frame.width,
      height: frame.height,
      progressiveBytes: { crr: withCrr.length, nocrr: noCrr.length },
      encodeMs: { crr: Math.round(encCrr), nocrr: Math.round(encNo) },
      wholeDecodeMs: Math.round(wholeDecodeMs),
      decodeMs: decodeMs.map(Math.round),
      cuts,
      onePercent: { bytes: onePercentBytes, psnr: psnr(one, ref) },
      nonProgressive,
      sameBackbone,
      decreases,
    };
    records.push(rec);
    const last = cuts.ctc[cuts.ctc.length - 1];
    console.log(`${name}: progressive ${withCrr.length} B (no CRR ${noCrr.length} B), whole ${last.psnr!.toFixed(2)} dB; 1% (${onePercentBytes} B) ${rec.onePercent.psnr.toFixed(2)} dB; decreases ${JSON.stringify(decreases)} [${((Date.now() - started) / 1000).toFixed(0)} s]`);
  }
  await closeCodecs();

  const meanCurve = (pick: (r: ImageRecord) => NonProgressivePoint[]): RdPoint[] =>
    pick(records[0]).length === 0 ? [] : qualities.map((_, i) => ({ bpp: mean(records.map((r) => pick(r)[i].bpp)), psnr: mean(records.map((r) => pick(r)[i].psnr)) }));
  const nonProg = meanCurve((r) => r.nonProgressive);
  const sameBackbone = meanCurve((r) => r.sameBackbone);
  const curves: Record<string, RdPoint[]> = {};
  for (const v of VARIANTS) curves[v.id] = curve(records, (r) => r.cuts[v.id]);
  curves.jpeg = curve(records, (r) => r.cuts.jpeg);
  const dpict = readFileSync(join(root, '..', 'shared', 'anchors', 'DPICT_kodak_PSNR.csv'), 'utf8')
    .replace(/^\uFEFF/, '')
    .trim()
    .split(/\r?\n/)
    .map((l) => l.split(',').map(Number))
    .filter(([b, p]) => Number.isFinite(b) && Number.isFinite(p))
    .map(([bpp, p]) => ({ bpp, psnr: p }))
    .sort((a, b) => a.bpp - b.bpp);

  const bd: Record<string, BdResult> = {};
  for (const v of VARIANTS) bd[`${v.id}_vs_nonprogressive`] = bdRate(nonProg, curves[v.id]);
  if (sameBackbone.length > 0) {
    bd.ctc_vs_same_backbone = bdRate(sameBackbone, curves.ctc);
    bd.same_backbone_vs_nonprogressive = bdRate(nonProg, sameBackbone);
  }
  bd.ctc_vs_plain = bdRate(curves.plain, curves.ctc);
  // the ablation images only, all four variants on the same images
  const abl = records.slice(0, Math.min(ablationImages, records.length));
  const ablCurve = (id: VariantId) => curve(abl, (r) => r.cuts[id]);
  bd.ablation_crr_vs_plain = bdRate(ablCurve('plain'), ablCurve('crr'));
  bd.ablation_cdr_vs_plain = bdRate(ablCurve('plain'), ablCurve('cdr'));
  bd.ablation_ctc_vs_plain = bdRate(ablCurve('plain'), ablCurve('ctc'));
  bd.ctc_vs_dpict = bdRate(dpict, curves.ctc);
  bd.ctc_vs_progressive_jpeg = bdRate(curves.jpeg, curves.ctc);

  const rows = budgets.map((b, i) => [
    b.toFixed(3),
    ...VARIANTS.map((v) => {
      const c = records.filter((r) => r.cuts[v.id].length > 0).map((r) => r.cuts[v.id][i]);
      return `${mean(c.map((x) => x.bpp)).toFixed(3)} / ${mean(c.map((x) => x.psnr!)).toFixed(2)}`;
    }),
    (() => {
      const c = records.map((r) => r.cuts.jpeg[i]);
      return c.some((x) => x.psnr === null) ? 'no image' : `${mean(c.map((x) => x.psnr!)).toFixed(2)}`;
    })(),
  ]);
  console.log(`\nMean over images: bpp / PSNR-RGB (dB) at each budget (crr and cdr: the first ${Math.min(ablationImages, records.length)} images)`);
  console.log(formatTable(['budget', ...VARIANTS.map((v) => v.id), 'prog. JPEG dB'], rows));
  console.log(`\nNon-progressive: ${reference}${sameBackbone.length > 0 ? ` and ${codec}'s own mode` : ''}`);
  console.log(
    formatTable(
      ['quality', `${reference} bpp`, 'PSNR', ...(sameBackbone.length > 0 ? [`${codec} bpp`, 'PSNR'] : [])],
      nonProg.map((p, i) => [String(qualities[i]), p.bpp.toFixed(3), p.psnr.toFixed(2), ...(sameBackbone.length > 0 ? [sameBackbone[i].bpp.toFixed(3), sameBackbone[i].psnr.toFixed(2)] : [])]),
    ),
  );
  console.log('\nBD-rates (PCHIP, over each pair\'s overlap):');
  for (const [k, v] of Object.entries(bd)) console.log(`  ${k.padEnd(32)} ${pct(v)}${'range' in v && v.range ? `  [${v.range[0].toFixed(2)}, ${v.range[1].toFixed(2)}] dB` : ''}`);
  const decreases = Object.fromEntries(VARIANTS.map((v) => [v.id, records.reduce((s, r) => s + r.decreases[v.id], 0)]));
  console.log(`\nPSNR decreases (> 0.01 dB) between consecutive budgets, summed over images: ${JSON.stringify(decreases)}`);
  console.log(`1% prefixes: all ${records.length} decoded, mean ${mean(records.map((r) => r.onePercent.psnr)).toFixed(2)} dB`);

  const suffix = values.data !== defaultData ? '.custom' : quick ? '.quick' : nImages !== files.length ? '.custom' : '';
  const outDir = join(root, 'bench', 'results');
  mkdirSync(outDir, { recursive: true });
  const result = {
    date: new Date().toISOString(),
    command: `npm run bench:progressive${process.argv.length > 2 ? ' -- ' + process.argv.slice(2).join(' ') : ''}`,
    codec,
    reference,
    images: records.length,
    budgets,
    qualities,
    ablationImages: Math.min(ablationImages, records.length),
    curves: { ...curves, nonProgressive: nonProg, ...(sameBackbone.length > 0 ? { sameBackbone } : {}), dpict: { source: '../shared/anchors/DPICT_kodak_PSNR.csv (published)', points: dpict } },
    bdRate: bd,
    psnrDecreases: decreases,
    onePercent: { decoded: records.length, meanPsnr: mean(records.map((r) => r.onePercent.psnr)) },
    meanWholeDecodeMs: mean(records.map((r) => r.wholeDecodeMs)),
    meanEncodeMs: mean(records.map((r) => r.encodeMs.crr)),
    perImage: records,
    seconds: Math.round((Date.now() - started) / 1000),
  };
  const write = writeResult;
  write(join(outDir, `progressive${suffix}.json`), JSON.stringify(result, null, 1) + '\n');
  const series: Series[] = [
    // CRR-only and CDR-only ran on fewer images: their curves are in the JSON, not here
    ...VARIANTS.filter((v) => v.id === 'ctc' || v.id === 'plain').map((v) => ({ label: v.label, colour: v.colour, points: curves[v.id].map((p) => ({ x: p.bpp, y: p.psnr })) })),
    { label: `non-progressive ${reference} (qualities ${qualities[0]}-${qualities[qualities.length - 1]})`, colour: '#1f77b4', points: nonProg.map((p) => ({ x: p.bpp, y: p.psnr })) },
    ...(sameBackbone.length > 0 ? [{ label: `non-progressive ${codec}`, colour: '#17becf', dashed: true, points: sameBackbone.map((p) => ({ x: p.bpp, y: p.psnr })) }] : []),
    { label: 'progressive JPEG (sharp, q95, cut)', colour: '#2ca02c', points: curves.jpeg.map((p) => ({ x: p.bpp, y: p.psnr })) },
    { label: 'DPICT (published)', colour: '#9467bd', dashed: true, points: dpict.map((p) => ({ x: p.bpp, y: p.psnr })) },
  ];
  const ys = series.flatMap((s) => s.points.filter((p) => p.x <= 2.1).map((p) => p.y));
  write(
    join(outDir, `progressive-rd${suffix}.svg`),
    renderFigure({
      title: `Progressive coding on Kodak (${records.length} images): one file per image, cut at ${budgets.length} budgets`,
      subtitle: `${result.date.slice(0, 10)}, ${codec}; BD-rate CTC vs non-progressive ${reference} ${pct(bd.ctc_vs_nonprogressive)}, CTC vs no heads ${pct(bd.ctc_vs_plain)}`,
      panels: [{ title: 'PSNR-RGB', xLabel: 'bits per pixel', yLabel: 'dB', x: [0, 2.1], y: [Math.floor(Math.min(...ys)) - 1, Math.ceil(Math.max(...ys)) + 1], series }],
    }),
  );
  console.log(`\nwrote bench/results/progressive${suffix}.json and progressive-rd${suffix}.svg (${result.seconds} s)`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
