import type { DecodeOptions, ProgressiveStatus } from '../../api.js';
import { resolveLimits } from '../../bitstream/limits.js';
import type { OutputFormat } from '../../image/io.js';
import type { Command } from '../command.js';
import { displayName, displayOutput, readInput, writeOutput } from '../io.js';
import { numberOption, stringOption } from '../options.js';
import { trace } from '../../trace.js';
import { UsageError } from '../usage-error.js';

/** What `codec decode --json` prints. */
export interface DecodeReport {
  input: string;
  output: string;
  width: number;
  height: number;
  channels: number;
  /** The quality the file was coded at. */
  quality: number;
  format: OutputFormat;
  /** Size of the image file written. */
  bytes: number;
  ms: number;
  /** For a progressive file: how much of it was decoded. */
  progressive?: ProgressiveStatus;
  /** For a BSQ file: the groups it keeps of the model's d-bit tokens. */
  bsq?: { groups: number; d: number; groupBits: number };
}

function progressiveNote(p: ProgressiveStatus | undefined): string {
  if (!p) return '';
  if (p.fraction >= 1) return `progressive (all ${p.totalPlanes} planes), `;
  // a file cut by `codec truncate` is whole as a file but holds only part of the trits
  const what = p.complete ? 'truncated progressive file' : 'progressive prefix';
  return `${what} of ${p.bytes} bytes (${p.planes} of ${p.totalPlanes} planes whole, ${(100 * p.fraction).toFixed(1)}% of the trits), `;
}

export const decodeCommand: Command = {
  name: 'decode',
  summary: 'decode a neurocodec file to an image',
  description:
    "Decode a neurocodec file to an image file. The format comes from OUT's extension " +
    '(png, jpg/jpeg, webp, avif, tif/tiff, gif, heif; PNG for any other extension), or from --format, which wins; ' +
    'standard output (-) gets PNG unless --format says otherwise. The file is written ' +
    'atomically: a failed or interrupted run leaves no partial output. A file made by ' +
    'another codec or other weights than --codec fails with ERR_MODEL_MISMATCH. A neurocodec ' +
    'video (.mkv) decodes to .mp4, .y4m or .mkv (or --format mp4|y4m|mkv; y4m for -) with its ' +
    'audio put back.',
  arguments: [
    { name: 'input', description: 'a neurocodec file, or - for standard input' },
    { name: 'output', description: 'the image file to write, or - for standard output' },
  ],
  options: {
    codec: { type: 'string', valueName: 'ID', description: 'codec id or folder (default: the one named in the file)' },
    threads: { type: 'string', valueName: 'N', description: 'threads per network run (default: all cores)' },
    format: { type: 'string', short: 'f', valueName: 'FMT', description: 'output format: png, jpg, webp, avif, tiff, gif, ...; for a video mp4, y4m, mkv' },
    'max-pixels': { type: 'string', valueName: 'N', description: 'refuse files of more than N pixels (default 268402689)' },
    bytes: { type: 'string', valueName: 'N', description: 'progressive file: decode only its first N bytes' },
    planes: { type: 'string', valueName: 'K', description: 'progressive file: decode at most K trit-planes' },
    json: { type: 'boolean', description: 'print a JSON report on standard output' },
    quiet: { type: 'boolean', description: 'print nothing on standard error but errors' },
  },
  examples: [
    'codec decode photo.ncdc photo.png',
    'codec decode photo.ncdc photo.webp',
    'codec decode --bytes 8000 progressive.ncdc preview.png',
    'codec decode --format jpg - - < photo.ncdc > photo.jpg',
    'codec decode clip.mkv clip.mp4',
    'codec decode clip.mkv -f y4m - | ffplay -',
  ],
  async run({ args, options, io }) {
    // the library is loaded on use, so that `codec info` and `--help` start fast
    const [{ checkDecodeOptions, decode }, { encodeImage, formatForPath, toOutputFormat }] = await Promise.all([
      import('../../api.js'),
      import('../../image/io.js'),
    ]);
    trace('library loaded');
    const [input, output] = args;
    const started = performance.now();
    const json = options.json === true;
    const maxPixels = numberOption(options, 'max-pixels');
    const decodeOpts: DecodeOptions = {
      codec: stringOption(options, 'codec'),
      threads: numberOption(options, 'threads'),
      signal: io.signal,
      limits: maxPixels === undefined ? undefined : { maxPixels },
      bytes: numberOption(options, 'bytes'),
      planes: numberOption(options, 'planes'),
    };
    for (const key of ['bytes', 'planes'] as const) if (decodeOpts[key] === undefined) delete decodeOpts[key];
    checkDecodeOptions(decodeOpts);
    if (decodeOpts.limits) resolveLimits(decodeOpts.limits);
    const name = stringOption(options, 'format');
    // An image format is checked before reading, unless the input may be a video (a
    // Matroska file, or standard input), whose formats differ.
    let format: OutputFormat | undefined;
    let formatError: unknown;
    try {
      format = toOutputFormat(name ?? (output === '-' ? 'png' : formatForPath(output)));
    } catch (err) {
      formatError = err;
    }
    if (formatError !== undefined && input !== '-' && !/\.(mkv|webm)$/i.test(input)) throw formatError;
    if (json && output === '-') throw new UsageError("option '--json' cannot be used when the image goes to standard output");

    const bytes = await readInput(input, io, io.signal);
    if (bytes.length >= 4 && bytes[0] === 0x1a && bytes[1] === 0x45 && bytes[2] === 0xdf && bytes[3] === 0xa3) {
      const { decodeVideoCommand } = await import('./video.js');
      return decodeVideoCommand(input, bytes, output, options, io);
    }
    if (format === undefined) throw formatError;

    trace('input read');
    const image = await decode(bytes, decodeOpts);
    trace('decoded');
    const file = await encodeImage(image, format);
    trace(`${format} written to memory`);
    await writeOutput(output, file, io, io.signal);
    trace('output written');

    const report: DecodeReport = {
      input,
      output,
      width: image.width,
      height: image.height,
      channels: image.channels,
      quality: image.quality,
      format,
      bytes: file.length,
      ms: Math.round(performance.now() - started),
    };
    if (image.progressive) report.progressive = image.progressive;
    if (image.bsq) report.bsq = image.bsq;
    if (json) {
      io.stdout.write(JSON.stringify(report, null, 2) + '\n');
    } else if (options.quiet !== true) {
      io.stderr.write(
        `${displayName(input)} -> ${displayOutput(output)}: ${report.width}x${report.height}, ${report.channels} channel${report.channels === 1 ? '' : 's'}, ` +
          `${image.bsq ? `BSQ ${image.bsq.groups} of ${image.bsq.d / image.bsq.groupBits} groups` : `quality ${report.quality}`}, ${progressiveNote(image.progressive)}${format} ${report.bytes} bytes (${report.ms} ms)\n`,
      );
    }
  },
};
