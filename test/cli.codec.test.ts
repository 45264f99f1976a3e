/**
 * `codec encode`, `codec decode` and `codec info` on real files: exit codes, one-line
 * errors, atomic output (nothing left behind on failure or interruption), standard input
 * and output, batch mode. The main paths run the built binary (dist/ is rebuilt first when
 * stale); the long tables of failure cases run the same CLI in-process through runCli(),
 * which the binary is a thin wrapper of, to keep the suite fast.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeCodecs, encode } from '../src/api.js';
import { ByteWriter } from '../src/bitstream/bytes.js';
import { readContainer, writeContainer } from '../src/bitstream/container.js';
import { inspect } from '../src/bitstream/inspect.js';
import { UnitType } from '../src/bitstream/units.js';
import { ensureBuilt, mainJs } from './helpers/build.js';
import { runCliInProcess } from './helpers/cli.js';

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const TINY = fixture('tiny-codec');
const ONE_ERROR_LINE = /^codec: error: [^\n]+\n$/;

interface Result {
  status: number | null;
  stdout: Buffer;
  stderr: string;
}

let dir: string;
let tinyFile: Uint8Array;
let tinyPath: string;

function codec(args: string[], input?: Uint8Array): Result {
  const r = spawnSync(process.execPath, [mainJs, ...args], { cwd: dir, input, timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr.toString('utf8') };
}

/** The CLI in this process, with fake standard streams; the same result shape as {@link codec}. */
const inProcess = (args: string[], input?: Uint8Array, isTTY = false): Promise<Result> => runCliInProcess(args, input, isTTY);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A fresh, empty folder inside the test folder. */
function freshDir(name: string): string {
  const d = join(dir, name);
  rmSync(d, { recursive: true, force: true });
  mkdirSync(d);
  return d;
}

beforeAll(async () => {
  ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), 'neurocodec-cli-codec-'));
  tinyFile = await encode(fixture('alpha-96x80.png'), { codec: TINY, quality: 60 });
  tinyPath = join(dir, 'alpha.ncdc');
  writeFileSync(tinyPath, tinyFile);
}, 180_000);

