import { invalidOption } from '../errors.js';
import { RansTables } from '../coder/tables.js';
import { normalCdf, normalQuantile } from './math.js';
import { EntropyModel } from './model.js';
import { quantizePmfToCdf } from './quantize.js';

/**
 * The default scale table, exp(linspace(log 0.11, log 256, 64)), written out as constants so
 * that no machine recomputes it with its own exp/log.
 */
export const DEFAULT_SCALE_TABLE: readonly number[] = Object.freeze([
  0.11, 0.12440410337871262, 0.14069437215874012, 0.1591177928985361, 0.17995369415583692,
  0.20351798155585427, 0.23016792742637654, 0.26030758761831785, 0.2943939276393863,
  0.33294375098286777, 0.37654153469608204, 0.4258482909882771, 0.48161158923412467,
  0.5446768903224373, 0.6160003651969836, 0.6966633919390023, 0.787888951190402, 0.891060168498511,
  1.0077412847140166, 1.1397013723869016, 1.2889411577389158, 1.4577233548766322, 1.64860697216033,
  1.8644861108681825, 2.108633844405629, 2.384751843339001, 2.697026498648367, 3.0501923941179885,
  3.449604090207429, 3.901317307761771, 4.412180742435963, 4.989939901886986, 5.6433545400719245,
  6.382331469143953, 7.218074762587224, 8.163255626910708, 9.232204517427787, 10.441128410904577,
  11.808356529278063, 13.354618240009122, 15.103357346484879, 17.081087533615843,
  19.317794357752575, 21.847389875732397, 24.708226805960464, 27.943680017030772,
  31.602804160185094, 35.74107741637158, 40.42124263429875, 45.71425861248477, 51.70037594826147,
  58.47035376532569, 66.12683576737696, 74.78590648101743, 84.57885128304754, 95.65414689699084,
  108.17971253796196, 122.3454558368367, 138.36615214401417, 156.48470086762356, 176.9758082174797,
  200.15015219107795, 226.3590929494899, 256,
]);

/** Default probability mass left outside the tables' range (coded through the escape symbol). */
export const DEFAULT_TAIL_MASS = 1e-9;

export interface GaussianTableOptions {
  /** Mass outside each table's range, split between both tails. Default 1e-9. */
  tailMass?: number;
}

function checkScaleTable(scaleTable: ArrayLike<number>): Float64Array {
  const n = scaleTable.length;
  if (!(n >= 1 && n <= 65536)) throw invalidOption('between 1 and 65536 scales', 'scaleTable.length', n);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const s = scaleTable[i];
    if (typeof s !== 'number' || !(s > 0 && s <= 1e6) || (i > 0 && !(s > out[i - 1]))) {
      throw invalidOption('strictly increasing scales in (0, 1e6]', `scaleTable[${i}]`, s);
    }
    out[i] = s;
  }
  return out;
}

function checkTailMass(tailMass: number): number {
  if (typeof tailMass !== 'number' || !(tailMass > 0 && tailMass < 0.5)) {
    throw invalidOption('number between 0 and 0.5 (exclusive)', 'tailMass', tailMass);
  }
  return tailMass;
}

/**
 * Builds one table per scale for a zero-mean Gaussian (CompressAI GaussianConditional):
 * table t covers the integers -c..c with c = ceil(scale * q), q the normal quantile of
 * tailMass / 2; symbol k has the mass of [k - 1/2, k + 1/2], and the escape symbol the two
 * tails. Deterministic on every machine (see math.ts).
 *
 * @example
 * const tables = buildGaussianTables(); // 64 tables for DEFAULT_SCALE_TABLE
 * @throws InvalidOptionError for a scale table that is not strictly increasing and positive,
 *   or a tail mass outside (0, 0.5).
 */
export function buildGaussianTables(
  scaleTable: ArrayLike<number> = DEFAULT_SCALE_TABLE,
  options: GaussianTableOptions = {},
): RansTables {
  const scales = checkScaleTable(scaleTable);
  const tailMass = checkTailMass(options.tailMass ?? DEFAULT_TAIL_MASS);
  const multiplier = -normalQuantile(tailMass / 2);
  const tables = [];
  for (let t = 0; t < scales.length; t++) {
    const scale = scales[t];
    const center = Math.ceil(scale * multiplier);
    const length = 2 * center + 1;
    if (length + 1 > 65536) {
      throw invalidOption(`scales whose tables fit 65536 symbols (at most ${Math.floor(32766 / multiplier)})`, `scaleTable[${t}]`, scale);
    }
    // the CDF at the lower bin edges -k - 1/2, on the lower tail where it keeps full
    // relative precision; the pmf is symmetric
    const lower = new Float64Array(center + 1);
    for (let k = 0; k <= center; k++) lower[k] = normalCdf((-0.5 - k) / scale);
    const pmf = new Float64Array(length + 1);
    pmf[center] = 1 - 2 * lower[0];
    for (let k = 1; k <= center; k++) {
      const p = lower[k - 1] - lower[k];
      pmf[center - k] = p;
      pmf[center + k] = p;
    }
    pmf[length] = 2 * lower[center];
    tables.push({ cdf: quantizePmfToCdf(pmf), offset: -center });
  }
  return RansTables.fromList(tables);
}

