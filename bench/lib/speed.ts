/**
 * Speed references outside the per-codec workers:
 *  - torchSpeed(): the same networks in PyTorch eager (bench/torch_speed.py), when
 *    /usr/bin/python3 has torch;
 *  - cliSpeed(): whole-process encode and decode times, through `codec encode`/`decode` when
 *    the CLI has them, else through the library in a fresh process (bench/lib/oneshot.ts).
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Pixels } from './metrics.js';
import { median } from './stats.js';

export const PYTHON = '/usr/bin/python3';

export interface TorchResult {
  torch: string;
  threads: number;
  runs: number;
  input: [number, number];
  paramRuns: number;
  checkpointStep: number | null;
  stagesMs: Record<string, number>;
  encodeNetMs: number;
  decodeNetMs: number;
  allNetMs: number;
  maxRssKiB: number;
}

export type TorchSpeed = ({ available: true } & TorchResult) | { available: false; reason: string };

const tail = (s: string | Buffer | null | undefined, n = 600): string => {
  const t = (s ?? '').toString().trim();
  return t.length > n ? '...' + t.slice(-n) : t;
};

/** Times the networks in PyTorch on `image` (raw RGB), or says why it could not. */
export function torchSpeed(root: string, image: Pixels, options: { quality: number; runs: number; threads: number }): TorchSpeed {
  if (!existsSync(PYTHON)) return { available: false, reason: `${PYTHON} not found` };
  const probe = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8', timeout: 120_000 });
  if (probe.status !== 0) return { available: false, reason: `${PYTHON} has no torch: ${tail(probe.stderr, 200)}` };
  const ckpt = join(root, 'training', 'checkpoints', 'nc-small.pt');
  if (!existsSync(ckpt)) return { available: false, reason: `${ckpt} not found` };
  const dir = mkdtempSync(join(tmpdir(), 'nc-bench-'));
  try {
    const raw = join(dir, 'image.rgb');
    writeFileSync(raw, image.data);
    const args = [
      join(root, 'bench', 'torch_speed.py'),
      '--ckpt', ckpt,
      '--raw', raw,
      '--width', String(image.width),
      '--height', String(image.height),
      '--quality', String(options.quality),
      '--runs', String(options.runs),
      '--threads', String(options.threads),
    ];
    const r = spawnSync(PYTHON, args, { encoding: 'utf8', timeout: 600_000, env: { ...process.env, OMP_WAIT_POLICY: 'PASSIVE' } });
    if (r.status !== 0) return { available: false, reason: `torch_speed.py failed (${r.status ?? r.signal}): ${tail(r.stderr)}` };
    const line = r.stdout.trim().split('\n').pop() ?? '';
    return { available: true, ...(JSON.parse(line) as TorchResult) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface CliSpeed {
  mode: 'cli' | 'library-child';
  note: string;
  encodeCommand: string;
  decodeCommand: string;
  runs: number;
  encodeMs: number[];
  decodeMs: number[];
  medianEncodeMs: number;
  medianDecodeMs: number;
  fileBytes: number;
}

function timedRun(cmd: string, args: string[]): { ms: number; r: SpawnSyncReturns<string> } {
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 300_000 });
  return { ms: performance.now() - t0, r };
}

/**
 * The `codec` command of the checkout at `root`: the bundled binary that package.json's bin
 * names, or dist/src/cli/main.js in checkouts built before the bundle.
 */
export function cliEntry(root: string): string {
  const found = [join(root, 'dist', 'cli', 'main.js'), join(root, 'dist', 'src', 'cli', 'main.js')].find((p) => existsSync(p));
  if (!found) throw new Error(`no built CLI under ${root}/dist (run npm run build there)`);
  return found;
}

/**
 * Median whole-process times to encode `imagePath` at `quality` and decode it back to PNG.
 * One untimed run of each comes first (file cache), then `runs` timed ones.
 */
export function cliSpeed(root: string, imagePath: string, quality: number, runs: number): CliSpeed {
  const cli = cliEntry(root);
  const oneshot = join(root, 'dist', 'bench', 'lib', 'oneshot.js');
  const dir = mkdtempSync(join(tmpdir(), 'nc-cli-'));
  const coded = join(dir, 'image.ncdc');
  const png = join(dir, 'decoded.png');
  const rel = (p: string) => p.replace(root + '/', '');
  try {
    const help = spawnSync(process.execPath, [cli, 'help'], { encoding: 'utf8', timeout: 60_000 });
    const hasCli = help.status === 0 && /^\s+encode\b/m.test(help.stdout) && /^\s+decode\b/m.test(help.stdout);
    let note = hasCli ? 'codec encode/decode (the CLI)' : 'the CLI has no encode/decode commands: timed through the library in a fresh node process per run (bench/lib/oneshot.ts)';
    const plans: { mode: CliSpeed['mode']; enc: string[]; dec: string[] }[] = [];
    if (hasCli) plans.push({ mode: 'cli', enc: [cli, 'encode', '--quiet', '-q', String(quality), imagePath, coded], dec: [cli, 'decode', '--quiet', coded, png] });
    plans.push({ mode: 'library-child', enc: [oneshot, 'encode', imagePath, coded, String(quality)], dec: [oneshot, 'decode', coded, png] });
    for (const plan of plans) {
      rmSync(coded, { force: true });
      rmSync(png, { force: true });
      const we = timedRun(process.execPath, plan.enc);
      const wd = we.r.status === 0 && existsSync(coded) ? timedRun(process.execPath, plan.dec) : undefined;
      if (!wd || wd.r.status !== 0 || !existsSync(png)) {
        const failed = wd ?? we;
        note = `${plan.mode === 'cli' ? 'codec encode/decode' : 'oneshot'} failed (${failed.r.status ?? failed.r.signal}: ${tail(failed.r.stderr, 300)}); `;
        continue;
      }
      const encodeMs: number[] = [];
      const decodeMs: number[] = [];
      for (let i = 0; i < runs; i++) {
        const e = timedRun(process.execPath, plan.enc);
        if (e.r.status !== 0) throw new Error(`encode run failed: ${tail(e.r.stderr)}`);
        encodeMs.push(e.ms);
        const d = timedRun(process.execPath, plan.dec);
        if (d.r.status !== 0) throw new Error(`decode run failed: ${tail(d.r.stderr)}`);
        decodeMs.push(d.ms);
      }
      if (plan.mode === 'library-child' && hasCli) note += 'timed through the library in a fresh node process per run instead';
      return {
        mode: plan.mode,
        note,
        encodeCommand: ['node', ...plan.enc.map(rel)].join(' '),
        decodeCommand: ['node', ...plan.dec.map(rel)].join(' '),
        runs,
        encodeMs,
        decodeMs,
        medianEncodeMs: median(encodeMs),
        medianDecodeMs: median(decodeMs),
        fileBytes: statSync(coded).size,
      };
    }
    throw new Error(`no way to time whole-process encode/decode: ${note}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
