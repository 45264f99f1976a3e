import { mkdir } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { basename, extname, join } from 'node:path';
import type { EncodeOptions, EncodeResult } from '../../api.js';
import { CodecError, InvalidOptionError, OutputError, fsReason, throwIfAborted } from '../../errors.js';
import type { OptionValues } from '../args.js';
import type { CliIO, Command } from '../command.js';
import { checkInputFile, displayName, displayOutput, readInput, writeOutput } from '../io.js';
import { integerOption, numberOption, stringOption } from '../options.js';
import { ProgressBar } from '../progress.js';
import { UsageError } from '../usage-error.js';
import { formatBpp } from './info.js';
import { encodeVideoCommand, isVideoEncode } from './video.js';
import { trace } from '../../trace.js';

/** Extension of the files written by batch mode. */
export const FILE_EXTENSION = '.ncdc';

/** Largest --jobs value. */
const MAX_JOBS = 64;

/** One line of the JSON summary for a file that was encoded. */
export interface EncodedFileReport {
  input: string;
  output: string;
  width: number;
  height: number;
  channels: number;
  bytes: number;
  bpp: number;
  quality: number;
  ms: number;
  warnings: string[];
  /** The rate-control target, or null without one. */
  target: { bytes: number } | { bpp: number } | null;
  /** Whether the size is within 3% of the target; null without one. */
  targetMet: boolean | null;
  /** BSQ mode: bit groups kept per token. */
  groups?: number;
}

/** One line of the JSON summary for a file that failed. */
export interface FailedFileReport {
  input: string;
  output: string;
  ms: number;
  error: { code: string; message: string };
}

/** What `codec encode --json` prints. */
export interface EncodeSummary {
  files: (EncodedFileReport | FailedFileReport)[];
  succeeded: number;
  failed: number;
  ms: number;
}

/** The library, loaded on first use so that `codec info` and `--help` start fast. */
const api = () => import('../../api.js');

async function encodeOptions(options: OptionValues, signal: AbortSignal | undefined): Promise<EncodeOptions> {
  const o: EncodeOptions = {
    quality: numberOption(options, 'quality'),
    targetBpp: numberOption(options, 'target-bpp'),
    targetBytes: numberOption(options, 'target-bytes'),
    codec: stringOption(options, 'codec'),
    threads: numberOption(options, 'threads'),
    tileSize: numberOption(options, 'tile-size'),
    maxPixels: numberOption(options, 'max-pixels'),
    progressive: options.progressive === true ? true : undefined,
    mode: stringOption(options, 'mode') as EncodeOptions['mode'],
    groups: numberOption(options, 'groups'),
    signal,
  };
  for (const key of Object.keys(o) as (keyof EncodeOptions)[]) if (o[key] === undefined) delete o[key];
  (await api()).checkEncodeOptions(o);
  return o;
}

function targetOf(o: EncodeOptions): EncodedFileReport['target'] {
  if (o.targetBytes !== undefined) return { bytes: o.targetBytes };
  if (o.targetBpp !== undefined) return { bpp: o.targetBpp };
  return null;
}

/** Batch mode's output for an input: DIR/<name without extension>.ncdc. */
export function batchOutputPath(outDir: string, input: string): string {
  const name = basename(input);
  const ext = extname(name);
  return join(outDir, `${ext && ext !== name ? name.slice(0, -ext.length) : name}${FILE_EXTENSION}`);
}

function reportLine(r: EncodedFileReport): string {
  let line = `${displayName(r.input)} -> ${displayOutput(r.output)}: ${r.width}x${r.height}, ${r.bytes} bytes, ${formatBpp(r.bpp)} bpp, ${r.groups !== undefined ? `${r.groups} BSQ groups` : `quality ${r.quality}`}`;
  if (r.target) {
    const what = 'bytes' in r.target ? `${r.target.bytes} bytes` : `${r.target.bpp} bpp`;
    line += `, target ${what} ${r.targetMet ? 'met' : 'not met (closest size kept)'}`;
  }
  return `${line} (${r.ms} ms)\n`;
}

/** Encodes one input to one output; resolves to its report or rejects with the failure. */
async function encodeOne(input: string, output: string, options: EncodeOptions, io: CliIO): Promise<EncodedFileReport> {
  const started = performance.now();
  let source: string | Uint8Array;
  if (input === '-') {
    source = await readInput(input, io, options.signal);
  } else {
    await checkInputFile(input);
    source = input;
  }
  trace('input checked');
  const result: EncodeResult = await (await api()).encodeWithInfo(source, options);
  trace('encoded');
  await writeOutput(output, result.bytes, io, options.signal);
  trace('output written');
  const report: EncodedFileReport = {
    input,
    output,
    width: result.width,
    height: result.height,
    channels: result.channels,
    bytes: result.bytes.length,
    bpp: result.bpp,
    quality: result.quality,
    ms: Math.round(performance.now() - started),
    warnings: result.warnings,
    target: targetOf(options),
    targetMet: result.targetMet ?? null,
  };
  if (result.groups !== undefined) report.groups = result.groups;
  return report;
}

