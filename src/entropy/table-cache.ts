/**
 * Prebuilt rANS tables. Building a codec's tables from probabilities (64 Gaussian tables,
 * one factorized table per z channel) costs 60-70 ms of cold JavaScript on every process
 * start, a tenth of a CLI call. `npm run build` bakes them (`node dist/src/tools/bake-tables.js`)
 * into `build/tables/<key>.bin`; a codec loads the file when it is there and intact, and
 * builds the tables itself otherwise (a codec folder given by path, a damaged file).
 *
 * The key is a sha256 of what determines the tables: the builder version, the kind and the
 * inputs (the scale table, or the sha256 of the codec's tables.json). Bump
 * TABLE_BUILDER_VERSION whenever the arithmetic of a table builder changes.
 *
 * File layout (little-endian): "NCRT", u32 format 1, the 32-byte key digest, u32 count,
 * u32 lengths[count], i32 offsets[count], u32 cdfs[sum of lengths], u32 CRC-32 of all before.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from '../bitstream/crc32.js';
import { RansTables } from '../coder/tables.js';
import { packageRoot } from '../paths.js';

export const TABLE_BUILDER_VERSION = 1;
const MAGIC = 0x5452434e; // "NCRT" read as little-endian u32
const FORMAT = 1;
const HEADER = 4 + 4 + 32 + 4;

/** The folder `npm run build` writes prebuilt tables to. */
export const tableCacheDir = (): string => join(packageRoot(), 'build', 'tables');

/** The cache key of a set of tables: hex sha256 of the builder version, kind and inputs. */
export function tableKey(kind: string, inputs: unknown): string {
  return createHash('sha256').update(`neurocodec tables v${TABLE_BUILDER_VERSION}\n${kind}\n${JSON.stringify(inputs)}`).digest('hex');
}

/** Serializes tables under a key (see the module comment for the layout). */
export function serializeTables(key: string, t: RansTables): Uint8Array {
  const size = HEADER + 8 * t.count + 4 * t.cdfs.length + 4;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  view.setUint32(0, MAGIC, true);
  view.setUint32(4, FORMAT, true);
  out.set(Buffer.from(key, 'hex'), 8);
  view.setUint32(40, t.count, true);
  let p = HEADER;
  for (let i = 0; i < t.count; i++, p += 4) view.setUint32(p, t.lengths[i], true);
  for (let i = 0; i < t.count; i++, p += 4) view.setInt32(p, t.offsets[i], true);
  for (let i = 0; i < t.cdfs.length; i++, p += 4) view.setUint32(p, t.cdfs[i], true);
  view.setUint32(p, crc32(out.subarray(0, p)) >>> 0, true);
  return out;
}

/**
 * Reads tables written by {@link serializeTables}; undefined unless the bytes are intact
 * and carry `key` (the RansTables constructor then checks every CDF again).
 */
export function deserializeTables(key: string, bytes: Uint8Array): RansTables | undefined {
  if (bytes.length < HEADER + 4 || bytes.length % 4 !== 0) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0, true) !== MAGIC || view.getUint32(4, true) !== FORMAT) return undefined;
  if (Buffer.from(bytes.subarray(8, 40)).toString('hex') !== key) return undefined;
  const end = bytes.length - 4;
  if ((crc32(bytes.subarray(0, end)) >>> 0) !== view.getUint32(end, true)) return undefined;
  const count = view.getUint32(40, true);
  if (count < 1 || HEADER + 8 * count > end) return undefined;
  const lengths = new Uint32Array(count);
  const offsets = new Int32Array(count);
  let p = HEADER;
  let total = 0;
  for (let i = 0; i < count; i++, p += 4) total += lengths[i] = view.getUint32(p, true);
  for (let i = 0; i < count; i++, p += 4) offsets[i] = view.getInt32(p, true);
  if (p + 4 * total !== end) return undefined;
  const cdfs = new Uint32Array(total);
  for (let i = 0; i < total; i++, p += 4) cdfs[i] = view.getUint32(p, true);
  try {
    return new RansTables(cdfs, lengths, offsets);
  } catch {
    return undefined;
  }
}

/** Writes tables for `key` into `dir` atomically (temporary file, then rename). */
export function saveTables(key: string, tables: RansTables, dir = tableCacheDir()): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${key}.bin`);
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, serializeTables(key, tables));
  renameSync(tmp, file);
  return file;
}

/** The prebuilt tables for `key` from `dir`, or undefined when absent or damaged. */
export function loadTables(key: string, dir = tableCacheDir()): RansTables | undefined {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(join(dir, `${key}.bin`));
  } catch {
    return undefined;
  }
  return deserializeTables(key, bytes);
}

/** Prebuilt tables when there are good ones, else `build()`. Never writes. */
export function cachedTables(key: string, build: () => RansTables, dir?: string): RansTables {
  return loadTables(key, dir) ?? build();
}

/** Key of the Gaussian tables of a scale table (see {@link buildGaussianTables}). */
export const gaussianTablesKey = (scaleTable: readonly number[], tailMass: number): string =>
  tableKey('gaussian', { scales: scaleTable, tailMass });

/** Key of a codec's factorized z tables, from the sha256 of its tables.json. */
export const factorizedTablesKey = (tablesSha256: string): string => tableKey('factorized', { tables: tablesSha256 });
