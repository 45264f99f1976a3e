import { invalidOption } from '../errors.js';
import { PROB_SCALE } from '../coder/constants.js';

/**
 * Max-heap of symbol indexes ordered by `keys[i]` (ties: lower index first). The order is
 * total, so the pop sequence — and with it the resulting table — does not depend on how the
 * heap was built. Keys live in a typed array; `update(i)` is called after changing keys[i]
 * of the element just popped, before pushing it back.
 */
class IndexHeap {
  readonly #items: Int32Array;
  #size = 0;
  constructor(
    readonly keys: Float64Array,
    members: Iterable<number>,
    capacity: number,
  ) {
    this.#items = new Int32Array(capacity);
    for (const i of members) this.#items[this.#size++] = i;
    for (let p = (this.#size >> 1) - 1; p >= 0; p--) this.#down(p);
  }

  #above(a: number, b: number): boolean {
    const ka = this.keys[a];
    const kb = this.keys[b];
    return ka > kb || (ka === kb && a < b);
  }

  #down(p: number): void {
    const h = this.#items;
    const n = this.#size;
    for (;;) {
      const l = 2 * p + 1;
      const r = l + 1;
      let m = p;
      if (l < n && this.#above(h[l], h[m])) m = l;
      if (r < n && this.#above(h[r], h[m])) m = r;
      if (m === p) return;
      const t = h[m];
      h[m] = h[p];
      h[p] = t;
      p = m;
    }
  }

  push(i: number): void {
    const h = this.#items;
    let c = this.#size++;
    h[c] = i;
    while (c > 0) {
      const p = (c - 1) >> 1;
      if (!this.#above(h[c], h[p])) break;
      const t = h[c];
      h[c] = h[p];
      h[p] = t;
      c = p;
    }
  }

  pop(): number {
    const h = this.#items;
    const top = h[0];
    h[0] = h[--this.#size];
    if (this.#size > 0) this.#down(0);
    return top;
  }
}

function* range(n: number): Generator<number> {
  for (let i = 0; i < n; i++) yield i;
}

/**
 * Quantises a probability mass function to a 16-bit CDF: `cdf[0] = 0`,
 * `cdf[i + 1] - cdf[i] >= 1` for every symbol (so any symbol stays codable, even one of
 * probability 0), and `cdf[n] = 65536`. The pmf need not be normalised.
 *
 * Each symbol first gets its rounded share (at least 1); the difference to 65536 is then
 * settled one unit at a time where it costs the fewest expected bits (largest
 * `share / (freq + 1/2)` gains a unit, smallest `share / (freq - 1/2)` gives one up). Only
 * IEEE arithmetic and integer bookkeeping with a fixed tie order are used, so the result is
 * identical on every machine. Used by every table builder.
 *
 * The builders append the escape symbol's probability as the last entry.
 *
 * @example
 * quantizePmfToCdf([0.7, 0.2, 0.1]); // Uint32Array [0, 45875, 58982, 65536]
 * @throws InvalidOptionError unless 1 <= pmf.length <= 65536 and every entry is a finite
 *   number >= 0 with a positive sum.
 */
export function quantizePmfToCdf(pmf: ArrayLike<number>): Uint32Array {
  const n = pmf.length;
  if (!(n >= 1 && n <= PROB_SCALE)) {
    throw invalidOption(`between 1 and ${PROB_SCALE} probabilities`, 'pmf.length', n);
  }
  let total = 0;
  for (let i = 0; i < n; i++) {
    const p = pmf[i];
    if (typeof p !== 'number' || !(p >= 0 && p < Infinity)) {
      throw invalidOption('finite number >= 0', `pmf[${i}]`, p);
    }
    total += p;
  }
  if (!(total > 0 && total < Infinity)) {
    throw invalidOption('probabilities with a positive, finite sum', 'sum of pmf', total);
  }
  const scale = PROB_SCALE / total;
  const share = new Float64Array(n);
  const freq = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const s = pmf[i] * scale;
    const f = Math.max(1, Math.round(s));
    share[i] = s;
    freq[i] = f;
    sum += f;
  }
  let diff = PROB_SCALE - sum;
  if (diff > 0) {
    const keys = new Float64Array(n);
    for (let i = 0; i < n; i++) keys[i] = share[i] / (freq[i] + 0.5);
    const heap = new IndexHeap(keys, range(n), n);
    while (diff > 0) {
      const i = heap.pop();
      freq[i]++;
      diff--;
      keys[i] = share[i] / (freq[i] + 0.5);
      heap.push(i);
    }
  } else if (diff < 0) {
    // pop the smallest loss first: negate the key of a max-heap
    const keys = new Float64Array(n);
    for (let i = 0; i < n; i++) keys[i] = -share[i] / (freq[i] - 0.5);
    const heap = new IndexHeap(keys, (function* () {
      for (let i = 0; i < n; i++) if (freq[i] > 1) yield i;
    })(), n);
    while (diff < 0) {
      const i = heap.pop();
      freq[i]--;
      diff++;
      keys[i] = -share[i] / (freq[i] - 0.5);
      if (freq[i] > 1) heap.push(i);
    }
  }
  const cdf = new Uint32Array(n + 1);
  for (let i = 0; i < n; i++) cdf[i + 1] = cdf[i] + freq[i];
  return cdf;
}

/** Probabilities of a CDF made by {@link quantizePmfToCdf}, as fractions of 65536. */
export function cdfToPmf(cdf: ArrayLike<number>): Float64Array {
  const pmf = new Float64Array(Math.max(0, cdf.length - 1));
  for (let i = 0; i < pmf.length; i++) pmf[i] = (cdf[i + 1] - cdf[i]) / PROB_SCALE;
  return pmf;
}
