import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { InvalidOptionError, ModelMismatchError } from '../errors.js';
import { packageRoot } from '../paths.js';

/** One file of a codec folder, with its sha256. */
export interface ManifestFile {
  path: string;
  sha256: string;
  bytes: number;
}

/** The factorized prior of z: per channel, integer-bin probabilities from `offset` upward. */
export interface FactorizedPmf {
  offset: number;
  pmf: number[];
}

/** `codecs/<id>/manifest.json`, as written by training/export.py. */
export interface CodecManifest {
  id: string;
  format: number;
  /** 'image': the hyperprior codec (LearnedImageCodec); 'bsq': BSQ tokens (BsqCodec). */
  kind: 'image' | 'bsq';
  method: string;
  config: { N: number; M: number; Nh: number; Nz: number; slices: number; lambdas: number[]; hidden: number };
  slices: number;
  sliceChannels: number;
  paddingFactor: number;
  downsampling: { y: number; z: number };
  colour: { space: string; matrix: string; range: string; bitDepth: number; layout: string };
  quality: { min: number; max: number; lambdas: number[]; rateIndex: string };
  scaleTable: { min: number; max: number; levels: number };
  files: Record<string, ManifestFile>;
  modelHash: string;
  training?: Record<string, number | null>;
  /** BSQ codecs: the token geometry. */
  bsq?: { d: number; groups: number; groupBits: number };
  /** Present when the codec ships the trit-plane progressive heads. */
  progressive?: { stages: string[]; features: string; crr: string; cdr: string; heads: Record<string, unknown> };
}

/** `tables.json`: the numbers the entropy model needs beside the graphs. */
export interface CodecTables {
  gain: number[][];
  invGain: number[][];
  priorZ: FactorizedPmf[];
}

/** A codec folder read from disk and checked against its manifest. */
export interface CodecBundle {
  dir: string;
  manifest: CodecManifest;
  tables: CodecTables;
  /** The first 8 bytes of the model hash, as written into every bitstream header. */
  hashPrefix: Uint8Array;
  /** Reads a graph file, checking its sha256 once. */
  readGraph(stage: string): Promise<Uint8Array>;
}

/** The folder holding the shipped codecs (`codecs/` at the package root). */
export const codecsDir = (): string => join(packageRoot(), 'codecs');

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

function hexToBytes(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

const ID_PATTERN = /^[a-z0-9][a-z0-9._-]{0,63}$/;

/**
 * Loads a codec folder: `codecs/<id>` for an id, or any folder holding a manifest.json.
 * Every file is checked against its sha256 before use.
 * @throws InvalidOptionError for an unknown id; ModelMismatchError when a file does not match
 *   the manifest.
 */
export async function loadCodecBundle(idOrDir: string): Promise<CodecBundle> {
  const dir = ID_PATTERN.test(idOrDir) ? join(codecsDir(), idOrDir) : resolve(idOrDir);
  let manifest: CodecManifest;
  try {
    manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as CodecManifest;
  } catch (cause) {
    throw new InvalidOptionError(`No codec found at ${dir} (manifest.json missing or unreadable)`, { cause });
  }
  if (manifest.format !== 1 || (manifest.kind !== 'image' && manifest.kind !== 'bsq')) {
    throw new InvalidOptionError(`Codec ${manifest.id} has unsupported manifest format ${manifest.format}`);
  }
  const verified = new Map<string, Promise<Uint8Array>>();
  const readChecked = (key: string): Promise<Uint8Array> => {
    let p = verified.get(key);
    if (!p) {
      const entry = manifest.files[key];
      if (!entry) throw new ModelMismatchError(`Codec ${manifest.id} has no file for stage ${key}`);
      p = readFile(join(dir, entry.path)).then((buf) => {
        const bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
        if (sha256(bytes) !== entry.sha256) {
          throw new ModelMismatchError(`${entry.path} of codec ${manifest.id} does not match its sha256 in manifest.json`);
        }
        return bytes;
      });
      verified.set(key, p);
    }
    return p;
  };
  const expectedHash = createHash('sha256')
    .update(Object.keys(manifest.files).sort().map((k) => `${k}:${manifest.files[k].sha256};`).join(''))
    .digest('hex');
  if (expectedHash !== manifest.modelHash) {
    throw new ModelMismatchError(`manifest.json of codec ${manifest.id} has an inconsistent modelHash`);
  }
  // BSQ codecs need no tables beside their graphs
  const tables = manifest.files.tables
    ? (JSON.parse(new TextDecoder().decode(await readChecked('tables'))) as CodecTables)
    : { gain: [], invGain: [], priorZ: [] };
  return {
    dir,
    manifest,
    tables,
    hashPrefix: hexToBytes(manifest.modelHash.slice(0, 16)),
    readGraph: readChecked,
  };
}
