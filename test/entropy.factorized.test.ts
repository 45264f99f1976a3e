import { beforeAll, describe, expect, it } from 'vitest';
import { CodecError, InvalidOptionError } from '../src/errors.js';
import { loadRans, referenceRans, type WasmRans } from '../src/coder/index.js';
import { FactorizedPrior, buildFactorizedTables, channelIndexes } from '../src/entropy/factorized.js';
import { rng } from './helpers/rng.js';

describe('factorized prior tables', () => {
  let rans: WasmRans;
  beforeAll(async () => {
    rans = await loadRans();
  });

  it('builds one table per channel with the escape symbol appended', () => {
    const tables = buildFactorizedTables([
      { pmf: [0.25, 0.5, 0.25], offset: -1 },
      { pmf: [1], offset: 3 },
    ]);
    expect(tables.count).toBe(2);
    expect(Array.from(tables.offsets)).toEqual([-1, 3]);
    expect(Array.from(tables.lengths)).toEqual([5, 3]);
    // quarters, less the escape unit taken from the largest
    expect(Array.from(tables.cdf(0))).toEqual([0, 16384, 49151, 65535, 65536]);
    expect(Array.from(tables.cdf(1))).toEqual([0, 65535, 65536]);
  });

  it('gives the same tables from a pmf and from the equivalent cdf', () => {
    const pmf = [0.001, 0.1, 0.6, 0.25, 0.049];
    const cdf = [0];
    for (const p of pmf) cdf.push(cdf[cdf.length - 1] + p);
    const a = buildFactorizedTables([{ pmf, offset: -2, tailMass: 1e-6 }]);
    const b = buildFactorizedTables([{ cdf, offset: -2, tailMass: 1e-6 }]);
    expect(Array.from(b.cdfs)).toEqual(Array.from(a.cdfs));
  });

  it('takes the tail mass from what the probabilities leave, or from the channel', () => {
    const implicit = buildFactorizedTables([{ pmf: [0.45, 0.45], offset: 0 }]);
    expect(implicit.frequency(0, 5)).toBeCloseTo(6554, -1); // 10% escape
    const cdfTail = buildFactorizedTables([{ cdf: [0.05, 0.5, 0.95], offset: 0 }]);
    expect(cdfTail.frequency(0, -1)).toBeCloseTo(6554, -1);
    const explicit = buildFactorizedTables([{ pmf: [0.45, 0.45], offset: 0, tailMass: 0 }]);
    expect(explicit.frequency(0, 5)).toBe(1);
  });

  it('rejects malformed channels', () => {
    expect(() => buildFactorizedTables([])).toThrow(InvalidOptionError);
    expect(() => buildFactorizedTables([{ offset: 0 }])).toThrow(InvalidOptionError);
    expect(() => buildFactorizedTables([{ pmf: [1], cdf: [0, 1], offset: 0 }])).toThrow(InvalidOptionError);
    expect(() => buildFactorizedTables([{ pmf: [1, -1], offset: 0 }])).toThrow(InvalidOptionError);
    expect(() => buildFactorizedTables([{ cdf: [0.5, 0.2], offset: 0 }])).toThrow(InvalidOptionError);
    expect(() => buildFactorizedTables([{ pmf: [1], offset: 0.5 }])).toThrow(InvalidOptionError);
    expect(() => buildFactorizedTables([{ pmf: [1], offset: 0, tailMass: 1 }])).toThrow(InvalidOptionError);
  });

  it('channelIndexes labels a channel-major tensor', () => {
    expect(Array.from(channelIndexes(3, 2))).toEqual([0, 0, 1, 1, 2, 2]);
    expect(channelIndexes(4, 0).length).toBe(0);
    expect(() => channelIndexes(0, 2)).toThrow(InvalidOptionError);
  });

  it('FactorizedPrior refuses to code before update(), then round-trips a tensor', () => {
    const rand = rng(5);
    const C = 16;
    const HW = 24 * 24;
    const channels = Array.from({ length: C }, (_, c) => {
      const width = 3 + c;
      const pmf = Array.from({ length: 2 * width + 1 }, (_, i) => Math.exp(-Math.abs(i - width) / (1 + c / 4)));
      const sum = pmf.reduce((a, b) => a + b, 0);
      return { pmf: pmf.map((p) => (p / sum) * (1 - 1e-6)), offset: -width };
    });
    const prior = new FactorizedPrior(channels);
    expect(() => prior.encode(referenceRans.createEncoder(), new Int32Array(1), new Int32Array(1))).toThrow(CodecError);
    expect(() => prior.channels).toThrow(/Uninitialized CDFs/);
    prior.update();
    expect(prior.channels).toBe(C);
    const indexes = channelIndexes(C, HW);
    const z = Int32Array.from(indexes, (c) => Math.round((rand() - 0.5) * (4 + c)) + (rand() < 0.001 ? 1000 : 0));
    const enc = rans.createEncoder();
    prior.encode(enc, z, indexes);
    const dec = rans.createDecoder(enc.flush());
    expect(prior.decode(dec, indexes)).toEqual(z);
    dec.finish();
    expect(() => new FactorizedPrior().update()).toThrow(InvalidOptionError);
  });
});
