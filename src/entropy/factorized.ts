import { invalidOption } from '../errors.js';
import { RansTables } from '../coder/tables.js';
import { EntropyModel } from './model.js';
import { quantizePmfToCdf } from './quantize.js';

/**
 * One channel of a factorized prior, as exported from training: either the probability of
 * each integer from `offset` upwards (`pmf`), or the cumulative probability at the bin edges
 * (`cdf[i]` = P(value < offset + i - 1/2), one entry more than there are values).
 */
export interface FactorizedChannel {
  pmf?: ArrayLike<number>;
  cdf?: ArrayLike<number>;
  /** Value of the first entry. */
  offset: number;
  /**
   * Mass of everything outside the range, coded through the escape symbol. Default: what the
   * pmf leaves to 1 (`1 - sum(pmf)`, at least 0) or, for a cdf, `cdf[0] + 1 - cdf[last]`.
   */
  tailMass?: number;
}

function channelPmf(ch: FactorizedChannel, c: number): Float64Array {
  if (ch === null || typeof ch !== 'object') throw invalidOption('{ pmf | cdf, offset }', `channels[${c}]`, ch);
  const hasPmf = ch.pmf !== undefined;
  const hasCdf = ch.cdf !== undefined;
  if (hasPmf === hasCdf) throw invalidOption('exactly one of pmf and cdf', `channels[${c}]`, ch);
  let pmf: Float64Array;
  let tail: number;
  if (hasPmf) {
    const src = ch.pmf!;
    pmf = new Float64Array(src.length + 1);
    let sum = 0;
    for (let i = 0; i < src.length; i++) {
      const p = src[i];
      if (typeof p !== 'number' || !(p >= 0 && p < Infinity)) {
        throw invalidOption('finite number >= 0', `channels[${c}].pmf[${i}]`, p);
      }
      pmf[i] = p;
      sum += p;
    }
    tail = Math.max(0, 1 - sum);
  } else {
    const src = ch.cdf!;
    if (src.length < 2) throw invalidOption('at least 2 entries', `channels[${c}].cdf.length`, src.length);
    pmf = new Float64Array(src.length);
    for (let i = 0; i < src.length; i++) {
      const v = src[i];
      if (typeof v !== 'number' || !(v >= 0 && v <= 1) || (i > 0 && v < src[i - 1])) {
        throw invalidOption('non-decreasing number between 0 and 1', `channels[${c}].cdf[${i}]`, v);
      }
      if (i > 0) pmf[i - 1] = v - src[i - 1];
    }
    tail = src[0] + (1 - src[src.length - 1]);
  }
  if (ch.tailMass !== undefined) {
    if (typeof ch.tailMass !== 'number' || !(ch.tailMass >= 0 && ch.tailMass < 1)) {
      throw invalidOption('number in [0, 1)', `channels[${c}].tailMass`, ch.tailMass);
    }
    tail = ch.tailMass;
  }
  pmf[pmf.length - 1] = tail;
  if (pmf.length < 2 || pmf.length > 65536) {
    throw invalidOption('between 1 and 65535 values', `channels[${c}] length`, pmf.length - 1);
  }
  return pmf;
}

/**
 * One table per channel from exported probabilities, escape symbol appended.
 * @example
 * buildFactorizedTables([{ pmf: [0.1, 0.8, 0.1], offset: -1 }]);
 * @throws InvalidOptionError for malformed channel data.
 */
export function buildFactorizedTables(channels: readonly FactorizedChannel[]): RansTables {
  if (!Array.isArray(channels) || channels.length < 1) {
    throw invalidOption('non-empty array of channels', 'channels', channels);
  }
  return RansTables.fromList(
    channels.map((ch, c) => {
      const pmf = channelPmf(ch, c);
      if (!Number.isInteger(ch.offset)) throw invalidOption('integer', `channels[${c}].offset`, ch.offset);
      return { cdf: quantizePmfToCdf(pmf), offset: ch.offset };
    }),
  );
}

/** Table index of every element of a channel-major (C, ...) tensor: element i is in channel floor(i / perChannel). */
export function channelIndexes(channels: number, perChannel: number): Int32Array {
  if (!Number.isInteger(channels) || channels < 1) throw invalidOption('positive integer', 'channels', channels);
  if (!Number.isInteger(perChannel) || perChannel < 0) {
    throw invalidOption('integer >= 0', 'perChannel', perChannel);
  }
  const out = new Int32Array(channels * perChannel);
  for (let c = 0; c < channels; c++) out.fill(c, c * perChannel, (c + 1) * perChannel);
  return out;
}

/**
 * Factorized prior (CompressAI EntropyBottleneck at inference): one fixed table per
 * channel, from exported per-channel probabilities. Refuses to code before `update()`.
 *
 * @example
 * const prior = new FactorizedPrior(channelsFromModelCard).update();
 * prior.encode(encoder, z, channelIndexes(C, H * W));
 */
export class FactorizedPrior extends EntropyModel {
  #channels: readonly FactorizedChannel[] | undefined;

  constructor(channels?: readonly FactorizedChannel[]) {
    super();
    this.#channels = channels;
  }

  /** Builds the tables from the given channels, or from the constructor's. */
  update(channels?: readonly FactorizedChannel[]): this {
    if (channels !== undefined) this.#channels = channels;
    if (this.#channels === undefined) throw invalidOption('channel probabilities', 'channels', undefined);
    this.setTables(buildFactorizedTables(this.#channels));
    return this;
  }

  /** Number of channels (tables) once updated. */
  get channels(): number {
    return this.tables.count;
  }
}
