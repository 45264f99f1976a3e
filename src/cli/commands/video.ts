/**
 * The video halves of `codec encode`, `codec decode` and `codec info`: a video input
 * (by extension, or `-` with --video) is coded all-intra into Matroska; a Matroska input
 * is decoded to mp4, y4m or mkv; `info` lists the sequence header and the frames.
 */
import { Readable, Writable } from 'node:stream';
import { throwIfAborted } from '../../errors.js';
import type { VideoOutputFormat } from '../../video/ffmpeg.js';
import type { MatroskaSink } from '../../video/matroska.js';
import type { VideoProgress, VideoSummary } from '../../video/codec.js';
import type { OptionValues } from '../args.js';
import type { CliIO } from '../command.js';
import { checkInputFile, displayName, displayOutput, writeStdout } from '../io.js';
import { integerOption, numberOption, stringOption } from '../options.js';
import { UsageError } from '../usage-error.js';
import { formatBpp } from './info.js';

const video = () => import('../../video/codec.js');

/** What `codec encode --json` prints for a video. */
export interface VideoEncodeReport {
  input: string;
  output: string;
  width: number;
  height: number;
  fps: string;
  frames: number;
  iFrames: number;
  pFrames: number;
  quality: number;
  /** Size of the Matroska file (null when it went to standard output). */
  bytes: number | null;
  videoBytes: number;
  /** Video bits per second. */
  bitrate: number;
  bpp: number;
  audioTracks: number;
  ms: number;
}

/** What `codec decode --json` prints for a video. */
export interface VideoDecodeReport {
  input: string;
  output: string;
  width: number;
  height: number;
  fps: string;
  frames: number;
  format: VideoOutputFormat;
  encoder: string;
  audioTracks: number;
  ms: number;
}

const kbits = (bitsPerSecond: number) => `${(bitsPerSecond / 1000).toFixed(1)} kbit/s`;
const fpsText = (f: { num: number; den: number }) => (f.den === 1 ? String(f.num) : `${f.num}/${f.den}`);

