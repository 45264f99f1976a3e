import { InvalidOptionError } from '../../errors.js';
import type { Command } from '../command.js';
import { displayName, displayOutput, readInput, writeOutput } from '../io.js';
import { numberOption } from '../options.js';
import { UsageError } from '../usage-error.js';
import { formatBpp } from './info.js';

/** What `codec truncate --json` prints. */
export interface TruncateReport {
  input: string;
  output: string;
  /** Size of the input and of the file written. */
  inputBytes: number;
  bytes: number;
  bpp: number;
}

export const truncateCommand: Command = {
  name: 'truncate',
  summary: 'cut a progressive file to a smaller size',
  description:
    'Cut a progressive neurocodec file (codec encode --progressive) to at most N bytes, or B ' +
    'bits per pixel, and close it so that the result is a valid file of its own. It decodes ' +
    'to the image its bytes allow; a file already within the budget is copied unchanged. The ' +
    'output is written atomically.',
  arguments: [
    { name: 'input', description: 'a progressive neurocodec file, or - for standard input' },
    { name: 'output', description: 'the file to write, or - for standard output' },
  ],
  options: {
    bytes: { type: 'string', valueName: 'N', description: 'keep at most N bytes' },
    bpp: { type: 'string', valueName: 'B', description: 'keep at most B bits per pixel' },
    json: { type: 'boolean', description: 'print a JSON report on standard output' },
    quiet: { type: 'boolean', description: 'print nothing on standard error but errors' },
  },
  examples: ['codec truncate photo.ncdc preview.ncdc --bytes 4000', 'codec truncate photo.ncdc small.ncdc --bpp 0.25'],
  async run({ args, options, io }) {
    const [input, output] = args;
    const bytesOpt = numberOption(options, 'bytes');
    const bppOpt = numberOption(options, 'bpp');
    if ((bytesOpt === undefined) === (bppOpt === undefined)) throw new UsageError("give exactly one of '--bytes' and '--bpp'");
    if (options.json === true && output === '-') throw new UsageError("option '--json' cannot be used when the file goes to standard output");
    const { truncate } = await import('../../api.js');
    const { inspect } = await import('../../bitstream/inspect.js');
    const file = await readInput(input, io, io.signal);
    const cut = truncate(file, bytesOpt !== undefined ? { bytes: bytesOpt } : { bpp: bppOpt });
    const image = inspect(cut).image;
    if (!image) throw new InvalidOptionError('the file has no image');
    await writeOutput(output, cut, io, io.signal);
    const report: TruncateReport = {
      input,
      output,
      inputBytes: file.length,
      bytes: cut.length,
      bpp: (cut.length * 8) / (image.width * image.height),
    };
    if (options.json === true) io.stdout.write(JSON.stringify(report, null, 2) + '\n');
    else if (options.quiet !== true) {
      io.stderr.write(`${displayName(input)} -> ${displayOutput(output)}: ${report.inputBytes} -> ${report.bytes} bytes, ${formatBpp(report.bpp)} bpp\n`);
    }
  },
};
