#!/usr/bin/env node
// Encode samples/photo.png at three qualities and at a target size, decode each back to
// PNG beside it, and print sizes and PSNR. Run after `npm install`:
//   node samples/encode-decode.mjs
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { closeCodecs, decode, decodeToImage, encodeWithInfo, readImage } from '../dist/src/index.js';

const here = (name) => fileURLToPath(new URL(name, import.meta.url));
const { frame } = await readImage(here('photo.png'));
const psnr = (a, b) => {
  let se = 0;
  for (let i = 0; i < a.length; i++) se += (a[i] - b[i]) ** 2;
  return 10 * Math.log10((255 * 255) / Math.max(se / a.length, 1e-10));
};
try {
  for (const options of [{ quality: 20 }, { quality: 60 }, { quality: 95 }, { targetBytes: 3000 }]) {
    const enc = await encodeWithInfo(here('photo.png'), options);
    const dec = await decode(enc.bytes);
    const name = `out-q${Math.round(enc.quality)}`;
    await writeFile(here(`${name}.ncdc`), enc.bytes);
    await writeFile(here(`${name}.png`), await decodeToImage(enc.bytes));
    console.log(`${JSON.stringify(options).padEnd(22)} ${String(enc.bytes.length).padStart(6)} bytes  ${enc.bpp.toFixed(3)} bpp  quality ${enc.quality.toFixed(2).padStart(6)}  ${psnr(frame.data, dec.data).toFixed(2)} dB  -> samples/${name}.png`);
  }
} finally {
  await closeCodecs();
}