/** A failure that would repeat for every file (a bad option, an unknown codec) ends a batch. */
const isFatal = (err: unknown): boolean => err instanceof InvalidOptionError || !(err instanceof CodecError);

export const encodeCommand: Command = {
  name: 'encode',
  summary: 'encode images into neurocodec files',
  description:
    'Encode an image (any format sharp reads: PNG, JPEG, WebP, AVIF, TIFF, GIF, ...) into a ' +
    'neurocodec file. IN and OUT may be - for standard input and output. With --out-dir, every ' +
    `argument is an input and each is written to DIR/<name>${FILE_EXTENSION}, --jobs at a time; ` +
    'a failed file does not stop the others (exit 1 at the end). Files are written atomically: ' +
    'a failed or interrupted run leaves no partial output. EXIF orientation is applied, 16-bit ' +
    'input is reduced to 8 bits and only the first frame of an animation is coded (with a ' +
    'warning). A line per file and any warnings go to standard error unless --quiet; a ' +
    'progress bar is drawn there in batch mode when it is a terminal. A video input (by its ' +
    'extension, or - with --video) is coded frame by frame (I-frames, and P-frames when the codec has a temporal prior) into a ' +
    'Matroska file (.mkv or -) with the audio copied unchanged; on a terminal a progress line ' +
    'shows frames, speed and bitrate.',
  arguments: [
    { name: 'input', description: 'image to encode, or - for standard input' },
    {
      name: 'output',
      optional: true,
      variadic: true,
      description: `file to write, or - for standard output; with --out-dir: more images to encode`,
    },
  ],
  options: {
    quality: { type: 'string', short: 'q', valueName: 'N', description: 'quality 1..100, fractions allowed (default 75)' },
    'target-bpp': { type: 'string', valueName: 'B', description: 'aim for B bits per pixel (the quality is searched for)' },
    'target-bytes': { type: 'string', valueName: 'N', description: 'aim for a file of N bytes (the quality is searched for)' },
    codec: { type: 'string', valueName: 'ID', description: 'codec id (a folder of codecs/) or a codec folder (default nc-small; nc-prog with --progressive, nc-bsq with --mode bsq, nc-video for video)' },
    threads: { type: 'string', valueName: 'N', description: 'threads per network run (default: all cores, divided by --jobs)' },
    'tile-size': { type: 'string', valueName: 'N', description: 'tile side, a multiple of 64 (default: whole image up to 2.6 MP, else 1280)' },
    'max-pixels': { type: 'string', valueName: 'N', description: 'refuse images of more than N pixels (default 268402689)' },
    progressive: {
      type: 'boolean',
      description: 'write a trit-plane progressive file (codec nc-prog, quality 100 unless given): any prefix decodes, and --target-* cut it to size',
    },
    mode: {
      type: 'string',
      valueName: 'M',
      description: "latent mode: hyperprior (default) or bsq, binary spherical quantization tokens for very low rates (codec nc-bsq)",
    },
    groups: { type: 'string', valueName: 'K', description: 'bsq: bit groups kept per token, 1..6 for nc-bsq (default all; -q 1..100 maps to 1..all)' },
    'out-dir': { type: 'string', valueName: 'DIR', description: `batch mode: write each input to DIR/<name>${FILE_EXTENSION}` },
    jobs: { type: 'string', short: 'j', valueName: 'N', description: 'batch mode: files encoded at the same time (default 1)' },
    video: { type: 'boolean', description: 'the input is a video (implied by .mp4 .mkv .webm .mov .y4m .avi .m4v); needed for - ' },
    'max-frames': { type: 'string', valueName: 'N', description: 'video: code at most N frames' },
    'intra-period': { type: 'string', valueName: 'N', description: 'video: frames from one I-frame to the next (default 32 with a codec that codes P-frames, else 1)' },
    'intra-boost': { type: 'string', valueName: 'N', description: 'video: quality added to I-frames that P-frames follow, 0..99 (default 32)' },
    'anchor-boost': { type: 'string', valueName: 'N', description: 'video: quality added to every 8th P-frame after an I-frame, 0..99 (default 24)' },
    fps: { type: 'string', valueName: 'R', description: 'video from standard input: its frame rate (default 25)' },
    json: { type: 'boolean', description: 'print a JSON summary on standard output' },
    quiet: { type: 'boolean', description: 'print nothing on standard error but errors' },
  },
  examples: [
    'codec encode photo.png photo.ncdc',
    'codec encode -q 50 clip.mp4 clip.mkv',
    'ffmpeg -i clip.mov -f yuv4mpegpipe - | codec encode --video - clip.mkv',
    'codec encode -q 40 photo.jpg small.ncdc',
    'codec encode --progressive photo.png photo.ncdc',
    'codec encode --mode bsq --groups 3 photo.png tiny.ncdc',
    'codec encode --target-bytes 20000 photo.png photo.ncdc',
    'cat photo.png | codec encode - - > photo.ncdc',
    'codec encode --out-dir out/ --jobs 2 --json *.png',
  ],
  async run({ args, options, io }) {
    const signal = io.signal;
    if (await isVideoEncode(args[0], options)) {
      if (args.length < 2) throw new UsageError("missing argument <output> for 'codec encode'");
      if (args.length > 2) throw new UsageError(`unexpected argument '${args[2]}' for 'codec encode' with a video input`);
      return encodeVideoCommand(args[0], args[1], options, io);
    }
    for (const name of ['max-frames', 'fps', 'intra-period', 'intra-boost', 'anchor-boost']) {
      if (options[name] !== undefined) throw new UsageError(`option '--${name}' needs a video input`);
    }
    const outDir = stringOption(options, 'out-dir');
    const json = options.json === true;
    const quiet = options.quiet === true;
    const jobs = integerOption(options, 'jobs', 'jobs', 1, MAX_JOBS) ?? 1;
    const encodeOpts = await encodeOptions(options, signal);
    if (jobs > 1 && encodeOpts.threads === undefined) {
      encodeOpts.threads = Math.max(1, Math.floor(availableParallelism() / jobs));
    }

    let pairs: [string, string][];
    if (outDir === undefined) {
      if (args.length < 2) throw new UsageError("missing argument <output> for 'codec encode' (or give --out-dir DIR)");
      if (args.length > 2) {
        throw new UsageError(`unexpected argument '${args[2]}' for 'codec encode'; give --out-dir DIR to encode several files`);
      }
      if (options.jobs !== undefined) throw new UsageError("option '--jobs' needs --out-dir");
      if (json && args[1] === '-') throw new UsageError("option '--json' cannot be used when the file goes to standard output");
      pairs = [[args[0], args[1]]];
    } else {
      if (outDir === '') throw new UsageError("option '--out-dir' needs a directory");
      const seen = new Map<string, string>();
      pairs = args.map((input) => {
        if (input === '-') throw new UsageError("standard input (-) cannot be used with --out-dir");
        const output = batchOutputPath(outDir, input);
        const other = seen.get(output);
        if (other !== undefined) throw new UsageError(`inputs '${other}' and '${input}' would both be written to '${output}'`);
        seen.set(output, input);
        return [input, output];
      });
      try {
        await mkdir(outDir, { recursive: true });
      } catch (err) {
        throw new OutputError(`cannot create directory '${outDir}': ${fsReason(err)}`, { cause: err });
      }
    }

    const batch = outDir !== undefined;
    const started = performance.now();
    const progress = new ProgressBar(io.stderr, pairs.length, batch && !quiet);
    const say = (text: string) => {
      if (!quiet) progress.log(text);
    };
    const reports: (EncodedFileReport | FailedFileReport | undefined)[] = new Array(pairs.length);
    let fatal: unknown;
    let done = 0;
    const queue = pairs.entries();
    const worker = async () => {
      for (const [i, [input, output]] of queue) {
        if (fatal !== undefined || signal?.aborted) return;
        const t0 = performance.now();
        try {
          const report = await encodeOne(input, output, encodeOpts, io);
          reports[i] = report;
          for (const w of report.warnings) say(`codec: warning: ${displayName(input)}: ${w}\n`);
          if (!json) say(reportLine(report));
        } catch (err) {
          if (!batch || isFatal(err) || signal?.aborted) {
            fatal ??= err;
            return;
          }
          const e = err as CodecError;
          reports[i] = { input, output, ms: Math.round(performance.now() - t0), error: { code: e.code, message: e.message } };
          const message = e.message.replace(/\s*[\r\n]+\s*/g, ' ');
          progress.log(`codec: error: ${message.includes(input) ? '' : `${input}: `}${message} [${e.code}]\n`);
        }
        progress.update(++done, input);
      }
    };
    progress.update(0);
    try {
      await Promise.all(Array.from({ length: Math.min(jobs, pairs.length) }, worker));
    } finally {
      progress.finish();
    }
    if (fatal !== undefined) throw fatal;
    throwIfAborted(signal);

    const files = reports.filter((r): r is EncodedFileReport | FailedFileReport => r !== undefined);
    const failed = files.filter((r) => 'error' in r).length;
    if (json) {
      const summary: EncodeSummary = { files, succeeded: files.length - failed, failed, ms: Math.round(performance.now() - started) };
      io.stdout.write(JSON.stringify(summary, null, 2) + '\n');
    }
    return failed > 0 ? 1 : 0;
  },
};
