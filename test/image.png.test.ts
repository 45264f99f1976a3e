import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import type { Frame } from '../src/image/frame.js';
import { encodeImage, readImage } from '../src/image/io.js';
import { constants as zlibConstants, deflateSync, inflateSync } from 'node:zlib';
import { pixelKernels } from '../src/image/pixels-wasm.js';
import { adler32, encodePng, paethFiltered } from '../src/image/png.js';
import { rng } from './helpers/rng.js';

function frameOf(width: number, height: number, channels: Frame['channels'], fill: (i: number) => number): Frame {
  const data = new Uint8Array(width * height * channels);
  for (let i = 0; i < data.length; i++) data[i] = fill(i) & 255;
  return { data, width, height, channels };
}

/** Pixels as libpng (through sharp) reads them, with the channel count the file declares. */
async function pixelsOf(png: Uint8Array): Promise<{ data: Buffer; channels: number; width: number; height: number }> {
  const meta = await sharp(png).metadata();
  const { frame } = await readImage(png);
  expect(frame.channels).toBe(meta.channels);
  return { data: Buffer.from(frame.data), channels: frame.channels, width: frame.width, height: frame.height };
}

describe('PNG writer', () => {
  const random = rng(7);
  const cases: [number, number, Frame['channels']][] = [
    [1, 1, 3],
    [1, 1, 1],
    [77, 45, 1],
    [77, 45, 2],
    [77, 45, 3],
    [77, 45, 4],
    [3, 200, 3],
  ];
  it.each(cases)('%ix%i with %i channels decodes (sharp/libpng) to the same pixels', async (w, h, c) => {
    const frame = frameOf(w, h, c, (i) => (i * 37 + ((i / 7) | 0) * 11) ^ Math.floor(random() * 4));
    const png = await encodePng(frame);
    expect(Array.from(png.subarray(0, 8))).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    const back = await pixelsOf(png);
    expect([back.width, back.height, back.channels]).toEqual([w, h, c]);
    expect(Buffer.compare(back.data, Buffer.from(frame.data))).toBe(0);
  });

  it('cuts a large image into several IDAT chunks that decode to the same pixels', async () => {
    // noise does not compress: about 3.6 MB of deflate, four 1 MiB chunks
    const frame = frameOf(1100, 1100, 3, () => Math.floor(random() * 256));
    const png = await encodePng(frame);
    const idats = png.toString('latin1').split('IDAT').length - 1;
    expect(idats).toBeGreaterThanOrEqual(3);
    const back = await pixelsOf(png);
    expect(Buffer.compare(back.data, Buffer.from(frame.data))).toBe(0);
  });

  it('compresses large images in bands that join into one valid zlib stream', async () => {
    // 640x480 RGB is 1.2 MB of filtered rows: four bands, each compressed on its own
    for (const [channels, level] of [[1, 6], [3, 9], [4, 1]] as const) {
      const frame = frameOf(640, 480, channels, (i) => ((i % 640) * 3 + ((i / 1919) | 0)) ^ Math.floor(random() * 3));
      const png = await encodePng(frame, { level });
      // the IDAT payloads, joined, are one zlib stream: inflateSync checks its Adler-32 too
      const idat: Buffer[] = [];
      for (let p = 8; p < png.length; ) {
        const len = png.readUInt32BE(p);
        if (png.toString('latin1', p + 4, p + 8) === 'IDAT') idat.push(png.subarray(p + 8, p + 8 + len));
        p += 12 + len;
      }
      const stream = Buffer.concat(idat);
      // the header zlib itself writes for the same options
      expect(Array.from(stream.subarray(0, 2))).toEqual(Array.from(deflateSync(Buffer.alloc(1), { level, strategy: zlibConstants.Z_RLE }).subarray(0, 2)));
      const rows = inflateSync(stream);
      // one band (the grey image, 308 kB of rows) is byte for byte what zlib's deflate writes
      if (channels === 1) expect(Buffer.compare(stream, deflateSync(rows, { level, strategy: zlibConstants.Z_RLE }))).toBe(0);
      expect(Buffer.compare(rows, Buffer.from(paethFiltered(frame.data, 640, 480, channels)))).toBe(0);
      const back = await pixelsOf(png);
      expect(Buffer.compare(back.data, Buffer.from(frame.data))).toBe(0);
    }
  });

  it('filters rows in WebAssembly to the same bytes as the TypeScript filter', () => {
    expect(pixelKernels()).not.toBeNull(); // built by npm run build:wasm
    // widths around the 16-byte SIMD step, every channel count, rows of random and flat data
    for (const [w, h] of [[1, 1], [1, 9], [5, 3], [6, 4], [16, 2], [17, 5], [33, 7], [250, 31]]) {
      for (const c of [1, 2, 3, 4] as const) {
        const frame = frameOf(w, h, c, (i) => (i % 97 < 40 ? 200 : Math.floor(random() * 256)));
        const wasm = paethFiltered(frame.data, w, h, c);
        const ts = paethFiltered(frame.data, w, h, c, 'ts');
        expect(Buffer.compare(Buffer.from(wasm), Buffer.from(ts))).toBe(0);
      }
    }
    // 4.5 MB of rows: filtered in two WebAssembly calls of at most 4 MB
    const big = frameOf(1500, 1000, 3, (i) => (i * 7) ^ Math.floor(random() * 5));
    expect(Buffer.compare(Buffer.from(paethFiltered(big.data, 1500, 1000, 3)), Buffer.from(paethFiltered(big.data, 1500, 1000, 3, 'ts')))).toBe(0);
  });

  it('computes Adler-32 as zlib does', () => {
    expect(adler32(new TextEncoder().encode('Wikipedia'))).toBe(0x11e60398);
    expect(adler32(new Uint8Array(0))).toBe(1);
    // zlib's own trailer is the reference; runs of 255 stress the modular reductions
    for (const data of [new Uint8Array(100_000).fill(255), Uint8Array.from({ length: 70_001 }, () => Math.floor(random() * 256))]) {
      const z = deflateSync(data);
      expect(adler32(data)).toBe(z.readUInt32BE(z.length - 4));
    }
  });

  it('filters rows with Paeth (filter byte 4) and inverts exactly', () => {
    const frame = frameOf(5, 3, 3, (i) => i * 29);
    const f = paethFiltered(frame.data, 5, 3, 3);
    expect(f.length).toBe(3 * (1 + 15));
    for (let y = 0; y < 3; y++) expect(f[y * 16]).toBe(4);
    // undo the filter by the PNG specification's reconstruction
    const out = new Uint8Array(45);
    for (let y = 0; y < 3; y++) {
      for (let i = 0; i < 15; i++) {
        const a = i >= 3 ? out[y * 15 + i - 3] : 0;
        const b = y > 0 ? out[(y - 1) * 15 + i] : 0;
        const c = y > 0 && i >= 3 ? out[(y - 1) * 15 + i - 3] : 0;
        const p = a + b - c;
        const pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
        const pred = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
        out[y * 15 + i] = (f[y * 16 + 1 + i] + pred) & 255;
      }
    }
    expect(Array.from(out)).toEqual(Array.from(frame.data));
  });

  it('is what encodeImage writes for png, and is smaller than sharp default PNG on a photo', async () => {
    const { data, info } = await sharp('test/fixtures/photo-256x192.png').removeAlpha().raw().toBuffer({ resolveWithObject: true });
    const frame: Frame = { data: new Uint8Array(data), width: info.width, height: info.height, channels: 3 };
    const ours = await encodeImage(frame, 'png');
    expect(Buffer.compare(ours, await encodePng(frame))).toBe(0);
    const theirs = await sharp(data, { raw: { width: info.width, height: info.height, channels: 3 } }).png().toBuffer();
    expect(ours.length).toBeLessThan(theirs.length);
    // options go to sharp, which still writes a PNG of the same pixels
    const viaSharp = await encodeImage(frame, 'png', { compressionLevel: 9 });
    expect(Buffer.compare((await pixelsOf(viaSharp)).data, Buffer.from(frame.data))).toBe(0);
  });
});
