/**
 * A small typed wrapper over the ffmpeg and ffprobe executables: find them, probe a
 * file, stream raw RGB24 frames out of any video ffmpeg reads, and pipe raw frames into
 * an encoder. Frames flow through pipes with backpressure, so memory does not grow with
 * the length of the clip.
 *
 * Every call takes an AbortSignal; a child process is killed when the signal fires or
 * when a stream around it breaks, and its failure carries the last 4 KiB of its stderr
 * and its exit status (as the `cause`, a {@link ProcessExitError}).
 */
import { constants as fsConstants } from 'node:fs';
import { access, chmod, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { delimiter, dirname, join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { AbortError, InputError, OutputError, invalidOption, throwIfAborted } from '../errors.js';
import { checkLimit } from '../bitstream/limits.js';
import { ChildRun } from './process.js';

export { ProcessExitError, STDERR_TAIL_BYTES } from './process.js';

// ---------------------------------------------------------------------------------------
// Finding the executables

type ToolName = 'ffmpeg' | 'ffprobe';

const ENV_VARS: Record<ToolName, string> = { ffmpeg: 'FFMPEG_PATH', ffprobe: 'FFPROBE_PATH' };
const PACKAGES: Record<ToolName, string> = { ffmpeg: '@ffmpeg-installer', ffprobe: '@ffprobe-installer' };

const located = new Map<ToolName, Promise<string>>();

async function isExecutable(path: string): Promise<boolean> {
  try {
    await access(path, fsConstants.X_OK);
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/** The binary shipped in the installer package for this platform, made executable if needed. */
async function fromPackage(tool: ToolName): Promise<string | undefined> {
  const require = createRequire(import.meta.url);
  const platformPackage = `${PACKAGES[tool]}/${process.platform}-${process.arch}`;
  let dir: string;
  try {
    dir = dirname(require.resolve(`${platformPackage}/package.json`));
  } catch {
    return undefined;
  }
  const path = join(dir, process.platform === 'win32' ? `${tool}.exe` : tool);
  let mode: number;
  try {
    const info = await stat(path);
    if (!info.isFile()) return undefined;
    mode = info.mode;
  } catch {
    return undefined;
  }
  if (await isExecutable(path)) return path;
  // Installs that skip package scripts leave the binary without its execute bit.
  try {
    await chmod(path, mode | 0o111);
  } catch (err) {
    throw new InputError(
      `${tool} from ${platformPackage} at ${path} is not executable and cannot be made so ` +
        `(${(err as Error).message}); run 'chmod +x ${path}' or set ${ENV_VARS[tool]}`,
      { cause: err },
    );
  }
  if (await isExecutable(path)) return path;
  throw new InputError(`${tool} at ${path} is not executable; run 'chmod +x ${path}' or set ${ENV_VARS[tool]}`);
}

async function fromPath(tool: ToolName): Promise<string | undefined> {
  const names = process.platform === 'win32' ? [`${tool}.exe`] : [tool];
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    for (const name of names) {
      const path = join(dir, name);
      if (await isExecutable(path)) return path;
    }
  }
  return undefined;
}

async function locate(tool: ToolName): Promise<string> {
  const fromEnv = process.env[ENV_VARS[tool]];
  if (fromEnv) {
    if (await isExecutable(fromEnv)) return fromEnv;
    throw new InputError(`${ENV_VARS[tool]} is '${fromEnv}', which is not an executable file`);
  }
  const found = (await fromPackage(tool)) ?? (await fromPath(tool));
  if (found) return found;
  throw new InputError(
    `cannot find ${tool}: set ${ENV_VARS[tool]}, install ${PACKAGES[tool]}/${tool}, or put ${tool} on PATH`,
  );
}

function memoLocate(tool: ToolName): Promise<string> {
  let found = located.get(tool);
  if (!found) {
    found = locate(tool);
    located.set(tool, found);
    // A failed look-up is retried next time (the user may fix the environment).
    found.catch(() => located.delete(tool));
  }
  return found;
}

/**
 * Path of the ffmpeg executable: `FFMPEG_PATH`, else the binary of
 * `@ffmpeg-installer/ffmpeg` (given its execute bit if it lacks it), else `ffmpeg` on PATH.
 * Memoised.
 * @example const bin = await findFfmpeg();
 * @throws InputError when none is found or the one found cannot be run.
 */
export const findFfmpeg = (): Promise<string> => memoLocate('ffmpeg');

/** Path of ffprobe, found like {@link findFfmpeg} (`FFPROBE_PATH`, `@ffprobe-installer/ffprobe`, PATH). */
export const findFfprobe = (): Promise<string> => memoLocate('ffprobe');

/** Forget found paths (after changing FFMPEG_PATH / FFPROBE_PATH). */
export function resetToolPaths(): void {
  located.clear();
  encoderList = undefined;
}

let encoderList: Promise<Set<string>> | undefined;

/**
 * Names of the video and audio encoders the ffmpeg build has (`ffmpeg -encoders`), asked once.
 * @example (await ffmpegEncoders()).has('libx264')
 */
export function ffmpegEncoders(): Promise<Set<string>> {
  encoderList ??= (async () => {
    const out = await runCollect('ffmpeg', ['-hide_banner', '-encoders'], { what: 'list ffmpeg encoders' });
    const names = new Set<string>();
    for (const line of out.toString('utf8').split('\n')) {
      const m = /^\s*[VAS][F.][S.][X.][B.][D.]\s+(\S+)/.exec(line);
      if (m) names.add(m[1]);
    }
    return names;
  })();
  encoderList.catch(() => (encoderList = undefined));
  return encoderList;
}

/** The H.264 encoder when the build has libx264, else MPEG-4 part 2. */
export async function mp4VideoEncoder(): Promise<'libx264' | 'mpeg4'> {
  return (await ffmpegEncoders()).has('libx264') ? 'libx264' : 'mpeg4';
}

// ---------------------------------------------------------------------------------------
// Running a tool and collecting its output

/** An input for ffmpeg or ffprobe: a file path (or URL ffmpeg reads), or a stream piped to its stdin. */
export type MediaInput = string | Readable;

const MAX_PROBE_OUTPUT = 16 * 1024 * 1024;

function describe(input: MediaInput): string {
  return typeof input === 'string' ? `'${input}'` : 'the input stream';
}

function checkInput(input: MediaInput): void {
  if (typeof input === 'string') {
    if (input.length === 0) throw invalidOption('non-empty path or Readable', 'input', input);
  } else if (!(input instanceof Readable)) {
    throw invalidOption('file path or Readable', 'input', input);
  }
}

/** Pipe `input` into the run's stdin; a failing input kills the process. */
function feedStdin(run: ChildRun, input: Readable): void {
  const stdin = run.child.stdin!;
  const onError = (err: Error) =>
    run.fail(new InputError(`cannot read the input stream: ${err.message}`, { cause: err }));
  input.once('error', onError);
  input.pipe(stdin);
  void run.done.finally(() => {
    input.off('error', onError);
    input.unpipe(stdin);
  }).catch(() => {});
}

async function runCollect(
  tool: ToolName,
  args: string[],
  options: { what: string; input?: Readable; signal?: AbortSignal },
): Promise<Buffer> {
  throwIfAborted(options.signal);
  const bin = tool === 'ffmpeg' ? await findFfmpeg() : await findFfprobe();
  const run = new ChildRun(bin, args, { tool, kind: 'input', what: options.what, signal: options.signal });
  if (options.input) feedStdin(run, options.input);
  else run.child.stdin!.end();
  const chunks: Buffer[] = [];
  let length = 0;
  run.child.stdout!.on('data', (chunk: Buffer) => {
    length += chunk.length;
    try {
      checkLimit(`${tool} output bytes`, length, MAX_PROBE_OUTPUT);
    } catch (err) {
      run.fail(err as InputError);
      return;
    }
    chunks.push(chunk);
  });
  run.child.stdout!.on('error', () => {});
  await run.done;
  return Buffer.concat(chunks);
}

/**
 * Run ffmpeg with `args` (after `-hide_banner -nostdin -v error`) and collect its stdout
 * (at most 16 MiB).
 * @example await runFfmpeg(['-i', 'in.mp4', '-vn', '-c:a', 'copy', 'a.mka'], { what: 'cannot extract audio' });
 * @throws InputError with the stderr tail when ffmpeg fails, AbortError when the signal fires.
 */
export function runFfmpeg(args: readonly string[], options: { what: string; signal?: AbortSignal }): Promise<Buffer> {
  return runCollect('ffmpeg', ['-hide_banner', '-nostdin', '-v', 'error', ...args], options);
}

// ---------------------------------------------------------------------------------------
// probe()

/** A rational number such as a frame rate: `num / den`. */
export interface Rational {
  num: number;
  den: number;
}

export interface VideoStreamInfo {
  type: 'video';
  index: number;
  codec: string;
  width: number;
  height: number;
  /** Frame rate (average rate when the container gives one, else the base rate). */
  fps: Rational;
  /** Frame count: from the container, counted when `countFrames` was set, else estimated from duration × fps. */
  frames: number | undefined;
  /** How `frames` was found. */
  framesFrom: 'container' | 'counted' | 'estimated' | 'unknown';
  /** Duration in seconds when known. */
  duration: number | undefined;
  pixFmt: string | undefined;
  /** `tv` (limited) or `pc` (full) when tagged. */
  colorRange: string | undefined;
  /** YCbCr matrix tag, e.g. `bt709`, `smpte170m`. */
  colorSpace: string | undefined;
  colorPrimaries: string | undefined;
  colorTransfer: string | undefined;
}

export interface AudioStreamInfo {
  type: 'audio';
  index: number;
  codec: string;
  sampleRate: number;
  channels: number;
  channelLayout: string | undefined;
  duration: number | undefined;
}

export interface ProbeResult {
  /** Container format names as ffprobe lists them, e.g. `mov,mp4,m4a,3gp,3g2,mj2`. */
  format: string;
  /** Duration of the whole file in seconds when known. */
  duration: number | undefined;
  video: VideoStreamInfo[];
  audio: AudioStreamInfo[];
}

export interface ProbeOptions {
  signal?: AbortSignal;
  /** Decode the whole file to count video frames exactly when the container does not say (slow). */
  countFrames?: boolean;
}

function parseRational(text: unknown): Rational | undefined {
  if (typeof text !== 'string') return undefined;
  const m = /^(\d+)\/(\d+)$/.exec(text);
  if (!m) return undefined;
  const num = Number(m[1]);
  const den = Number(m[2]);
  return num > 0 && den > 0 ? { num, den } : undefined;
}

const num = (value: unknown): number | undefined => {
  const n = typeof value === 'string' ? Number(value) : typeof value === 'number' ? value : NaN;
  return Number.isFinite(n) ? n : undefined;
};
const str = (value: unknown): string | undefined =>
  typeof value === 'string' && value !== '' && value !== 'unknown' ? value : undefined;

/**
 * Streams and timing of a media file, from `ffprobe -print_format json`.
 * @example
 * const { video: [v], audio } = await probe('clip.mp4');
 * console.log(v.width, v.height, v.fps.num / v.fps.den, v.frames, audio.length);
 * @throws InputError when ffprobe cannot read the input (message holds its stderr tail),
 *   AbortError when the signal fires.
 */
export async function probe(input: MediaInput, options: ProbeOptions = {}): Promise<ProbeResult> {
  checkInput(input);
  const args = ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams'];
  if (options.countFrames) args.push('-count_frames');
  args.push('-i', typeof input === 'string' ? input : 'pipe:0');
  const out = await runCollect('ffprobe', args, {
    what: `cannot probe ${describe(input)}`,
    input: typeof input === 'string' ? undefined : input,
    signal: options.signal,
  });
  let json: { format?: Record<string, unknown>; streams?: Record<string, unknown>[] };
  try {
    json = JSON.parse(out.toString('utf8'));
  } catch (err) {
    throw new InputError(`cannot probe ${describe(input)}: ffprobe printed no valid JSON`, { cause: err });
  }
  const result: ProbeResult = {
    format: str(json.format?.format_name) ?? 'unknown',
    duration: num(json.format?.duration),
    video: [],
    audio: [],
  };
  for (const s of json.streams ?? []) {
    const index = num(s.index) ?? 0;
    if (s.codec_type === 'video') {
      // Cover art and similar still images are not the video.
      if ((s.disposition as Record<string, unknown> | undefined)?.attached_pic === 1) continue;
      const fps = parseRational(s.avg_frame_rate) ?? parseRational(s.r_frame_rate) ?? { num: 0, den: 1 };
      const duration = num(s.duration) ?? result.duration;
      let frames = num(s.nb_read_frames);
      let framesFrom: VideoStreamInfo['framesFrom'] = 'counted';
      if (frames === undefined) {
        frames = num(s.nb_frames);
        framesFrom = 'container';
      }
      if (frames === undefined && duration !== undefined && fps.num > 0) {
        frames = Math.round((duration * fps.num) / fps.den);
        framesFrom = 'estimated';
      }
      if (frames === undefined) framesFrom = 'unknown';
      result.video.push({
        type: 'video',
        index,
        codec: str(s.codec_name) ?? 'unknown',
        width: num(s.width) ?? 0,
        height: num(s.height) ?? 0,
        fps,
        frames,
        framesFrom,
        duration,
        pixFmt: str(s.pix_fmt),
        colorRange: str(s.color_range),
        colorSpace: str(s.color_space),
        colorPrimaries: str(s.color_primaries),
        colorTransfer: str(s.color_transfer),
      });
    } else if (s.codec_type === 'audio') {
      result.audio.push({
        type: 'audio',
        index,
        codec: str(s.codec_name) ?? 'unknown',
        sampleRate: num(s.sample_rate) ?? 0,
        channels: num(s.channels) ?? 0,
        channelLayout: str(s.channel_layout),
        duration: num(s.duration),
      });
    }
  }
  return result;
}

// ---------------------------------------------------------------------------------------
// readFrames()

/** One decoded frame: interleaved RGB24, `width * height * 3` bytes. */
export interface RgbFrame {
  data: Uint8Array;
  width: number;
  height: number;
  channels: 3;
  /** 0-based position in the stream. */
  index: number;
}

export interface ReadFramesOptions {
  signal?: AbortSignal;
  /** Stop after this many frames. */
  maxFrames?: number;
  /**
   * YCbCr matrix of the source for the conversion to RGB. Default: the stream's tag, else
   * BT.709 for HD (height ≥ 720) and BT.601 below.
   */
  colorMatrix?: 'bt601' | 'bt709' | 'bt2020' | 'smpte240m' | 'fcc';
  /** Range of the source. Default: the stream's tag, else limited (`tv`). */
  colorRange?: 'tv' | 'pc';
  /** Size of the frames; needed only to skip the probe of a stream input. */
  width?: number;
  height?: number;
}

const MATRIX_FROM_TAG: Record<string, NonNullable<ReadFramesOptions['colorMatrix']>> = {
  bt709: 'bt709',
  smpte170m: 'bt601',
  bt470bg: 'bt601',
  bt601: 'bt601',
  bt2020nc: 'bt2020',
  bt2020c: 'bt2020',
  smpte240m: 'smpte240m',
  fcc: 'fcc',
};

/** The `-vf` chain that turns the decoded video into full-range RGB24 with explicit colour flags. */
function toRgbFilter(matrix: string | undefined, range: string | undefined): string {
  const parts = ['scale=flags=bicubic+accurate_rnd+full_chroma_int'];
  if (matrix) parts.push(`in_color_matrix=${matrix}`);
  if (range) parts.push(`in_range=${range === 'pc' ? 'full' : 'limited'}`);
  parts.push('out_range=full');
  return `${parts.join(':')},format=rgb24`;
}

function checkSize(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 65_535) {
    throw invalidOption('integer between 1 and 65535', name, value);
  }
  return value;
}

/**
 * Decode any video ffmpeg reads into raw RGB24 frames, one at a time. A path is probed
 * first for the frame size and colour tags; a Readable (stdin, a pipe) is piped into
 * ffmpeg's stdin, and its frames are read as PPM when no `width`/`height` are given.
 * Breaking out of the loop kills ffmpeg.
 * @example
 * for await (const frame of readFrames('clip.mp4', { signal })) console.log(frame.index, frame.width);
 * @throws InputError when ffmpeg cannot decode the input (message holds its stderr tail),
 *   AbortError when the signal fires or the input stream fails.
 */
export async function* readFrames(input: MediaInput, options: ReadFramesOptions = {}): AsyncGenerator<RgbFrame> {
  checkInput(input);
  const { signal } = options;
  if (options.maxFrames !== undefined && (!Number.isInteger(options.maxFrames) || options.maxFrames < 0)) {
    throw invalidOption('non-negative integer', 'maxFrames', options.maxFrames);
  }
  throwIfAborted(signal);
  let width = options.width === undefined ? undefined : checkSize(options.width, 'width');
  let height = options.height === undefined ? undefined : checkSize(options.height, 'height');
  if ((width === undefined) !== (height === undefined)) {
    throw invalidOption('width and height together', 'width/height', `${width}/${height}`);
  }
  let matrix: string | undefined = options.colorMatrix;
  let range: string | undefined = options.colorRange;
  if (typeof input === 'string') {
    const info = await probe(input, { signal });
    const v = info.video[0];
    if (!v) throw new InputError(`cannot read ${describe(input)}: it has no video stream`);
    width ??= v.width;
    height ??= v.height;
    matrix ??= (v.colorSpace && MATRIX_FROM_TAG[v.colorSpace]) || (v.height >= 720 ? 'bt709' : 'bt601');
    range ??= v.colorRange === 'pc' ? 'pc' : 'tv';
  }
  const ppm = width === undefined;
  const args = ['-hide_banner', '-nostdin', '-v', 'error', '-i', typeof input === 'string' ? input : 'pipe:0'];
  args.push('-map', '0:v:0', '-an', '-sn', '-vf', toRgbFilter(matrix, range));
  if (options.maxFrames !== undefined) args.push('-frames:v', String(options.maxFrames));
  if (ppm) args.push('-f', 'image2pipe', '-c:v', 'ppm', 'pipe:1');
  else args.push('-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1');
  // -nostdin must go when stdin carries the input.
  if (typeof input !== 'string') args.splice(args.indexOf('-nostdin'), 1);

  const bin = await findFfmpeg();
  const run = new ChildRun(bin, args, { tool: 'ffmpeg', kind: 'input', what: `cannot read ${describe(input)}`, signal });
  if (typeof input === 'string') run.child.stdin!.end();
  else feedStdin(run, input);

  const framer = ppm ? new PpmFramer() : new RawFramer(width!, height!);
  let finished = false;
  try {
    try {
      for await (const chunk of run.child.stdout! as AsyncIterable<Buffer>) {
        for (const frame of framer.push(chunk)) yield frame;
      }
    } catch (err) {
      // A failed run destroys stdout with its own error; report that one.
      await run.done;
      throw err;
    }
    await run.done;
    framer.end();
    finished = true;
  } finally {
    if (!finished) run.kill();
  }
  if (signal?.aborted) throw new AbortError(undefined, { cause: signal.reason });
}

/** Cuts a byte stream into fixed-size RGB24 frames. */
class RawFramer {
  readonly #size: number;
  #frame: Uint8Array;
  #fill = 0;
  #index = 0;
  constructor(readonly width: number, readonly height: number) {
    this.#size = width * height * 3;
    this.#frame = new Uint8Array(this.#size);
  }
  *push(chunk: Uint8Array): Generator<RgbFrame> {
    let offset = 0;
    while (offset < chunk.length) {
      const take = Math.min(this.#size - this.#fill, chunk.length - offset);
      this.#frame.set(chunk.subarray(offset, offset + take), this.#fill);
      this.#fill += take;
      offset += take;
      if (this.#fill === this.#size) {
        yield { data: this.#frame, width: this.width, height: this.height, channels: 3, index: this.#index++ };
        this.#frame = new Uint8Array(this.#size);
        this.#fill = 0;
      }
    }
  }
  end(): void {
    if (this.#fill !== 0) throw new InputError(`ffmpeg output ended inside a frame (${this.#fill} of ${this.#size} bytes)`);
  }
}

/** Cuts a stream of binary PPM images (`P6 w h 255`) into RGB24 frames. */
class PpmFramer {
  #pending: Buffer = Buffer.alloc(0);
  #index = 0;
  *push(chunk: Buffer): Generator<RgbFrame> {
    this.#pending = this.#pending.length ? Buffer.concat([this.#pending, chunk]) : chunk;
    for (;;) {
      const header = /^P6\s+(\d+)\s+(\d+)\s+(\d+)\s/.exec(this.#pending.subarray(0, 64).toString('latin1'));
      if (!header) {
        if (this.#pending.length >= 64) throw new InputError('ffmpeg output is not a PPM stream');
        return;
      }
      const width = checkSize(Number(header[1]), 'PPM width');
      const height = checkSize(Number(header[2]), 'PPM height');
      if (header[3] !== '255') throw new InputError(`unexpected PPM maximum value ${header[3]}`);
      const start = header[0].length;
      const size = width * height * 3;
      if (this.#pending.length < start + size) return;
      const data = new Uint8Array(this.#pending.subarray(start, start + size));
      this.#pending = this.#pending.subarray(start + size);
      yield { data, width, height, channels: 3, index: this.#index++ };
    }
  }
  end(): void {
    if (this.#pending.length !== 0) throw new InputError('ffmpeg output ended inside a PPM frame');
  }
}

// ---------------------------------------------------------------------------------------
// writeFrames()

/** Output container of {@link writeFrames}. */
export type VideoOutputFormat = 'mp4' | 'y4m' | 'mkv';

export interface WriteFramesOptions {
  /** Frame rate: a number (25, 29.97) or a rational. */
  fps: number | Rational;
  width: number;
  height: number;
  /** Container; default from the output path's extension, `y4m` for a stream. */
  format?: VideoOutputFormat;
  /** Copy the audio of this file into the output (mp4, mkv). */
  audioFrom?: string;
  signal?: AbortSignal;
  /** Constant rate factor for libx264 (default 18) or quantiser for mpeg4 (default 2). */
  quality?: number;
}

export interface WriteFramesResult {
  frames: number;
  /** The video encoder used: `libx264`, `mpeg4` or `rawvideo`. */
  encoder: string;
}

/** A frame to write: interleaved RGB24 bytes, or an object with them. */
export type FrameLike = Uint8Array | { data: Uint8Array };

/** Resolves when `stream` wants more data or has closed; its errors are left to the run. */
function drained(stream: Writable): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      stream.off('drain', done);
      stream.off('close', done);
      resolve();
    };
    stream.on('drain', done);
    stream.on('close', done);
  });
}

function fpsRational(fps: number | Rational): Rational {
  if (typeof fps === 'number') {
    if (!Number.isFinite(fps) || fps <= 0 || fps > 1000) throw invalidOption('number between 0 and 1000', 'fps', fps);
    if (Number.isInteger(fps)) return { num: fps, den: 1 };
    // 29.97 → 30000/1001 and friends; otherwise millisecond precision.
    for (const base of [24, 30, 48, 60, 120]) {
      if (Math.abs(fps - (base * 1000) / 1001) < 0.01) return { num: base * 1000, den: 1001 };
    }
    return { num: Math.round(fps * 1000), den: 1000 };
  }
  if (!fps || !Number.isInteger(fps.num) || !Number.isInteger(fps.den) || fps.num <= 0 || fps.den <= 0) {
    throw invalidOption('positive integer num/den', 'fps', JSON.stringify(fps));
  }
  return fps;
}

function formatFor(output: string | Writable, format: VideoOutputFormat | undefined): VideoOutputFormat {
  if (format !== undefined) {
    if (!['mp4', 'y4m', 'mkv'].includes(format)) throw invalidOption('one of mp4, y4m, mkv', 'format', format);
    return format;
  }
  if (typeof output !== 'string' || output === '-') return 'y4m';
  const ext = /\.([a-z0-9]+)$/i.exec(output)?.[1]?.toLowerCase();
  if (ext === 'mp4' || ext === 'm4v' || ext === 'mov') return 'mp4';
  if (ext === 'y4m') return 'y4m';
  if (ext === 'mkv') return 'mkv';
  throw invalidOption('output ending in .mp4, .y4m or .mkv (or a format option)', 'output', output);
}

/**
 * Encode raw RGB24 frames with ffmpeg: H.264 (libx264 when the build has it, else
 * MPEG-4 part 2) in `.mp4`/`.mkv`, or uncompressed 4:4:4 `.y4m`. The output is a path,
 * `-` (stdout) or a Writable; frames are written with backpressure. RGB becomes
 * limited-range YCbCr with the BT.601 matrix below 720 lines and BT.709 from 720 (the
 * matrices {@link readFrames} assumes for untagged video), tagged as such in mp4/mkv.
 * @example
 * await writeFrames(readFrames('in.mp4'), 'out.mp4', { fps: 25, width: 64, height: 48, audioFrom: 'in.mp4' });
 * @throws InvalidOptionError for a bad option or frame size, OutputError when ffmpeg
 *   fails (message holds its stderr tail) or the output stream fails, AbortError when
 *   the signal fires.
 */
export async function writeFrames(
  frames: AsyncIterable<FrameLike> | Iterable<FrameLike>,
  output: string | Writable,
  options: WriteFramesOptions,
): Promise<WriteFramesResult> {
  const width = checkSize(options?.width, 'width');
  const height = checkSize(options?.height, 'height');
  const fps = fpsRational(options.fps);
  if (typeof output !== 'string' && !(output instanceof Writable)) throw invalidOption('path, - or Writable', 'output', output);
  if (typeof output === 'string' && output.length === 0) throw invalidOption('non-empty path', 'output', output);
  const format = formatFor(output, options.format);
  const { signal } = options;
  throwIfAborted(signal);
  const toPipe = typeof output !== 'string' || output === '-';

  const args = ['-hide_banner', '-v', 'error', '-y'];
  args.push('-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${width}x${height}`, '-r', `${fps.num}/${fps.den}`, '-i', 'pipe:0');
  const withAudio = options.audioFrom !== undefined && format !== 'y4m';
  if (withAudio) {
    args.push('-i', options.audioFrom!, '-map', '0:v:0', '-map', '1:a?', '-c:a', format === 'mp4' ? 'aac' : 'copy');
    if (format === 'mp4') {
      // Keep the audio as it is when mp4 can hold it.
      const info = await probe(options.audioFrom!, { signal });
      if (info.audio.every((a) => ['aac', 'mp3', 'alac', 'ac3'].includes(a.codec))) args.splice(args.length - 1, 1, 'copy');
    }
  }
  // The matrix a reader guesses for untagged video (y4m has no tag): BT.709 for HD, BT.601 below.
  const hd = height >= 720;
  const toYuv = `scale=out_color_matrix=${hd ? 'bt709' : 'bt601'}:out_range=limited:flags=bicubic+accurate_rnd+full_chroma_int`;
  const tag = hd ? 'bt709' : 'smpte170m';
  let encoder: string;
  if (format === 'y4m') {
    encoder = 'rawvideo';
    args.push('-vf', `${toYuv},format=yuv444p`, '-f', 'yuv4mpegpipe');
  } else {
    encoder = await mp4VideoEncoder();
    const even = width % 2 === 0 && height % 2 === 0;
    const pixFmt = encoder === 'libx264' && !even ? 'yuv444p' : 'yuv420p';
    if (!even && encoder !== 'libx264') throw invalidOption('even width and height for mpeg4', 'width/height', `${width}x${height}`);
    args.push('-vf', `${toYuv},format=${pixFmt}`);
    args.push('-c:v', encoder);
    if (encoder === 'libx264') args.push('-crf', String(options.quality ?? 18), '-preset', 'medium');
    else args.push('-q:v', String(options.quality ?? 2));
    args.push('-colorspace', tag, '-color_primaries', tag, '-color_trc', tag, '-color_range', 'tv');
    if (format === 'mp4') {
      args.push('-f', 'mp4');
      if (toPipe) args.push('-movflags', 'frag_keyframe+empty_moov');
    } else args.push('-f', 'matroska');
  }
  args.push(toPipe ? 'pipe:1' : output as string);

  const bin = await findFfmpeg();
  const what = `cannot write ${typeof output === 'string' ? (output === '-' ? 'stdout' : `'${output}'`) : 'the output stream'}`;
  const run = new ChildRun(bin, args, { tool: 'ffmpeg', kind: 'output', what, signal });
  const stdout = run.child.stdout!;
  if (toPipe) {
    const sink = typeof output === 'string' ? process.stdout : output;
    const onError = (err: Error) => run.fail(new OutputError(`${what}: ${err.message}`, { cause: err }));
    sink.once('error', onError);
    stdout.pipe(sink, { end: typeof output !== 'string' });
    void run.done.finally(() => sink.off('error', onError)).catch(() => {});
  } else {
    stdout.resume();
  }
  stdout.on('error', () => {});

  const stdin = run.child.stdin!;
  const frameSize = width * height * 3;
  // Resolves never on success, rejects with the run's failure, or when ffmpeg stops early.
  const ended = run.done.then(() => {
    throw new OutputError(`${what}: ffmpeg exited before all frames were written`);
  });
  ended.catch(() => {});
  let count = 0;
  try {
    for await (const frame of frames) {
      if (run.settled) break;
      const data = frame instanceof Uint8Array ? frame : frame?.data;
      if (!(data instanceof Uint8Array) || data.length !== frameSize) {
        throw invalidOption(`${frameSize} bytes of RGB24 (${width}x${height})`, `frame ${count}`, data?.length);
      }
      count++;
      if (!stdin.write(data)) await Promise.race([drained(stdin), ended]);
    }
    if (!run.settled) stdin.end();
    await run.done;
  } catch (err) {
    // The first failure wins: the run's own (abort, ffmpeg error, output stream) when it
    // came first, else this one, which also kills ffmpeg.
    if (!run.settled) run.fail(err instanceof Error ? err : new OutputError(`${what}: ${String(err)}`));
    await run.done;
    throw err;
  } finally {
    run.kill();
  }
  return { frames: count, encoder };
}
