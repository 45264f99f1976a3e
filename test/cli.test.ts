/**
 * The built `codec` binary, run as a child process. dist/ is rebuilt first when it is
 * missing or older than the sources (normally `npm install` has built it).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { modelHashFromSha256, writeContainer } from '../src/bitstream/container.js';
import { encodeImageInfo } from '../src/bitstream/image-info.js';
import { inspect } from '../src/bitstream/inspect.js';
import { UnitType } from '../src/bitstream/units.js';
import { ensureBuilt, mainJs as main, root } from './helpers/build.js';

const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };

interface Result {
  status: number | null;
  stdout: string;
  stderr: string;
}

function codec(args: string[], input?: Uint8Array): Result {
  const r = spawnSync(process.execPath, [main, ...args], { cwd: dir, input, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const ONE_ERROR_LINE = /^codec: error: [^\n]+\n$/;

let dir: string;
let validPath: string;
let validBytes: Uint8Array;

beforeAll(() => {
  ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), 'neurocodec-cli-'));
  validBytes = writeContainer({
    codecId: 'hyperprior-q3',
    modelHash: modelHashFromSha256('ab'.repeat(32)),
    units: [
      {
        type: UnitType.IMAGE_INFO,
        payload: encodeImageInfo({ width: 640, height: 480, channels: 4, bitDepth: 8, colourMatrix: 6, fullRange: false, alpha: true }),
      },
      { type: UnitType.Z_STREAM, payload: new Uint8Array(100).fill(7) },
      { type: UnitType.Y_STREAM, payload: new Uint8Array(1000).fill(9) },
      { type: 0x9a, payload: Uint8Array.of(1, 2, 3) },
    ],
  });
  validPath = join(dir, 'valid.ncdc');
  writeFileSync(validPath, validBytes);
}, 180_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('codec binary', () => {
  it('starts with a node shebang', () => {
    expect(readFileSync(main, 'utf8').split('\n')[0]).toBe('#!/usr/bin/env node');
  });

  it('--help lists the commands and exit codes', () => {
    for (const flag of ['--help', '-h']) {
      const r = codec([flag]);
      expect(r.status).toBe(0);
      expect(r.stderr).toBe('');
      expect(r.stdout).toMatch(/^Usage: codec <command> \[options\]/);
      expect(r.stdout).toMatch(/^ {2}info <file> +show a file's header and units$/m);
      expect(r.stdout).toMatch(/^ {2}encode <input> \[output\.\.\.\] +encode images into neurocodec files$/m);
      expect(r.stdout).toMatch(/^ {2}decode <input> <output> +decode a neurocodec file to an image$/m);
      expect(r.stdout).toContain('Exit codes: 0 success, 1 bad input or failed work, 2 bad usage.');
    }
  });

  it('--version prints the package version', () => {
    for (const flag of ['--version', '-V']) {
      const r = codec([flag]);
      expect(r.status).toBe(0);
      expect(r.stdout).toBe(`${pkg.version}\n`);
    }
  });

  it('info --help describes the command', () => {
    const r = codec(['info', '--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^Usage: codec info \[options\] <file>/);
    expect(r.stdout).toContain('--json');
    expect(codec(['help', 'info']).stdout).toBe(r.stdout);
  });
});

describe('codec info', () => {
  it('prints the header and the unit list', () => {
    const r = codec(['info', validPath]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`size        ${validBytes.length} bytes`);
    expect(r.stdout).toContain('codec       hyperprior-q3');
    expect(r.stdout).toContain('model hash  abababababababab');
    expect(r.stdout).toContain('image       640x480, 4 channels, 8-bit, BT.601 (matrix 6), limited range, alpha');
    const summary = inspect(validBytes);
    for (const [i, unit] of summary.units.entries()) {
      const row = new RegExp(`^ +${i} +0x[0-9a-f]{2} +${unit.name} +${unit.offset} +${unit.length} +${unit.size}\\b`, 'm');
      expect(r.stdout).toMatch(row);
    }
    expect(r.stdout).toMatch(/UNKNOWN_0x9a .*optional, unknown, skipped$/m);
  });

  it('--json prints the same summary as inspect()', () => {
    const r = codec(['info', '--json', validPath]);
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ file: validPath, ...JSON.parse(JSON.stringify(inspect(validBytes))) });
  });

  it('reads standard input for -', () => {
    const r = codec(['info', '-', '--json'], validBytes);
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ file: '-', codecId: 'hyperprior-q3', byteLength: validBytes.length });
  });

  it('reports a corrupt file in one line, exit 1, no stack', () => {
    const corrupt = validBytes.slice();
    corrupt[corrupt.length - 20] ^= 0x10;
    const path = join(dir, 'corrupt.ncdc');
    writeFileSync(path, corrupt);
    const r = codec(['info', path]);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(ONE_ERROR_LINE);
    expect(r.stderr).toMatch(/^codec: error: CRC mismatch in unit Y_STREAM at offset \d+: .* \[ERR_BITSTREAM\]\n$/);
    expect(r.stderr).not.toMatch(/\bat .*\.js/);
  });

  it('prints the stack with --verbose', () => {
    const r = codec(['--verbose', 'info', '-'], validBytes.subarray(0, 40));
    expect(r.status).toBe(1);
    expect(r.stderr.split('\n')[0]).toMatch(/^codec: error: truncated data: .* \[ERR_BITSTREAM\]$/);
    expect(r.stderr).toMatch(/^ +at .*bitstream/m);
  });

  it('reports other bad input with its error code', () => {
    const foreign = join(dir, 'photo.png');
    writeFileSync(foreign, Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a));
    const cases: [string[], Uint8Array | undefined, RegExp][] = [
      [['info', foreign], undefined, /bad magic number .* \[ERR_BITSTREAM\]/],
      [['info', join(dir, 'missing.ncdc')], undefined, /cannot read '.*missing\.ncdc': no such file \[ERR_INPUT\]/],
      [['info', dir], undefined, /cannot read .*: it is a directory \[ERR_INPUT\]/],
      [['info', '-'], new Uint8Array(0), /truncated data.* \[ERR_BITSTREAM\]/],
    ];
    // A unit length far beyond the limit
    const header = validBytes.subarray(0, inspect(validBytes).headerLength);
    cases.push([['info', '-'], Uint8Array.of(...header, UnitType.Y_STREAM, 0xff, 0xff, 0xff, 0xff, 0x0f), /maxUnitBytes is 4294967295, above the limit of 268435456 \[ERR_LIMIT_EXCEEDED\]/]);
    for (const [args, input, message] of cases) {
      const r = codec(args, input);
      expect(r.status, args.join(' ')).toBe(1);
      expect(r.stderr).toMatch(ONE_ERROR_LINE);
      expect(r.stderr).toMatch(message);
    }
  });
});

describe('bad usage', () => {
  const cases: [string[], RegExp][] = [
    [[], /missing command; run 'codec --help' for usage/],
    [['frobnicate'], /unknown command 'frobnicate'/],
    [['encode', 'x.png'], /missing argument <output> for 'codec encode'/],
    [['--bogus'], /unknown option '--bogus' for 'codec'/],
    [['info'], /missing argument <file> for 'codec info'/],
    [['info', 'a', 'b'], /unexpected argument 'b' for 'codec info'/],
    [['info', '--bogus', 'a'], /unknown option '--bogus' for 'codec info'/],
    [['info', '--json=yes', 'a'], /option '--json' takes no value/],
    [['help', 'nope'], /unknown command 'nope'/],
  ];
  it.each(cases)('codec %j exits 2 with one line', (args, message) => {
    const r = codec(args);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(ONE_ERROR_LINE);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toMatch(/\[ERR_USAGE\]\n$/);
  });
});