afterAll(async () => {
  await closeCodecs();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('codec encode', () => {
  it('writes a file and reports it on stderr', () => {
    const out = freshDir('single');
    const r = codec(['encode', '--codec', TINY, '-q', '60', fixture('odd-77x45.png'), join(out, 'odd.ncdc')]);
    expect(r.status).toBe(0);
    expect(r.stdout.length).toBe(0);
    expect(r.stderr).toMatch(/^.*odd-77x45\.png -> .*odd\.ncdc: 77x45, \d+ bytes, [\d.]+ bpp, quality 60 \(\d+ ms\)\n$/);
    expect(readdirSync(out)).toEqual(['odd.ncdc']);
    const s = inspect(readFileSync(join(out, 'odd.ncdc')));
    expect(s.codecId).toBe('tiny');
    expect(s.coding).toEqual({ quality: 60, tileSize: 128, tiles: 1 });
  });

  it('pipes from standard input to standard output', async () => {
    const png = readFileSync(fixture('alpha-96x80.png'));
    const r = codec(['encode', '--codec', TINY, '-q', '60', '--quiet', '-', '-'], png);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(Buffer.compare(r.stdout, Buffer.from(tinyFile))).toBe(0);
  });

  it('encodes a batch into --out-dir with a JSON summary, going on after a failure', () => {
    const out = join(freshDir('batch'), 'nested');
    const inputs = [fixture('odd-77x45.png'), fixture('deep16-64x48.png'), join(dir, 'missing.png'), fixture('frame-64.gif')];
    const r = codec(['encode', '--codec', TINY, '--target-bytes', '200', '--out-dir', out, '--jobs', '2', '--json', ...inputs]);
    expect(r.status).toBe(1);
    const summary = JSON.parse(r.stdout.toString('utf8'));
    expect(summary).toMatchObject({ succeeded: 3, failed: 1 });
    expect(summary.files.map((f: { input: string }) => f.input)).toEqual(inputs);
    const [odd, deep, missing, gif] = summary.files;
    expect(odd).toMatchObject({ output: join(out, 'odd-77x45.ncdc'), width: 77, height: 45, channels: 3, warnings: [], target: { bytes: 200 } });
    expect(typeof odd.targetMet).toBe('boolean');
    expect(odd.bytes).toBe(readFileSync(odd.output).length);
    expect(odd.bpp).toBeCloseTo((odd.bytes * 8) / (77 * 45), 10);
    for (const key of ['quality', 'ms']) expect(typeof odd[key]).toBe('number');
    expect(deep.warnings).toEqual(['16-bit input reduced to 8 bits per sample']);
    expect(gif).toMatchObject({ width: 64, height: 64, warnings: ['animated input: only the first of 3 frames is coded'] });
    expect(missing).toMatchObject({ output: join(out, 'missing.ncdc'), error: { code: 'ERR_INPUT' } });
    expect(readdirSync(out).sort()).toEqual(['deep16-64x48.ncdc', 'frame-64.ncdc', 'odd-77x45.ncdc']);
    // warnings and the error on stderr, one line each, no progress bar (not a terminal)
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines).toContain(`codec: warning: ${inputs[1]}: 16-bit input reduced to 8 bits per sample`);
    expect(lines.filter((l) => /^codec: error: cannot read '.*missing\.png': no such file \[ERR_INPUT\]$/.test(l))).toHaveLength(1);
    expect(r.stderr).not.toContain('\r');
  });

  it('is silent with --quiet and exits 0 when every file succeeds', async () => {
    const out = freshDir('quiet');
    const r = await inProcess(['encode', '--codec', TINY, '--quiet', '--out-dir', out, fixture('deep16-64x48.png'), fixture('photo-64.webp')]);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout.length).toBe(0);
    expect(readdirSync(out).sort()).toEqual(['deep16-64x48.ncdc', 'photo-64.ncdc']);
  });

  it('draws a progress bar only on a terminal', async () => {
    const out = freshDir('progress');
    const args = ['encode', '--codec', TINY, '--out-dir', out, fixture('odd-77x45.png'), fixture('photo-64.webp')];
    const tty = await inProcess(args, undefined, true);
    expect(tty.status).toBe(0);
    expect(tty.stderr).toContain('\r[############------------] 1/2');
    expect(tty.stderr).toContain('\r[########################] 2/2');
    expect(tty.stderr.endsWith('\r\x1b[K')).toBe(true);
    expect(tty.stderr).toMatch(/photo-64\.webp -> .*photo-64\.ncdc: 64x64/);
    const plain = await inProcess(args);
    expect(plain.stderr).not.toContain('\r');
    expect(plain.stderr.trimEnd().split('\n')).toHaveLength(2);
  });
});

describe('help', () => {
  it('describes encode and decode, batch naming and formats included', async () => {
    const encodeHelp = (await inProcess(['encode', '--help'])).stdout.toString('utf8');
    expect(encodeHelp).toMatch(/^Usage: codec encode \[options\] <input> \[output\.\.\.\]/);
    for (const flag of ['-q, --quality N', '--target-bpp B', '--target-bytes N', '--codec ID', '--threads N', '--tile-size N', '--out-dir DIR', '-j, --jobs N', '--json', '--quiet']) {
      expect(encodeHelp).toContain(flag);
    }
    expect(encodeHelp).toContain('DIR/<name>.ncdc');
    const decodeHelp = (await inProcess(['help', 'decode'])).stdout.toString('utf8');
    expect(decodeHelp).toMatch(/^Usage: codec decode \[options\] <input> <output>/);
    expect(decodeHelp).toMatch(/--format FMT/);
    expect(decodeHelp).toMatch(/png, jpg\/jpeg, webp, avif, tif\/tiff, gif/);
  });
});

