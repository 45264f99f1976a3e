#!/usr/bin/env node
// Encode and decode one image with a freshly exported codec folder through the built library;
// with --progressive, as a progressive file decoded whole and from its first half; with --bsq,
// as a BSQ file whose tokens must give back the decoded image exactly.
//   node training/smoke_decode.mjs <codec dir> <image> [--progressive | --bsq]
import { decode, detokenize, encodeWithInfo, closeCodecs, tokenize } from '../dist/src/api.js';
import { readImage } from '../dist/src/image/io.js';

const [codecDir, image, mode] = process.argv.slice(2);
const progressive = mode === '--progressive';
const bsq = mode === '--bsq';
const { frame } = await readImage(image);
const options = progressive ? { codec: codecDir, progressive: true } : bsq ? { codec: codecDir, mode: 'bsq' } : { codec: codecDir, quality: 50 };
const enc = await encodeWithInfo(image, options);
const dec = await decode(enc.bytes, { codec: codecDir });
if (bsq) {
  const img = await detokenize(await tokenize(image, { codec: codecDir }), { codec: codecDir });
  if (!dec.bsq || Buffer.compare(Buffer.from(img.data), Buffer.from(dec.data)) !== 0) {
    console.error('BSQ tokens did not detokenize to the decoded image');
    process.exit(1);
  }
}
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
console.log(JSON.stringify({ codec: codecDir, progressive, bsq, bytes: enc.bytes.length, bpp: enc.bpp, psnr }));
await closeCodecs();
