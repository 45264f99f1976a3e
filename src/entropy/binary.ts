import { invalidOption } from '../errors.js';
import { RansTables } from '../coder/tables.js';
import { quantizePmfToCdf } from './quantize.js';

function checkProbability(p: unknown, name: string): number {
  if (typeof p !== 'number' || !(p >= 0 && p <= 1)) throw invalidOption('number between 0 and 1', name, p);
  return p;
}

/**
 * One table per probability for bits (bit-planes): table i codes 0 with probability
 * `1 - pOne[i]` and 1 with `pOne[i]`, each clamped to at least 1/65536, plus an escape
 * symbol of weight 1/65536 for any other value.
 * @example
 * const tables = buildBinaryTables([0.5, 0.9, 0.01]);
 * @throws InvalidOptionError for an empty list or a probability outside [0, 1].
 */
export function buildBinaryTables(pOne: ArrayLike<number>): RansTables {
  const n = pOne.length;
  if (!(n >= 1)) throw invalidOption('at least one probability', 'pOne.length', n);
  const tables = [];
  for (let i = 0; i < n; i++) {
    const p = checkProbability(pOne[i], `pOne[${i}]`);
    tables.push({ cdf: quantizePmfToCdf([1 - p, p, 0]), offset: 0 });
  }
  return RansTables.fromList(tables);
}

/**
 * One table per probability triple for trits (trit-planes): `probabilities` holds
 * (p0, p1, p2) for each table, flat; symbol k codes value `offset + k`. Each probability is
 * clamped to at least 1/65536; triples need not be normalised.
 * @example
 * const tables = buildTernaryTables([0.25, 0.5, 0.25], -1); // values -1, 0, 1
 * @throws InvalidOptionError for a length that is not a positive multiple of 3, a
 *   probability outside [0, 1] or a triple summing to 0.
 */
export function buildTernaryTables(probabilities: ArrayLike<number>, offset = 0): RansTables {
  const n = probabilities.length;
  if (!(n >= 3 && n % 3 === 0)) throw invalidOption('positive multiple of 3', 'probabilities.length', n);
  if (!Number.isInteger(offset)) throw invalidOption('integer', 'offset', offset);
  const tables = [];
  for (let i = 0; i < n; i += 3) {
    const p0 = checkProbability(probabilities[i], `probabilities[${i}]`);
    const p1 = checkProbability(probabilities[i + 1], `probabilities[${i + 1}]`);
    const p2 = checkProbability(probabilities[i + 2], `probabilities[${i + 2}]`);
    if (!(p0 + p1 + p2 > 0)) throw invalidOption('probabilities with a positive sum', `probabilities[${i}..${i + 2}]`, 0);
    tables.push({ cdf: quantizePmfToCdf([p0, p1, p2, 0]), offset });
  }
  return RansTables.fromList(tables);
}
