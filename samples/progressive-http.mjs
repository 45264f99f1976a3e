#!/usr/bin/env node
// Progressive decoding over HTTP: encode samples/photo.png as a progressive file, serve it
// from a local HTTP server that sends it slowly (a slow link: CHUNK bytes every DELAY ms),
// fetch it, and decode the bytes as they arrive. Every refinement (each trit-plane and
// every EVERY bytes) is written to samples/progressive-out/ as a PNG named by the bytes it
// used. Run after `npm install`:
//   node samples/progressive-http.mjs [CHUNK=512] [DELAY=80] [EVERY=2048]
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { closeCodecs, createProgressiveDecodeStream, encodeWithInfo, readImage } from '../dist/src/index.js';

const [chunk = 512, delay = 80, every = 2048] = process.argv.slice(2).map(Number);
const here = (name) => fileURLToPath(new URL(name, import.meta.url));
const outDir = here('progressive-out/');
const { frame } = await readImage(here('photo.png'));
const { bytes } = await encodeWithInfo(here('photo.png'), { progressive: true });
console.log(`progressive file: ${bytes.length} bytes (${((bytes.length * 8) / (frame.width * frame.height)).toFixed(3)} bpp)`);

// the server: the whole file, CHUNK bytes at a time
const server = createServer(async (req, res) => {
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': bytes.length });
  for (let i = 0; i < bytes.length && !res.destroyed; i += chunk) {
    res.write(bytes.subarray(i, i + chunk));
    await sleep(delay);
  }
  res.end();
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const url = `http://127.0.0.1:${server.address().port}/photo.ncdc`;

const psnr = (a, b) => {
  let se = 0;
  for (let i = 0; i < a.length; i++) se += (a[i] - b[i]) ** 2;
  return 10 * Math.log10((255 * 255) / Math.max(se / a.length, 1e-10));
};
await rm(outDir, { recursive: true, force: true });
await mkdir(outDir, { recursive: true });
const started = performance.now();
try {
  const res = await fetch(url);
  const decoder = createProgressiveDecodeStream({ everyBytes: every, format: 'png' });
  let n = 0;
  await pipeline(
    Readable.fromWeb(res.body),
    decoder,
    new Writable({
      objectMode: true,
      async write(r, _enc, done) {
        const name = `${String(++n).padStart(2, '0')}-${r.bytes}B.png`;
        await writeFile(outDir + name, r.file);
        const t = ((performance.now() - started) / 1000).toFixed(1);
        console.log(`${t.padStart(5)} s  ${String(r.bytes).padStart(6)} bytes  ${r.planes}/${r.totalPlanes} planes  ${(100 * r.fraction).toFixed(1).padStart(5)}% trits  ${psnr(frame.data, r.image.data).toFixed(2)} dB${r.complete ? '  (complete)' : ''}  -> samples/progressive-out/${name}`);
        done();
      },
    }),
  );
} finally {
  server.close();
  await closeCodecs();
}
