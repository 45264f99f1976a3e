/**
 * Whole-process CLI timing: `codec encode` and `codec decode` (to PNG) of one image, each a
 * fresh node process, as a user runs them. One untimed run of each warms the file cache;
 * then the timed runs alternate encode and decode. With `--baseline DIR` (another built
 * checkout) the same runs of that checkout's CLI are interleaved with ours, so that both
 * see the same machine load.
 *
 * Writes bench/results/cli.json. Run: npm run build && npm run bench:cli
 *   [-- --image PATH] [--runs N] [--quality Q] [--baseline DIR]
 * The image defaults to ../shared/data/kodak/kodim01.png (768x512) when it is there, else
 * samples/photo.png.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { packageRoot } from '../src/paths.js';
import { cliEntry } from './lib/speed.js';
import { median, writeResult } from './lib/stats.js';

const { values } = parseArgs({
  options: {
    image: { type: 'string' },
    runs: { type: 'string', default: '15' },
    quality: { type: 'string', default: '50' },
    baseline: { type: 'string' },
  },
});
const root = packageRoot();
const kodim01 = join(root, '..', 'shared', 'data', 'kodak', 'kodim01.png');
const image = resolve(values.image ?? (existsSync(kodim01) ? kodim01 : join(root, 'samples', 'photo.png')));
const runs = Number(values.runs);
const quality = values.quality!;
if (!(Number.isInteger(runs) && runs >= 1)) throw new Error(`--runs must be a positive integer, not ${values.runs}`);

interface Subject {
  name: string;
  cli: string;
  coded: string;
  png: string;
  encodeMs: number[];
  decodeMs: number[];
}

const checkouts = [{ name: 'this checkout', root }, ...(values.baseline ? [{ name: 'baseline', root: resolve(values.baseline) }] : [])];
const clis = checkouts.map((s) => cliEntry(s.root)); // throws before anything is made when one is not built
const dir = mkdtempSync(join(tmpdir(), 'nc-bench-cli-'));
const subjects: Subject[] = checkouts.map((s, i) => ({
  name: s.name,
  cli: clis[i],
  coded: join(dir, `${i}.ncdc`),
  png: join(dir, `${i}.png`),
  encodeMs: [],
  decodeMs: [],
}));

function timed(args: string[]): number {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', timeout: 120_000 });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} failed (${r.status ?? r.signal}): ${r.stderr.slice(-400)}`);
  return ms;
}

try {
  for (const s of subjects) {
    timed([s.cli, 'encode', '--quiet', '-q', quality, image, s.coded]);
    timed([s.cli, 'decode', '--quiet', s.coded, s.png]);
  }
  for (let i = 0; i < runs; i++) {
    for (const s of subjects) {
      s.encodeMs.push(timed([s.cli, 'encode', '--quiet', '-q', quality, image, s.coded]));
      s.decodeMs.push(timed([s.cli, 'decode', '--quiet', s.coded, s.png]));
    }
  }
  const results = subjects.map((s) => ({
    name: s.name,
    cli: s.cli,
    medianEncodeMs: Math.round(median(s.encodeMs)),
    medianDecodeMs: Math.round(median(s.decodeMs)),
    minEncodeMs: Math.round(Math.min(...s.encodeMs)),
    minDecodeMs: Math.round(Math.min(...s.decodeMs)),
    codedBytes: statSync(s.coded).size,
    pngBytes: statSync(s.png).size,
    encodeMs: s.encodeMs.map(Math.round),
    decodeMs: s.decodeMs.map(Math.round),
  }));
  const lines = [`CLI whole-process times, ${image}, quality ${quality}, ${runs} runs each (median / min ms):`];
  for (const r of results) {
    lines.push(`  ${r.name.padEnd(14)} encode ${r.medianEncodeMs} / ${r.minEncodeMs}   decode to PNG ${r.medianDecodeMs} / ${r.minDecodeMs}   (file ${r.codedBytes} B, PNG ${r.pngBytes} B)`);
  }
  process.stdout.write(lines.join('\n') + '\n');
  mkdirSync(join(root, 'bench', 'results'), { recursive: true });
  writeResult(
    join(root, 'bench', 'results', 'cli.json'),
    JSON.stringify({ date: new Date().toISOString(), node: process.version, image, quality: Number(quality), runs, results }, null, 1) + '\n',
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