describe('codec info', () => {
  it('shows the image, the coding parameters and the rate', async () => {
    const r = codec(['info', tinyPath]);
    expect(r.status).toBe(0);
    const text = r.stdout.toString('utf8');
    expect(text).toContain('image       96x80, 4 channels, 8-bit, identity (RGB) (matrix 0), full range, alpha');
    expect(text).toContain('coding      quality 60, tile size 128 (1 tile)');
    expect(text).toContain(`rate        ${((tinyFile.length * 8) / (96 * 80)).toFixed(3)} bits per pixel`);
    expect(text).toMatch(/^ +1 +0x07 +CODING_PARAMS +\d+ +4 +\d+/m);
    const json = JSON.parse((await inProcess(['info', '--json', tinyPath])).stdout.toString('utf8'));
    expect(json.coding).toEqual({ quality: 60, tileSize: 128, tiles: 1 });
    expect(json.image).toMatchObject({ width: 96, height: 80, channels: 4, alpha: true });
  });
});

describe('codec decode', () => {
  it('prints a timing trace with NEUROCODEC_TRACE=1, and never loads sharp for PNG output', () => {
    const out = freshDir('trace');
    const r = spawnSync(process.execPath, [mainJs, 'decode', '--codec', TINY, tinyPath, join(out, 'x.png')], {
      cwd: dir,
      timeout: 60_000,
      env: { ...process.env, NEUROCODEC_TRACE: '1', NODE_DEBUG: 'module' },
    });
    expect(r.status).toBe(0);
    const stderr = r.stderr.toString('utf8');
    for (const what of ['rANS tables ready', 'session g_s created', 'run g_s', 'decoded', 'output written']) {
      expect(stderr).toMatch(new RegExp(`^\\[trace +\\d+\\.\\d ms\\] ${what}`, 'm'));
    }
    expect(stderr).not.toMatch(/sharp/);
    expect(existsSync(join(out, 'x.png'))).toBe(true);
    const quiet = codec(['decode', '--codec', TINY, tinyPath, join(out, 'y.png')]);
    expect(quiet.stderr).not.toMatch(/\[trace/);
  });

  it('leaves nothing in the temporary folder (no files from onnxruntime or sharp either)', () => {
    const out = freshDir('tmpdir-out');
    const tmp = freshDir('tmpdir');
    const env = { ...process.env, TMPDIR: tmp, TMP: tmp, TEMP: tmp };
    const enc = spawnSync(process.execPath, [mainJs, 'encode', '--codec', TINY, fixture('odd-77x45.png'), join(out, 'x.ncdc')], { cwd: dir, timeout: 60_000, env });
    expect(enc.status).toBe(0);
    const dec = spawnSync(process.execPath, [mainJs, 'decode', '--codec', TINY, join(out, 'x.ncdc'), join(out, 'x.png')], { cwd: dir, timeout: 60_000, env });
    expect(dec.status).toBe(0);
    expect(readdirSync(tmp)).toEqual([]);
  });

  it('writes the format of the output extension, PNG otherwise', async () => {
    const out = freshDir('decode');
    const cases: [string, string][] = [
      ['a.png', 'png'],
      ['a.webp', 'webp'],
      ['a.tif', 'tiff'],
      ['a.out', 'png'],
    ];
    for (const [name, format] of cases) {
      const r = await inProcess(['decode', '--codec', TINY, '--quiet', tinyPath, join(out, name)]);
      expect(r.stderr, name).toBe('');
      expect(r.status, name).toBe(0);
      const meta = await sharp(join(out, name)).metadata();
      expect([meta.format, meta.width, meta.height, meta.channels], name).toEqual([format, 96, 80, 4]);
    }
    expect(readdirSync(out).sort()).toEqual(['a.out', 'a.png', 'a.tif', 'a.webp']);
  });

  it('pipes from standard input to standard output, --format choosing the format', async () => {
    const r = codec(['decode', '--codec', TINY, '--format', 'jpg', '-', '-'], tinyFile);
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/^\(stdin\) -> \(stdout\): 96x80, 4 channels, quality 60, jpeg \d+ bytes/);
    expect(await sharp(r.stdout).metadata()).toMatchObject({ format: 'jpeg', width: 96, height: 80 });
    const png = await inProcess(['decode', '--codec', TINY, '--quiet', '-', '-'], tinyFile);
    expect((await sharp(png.stdout).metadata()).format).toBe('png');
  });

  it('prints a JSON report', async () => {
    const out = freshDir('decode-json');
    const r = await inProcess(['decode', '--codec', TINY, '--json', tinyPath, join(out, 'x.png')]);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
    const report = JSON.parse(r.stdout.toString('utf8'));
    expect(report).toMatchObject({ input: tinyPath, width: 96, height: 80, channels: 4, quality: 60, format: 'png' });
    expect(report.bytes).toBe(readFileSync(join(out, 'x.png')).length);
  });
});

