#!/usr/bin/env node
// Encode and decode one image with a freshly exported codec folder through the built library;
// with --progressive, as a progressive file decoded whole and from its first half.
//   node training/smoke_decode.mjs <codec dir> <image> [--progressive]
import { decode, encodeWithInfo, closeCodecs } from '../dist/src/api.js';
import { readImage } from '../dist/src/image/io.js';

const [codecDir, image, mode] = process.argv.slice(2);
const progressive = mode === '--progressive';
const { frame } = await readImage(image);
const enc = await encodeWithInfo(image, progressive ? { codec: codecDir, progressive: true } : { codec: codecDir, quality: 50 });
const dec = await decode(enc.bytes, { codec: codecDir });
if (progressive) {
  const half = await decode(enc.bytes, { codec: codecDir, bytes: Math.ceil(enc.bytes.length / 2) });
  if (!dec.progressive?.complete || half.progressive?.complete || half.width !== frame.width) {
    console.error('progressive decode did not report a whole file and a prefix as such');
    process.exit(1);
  }
}
if (dec.width !== frame.width || dec.height !== frame.height || dec.channels !== frame.channels) {
  console.error(`decoded ${dec.width}x${dec.height}x${dec.channels}, expected ${frame.width}x${frame.height}x${frame.channels}`);
  process.exit(1);
}
let se = 0;
for (let i = 0; i < frame.data.length; i++) se += (frame.data[i] - dec.data[i]) ** 2;
const psnr = 10 * Math.log10((255 * 255) / Math.max(se / frame.data.length, 1e-10));
console.log(JSON.stringify({ codec: codecDir, progressive, bytes: enc.bytes.length, bpp: enc.bpp, psnr }));
await closeCodecs();
