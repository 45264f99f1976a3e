import { COLOUR_MATRICES, type ImageInfo } from '../../bitstream/image-info.js';
import { inspect, type CodingSummary, type ContainerSummary } from '../../bitstream/inspect.js';
import { hexByte } from '../../bitstream/units.js';
import type { Command } from '../command.js';
import { displayName, readInput } from '../io.js';

function describeImage(image: ImageInfo): string {
  const matrix = COLOUR_MATRICES.get(image.colourMatrix) ?? 'unknown';
  return [
    `${image.width}x${image.height}`,
    `${image.channels} channel${image.channels === 1 ? '' : 's'}`,
    `${image.bitDepth}-bit`,
    `${matrix} (matrix ${image.colourMatrix})`,
    image.fullRange ? 'full range' : 'limited range',
    image.alpha ? 'alpha' : 'no alpha',
  ].join(', ');
}

function describeCoding(c: CodingSummary): string {
  const tiles = c.tiles === null ? '' : ` (${c.tiles} tile${c.tiles === 1 ? '' : 's'})`;
  return `quality ${c.quality}, tile size ${c.tileSize}${tiles}`;
}

/** Three significant decimals for small rates, fewer digits for large ones. */
export function formatBpp(bpp: number): string {
  return bpp >= 100 ? bpp.toFixed(0) : bpp >= 10 ? bpp.toFixed(2) : bpp.toFixed(3);
}

function table(header: readonly string[], rows: readonly (readonly string[])[], rightAligned: ReadonlySet<number>): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const format = (cells: readonly string[]): string =>
    '  ' + cells.map((c, i) => (rightAligned.has(i) ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd();
  return [format(header), ...rows.map(format)];
}

/** The text `codec info` prints. */
export function formatSummary(file: string, s: ContainerSummary): string {
  const lines = [
    `file        ${displayName(file)}`,
    `size        ${s.byteLength} bytes (header ${s.headerLength})`,
    `format      ${s.format} version ${s.version}`,
    `codec       ${s.codecId}`,
    `model hash  ${s.modelHash}`,
    `image       ${s.image ? describeImage(s.image) : 'none (no IMAGE_INFO unit)'}`,
  ];
  if (s.coding) lines.push(`coding      ${describeCoding(s.coding)}`);
  if (s.progressive) {
    const p = s.progressive;
    const passes =
      p.passes === 'checkerboard'
        ? 'checkerboard passes'
        : `${p.passes.length + 1} ranked pass${p.passes.length ? 'es' : ''}${p.passes.length ? ` (split at ${p.passes.map((v) => `${((100 * v) / 65536).toFixed(1)}%`).join(', ')})` : ''}`;
    lines.push(`progressive ${p.planes} trit-planes, ${passes} per plane, ${p.crr ? 'CRR context coding' : 'no CRR'}${p.complete ? '' : ', cut short (decodes to a coarser image)'}`);
  }
  if (s.bsq) {
    const b = s.bsq;
    const per = b.groups * b.groupBits;
    lines.push(`bsq         ${b.groups} of ${b.d / b.groupBits} groups of ${b.groupBits} bits (${per} of ${b.d} bits per token)${b.tokens ? `, ${b.tokens} tokens, ${formatBpp((s.byteLength * 8) / b.tokens)} file bits per token` : ''}`);
  }
  if (s.image) lines.push(`rate        ${formatBpp((s.byteLength * 8) / (s.image.width * s.image.height))} bits per pixel`);
  lines.push(`units       ${s.units.length}`);
  if (s.units.length > 0) {
    const rows = s.units.map((u, i) => [
      String(i),
      hexByte(u.type),
      u.name,
      String(u.offset),
      String(u.length),
      String(u.size),
      [u.optional ? 'optional' : '', u.known ? '' : 'unknown, skipped'].filter(Boolean).join(', '),
    ]);
    lines.push('', ...table(['#', 'type', 'name', 'offset', 'length', 'size', 'notes'], rows, new Set([0, 3, 4, 5])));
  }
  return lines.join('\n') + '\n';
}

export const infoCommand: Command = {
  name: 'info',
  summary: "show a file's header and units",
  description:
    "Check a file's structure (magic number, version, CRCs, limits) and print its header, " +
    'the image description, the coding parameters (quality, tile grid), the rate in bits ' +
    'per pixel and the list of units with their type names, offsets and sizes. ' +
    'No image data is decoded. For a neurocodec video (.mkv): the sequence header, the audio ' +
    'tracks and every frame with its type, flags and size.',
  arguments: [{ name: 'file', description: 'a neurocodec file, or - to read standard input' }],
  options: {
    json: { type: 'boolean', description: 'print the summary as JSON' },
  },
  examples: ['codec info photo.ncdc', 'codec info --json photo.ncdc', 'cat photo.ncdc | codec info -', 'codec info clip.mkv'],
  async run({ args, options, io }) {
    const file = args[0];
    const bytes = await readInput(file, io);
    if (bytes.length >= 4 && bytes[0] === 0x1a && bytes[1] === 0x45 && bytes[2] === 0xdf && bytes[3] === 0xa3) {
      const [{ inspectVideo }, { formatVideoSummary }] = await Promise.all([import('../../video/codec.js'), import('./video.js')]);
      const video = inspectVideo(bytes);
      if (options.json === true) io.stdout.write(JSON.stringify({ file, ...video }, null, 2) + '\n');
      else io.stdout.write(formatVideoSummary(file, video));
      return;
    }
    const summary = inspect(bytes);
    if (options.json === true) {
      io.stdout.write(JSON.stringify({ file, ...summary }, null, 2) + '\n');
    } else {
      io.stdout.write(formatSummary(file, summary));
    }
  },
};
