/**
 * rANS coder benchmark: WASM and the TypeScript reference in the same run, on
 *  (a) a static skewed 256-symbol alphabet (one table from the sample's histogram), and
 *  (b) a latent-like tensor coded with the 64 Gaussian tables (random scale per value).
 * Prints a table and writes bench/results/rans.json (atomically). Medians of several runs;
 * absolute speeds drift on shared machines, compare the ratios.
 *
 * Run: npm run build && npm run bench:rans
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { join } from 'node:path';
import { loadRans, referenceRans, RansTables, type IntArray, type RansCoder } from '../src/coder/index.js';
import { DEFAULT_SCALE_TABLE, buildGaussianTables, buildIndexes, normalCdf, quantizePmfToCdf } from '../src/entropy/index.js';
import { packageRoot } from '../src/paths.js';

/** Small seedable PRNG (xorshift32 with a multiplicative output scramble), uniform in [0, 1). */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (Math.imul(s, 0x9e3779b1) >>> 0) / 4294967296;
  };
}

function gaussian(rand: () => number): number {
  const u = 1 - rand();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

interface Case {
  name: string;
  description: string;
  symbols: Int32Array;
  indexes: IntArray;
  tables: RansTables;
  /** reference sizes in bits for the whole sample */
  reference: Record<string, number>;
}

/** (a) two-sided geometric around 128, ratio 0.8, clipped to 0..255; table from the histogram. */
function staticCase(n: number): Case {
  const rand = rng(0x5eed);
  const symbols = new Int32Array(n);
  const r = 0.8;
  for (let i = 0; i < n; i++) {
    // geometric magnitude by inversion, random sign
    const mag = Math.floor(Math.log(1 - rand()) / Math.log(r));
    const v = 128 + (rand() < 0.5 ? -mag : mag);
    symbols[i] = Math.max(0, Math.min(255, v));
  }
  const hist = new Float64Array(256);
  for (let i = 0; i < n; i++) hist[symbols[i]]++;
  let entropy = 0;
  for (const c of hist) if (c > 0) entropy -= c * Math.log2(c / n);
  const pmf = [...hist, 0]; // escape symbol: never used here
  const tables = RansTables.fromList([{ cdf: quantizePmfToCdf(pmf), offset: 0 }]);
  let ideal = 0;
  for (let i = 0; i < n; i++) ideal -= Math.log2(tables.frequency(0, symbols[i]) / 65536);
  return {
    name: 'static-256',
    description: `${n} symbols, 256-symbol two-sided geometric (ratio ${r}), one table from the histogram`,
    symbols,
    indexes: new Uint8Array(n),
    tables,
    reference: { empiricalEntropy: entropy, modelCodeLength: ideal },
  };
}

/** Entropy in bits of round(N(0, sigma^2)). */
function discreteGaussianEntropy(sigma: number): number {
  let h = 0;
  const kmax = Math.ceil(sigma * 12) + 2;
  for (let k = -kmax; k <= kmax; k++) {
    const a = Math.abs(k);
    const p = normalCdf((0.5 - a) / sigma) - normalCdf((-0.5 - a) / sigma);
    if (p > 0) h -= p * Math.log2(p);
  }
  return h;
}

/** (b) values round(N(0, s^2)) with s log-uniform in [lo, hi], coded with the table of s. */
function gaussianCase(n: number, lo: number, hi: number): Case {
  const rand = rng(0xbe7a);
  const tables = buildGaussianTables();
  const scales = new Float64Array(n);
  const symbols = new Int32Array(n);
  const llo = Math.log(lo);
  const lhi = Math.log(hi);
  for (let i = 0; i < n; i++) {
    const s = Math.exp(llo + (lhi - llo) * rand());
    scales[i] = s;
    symbols[i] = Math.round(s * gaussian(rand));
  }
  const indexes = buildIndexes(scales);
  // true entropy, with H(s) interpolated on a fine log grid
  const grid = 2048;
  const hs = new Float64Array(grid + 1);
  for (let g = 0; g <= grid; g++) hs[g] = discreteGaussianEntropy(Math.exp(llo + ((lhi - llo) * g) / grid));
  let trueEntropy = 0;
  let ideal = 0;
  for (let i = 0; i < n; i++) {
    const u = ((Math.log(scales[i]) - llo) / (lhi - llo)) * grid;
    const g = Math.min(grid - 1, Math.max(0, Math.floor(u)));
    const f = u - g;
    trueEntropy += hs[g] * (1 - f) + hs[g + 1] * f;
    ideal -= Math.log2(tables.frequency(indexes[i], symbols[i]) / 65536);
  }
  return {
    name: 'gaussian-64',
    description: `${n} values round(N(0, s^2)), s log-uniform in [${lo}, ${hi}], ${DEFAULT_SCALE_TABLE.length} Gaussian tables`,
    symbols,
    indexes,
    tables,
    reference: { modelCodeLength: ideal, trueEntropy },
  };
}

interface Timing {
  encodeMsps: number;
  decodeMsps: number;
  encodeBestMsps: number;
  decodeBestMsps: number;
  bytes: Uint8Array;
}

/**
 * Times encode (create, push, flush) and decode (create, decode into a reused array,
 * finish) for every coder, alternating between coders on each repetition so that they see
 * the same machine load. The first repetition is a checked warm-up.
 */
function timeAll(coders: RansCoder[], c: Case, reps: number): Timing[] {
  const n = c.symbols.length;
  const enc = coders.map((): number[] => []);
  const dec = coders.map((): number[] => []);
  const bytes: Uint8Array[] = coders.map(() => new Uint8Array(0));
  const out = new Int32Array(n);
  for (let r = 0; r <= reps; r++) {
    coders.forEach((coder, k) => {
      let t0 = performance.now();
      const e = coder.createEncoder();
      e.encodeWithIndexes(c.symbols, c.indexes, c.tables);
      bytes[k] = e.flush();
      e.dispose();
      const te = performance.now() - t0;
      out.fill(0);
      t0 = performance.now();
      const d = coder.createDecoder(bytes[k]);
      d.decodeWithIndexes(c.indexes, c.tables, out);
      d.finish();
      const td = performance.now() - t0;
      if (r === 0) {
        for (let i = 0; i < n; i++) {
          if (out[i] !== c.symbols[i]) throw new Error(`${coder.name} ${c.name}: mismatch at ${i}`);
        }
        return;
      }
      enc[k].push(n / te / 1000);
      dec[k].push(n / td / 1000);
    });
  }
  return coders.map((_, k) => ({
    encodeMsps: median(enc[k]),
    decodeMsps: median(dec[k]),
    encodeBestMsps: Math.max(...enc[k]),
    decodeBestMsps: Math.max(...dec[k]),
    bytes: bytes[k],
  }));
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const wasm = await loadRans();
  const cases = [staticCase(quick ? 200_000 : 2_000_000), gaussianCase(quick ? 100_000 : 1_000_000, 0.25, 8)];
  const reps = quick ? 3 : 9;
  const rows: string[][] = [];
  const results = [];
  for (const c of cases) {
    const [w, t] = timeAll([wasm, referenceRans], c, reps);
    const n = c.symbols.length;
    const bits = w.bytes.length * 8;
    const refs = Object.fromEntries(
      Object.entries(c.reference).map(([k, v]) => [
        k,
        { bitsPerSymbol: v / n, overheadPercent: (100 * (bits - v)) / v },
      ]),
    );
    const result = {
      name: c.name,
      description: c.description,
      symbols: n,
      tables: c.tables.count,
      bytes: w.bytes.length,
      bitsPerSymbol: bits / n,
      reference: refs,
      identicalStreams: sameBytes(w.bytes, t.bytes),
      wasm: {
        encodeMsymbolsPerSecond: w.encodeMsps,
        decodeMsymbolsPerSecond: w.decodeMsps,
        encodeBestMsymbolsPerSecond: w.encodeBestMsps,
        decodeBestMsymbolsPerSecond: w.decodeBestMsps,
      },
      typescript: {
        encodeMsymbolsPerSecond: t.encodeMsps,
        decodeMsymbolsPerSecond: t.decodeMsps,
        encodeBestMsymbolsPerSecond: t.encodeBestMsps,
        decodeBestMsymbolsPerSecond: t.decodeBestMsps,
      },
      speedup: { encode: w.encodeMsps / t.encodeMsps, decode: w.decodeMsps / t.decodeMsps },
    };
    results.push(result);
    const refText = Object.entries(refs)
      .map(([k, v]) => `${k} ${v.bitsPerSymbol.toFixed(4)} (+${v.overheadPercent.toFixed(3)}%)`)
      .join(', ');
    rows.push([
      c.name,
      n.toString(),
      w.encodeMsps.toFixed(1),
      t.encodeMsps.toFixed(1),
      result.speedup.encode.toFixed(2),
      w.decodeMsps.toFixed(1),
      t.decodeMsps.toFixed(1),
      result.speedup.decode.toFixed(2),
      (bits / n).toFixed(4),
      result.identicalStreams ? 'yes' : 'NO',
      refText,
    ]);
  }
  const head = [
    'case',
    'symbols',
    'enc wasm',
    'enc ts',
    'x',
    'dec wasm',
    'dec ts',
    'x',
    'bits/sym',
    'same',
    'size vs reference (bits/sym, overhead)',
  ];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]): string => r.map((v, i) => (i === r.length - 1 ? v : v.padEnd(widths[i]))).join('  ');
  console.log(`rANS coder, Msymbols/s (median of ${reps}), node ${process.version}, ${cpus()[0]?.model ?? 'cpu'}`);
  console.log(line(head));
  for (const r of rows) console.log(line(r));

  const out = {
    generatedAt: new Date().toISOString(),
    node: process.version,
    cpu: cpus()[0]?.model ?? 'unknown',
    parallelism: availableParallelism(),
    repetitions: reps,
    unit: 'Msymbols/s, median',
    cases: results,
  };
  const dir = join(packageRoot(), 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, quick ? 'rans.quick.json' : 'rans.json');
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(out, null, 2) + '\n');
  renameSync(tmp, file);
  console.log(`wrote ${file}`);
  if (results.some((r) => !r.identicalStreams)) process.exitCode = 1;
}

await main();
