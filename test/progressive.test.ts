/**
 * Trit-plane progressive coding: prefix decoding in the rANS coder and the container, the
 * progressive codec with the shipped nc-prog heads (any prefix decodes, quality grows with
 * bytes, truncate makes valid files, errors are typed), the progressive decode stream and
 * the CLI.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeCodecs, decode, encodeWithInfo, getCodec, truncate } from '../src/api.js';
import { readContainer, writeContainer } from '../src/bitstream/container.js';
import { inspect } from '../src/bitstream/inspect.js';
import { decodeProgressiveInfo, encodeProgressiveInfo } from '../src/bitstream/progressive-info.js';
import { UnitType } from '../src/bitstream/units.js';
import { ProgressiveCoder, readProgressive } from '../src/codec/progressive.js';
import { loadRans, referenceRans } from '../src/coder/index.js';
import { buildGaussianTables, DEFAULT_SCALE_TABLE } from '../src/entropy/gaussian.js';
import { BitstreamError, InputError, InvalidOptionError } from '../src/errors.js';
import type { Frame } from '../src/image/frame.js';
import { readImage } from '../src/image/io.js';
import { condMean, expDet, log2Det, planeModel, planesFor, stateFeatures } from '../src/quant/tritplane.js';
import { createProgressiveDecodeStream, type ProgressiveRefinement } from '../src/stream/progressive.js';
import { ensureBuilt, mainJs } from './helpers/build.js';
import { rng } from './helpers/rng.js';

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const PHOTO = fixture('photo-256x192.png');

function psnr(a: Frame, b: Frame): number {
  let se = 0;
  for (let i = 0; i < a.data.length; i++) se += (a.data[i] - b.data[i]) ** 2;
  return 10 * Math.log10((255 * 255) / Math.max(se / a.data.length, 1e-10));
}

describe('rANS prefix decoding', () => {
  for (const [name, load] of [['wasm', loadRans], ['reference', async () => referenceRans]] as const) {
    it(`${name}: every prefix of a stream decodes a prefix of its values, exactly`, async () => {
      const coder = await load();
      const tables = buildGaussianTables(DEFAULT_SCALE_TABLE);
      const r = rng(11);
      const n = 3000;
      const sym = new Int32Array(n);
      const idx = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        idx[i] = Math.floor(r() * 40);
        sym[i] = Math.round((r() - 0.5) * 6 * (1 + idx[i] / 8));
      }
      sym[17] = 100000; // an escaped value
      const enc = coder.createEncoder();
      enc.encodeWithIndexes(sym, idx, tables);
      const bytes = enc.flush();
      enc.dispose();
      let last = 0;
      for (let len = 16; len <= bytes.length; len += len < 200 ? 1 : 37) {
        const dec = coder.createDecoder(bytes.subarray(0, len));
        const out = new Int32Array(n);
        // two calls, to cover resuming
        const a = dec.decodePrefix(idx.subarray(0, 1000), tables, out.subarray(0, 1000));
        const b = a === 1000 ? dec.decodePrefix(idx.subarray(1000), tables, out.subarray(1000)) : dec.decodePrefix(idx.subarray(1000), tables, out.subarray(1000));
        if (a < 1000) expect(b).toBe(0);
        const got = a + (a === 1000 ? b : 0);
        expect(got).toBeGreaterThanOrEqual(last);
        for (let i = 0; i < got; i++) if (out[i] !== sym[i]) expect.fail(`value ${i} of ${got} wrong at length ${len}`);
        last = got;
        dec.dispose();
      }
      const dec = coder.createDecoder(bytes);
      const out = new Int32Array(n);
      expect(dec.decodePrefix(idx, tables, out)).toBe(n);
      expect(out).toEqual(sym);
      dec.finish();
      // most of the stream's values need most of its bytes
      const half = coder.createDecoder(bytes.subarray(0, bytes.length >> 1));
      const h = half.decodePrefix(idx, tables, new Int32Array(n));
      expect(h).toBeGreaterThan(n * 0.35);
      expect(h).toBeLessThan(n * 0.65);
      half.dispose();
    });
  }
});

describe('container prefixes', () => {
  it('reads complete units and the cut one, and still rejects corruption', () => {
    const units = [
      { type: UnitType.IMAGE_INFO, payload: new Uint8Array(9).fill(1) },
      { type: UnitType.PROGRESSIVE_PLANE, payload: new Uint8Array(300).fill(7) },
      { type: UnitType.PROGRESSIVE_PLANE, payload: new Uint8Array(50).fill(9) },
    ];
    const file = writeContainer({ codecId: 'x', modelHash: new Uint8Array(8), units });
    const header = readContainer(file).headerLength;
    for (let len = 0; len <= file.length; len++) {
      const cut = file.subarray(0, len);
      if (len < header) {
        expect(() => readContainer(cut, undefined, { allowTruncation: true })).toThrow(BitstreamError);
        continue;
      }
      const c = readContainer(cut, undefined, { allowTruncation: true });
      expect(c.complete).toBe(len === file.length);
      const whole = c.units.reduce((s, u) => s + u.payload.length, 0) + (c.tail?.payload.length ?? 0);
      expect(whole).toBeLessThanOrEqual(359);
      if (c.tail) expect(c.tail.payload.length).toBeLessThanOrEqual(c.tail.length);
      if (len < file.length) expect(() => readContainer(cut)).toThrow(BitstreamError);
    }
    const bad = file.slice();
    bad[readContainer(file).units[1].payloadOffset + 5] ^= 1;
    expect(() => readContainer(bad, undefined, { allowTruncation: true })).toThrow(/CRC mismatch/);
  });
});

describe('PROGRESSIVE_INFO unit', () => {
  it('writes version 1 for checkerboard passes and 2 for ranked ones, and reads both', () => {
    const v1 = encodeProgressiveInfo({ planes: 7, crr: true, passes: 'checkerboard' });
    expect([...v1]).toEqual([1, 1, 7]);
    expect(decodeProgressiveInfo(v1)).toEqual({ planes: 7, crr: true, passes: 'checkerboard' });
    const v2 = encodeProgressiveInfo({ planes: 5, crr: false, passes: [3277, 39322] });
    expect([...v2]).toEqual([2, 0, 5, 3, 3277 & 255, 3277 >> 8, 39322 & 255, 39322 >> 8]);
    expect(decodeProgressiveInfo(v2)).toEqual({ planes: 5, crr: false, passes: [3277, 39322] });
    expect(decodeProgressiveInfo(Uint8Array.of(2, 1, 5, 1))).toEqual({ planes: 5, crr: true, passes: [] });
  });

  it('rejects unknown versions, bad pass counts and splits that do not increase', () => {
    for (const bad of [
      [3, 1, 5],
      [2, 1, 5],
      [2, 1, 5, 0],
      [2, 1, 5, 9, ...new Array(16).fill(1)],
      [2, 1, 5, 3, 0, 16, 0, 8],
      [2, 1, 5, 2, 0, 0],
      [2, 1, 5, 2, 0, 16, 7],
      [1, 1, 7, 0],
    ]) {
      expect(() => decodeProgressiveInfo(Uint8Array.from(bad)), JSON.stringify(bad)).toThrow(BitstreamError);
    }
    expect(() => encodeProgressiveInfo({ planes: 5, crr: true, passes: [500, 400] })).toThrow(RangeError);
  });
});

describe('trit-plane arithmetic', () => {
  it('deterministic exp and log2 agree with Math to ~1 ulp', () => {
    for (const x of [-700, -30.5, -1, -1e-9, 0, 0.3, 1, 5, 700]) expect(expDet(x) / Math.exp(x)).toBeCloseTo(1, 14);
    for (const x of [1e-300, 3e-9, 0.5, 1, 1.5, 2, 7, 1e300]) expect(log2Det(x)).toBeCloseTo(Math.log2(x), 12);
  });

  it('plane counts, conditional means and the coding order', () => {
    expect(planesFor(0)).toBe(1);
    expect(planesFor(1)).toBe(1);
    expect(planesFor(2)).toBe(2);
    expect(planesFor(4)).toBe(2);
    expect(planesFor(5)).toBe(3);
    expect(condMean(-4, 4, 1)).toBeCloseTo(0, 12);
    expect(condMean(1, 4, 1)).toBeGreaterThan(1);
    expect(condMean(1, 4, 1)).toBeLessThan(2);
    expect(condMean(3, 3, 5)).toBe(3);
    expect(condMean(900, 1000, 1)).toBe(900); // mass underflows: the nearer end
    // a wide element goes before a narrow one, and the order is a permutation
    const scale = Float32Array.of(0.2, 8, 0.5, 30);
    const m = planeModel({ lo: Int32Array.of(-13, -13, -13, -13), width: 27, scale, hw: 4, weight: Float32Array.of(1) });
    expect([...m.order].sort()).toEqual([0, 1, 2, 3]);
    expect(m.order.indexOf(3)).toBeLessThan(m.order.indexOf(0));
    expect(m.order.indexOf(1)).toBeLessThan(m.order.indexOf(0));
  });
});

describe('state features', () => {
  it('recomputing only the changed elements equals recomputing all', () => {
    const r = rng(5);
    const n = 3 * 40;
    const mean = Float32Array.from({ length: n }, () => r() * 4 - 2);
    const scale = Float32Array.from({ length: n }, () => 0.11 + r() * 6);
    const lo = new Int32Array(n).fill(-13);
    const rem = new Uint8Array(n).fill(3);
    const cache = stateFeatures(mean, scale, lo, rem);
    const changed = Int32Array.from({ length: 50 }, (_, k) => k * 2);
    for (const e of changed) {
      lo[e] = -4;
      rem[e] = 2;
    }
    stateFeatures(mean, scale, lo, rem, cache, changed);
    const full = stateFeatures(mean, scale, lo, rem);
    expect(cache.feat).toEqual(full.feat);
    expect(cache.yhat).toEqual(full.yhat);
    expect(full.feat[2 * n]).toBe(2);
    expect(full.feat[2 * n + 1]).toBe(3);
  });
});

describe('progressive codec (nc-prog)', () => {
  let photo: Frame;
  let file: Uint8Array;
  let whole: Frame;
  beforeAll(async () => {
    photo = (await readImage(PHOTO)).frame;
    file = (await encodeWithInfo(PHOTO, { progressive: true })).bytes;
    whole = await decode(file);
  }, 120_000);
  afterAll(() => closeCodecs());

  it('writes a progressive file that decodes whole, deterministically', async () => {
    const again = (await encodeWithInfo(PHOTO, { progressive: true })).bytes;
    expect(Buffer.compare(Buffer.from(again), Buffer.from(file))).toBe(0);
    const s = inspect(file);
    expect(s.codecId).toBe('nc-prog');
    expect(s.progressive).toMatchObject({ complete: true, crr: true });
    const d = await decode(file);
    expect(d.progressive).toMatchObject({ complete: true, fraction: 1 });
    expect(d.progressive!.planes).toBe(s.progressive!.planes);
    expect(Buffer.compare(Buffer.from(d.data), Buffer.from(whole.data))).toBe(0);
    expect(psnr(d, photo)).toBeGreaterThan(26);
  });

  it('decodes every prefix from 1% of the file, sharper with more bytes', async () => {
    const header = readProgressive(file).zUnits[0].offset;
    const cuts = new Set<number>();
    for (let i = 0; i <= 40; i++) cuts.add(Math.max(header, Math.round(file.length * (0.01 + (0.99 * i) / 40))));
    let prev = 0;
    let prevFraction = -1;
    const seen: [number, number][] = [];
    for (const n of [...cuts].sort((a, b) => a - b)) {
      const d = await decode(file, { bytes: n });
      expect(d.width).toBe(photo.width);
      expect(d.progressive!.bytes).toBe(n);
      expect(d.progressive!.fraction).toBeGreaterThanOrEqual(prevFraction);
      prevFraction = d.progressive!.fraction;
      const q = psnr(d, photo);
      seen.push([n, q]);
      expect(q, `PSNR at ${n} bytes after ${JSON.stringify(seen.slice(-3))}`).toBeGreaterThanOrEqual(prev - 0.05);
      prev = Math.max(prev, q);
    }
    expect(seen[0][1]).toBeLessThan(seen[seen.length - 1][1] - 3);
  }, 120_000);

  it('a resume state carried over growing prefixes gives the same images as fresh decodes', async () => {
    const resume = {};
    for (const f of [0.05, 0.2, 0.2, 0.45, 0.8, 1]) {
      const n = Math.round(file.length * f);
      const a = await decode(file, { bytes: n, resume });
      const b = await decode(file, { bytes: n });
      expect(Buffer.compare(Buffer.from(a.data), Buffer.from(b.data))).toBe(0);
      expect(a.progressive).toEqual(b.progressive);
    }
    // another file with the same resume object starts over
    const other = (await encodeWithInfo(PHOTO, { progressive: true, crr: false })).bytes;
    const c = await decode(other, { bytes: 3000, resume });
    const d = await decode(other, { bytes: 3000 });
    expect(Buffer.compare(Buffer.from(c.data), Buffer.from(d.data))).toBe(0);
  }, 60_000);

  // byte by byte, single elements may land a little further from their true value: the
  // image may lose up to a few hundredths of a dB before the next bytes make up for it
  it('a small file decodes when cut at every single byte after its header units', async () => {
    const small = (await encodeWithInfo(fixture('photo-64.webp'), { progressive: true })).bytes;
    const first = readProgressive(small).zUnits[0].offset;
    const ref = (await readImage(fixture('photo-64.webp'))).frame;
    const resume = {};
    let prev = 0;
    for (let n = first; n <= small.length; n++) {
      const d = await decode(small, { bytes: n, resume });
      const q = psnr(d, ref);
      expect(q, `at ${n} of ${small.length} bytes`).toBeGreaterThanOrEqual(prev - 0.05);
      prev = Math.max(prev, q);
    }
  }, 120_000);

  it('cuts inside the header units are a typed error; the planes option stops early', async () => {
    const first = readProgressive(file).zUnits[0].offset;
    await expect(decode(file, { bytes: first - 1 })).rejects.toThrow(BitstreamError);
    await expect(decode(file.subarray(0, 10))).rejects.toThrow(BitstreamError);
    const p1 = await decode(file, { planes: 1 });
    expect(p1.progressive!.planes).toBe(1);
    expect(psnr(p1, photo)).toBeLessThan(psnr(whole, photo));
  });

  it('truncate makes a valid file within the budget that decodes like the prefix', async () => {
    for (const budget of [Math.round(file.length * 0.1), Math.round(file.length * 0.5), file.length + 10]) {
      const cut = truncate(file, { bytes: budget });
      expect(cut.length).toBeLessThanOrEqual(budget);
      expect(cut.length).toBeGreaterThan(Math.min(budget, file.length) - 32);
      expect(readContainer(cut).complete).toBe(true); // a strict reader accepts it
      const d = await decode(cut);
      // the same payload bytes as the prefix that leaves room for the END unit and a CRC
      const p = await decode(file, { bytes: Math.min(file.length, cut.length - 10) });
      expect(Math.abs(psnr(d, photo) - psnr(p, photo))).toBeLessThan(0.3);
    }
    const byBpp = truncate(file, { bpp: 0.5 });
    expect(byBpp.length).toBeLessThanOrEqual((0.5 * 256 * 192) / 8);
    expect(() => truncate(file, { bytes: 20 })).toThrow(BitstreamError);
    expect(() => truncate(file, {})).toThrow(InvalidOptionError);
    const plain = (await encodeWithInfo(PHOTO, { quality: 30 })).bytes;
    expect(() => truncate(plain, { bytes: 1000 })).toThrow(InputError);
    await expect(decode(plain, { bytes: 1000 })).rejects.toThrow(InputError);
  });

  it('tiles: planes interleave across tiles and every prefix still decodes', async () => {
    const tiled = (await encodeWithInfo(PHOTO, { progressive: true, tileSize: 128 })).bytes;
    const parts = readProgressive(tiled);
    expect(parts.zUnits.length).toBe(4);
    expect(parts.planeUnits.length).toBe(4 * parts.progressive.planes);
    let prev = 0;
    for (const f of [0.05, 0.3, 0.6, 1]) {
      const d = await decode(tiled, { bytes: Math.round(tiled.length * f) });
      const q = psnr(d, photo);
      expect(q).toBeGreaterThanOrEqual(prev - 0.05);
      prev = q;
    }
    expect(prev).toBeGreaterThan(26);
  }, 60_000);

  it('ranked and checkerboard passes: the same image from the whole file, every prefix decodes', async () => {
    const files = new Map<string, Uint8Array>();
    for (const passes of ['checkerboard', [], [0.25], [0.05, 0.15, 0.35, 0.6]] as const) {
      const f = (await encodeWithInfo(PHOTO, { progressive: true, passes: passes as 'checkerboard' | number[] })).bytes;
      files.set(JSON.stringify(passes), f);
      const info = inspect(f).progressive!;
      expect(info.passes).toEqual(passes === 'checkerboard' ? 'checkerboard' : passes.map((v) => Math.round(v * 65536)));
      // every element ends with the same trits whatever the order: the same reconstruction
      const d = await decode(f);
      expect(Buffer.compare(Buffer.from(d.data), Buffer.from(whole.data)), JSON.stringify(passes)).toBe(0);
      let prev = 0;
      for (const frac of [0.1, 0.3, 0.5, 0.7, 0.9]) {
        const q = psnr(await decode(f, { bytes: Math.round(f.length * frac) }), photo);
        expect(q, `${JSON.stringify(passes)} at ${frac}`).toBeGreaterThanOrEqual(prev - 0.05);
        prev = Math.max(prev, q);
      }
    }
    // the split changes the coding order, so the files differ
    expect(new Set([...files.values()].map((f) => Buffer.from(f).toString('base64'))).size).toBe(4);
    for (const bad of [[0.5, 0.25], [0], [1], [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8], 'rows']) {
      await expect(encodeWithInfo(PHOTO, { progressive: true, passes: bad as number[] }), JSON.stringify(bad)).rejects.toThrow(InvalidOptionError);
    }
    await expect(encodeWithInfo(PHOTO, { passes: [0.25] })).rejects.toThrow(InvalidOptionError);
  }, 120_000);

  it('a byte target cuts the file to the target', async () => {
    const r = await encodeWithInfo(PHOTO, { progressive: true, targetBytes: 3000 });
    expect(r.bytes.length).toBeLessThanOrEqual(3000);
    expect(r.targetMet).toBe(true);
  });

  it('a corrupt complete unit fails; a codec without heads is refused', async () => {
    const bad = file.slice();
    const unit = readProgressive(file).planeUnits[0];
    bad[unit.payloadOffset + 3] ^= 0x40;
    await expect(decode(bad)).rejects.toThrow(BitstreamError);
    const plain = await getCodec(fixture('tiny-codec'));
    expect(() => new ProgressiveCoder(plain)).toThrow(InvalidOptionError);
  });

  it('streams refinements as bytes arrive', async () => {
    const chunks: Buffer[] = [];
    for (let i = 0; i < file.length; i += 700) chunks.push(Buffer.from(file.subarray(i, i + 700)));
    const got: ProgressiveRefinement[] = [];
    const events: number[] = [];
    const stream = createProgressiveDecodeStream({ everyBytes: 4000, format: 'png' });
    stream.on('refine', (r) => events.push(r.bytes));
    // bytes arriving slowly, as from a network
    const slowly = async function* () {
      for (const c of chunks) {
        yield c;
        await new Promise((r) => setTimeout(r, 120));
      }
    };
    await pipeline(
      Readable.from(slowly()),
      stream,
      new Writable({
        objectMode: true,
        write(r: ProgressiveRefinement, _e, cb) {
          got.push(r);
          cb();
        },
      }),
    );
    expect(got.length).toBeGreaterThanOrEqual(3);
    expect(events).toEqual(got.map((r) => r.bytes));
    for (let i = 1; i < got.length; i++) expect(got[i].bytes).toBeGreaterThan(got[i - 1].bytes);
    const last = got[got.length - 1];
    expect(last.complete).toBe(true);
    expect(last.bytes).toBe(file.length);
    expect(Buffer.compare(Buffer.from(last.image.data), Buffer.from(whole.data))).toBe(0);
    expect(last.file!.subarray(1, 4).toString()).toBe('PNG');
    expect(psnr(got[0].image, photo)).toBeLessThan(psnr(last.image, photo));
  }, 120_000);

  it('a stream that ends inside the header is an error', async () => {
    const stream = createProgressiveDecodeStream();
    await expect(pipeline(Readable.from([Buffer.from(file.subarray(0, 12))]), stream, new Writable({ objectMode: true, write: (_r, _e, cb) => cb() }))).rejects.toThrow(BitstreamError);
  });
});

describe('CLI: progressive files', () => {
  let dir: string;
  beforeAll(() => {
    ensureBuilt();
    dir = mkdtempSync(join(tmpdir(), 'nc-prog-cli-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const codec = (args: string[]) => {
    const r = spawnSync(process.execPath, [mainJs, ...args], { cwd: dir, timeout: 120_000 });
    return { status: r.status, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
  };

  it('encode --progressive, info, decode --bytes, truncate', () => {
    expect(codec(['encode', '--progressive', PHOTO, 'p.ncdc']).status).toBe(0);
    const size = readFileSync(join(dir, 'p.ncdc')).length;
    const info = codec(['info', 'p.ncdc']);
    expect(info.stdout).toMatch(/progressive +\d+ trit-planes, (checkerboard passes|\d ranked pass(es)?( \(split at [0-9.%, ]+\))?) per plane, CRR/);
    const dec = codec(['decode', '--json', '--bytes', String(Math.round(size / 4)), 'p.ncdc', 'quarter.png']);
    expect(dec.status).toBe(0);
    const report = JSON.parse(dec.stdout);
    expect(report.progressive.complete).toBe(false);
    expect(report.progressive.bytes).toBe(Math.round(size / 4));
    expect(codec(['truncate', 'p.ncdc', 'small.ncdc', '--bytes', '2000']).status).toBe(0);
    expect(readFileSync(join(dir, 'small.ncdc')).length).toBeLessThanOrEqual(2000);
    // the truncated file is a whole file holding part of the trits, and its report says so
    const small = codec(['decode', 'small.ncdc', 'small.png']);
    expect(small.status).toBe(0);
    expect(small.stderr).toMatch(/truncated progressive file of \d+ bytes \(\d of \d planes whole, [0-9.]+% of the trits\)/);
    expect(codec(['decode', 'p.ncdc', 'whole.png']).stderr).toMatch(/progressive \(all \d planes\)/);
    // a cut file decodes as it is
    writeFileSync(join(dir, 'cut.ncdc'), readFileSync(join(dir, 'p.ncdc')).subarray(0, Math.round(size * 0.6)));
    expect(codec(['decode', 'cut.ncdc', 'cut.png']).status).toBe(0);
    expect(codec(['info', 'cut.ncdc']).stdout).toMatch(/cut short/);
    const bad = codec(['truncate', 'p.ncdc', 'x.ncdc', '--bytes', '10']);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/^codec: error: .*\n$/);
    expect(codec(['truncate', 'p.ncdc', 'x.ncdc']).status).toBe(2);
    // a file that is not progressive is bad input, and nothing is written
    expect(codec(['encode', '-q', '20', PHOTO, 'plain.ncdc']).status).toBe(0);
    const plain = codec(['truncate', 'plain.ncdc', 'x.ncdc', '--bytes', '1000']);
    expect(plain.status).toBe(1);
    expect(plain.stderr).toMatch(/not a progressive file.*\[ERR_INPUT\]/);
    expect(codec(['decode', '--bytes', '500', 'plain.ncdc', 'x.png']).status).toBe(1);
    expect(existsSync(join(dir, 'x.ncdc')) || existsSync(join(dir, 'x.png'))).toBe(false);
  }, 120_000);
});