describe('failures leave no output', () => {
  /** Runs a failing command in a fresh folder and checks the folder stays empty. */
  async function failing(name: string, args: (out: string) => string[], input?: Uint8Array, spawned = false): Promise<Result> {
    const out = freshDir(name);
    const r = spawned ? codec(args(out), input) : await inProcess(args(out), input);
    expect(readdirSync(out), `${name}: files left behind`).toEqual([]);
    expect(r.stderr, name).toMatch(ONE_ERROR_LINE);
    expect(r.stderr, name).not.toMatch(/^\s+at /m);
    return r;
  }

  it('exits 1 with a one-line error for bad input, damaged files, the wrong model and limits', async () => {
    const truncated = tinyFile.subarray(0, tinyFile.length - 9);
    const flipped = tinyFile.slice();
    flipped[40] ^= 0x20;
    const file = readContainer(tinyFile);
    const huge = writeContainer({
      codecId: file.codecId,
      modelHash: file.modelHash,
      units: [
        { type: UnitType.IMAGE_INFO, payload: new ByteWriter().varuint(65535).varuint(65535).u8(3).u8(8).u8(0).u8(1).finish() },
        file.units[1],
      ],
    });
    const cases: [string, (out: string) => string[], Uint8Array | undefined, RegExp][] = [
      ['unreadable', (o) => ['encode', '--codec', TINY, fixture('README.md'), join(o, 'x.ncdc')], undefined, /Cannot read image .*README\.md.* \[ERR_INPUT\]/],
      ['missing', (o) => ['encode', '--codec', TINY, join(o, 'nope.png'), join(o, 'x.ncdc')], undefined, /cannot read '.*nope\.png': no such file \[ERR_INPUT\]/],
      ['not-image-stdin', (o) => ['encode', '--codec', TINY, '-', join(o, 'x.ncdc')], Buffer.from('hello'), /\[ERR_INPUT\]/],
      ['truncated', (o) => ['decode', '--codec', TINY, '-', join(o, 'x.png')], truncated, /\[ERR_BITSTREAM\]/],
      ['corrupt', (o) => ['decode', '--codec', TINY, '-', join(o, 'x.png')], flipped, /CRC mismatch .* \[ERR_BITSTREAM\]/],
      ['wrong-model', (o) => ['decode', '--codec', 'nc-small', tinyPath, join(o, 'x.png')], undefined, /codec 'tiny'.* \[ERR_MODEL_MISMATCH\]/],
      ['not-installed', (o) => ['decode', tinyPath, join(o, 'x.png')], undefined, /not installed.* \[ERR_MODEL_MISMATCH\]/],
      ['huge', (o) => ['decode', '--codec', TINY, '-', join(o, 'x.png')], huge, /maxPixels is 4294836225, above the limit of 268402689 \[ERR_LIMIT_EXCEEDED\]/],
      ['max-pixels-decode', (o) => ['decode', '--codec', TINY, '--max-pixels', '1000', tinyPath, join(o, 'x.png')], undefined, /maxPixels is 7680, above the limit of 1000 \[ERR_LIMIT_EXCEEDED\]/],
      ['max-pixels-encode', (o) => ['encode', '--codec', TINY, '--max-pixels', '1000', fixture('odd-77x45.png'), join(o, 'x.ncdc')], undefined, /maxPixels is 3465, above the limit of 1000 \[ERR_LIMIT_EXCEEDED\]/],
      ['no-such-dir', (o) => ['encode', '--codec', TINY, fixture('odd-77x45.png'), join(o, 'none', 'x.ncdc')], undefined, /cannot write '.*x\.ncdc': no such file or directory \[ERR_OUTPUT\]/],
    ];
    for (const [i, [name, args, input, message]] of cases.entries()) {
      const r = await failing(name, args, input, i === 4);
      expect(r.status, name).toBe(1);
      expect(r.stderr, name).toMatch(message);
    }
    // an output path that is a directory: the directory stays, nothing is added to it
    const target = freshDir('is-a-dir');
    const r = await inProcess(['decode', '--codec', TINY, tinyPath, target]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/cannot write .*: it is a directory \[ERR_OUTPUT\]\n$/);
    expect(readdirSync(target)).toEqual([]);
    expect(readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  it('exits 2 for bad usage and bad option values, before any work', async () => {
    const png = fixture('odd-77x45.png');
    const cases: [string, (out: string) => string[], RegExp][] = [
      ['quality', (o) => ['encode', '--quality', '140', png, join(o, 'x.ncdc')], /^codec: error: Expected number between 1 and 100 for quality but received 140 of type number \[ERR_INVALID_OPTION\]\n$/],
      ['quality-text', (o) => ['encode', '-q', 'high', png, join(o, 'x.ncdc')], /for quality but received high of type string/],
      ['two-targets', (o) => ['encode', '--target-bpp', '1', '--target-bytes', '100', png, join(o, 'x.ncdc')], /at most one of targetBpp and targetBytes/],
      ['tile-size', (o) => ['encode', '--codec', TINY, '--tile-size', '100', png, join(o, 'x.ncdc')], /multiple of 64 .* for tileSize/],
      ['no-codec', (o) => ['encode', '--codec', 'no-such-codec', png, join(o, 'x.ncdc')], /No codec found/],
      ['format', (o) => ['decode', '--codec', TINY, '--format', 'bmp', tinyPath, join(o, 'x.bmp')], /Expected one of png, jpeg, .* for format but received bmp/],
      ['missing-output', () => ['encode', png], /missing argument <output> for 'codec encode'/],
      ['extra-input', (o) => ['encode', png, png, join(o, 'x.ncdc')], /unexpected argument .* give --out-dir/],
      ['json-stdout', () => ['encode', '--json', png, '-'], /'--json' cannot be used/],
      ['jobs', (o) => ['encode', '--out-dir', o, '--jobs', '0', png], /Expected integer between 1 and 64 for jobs but received 0/],
      ['batch-stdin', (o) => ['encode', '--out-dir', o, '-'], /standard input \(-\) cannot be used with --out-dir/],
      ['decode-args', () => ['decode', tinyPath], /missing argument <output> for 'codec decode'/],
    ];
    for (const [i, [name, args, message]] of cases.entries()) {
      const r = await failing(name, args, undefined, i === 0);
      expect(r.status, name).toBe(2);
      expect(r.stderr, name).toMatch(message);
    }
  });

  it('reports a closed standard output in one line, exit 1', async () => {
    const child = spawn(process.execPath, [mainJs, 'decode', '--codec', TINY, '--format', 'tiff', tinyPath, '-'], { cwd: dir });
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    const status = await new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    expect(stderr).toMatch(ONE_ERROR_LINE);
    expect(stderr).toMatch(/cannot write to standard output: broken pipe \[ERR_OUTPUT\]/);
    expect(status).toBe(1);
  });

  it('stops on SIGINT with exit 130, leaving no file', async () => {
    const out = freshDir('sigint');
    const child = spawn(process.execPath, [mainJs, 'encode', '--codec', TINY, '-', join(out, 'x.ncdc')], { cwd: dir });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    // More than a pipe holds: 'drain' comes once the command is reading its input, by which
    // time the binary has its signal handlers.
    const input = Buffer.alloc(1 << 20);
    readFileSync(fixture('odd-77x45.png')).copy(input, 0, 0, 100);
    if (!child.stdin.write(input)) await new Promise((resolve) => child.stdin.once('drain', resolve));
    await sleep(100);
    child.kill('SIGINT');
    const [status, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on('close', (code, sig) => resolve([code, sig])));
    expect(signal).toBeNull();
    expect(status).toBe(130);
    expect(stderr).toBe('codec: error: interrupted by SIGINT [ERR_ABORTED]\n');
    expect(readdirSync(out)).toEqual([]);
    expect(existsSync(join(out, 'x.ncdc'))).toBe(false);
  });
});
