/**
 * `codec tokens`: BSQ tokens of an image, a BSQ file or each frame of a video, as JSON;
 * `codec detokenize`: the image of a token JSON.
 */
import type { TokenizeOptions } from '../../api.js';
import { InputError } from '../../errors.js';
import type { Command } from '../command.js';
import { checkInputFile, displayName, displayOutput, readInput, writeOutput, writeStdout } from '../io.js';
import { integerOption, numberOption, stringOption } from '../options.js';
import { UsageError } from '../usage-error.js';

const api = () => import('../../api.js');
const bsq = () => import('../../codec/bsq.js');

export const tokensCommand: Command = {
  name: 'tokens',
  summary: 'print the BSQ tokens of an image, a BSQ file or a video',
  description:
    'Turn an image (any format sharp reads) into binary spherical quantization tokens: one ' +
    'token of d bits per 16x16 pixels, made by the BSQ codec (nc-bsq unless --codec). A BSQ ' +
    'file (codec encode --mode bsq) gives back exactly the tokens it holds. With --json the ' +
    'tokens are printed as JSON: shape [rows, cols], d, groups, the bits packed MSB-first in ' +
    'base64 and, per token and group, the group as an integer; `codec detokenize` reads it ' +
    'back. A video (by its extension, or --video) prints one JSON line per frame. Without ' +
    '--json a summary goes to standard error.',
  arguments: [{ name: 'input', description: 'image, BSQ file or video, or - for standard input (not a video)' }],
  options: {
    json: { type: 'boolean', description: 'print the tokens as JSON on standard output' },
    groups: { type: 'string', valueName: 'K', description: 'keep the first K bit groups of each token (default all)' },
    codec: { type: 'string', valueName: 'ID', description: 'BSQ codec id or folder (default nc-bsq; a BSQ file names its own)' },
    threads: { type: 'string', valueName: 'N', description: 'threads per network run' },
    video: { type: 'boolean', description: 'the input is a video (implied by .mp4 .mkv .webm .mov .y4m .avi .m4v)' },
    'max-frames': { type: 'string', valueName: 'N', description: 'video: tokenize at most N frames' },
    quiet: { type: 'boolean', description: 'print nothing on standard error but errors' },
  },
  examples: ['codec tokens photo.png --json > photo.tokens.json', 'codec tokens --groups 2 photo.png', 'codec tokens clip.mp4 --json --max-frames 10'],
  async run({ args, options, io }) {
    const [input] = args;
    const { tokenize } = await api();
    const { tokensToJson } = await bsq();
    const opts: TokenizeOptions = {
      codec: stringOption(options, 'codec'),
      threads: numberOption(options, 'threads'),
      groups: numberOption(options, 'groups'),
      signal: io.signal,
    };
    for (const key of Object.keys(opts) as (keyof TokenizeOptions)[]) if (opts[key] === undefined) delete opts[key];
    const json = options.json === true;
    const quiet = options.quiet === true;
    const { isVideoPath } = await import('../../video/codec.js');
    const isVideo = options.video === true || (input !== '-' && isVideoPath(input) && !/\.ncdc$/i.test(input));
    if (options['max-frames'] !== undefined && !isVideo) throw new UsageError("option '--max-frames' needs a video input");
    if (isVideo) {
      if (input === '-') throw new UsageError('a video to tokenize must be a file');
      await checkInputFile(input);
      const maxFrames = integerOption(options, 'max-frames', 'max-frames', 1, 1_000_000);
      const { tokenizeVideo } = await api();
      let frames = 0;
      for await (const { index, tokens } of tokenizeVideo(input, { ...opts, maxFrames })) {
        frames++;
        if (json) {
          await writeStdout(io, new TextEncoder().encode(JSON.stringify({ frame: index, ...tokensToJson(tokens) }) + '\n'));
        }
      }
      if (frames === 0) throw new InputError(`${displayName(input)} has no video frames`);
      if (!quiet) io.stderr.write(`${displayName(input)}: ${frames} frame${frames === 1 ? '' : 's'} tokenized\n`);
      return;
    }
    // read as bytes: a BSQ file gives its own tokens, anything else goes to sharp
    const tokens = await tokenize(await readInput(input, io, io.signal), opts);
    if (json) await writeStdout(io, new TextEncoder().encode(JSON.stringify(tokensToJson(tokens)) + '\n'));
    if (!quiet) {
      const per = tokens.groups * tokens.groupBits;
      const count = tokens.shape[0] * tokens.shape[1];
      io.stderr.write(
        `${displayName(input)}: ${tokens.width}x${tokens.height}, ${tokens.shape[0]}x${tokens.shape[1]} tokens of ${per} bits ` +
          `(${tokens.groups} of ${tokens.d / tokens.groupBits} groups of ${tokens.groupBits}; d = ${tokens.d}), ${count * per} bits, codec ${tokens.codec}\n`,
      );
    }
  },
};

export const detokenizeCommand: Command = {
  name: 'detokenize',
  summary: 'decode BSQ tokens (JSON from codec tokens) to an image',
  description:
    'Decode a token JSON, as `codec tokens --json` prints it, to an image in any format sharp ' +
    'writes (by the output extension, PNG for -). The same tokens always give the same image. ' +
    'The output is written atomically.',
  arguments: [
    { name: 'input', description: 'token JSON file, or - for standard input' },
    { name: 'output', description: 'image to write, or - for standard output (PNG)' },
  ],
  options: {
    codec: { type: 'string', valueName: 'ID', description: 'BSQ codec id or folder (default: the one the JSON names)' },
    threads: { type: 'string', valueName: 'N', description: 'threads per network run' },
    quiet: { type: 'boolean', description: 'print nothing on standard error but errors' },
  },
  examples: ['codec tokens photo.png --json > t.json && codec detokenize t.json photo-bsq.png'],
  async run({ args, options, io }) {
    const [input, output] = args;
    const [{ detokenize }, { tokensFromJson }, { encodeImage, formatForPath, toOutputFormat }] = await Promise.all([api(), bsq(), import('../../image/io.js')]);
    const format = toOutputFormat(output === '-' ? 'png' : formatForPath(output));
    const text = new TextDecoder().decode(await readInput(input, io, io.signal));
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (cause) {
      throw new InputError(`${displayName(input)} is not JSON: ${(cause as Error).message}`, { cause });
    }
    const tokens = tokensFromJson(parsed);
    const threads = numberOption(options, 'threads');
    const frame = await detokenize(tokens, { codec: stringOption(options, 'codec'), ...(threads !== undefined ? { threads } : {}), signal: io.signal });
    const file = await encodeImage(frame, format);
    await writeOutput(output, file, io, io.signal);
    if (options.quiet !== true) io.stderr.write(`${displayName(input)} -> ${displayOutput(output)}: ${frame.width}x${frame.height}, ${format} ${file.length} bytes\n`);
  },
};