/** A one-line progress display on a terminal: frames, speed, bitrate so far. */
class ProgressLine {
  #shown = false;
  constructor(private readonly out: CliIO['stderr'], private readonly enabled: boolean) {}
  update(p: VideoProgress): void {
    if (!this.enabled || this.out.isTTY !== true) return;
    const seconds = p.elapsedMs / 1000;
    const speed = seconds > 0 ? p.frames / seconds : 0;
    const rate = (p.bytes * 8 * p.fps.num) / (p.frames * p.fps.den);
    const total = p.totalFrames ? `/${p.totalFrames}` : '';
    this.out.write(`\rframe ${p.frames}${total}, ${speed.toFixed(1)} fps, ${kbits(rate)}\x1b[K`);
    this.#shown = true;
  }
  finish(): void {
    if (this.#shown) this.out.write('\r\x1b[K');
    this.#shown = false;
  }
}

/** Whether `codec encode IN OUT` should take the video path. */
export async function isVideoEncode(input: string, options: OptionValues): Promise<boolean> {
  if (options.video === true) return true;
  return input !== '-' && (await video()).isVideoPath(input);
}

/** `codec encode` for a video input. */
export async function encodeVideoCommand(input: string, output: string, options: OptionValues, io: CliIO): Promise<number> {
  const { encodeVideo } = await video();
  for (const name of ['target-bpp', 'target-bytes', 'tile-size', 'out-dir', 'jobs', 'max-pixels']) {
    if (options[name] !== undefined) throw new UsageError(`option '--${name}' cannot be used with a video input`);
  }
  if (output !== '-' && !/\.mkv$/i.test(output)) throw new UsageError(`a video is written as Matroska: the output must end in .mkv or be - (received '${output}')`);
  const json = options.json === true;
  const quiet = options.quiet === true;
  if (json && output === '-') throw new UsageError("option '--json' cannot be used when the file goes to standard output");
  const maxFrames = integerOption(options, 'max-frames', 'max-frames', 1, 1_000_000);
  const intraPeriod = integerOption(options, 'intra-period', 'intra-period', 1, 1_000_000);
  const intraBoost = integerOption(options, 'intra-boost', 'intra-boost', 0, 99);
  const anchorBoost = integerOption(options, 'anchor-boost', 'anchor-boost', 0, 99);
  const fpsValue = numberOption(options, 'fps');
  let fps: { num: number; den: number } | undefined;
  if (fpsValue !== undefined) {
    if (typeof fpsValue !== 'number' || !(fpsValue > 0 && fpsValue <= 1000)) throw new UsageError(`option '--fps' needs a frame rate between 0 and 1000 (received '${String(fpsValue)}')`);
    fps = Number.isInteger(fpsValue) ? { num: fpsValue, den: 1 } : { num: Math.round(fpsValue * 1000), den: 1000 };
  }
  if (input !== '-') await checkInputFile(input);
  const started = performance.now();
  const progress = new ProgressLine(io.stderr, !quiet);
  let written = 0;
  const sink: MatroskaSink | undefined =
    output === '-'
      ? {
          async write(bytes: Uint8Array) {
            written += bytes.length;
            await writeStdout(io, bytes);
          },
        }
      : undefined;
  let result;
  try {
    result = await encodeVideo(input === '-' ? Readable.from(io.stdin, { objectMode: false }) : input, sink ?? output, {
      quality: numberOption(options, 'quality'),
      codec: stringOption(options, 'codec'),
      threads: numberOption(options, 'threads'),
      maxFrames,
      ...(intraPeriod !== undefined ? { intraPeriod } : {}),
      ...(intraBoost !== undefined ? { intraBoost } : {}),
      ...(anchorBoost !== undefined ? { anchorBoost } : {}),
      fps,
      signal: io.signal,
      onProgress: (p) => progress.update(p),
    });
  } finally {
    progress.finish();
  }
  throwIfAborted(io.signal);
  let bytes: number | null = written;
  if (output !== '-') {
    const { stat } = await import('node:fs/promises');
    bytes = (await stat(output)).size;
  }
  const report: VideoEncodeReport = {
    input,
    output,
    width: result.width,
    height: result.height,
    fps: fpsText(result.fps),
    frames: result.frames,
    iFrames: result.iFrames,
    pFrames: result.pFrames,
    quality: result.quality,
    bytes,
    videoBytes: result.videoBytes,
    bitrate: Math.round(result.bitrate),
    bpp: (result.videoBytes * 8) / (result.frames * result.width * result.height),
    audioTracks: result.audioTracks,
    ms: Math.round(performance.now() - started),
  };
  if (json) io.stdout.write(JSON.stringify(report, null, 2) + '\n');
  else if (!quiet) {
    io.stderr.write(
      `${displayName(input)} -> ${displayOutput(output)}: ${report.width}x${report.height} at ${report.fps} fps, ${report.iFrames} I-frames and ${report.pFrames} P-frames, ` +
        `quality ${report.quality}, ${kbits(report.bitrate)} (${formatBpp(report.bpp)} bpp), ` +
        `${report.audioTracks} audio track${report.audioTracks === 1 ? '' : 's'} copied (${report.ms} ms)\n`,
    );
  }
  return 0;
}

/** `codec decode` for a Matroska input (already read). */
export async function decodeVideoCommand(input: string, bytes: Uint8Array, output: string, options: OptionValues, io: CliIO): Promise<void> {
  const { decodeVideo } = await video();
  const json = options.json === true;
  const quiet = options.quiet === true;
  if (json && output === '-') throw new UsageError("option '--json' cannot be used when the video goes to standard output");
  const name = stringOption(options, 'format');
  let format: VideoOutputFormat | undefined;
  if (name !== undefined) {
    const f = name.toLowerCase();
    if (f !== 'mp4' && f !== 'y4m' && f !== 'mkv') throw new UsageError(`a video decodes to mp4, y4m or mkv (received --format '${name}')`);
    format = f;
  } else if (output !== '-' && !/\.(mp4|m4v|mov|y4m|mkv)$/i.test(output)) {
    throw new UsageError(`a video decodes to .mp4, .y4m or .mkv, or give --format (received '${output}')`);
  }
  const maxPixels = numberOption(options, 'max-pixels');
  const started = performance.now();
  const progress = new ProgressLine(io.stderr, !quiet);
  const target =
    output === '-'
      ? new Writable({
          write(chunk: Buffer, _encoding, callback) {
            writeStdout(io, chunk).then(() => callback(), callback);
          },
        })
      : output;
  let result;
  try {
    result = await decodeVideo(bytes, target, {
      codec: stringOption(options, 'codec'),
      threads: numberOption(options, 'threads'),
      format,
      limits: maxPixels === undefined ? undefined : { maxPixels },
      signal: io.signal,
      onProgress: (p) => progress.update(p),
    });
  } finally {
    progress.finish();
  }
  const report: VideoDecodeReport = {
    input,
    output,
    width: result.width,
    height: result.height,
    fps: fpsText(result.fps),
    frames: result.frames,
    format: result.format,
    encoder: result.encoder,
    audioTracks: result.audioTracks,
    ms: Math.round(performance.now() - started),
  };
  if (json) io.stdout.write(JSON.stringify(report, null, 2) + '\n');
  else if (!quiet) {
    io.stderr.write(
      `${displayName(input)} -> ${displayOutput(output)}: ${report.width}x${report.height} at ${report.fps} fps, ${report.frames} frames, ` +
        `${report.format} (${report.encoder}), ${report.audioTracks} audio track${report.audioTracks === 1 ? '' : 's'} (${report.ms} ms)\n`,
    );
  }
}

/** The text `codec info` prints for a video. */
export function formatVideoSummary(file: string, s: VideoSummary): string {
  const h = s.sequenceHeader;
  const lines = [
    `file        ${displayName(file)}`,
    `size        ${s.byteLength} bytes (video ${s.videoBytes})`,
    `format      Matroska, neurocodec sequence version ${h.version}, frame format ${h.frameFormat} (${h.frameFormat === 1 ? 'compact P-frames' : 'image containers'})`,
    `codec       ${h.codecId}`,
    `model hash  ${h.modelHash}`,
    `video       ${h.width}x${h.height}, ${fpsText(h.fps)} fps, ${h.frameCount === 0 ? 'frame count not declared' : `${h.frameCount} frames declared`}`,
    `coding      ${h.intraPeriod === 1 ? 'all-intra' : `I- and P-frames (intra period ${h.intraPeriod}): ${s.frames.filter((f) => f.type === 'I').length} I, ${s.frames.filter((f) => f.type === 'P').length} P`}, quality ${h.quality}`,
    `rate        ${kbits(s.bitrate)}, ${formatBpp((s.videoBytes * 8) / (s.frames.length * h.width * h.height))} bits per pixel`,
    `duration    ${s.duration === undefined ? 'unknown' : `${(s.duration / 1000).toFixed(3)} s`}`,
    `audio       ${s.audioTracks.length === 0 ? 'none' : s.audioTracks.map((a) => `track ${a.number} ${a.codecId}${a.sampleRate ? ` ${a.sampleRate} Hz` : ''}${a.channels ? ` ${a.channels} ch` : ''}, ${a.packets} packets`).join('; ')}`,
    `frames      ${s.frames.length}`,
    '',
  ];
  const rows = s.frames.map((f) => [String(f.index), String(f.timestamp), f.type, f.keyframe ? 'key' : '', String(f.bytes)]);
  const header = ['#', 'time ms', 'type', 'flags', 'bytes'];
  const widths = header.map((t, i) => Math.max(t.length, ...rows.map((r) => r[i].length)));
  const right = new Set([0, 1, 4]);
  for (const r of [header, ...rows]) lines.push(('  ' + r.map((c, i) => (right.has(i) ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ')).trimEnd());
  return lines.join('\n') + '\n';
}
