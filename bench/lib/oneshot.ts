/**
 * One encode or decode through the library in a fresh process, as a command-line tool would
 * do it (read the file, code, write the file):
 *
 *   node dist/bench/lib/oneshot.js encode <image> <out> <quality>
 *   node dist/bench/lib/oneshot.js decode <file> <out.png>
 *
 * bench/kodak.ts times it end to end when the CLI has no encode/decode commands.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { closeCodecs, decodeToImage, encodeWithInfo } from '../../src/api.js';

const [mode, input, output, quality] = process.argv.slice(2);
if (mode === 'encode' && input && output) {
  const { bytes } = await encodeWithInfo(input, { quality: Number(quality ?? 75) });
  await writeFile(output, bytes);
} else if (mode === 'decode' && input && output) {
  await writeFile(output, await decodeToImage(await readFile(input), 'png'));
} else {
  process.stderr.write('usage: oneshot.js encode <image> <out> <quality> | decode <file> <out.png>\n');
  process.exitCode = 2;
}
await closeCodecs();