/**
 * Index of the table to code a value of standard deviation `scale` with: the smallest t
 * with `scaleTable[t] >= scale`, clamped to the last table (NaN also maps to the last).
 * Pure comparisons, so identical on every machine.
 */
export function scaleToIndex(scale: number, scaleTable: ArrayLike<number> = DEFAULT_SCALE_TABLE): number {
  let lo = 0;
  let hi = scaleTable.length - 1;
  if (!(scale <= scaleTable[hi])) return hi;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (scaleTable[mid] >= scale) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/**
 * {@link scaleToIndex} over a whole tensor of scales, with the same result. A first guess
 * comes from a lookup on the top bits of each float32 (sign, exponent and 7 mantissa bits:
 * buckets 0.8% wide, against about 13% between neighbouring levels of the default table),
 * or from the logarithm for other arrays; either is only a starting point, moved by
 * comparisons with the table until it is the smallest t with `scaleTable[t] >= scale`, so
 * the guess cannot change an index. The lookup made this about 2x faster than the logarithm.
 */
export function buildIndexes(
  scales: ArrayLike<number>,
  scaleTable: ArrayLike<number> = DEFAULT_SCALE_TABLE,
  out: Int32Array = new Int32Array(scales.length),
): Int32Array {
  const table = Float64Array.from(scaleTable);
  const last = table.length - 1;
  const top = table[last];
  const bottom = table[0];
  if (scales instanceof Float32Array && last < 256) {
    const guess = bucketGuesses(table);
    const bits = new Uint32Array(scales.buffer, scales.byteOffset, scales.length);
    for (let i = 0; i < scales.length; i++) {
      const scale = scales[i];
      if (!(scale <= top)) {
        out[i] = last;
        continue;
      }
      let t = guess[bits[i] >>> BUCKET_SHIFT];
      while (t < last && table[t] < scale) t++;
      while (t > 0 && table[t - 1] >= scale) t--;
      out[i] = t;
    }
    return out;
  }
  const logBottom = Math.log(bottom);
  const perLog = last > 0 ? last / (Math.log(top) - logBottom) : 0;
  for (let i = 0; i < scales.length; i++) {
    const scale = scales[i];
    if (!(scale <= top)) {
      out[i] = last;
      continue;
    }
    if (scale <= bottom) {
      out[i] = 0;
      continue;
    }
    let t = Math.ceil((Math.log(scale) - logBottom) * perLog);
    t = t < 0 ? 0 : t > last ? last : t;
    while (t < last && table[t] < scale) t++;
    while (t > 0 && table[t - 1] >= scale) t--;
    out[i] = t;
  }
  return out;
}

/** float32 bits >>> BUCKET_SHIFT: sign, exponent and the top 7 mantissa bits. */
const BUCKET_SHIFT = 16;
const bucketCache = new Map<string, Uint8Array>();

/** Per float32 bucket, the smallest t with table[t] >= the bucket's least value (0 for negatives). */
function bucketGuesses(table: Float64Array): Uint8Array {
  const key = Array.from(table).join(',');
  let guess = bucketCache.get(key);
  if (!guess) {
    guess = new Uint8Array(1 << (32 - BUCKET_SHIFT));
    const f = new Float32Array(1);
    const u = new Uint32Array(f.buffer);
    let t = 0;
    // positive buckets in increasing value; the negative half (sign bit set) stays 0
    for (let b = 0; b < 1 << (31 - BUCKET_SHIFT); b++) {
      u[0] = b << BUCKET_SHIFT;
      const least = f[0];
      while (t < table.length - 1 && table[t] < least) t++;
      guess[b] = t;
    }
    if (bucketCache.size > 8) bucketCache.clear();
    bucketCache.set(key, guess);
  }
  return guess;
}

/**
 * Gaussian conditional entropy model: values are coded with the table of their predicted
 * scale. Call `update()` once to build the tables (it refuses to code before).
 *
 * @example
 * const gc = new GaussianConditional().update();
 * const indexes = gc.buildIndexes(scales);
 * gc.encode(encoder, values, indexes);
 * // ...
 * const decoded = gc.decode(decoder, indexes);
 */
export class GaussianConditional extends EntropyModel {
  readonly scaleTable: Float64Array;
  readonly tailMass: number;

  constructor(options: { scaleTable?: ArrayLike<number>; tailMass?: number } = {}) {
    super();
    this.scaleTable = checkScaleTable(options.scaleTable ?? DEFAULT_SCALE_TABLE);
    this.tailMass = checkTailMass(options.tailMass ?? DEFAULT_TAIL_MASS);
  }

  /** Builds the tables. */
  update(): this {
    this.setTables(buildGaussianTables(this.scaleTable, { tailMass: this.tailMass }));
    return this;
  }

  /** Table index for each scale (works before update(): it needs only the scale table). */
  buildIndexes(scales: ArrayLike<number>, out?: Int32Array): Int32Array {
    return buildIndexes(scales, this.scaleTable, out);
  }
}
