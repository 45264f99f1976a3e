/**
 * The learned image codec: ONNX transforms (g_a, h_a, h_s, per-slice parameter nets, g_s)
 * with entropy coding outside the graphs.
 *
 * Per tile: z = h_a(g_a(x) * gain) is rounded and coded with the factorized prior; the
 * hyperprior features h_s(z) then drive, slice by slice, two checkerboard passes (anchors,
 * then non-anchors conditioned on the anchors), each pass running the slice's parameter net
 * to get Gaussian means and scales. Symbols are round(y - mean), coded with the Gaussian
 * table of their scale; the decoder rebuilds y_hat = symbol + mean and runs g_s.
 *
 * File: IMAGE_INFO, CODING_PARAMS, [ALPHA], then per tile Z_STREAM, Y_STREAM, SYMBOL_CHECKSUM.
 */
import { ByteReader, ByteWriter } from '../bitstream/bytes.js';
import { decodeCodingParams, encodeCodingParams } from '../bitstream/coding-params.js';
import { FORMAT_VERSION, checkModel, readContainer, writeContainer, type ContainerUnit } from '../bitstream/container.js';
import { crc32 } from '../bitstream/crc32.js';
import { decodeImageInfo, encodeImageInfo, type ImageInfo } from '../bitstream/image-info.js';
import type { Limits } from '../bitstream/limits.js';
import { UnitType } from '../bitstream/units.js';
import { loadRans } from '../coder/wasm.js';
import type { RansCoder, RansDecoder } from '../coder/types.js';
import type { RansTables } from '../coder/tables.js';
import { buildFactorizedTables, channelIndexes } from '../entropy/factorized.js';
import { DEFAULT_SCALE_TABLE, DEFAULT_TAIL_MASS, buildGaussianTables, buildIndexes } from '../entropy/gaussian.js';
import { cachedTables, factorizedTablesKey, gaussianTablesKey } from '../entropy/table-cache.js';
import { BitstreamError, ModelMismatchError, invalidOption, throwIfAborted } from '../errors.js';
import { alphaPlane, fromPlanar, hasAlpha, toPaddedPlanar, type Frame } from '../image/frame.js';
import { loadCodecBundle, type CodecBundle } from '../model/manifest.js';
import { ModelSessions, type Tensor4 } from '../model/session.js';
import { trace } from '../trace.js';
import { decodeAlpha, encodeAlpha } from './alpha.js';

/** Images of up to this many pixels are coded as one tile. */
export const SINGLE_TILE_PIXELS = 2_600_000;
/** Tile side for larger images: independent tiles bound the networks' working memory. */
export const DEFAULT_TILE = 1280;

export interface ImageEncodeOptions {
  /** 1..100, continuous. */
  quality: number;
  /** Tile side in pixels, a multiple of the codec's padding factor. */
  tileSize?: number;
  signal?: AbortSignal;
}

export interface ImageDecodeOptions {
  signal?: AbortSignal;
  limits?: Partial<Limits>;
}

export interface Tile {
  x: number;
  y: number;
  width: number;
  height: number;
}

export function tilesOf(width: number, height: number, tile: number): Tile[] {
  const out: Tile[] = [];
  for (let y = 0; y < height; y += tile) {
    for (let x = 0; x < width; x += tile) {
      out.push({ x, y, width: Math.min(tile, width - x), height: Math.min(tile, height - y) });
    }
  }
  return out;
}

/** The pixels of one tile of a frame (the frame itself when the tile covers it). */
export function cropFrame(frame: Frame, t: Tile): Frame {
  if (t.x === 0 && t.y === 0 && t.width === frame.width && t.height === frame.height) return frame;
  const c = frame.channels;
  const out = new Uint8Array(t.width * t.height * c);
  for (let r = 0; r < t.height; r++) {
    const src = ((t.y + r) * frame.width + t.x) * c;
    out.set(frame.data.subarray(src, src + t.width * c), r * t.width * c);
  }
  return { data: out, width: t.width, height: t.height, channels: c };
}

export function pasteFrame(dst: Frame, src: Frame, t: Tile): void {
  const c = dst.channels;
  for (let r = 0; r < t.height; r++) {
    dst.data.set(src.data.subarray(r * t.width * c, (r + 1) * t.width * c), ((t.y + r) * dst.width + t.x) * c);
  }
}

/** Anchor and non-anchor positions of an h x w plane ((row + col) even = anchor). */
function checkerboardPositions(h: number, w: number): [Int32Array, Int32Array] {
  const anchors = new Int32Array(Math.ceil((h * w) / 2));
  const others = new Int32Array(h * w - anchors.length);
  let a = 0;
  let o = 0;
  for (let i = 0; i < h; i++) {
    for (let j = 0; j < w; j++) {
      if (((i + j) & 1) === 0) anchors[a++] = i * w + j;
      else others[o++] = i * w + j;
    }
  }
  return [anchors, others];
}

const bytesOf = (a: Int32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/**
 * Where a quality in 1..100 falls among K trained rates: between rate `lo` and `lo + 1`, at
 * fraction `t` (gains and lambdas are interpolated geometrically with it).
 */
export function rateIndex(quality: number, K: number): { lo: number; t: number } {
  const q = ((quality - 1) / 99) * (K - 1);
  const lo = Math.min(Math.max(Math.floor(q), 0), K - 2);
  return { lo, t: Math.min(Math.max(q - lo, 0), 1) };
}

/** A loaded learned image codec. Create with {@link LearnedImageCodec.load}; call dispose() when done. */
export class LearnedImageCodec {
  /** @internal the factorized prior's tables of z */
  readonly zTables: RansTables;
  /** @internal the Gaussian tables of y, one per scale of the scale table */
  readonly yTables: RansTables;
  /** @internal */
  readonly scaleTable = DEFAULT_SCALE_TABLE;

  private constructor(
    readonly bundle: CodecBundle,
    /** @internal */
    readonly sessions: ModelSessions,
    /** @internal */
    readonly rans: RansCoder,
  ) {
    if (bundle.manifest.kind !== 'image') {
      throw new ModelMismatchError(`Codec ${bundle.manifest.id} is a ${bundle.manifest.kind} codec, not a hyperprior image codec (use mode 'bsq' for BSQ codecs)`);
    }
    const st = bundle.manifest.scaleTable;
    if (st.levels !== this.scaleTable.length || st.min !== this.scaleTable[0] || st.max !== this.scaleTable[this.scaleTable.length - 1]) {
      throw new ModelMismatchError(`Codec ${bundle.manifest.id} uses a scale table this runtime does not build`);
    }
    // prebuilt by `npm run build` when the folder is one of codecs/ (src/entropy/table-cache.ts)
    const zSource = bundle.manifest.files.tables;
    this.zTables = zSource
      ? cachedTables(factorizedTablesKey(zSource.sha256), () => buildFactorizedTables(bundle.tables.priorZ))
      : buildFactorizedTables(bundle.tables.priorZ);
    this.yTables = cachedTables(gaussianTablesKey(this.scaleTable, DEFAULT_TAIL_MASS), () => buildGaussianTables(this.scaleTable));
    trace('rANS tables ready');
  }

  /** Loads `codecs/<id>` (or a codec folder) and the rANS coder. */
  static async load(idOrDir: string, options: { threads?: number } = {}): Promise<LearnedImageCodec> {
    const [bundle, rans] = await Promise.all([loadCodecBundle(idOrDir), loadRans()]);
    trace(`codec ${bundle.manifest.id} files and rANS coder loaded`);
    return new LearnedImageCodec(bundle, new ModelSessions(bundle, { threads: options.threads }), rans);
  }

  get id(): string {
    return this.bundle.manifest.id;
  }

  async dispose(): Promise<void> {
    await this.sessions.dispose();
  }

  /** Gain and inverse gain for a quality in 1..100 (geometric interpolation between rates). */
  gains(quality: number): { gain: Float32Array; invGain: Float32Array } {
    const { gain, invGain } = this.bundle.tables;
    const { lo, t } = rateIndex(quality, gain.length);
    const M = gain[0].length;
    const g = new Float32Array(M);
    const ig = new Float32Array(M);
    for (let c = 0; c < M; c++) {
      g[c] = Math.abs(gain[lo][c]) ** (1 - t) * Math.abs(gain[lo + 1][c]) ** t;
      ig[c] = Math.abs(invGain[lo][c]) ** (1 - t) * Math.abs(invGain[lo + 1][c]) ** t;
    }
    return { gain: g, invGain: ig };
  }

  /** The graphs encoding or decoding runs, in the order it runs them. */
  stages(direction: 'encode' | 'decode'): string[] {
    const params = Array.from({ length: this.bundle.manifest.slices }, (_, s) => `param_${s}`);
    return direction === 'encode' ? ['g_a', 'h_a', 'h_s', ...params] : ['h_s', ...params, 'g_s'];
  }

  /** Runs g_a on one tile: the expensive part of encoding, shared by every quality tried. */
  async analyse(tile: Frame, signal?: AbortSignal, version: number = FORMAT_VERSION, stage = 'g_a'): Promise<Tensor4> {
    if (stage === 'g_a') this.sessions.prefetch(this.stages('encode'));
    const x = toPaddedPlanar(tile, this.tilePadding(version));
    const { y } = await this.sessions.run(stage, { x: { data: x.data, dims: [1, 3, x.height, x.width] } }, signal);
    return y;
  }

  /** Codes the latent of one tile at a quality: returns its Z_STREAM, Y_STREAM and checksum payloads. */
  async codeLatent(y: Tensor4, quality100: number, signal?: AbortSignal): Promise<[Uint8Array, Uint8Array, Uint8Array]> {
    const { gain } = this.gains(quality100 / 100);
    const [, M, h, w] = y.dims;
    const hw = h * w;
    const yg = new Float32Array(y.data.length);
    for (let c = 0; c < M; c++) {
      const g = gain[c];
      for (let i = c * hw; i < (c + 1) * hw; i++) yg[i] = y.data[i] * g;
    }
    throwIfAborted(signal);
    const { z } = await this.sessions.run('h_a', { y: { data: yg, dims: y.dims } }, signal);
    const zSym = new Int32Array(z.data.length);
    const zHat = new Float32Array(z.data.length);
    for (let i = 0; i < zSym.length; i++) {
      zSym[i] = Math.round(z.data[i]);
      zHat[i] = zSym[i];
    }
    const zEnc = this.rans.createEncoder();
    const yEnc = this.rans.createEncoder();
    try {
      zEnc.encodeWithIndexes(zSym, channelIndexes(z.dims[1], z.dims[2] * z.dims[3]), this.zTables);
      let crc = crc32(bytesOf(zSym));
      const slices = await this.runSlices({ data: zHat, dims: z.dims }, h, w, signal, (positions, mean, _scale, indexes, c0, sym, yHat) => {
        // encoder side: symbols from the latent
        const C = indexes.length / positions.length;
        for (let c = 0; c < C; c++) {
          const base = (c0 + c) * hw;
          const pbase = c * hw;
          for (let k = 0; k < positions.length; k++) {
            const p = positions[k];
            const s = Math.round(yg[base + p] - mean[pbase + p]);
            sym[c * positions.length + k] = s;
            yHat[pbase + p] = s + mean[pbase + p];
          }
        }
        yEnc.encodeWithIndexes(sym, indexes, this.yTables);
      });
      for (const part of slices.checksumParts) crc = crc32(part, crc);
      const check = new ByteWriter(4).u32le(crc >>> 0).finish();
      return [zEnc.flush(), yEnc.flush(), check];
    } finally {
      zEnc.dispose();
      yEnc.dispose();
    }
  }

  /**
   * The slice loop shared by encoder and decoder. For each slice and pass it runs the
   * parameter net, turns scales into table indexes, then lets `code` fill the symbols and
   * y_hat at the pass's positions (from the latent when encoding, from the stream when
   * decoding). Returns y_hat for all channels and the checksum inputs.
   */
  private async runSlices(
    zHat: Tensor4,
    h: number,
    w: number,
    signal: AbortSignal | undefined,
    code: (positions: Int32Array, mean: Float32Array, scale: Float32Array, indexes: Int32Array, c0: number, sym: Int32Array, yHat: Float32Array) => void,
  ): Promise<{ yHat: Float32Array; checksumParts: Uint8Array[] }> {
    const m = this.bundle.manifest;
    const S = m.slices;
    const C = m.sliceChannels;
    const M = S * C;
    const hw = h * w;
    throwIfAborted(signal);
    const hyper = await this.hyperprior(zHat, h, w, signal);
    const yHatAll = new Float32Array(M * hw);
    const [anchorPos, otherPos] = checkerboardPositions(h, w);
    const checksumParts: Uint8Array[] = [];
    for (let s = 0; s < S; s++) {
      const yHat = new Float32Array(C * hw);
      const anchors = new Float32Array(C * hw);
      for (const [pass, positions] of [anchorPos, otherPos].entries()) {
        throwIfAborted(signal);
        const inputs: Record<string, Tensor4> = { hyper, anchors: { data: anchors, dims: [1, C, h, w] } };
        if (s > 0) inputs.prev = { data: yHatAll.subarray(0, s * C * hw), dims: [1, s * C, h, w] };
        const { mean, scale } = await this.sessions.run(`param_${s}`, inputs, signal);
        const n = positions.length;
        const picked = new Float32Array(C * n);
        for (let c = 0; c < C; c++) {
          const base = c * hw;
          for (let k = 0; k < n; k++) picked[c * n + k] = scale.data[base + positions[k]];
        }
        const indexes = buildIndexes(picked, this.scaleTable);
        const sym = new Int32Array(C * n);
        code(positions, mean.data, scale.data, indexes, s * C, sym, yHat);
        checksumParts.push(bytesOf(indexes), bytesOf(sym));
        if (pass === 0) {
          for (let c = 0; c < C; c++) {
            const base = c * hw;
            for (let k = 0; k < n; k++) anchors[base + positions[k]] = yHat[base + positions[k]];
          }
        }
      }
      yHatAll.set(yHat, s * C * hw);
    }
    return { yHat: yHatAll, checksumParts };
  }

  /** Decodes one tile's streams to pixels (the tile's own size, colour channels only). */
  async decodeTile(
    zStream: Uint8Array,
    yStream: Uint8Array,
    checksum: number,
    tile: Tile,
    channels: 1 | 2 | 3 | 4,
    quality100: number,
    signal?: AbortSignal,
    version: number = FORMAT_VERSION,
  ): Promise<Frame> {
    const m = this.bundle.manifest;
    const { ph, pw, h, w, hz, wz } = this.tileGeometry(tile, version);
    const Nz = m.config.Nz;
    let zDec: RansDecoder | undefined;
    let yDec: RansDecoder | undefined;
    try {
      zDec = this.rans.createDecoder(zStream);
      const zSym = zDec.decodeWithIndexes(channelIndexes(Nz, hz * wz), this.zTables);
      zDec.finish();
      let crc = crc32(bytesOf(zSym));
      const zHat = Float32Array.from(zSym);
      const dec = (yDec = this.rans.createDecoder(yStream));
      const hw = h * w;
      const { yHat, checksumParts } = await this.runSlices({ data: zHat, dims: [1, Nz, hz, wz] }, h, w, signal, (positions, mean, _scale, indexes, _c0, sym, yHatSlice) => {
        dec.decodeWithIndexes(indexes, this.yTables, sym);
        const n = positions.length;
        const C = indexes.length / n;
        for (let c = 0; c < C; c++) {
          const pbase = c * hw;
          for (let k = 0; k < n; k++) {
            const p = positions[k];
            yHatSlice[pbase + p] = sym[c * n + k] + mean[pbase + p];
          }
        }
      });
      dec.finish();
      for (const part of checksumParts) crc = crc32(part, crc);
      if ((crc >>> 0) !== checksum) {
        throw new BitstreamError('Decoded symbols do not match the stream checksum (encoder/decoder drift or corrupt data)');
      }
      const { invGain } = this.gains(quality100 / 100);
      const M = m.slices * m.sliceChannels;
      for (let c = 0; c < M; c++) {
        const g = invGain[c];
        for (let i = c * hw; i < (c + 1) * hw; i++) yHat[i] *= g;
      }
      throwIfAborted(signal);
      const { x_hat } = await this.sessions.run('g_s', { y_hat: { data: yHat, dims: [1, M, h, w] } }, signal);
      return fromPlanar({ data: x_hat.data, width: pw, height: ph }, tile.width, tile.height, channels);
    } finally {
      zDec?.dispose();
      yDec?.dispose();
    }
  }

  /**
   * What a tile is padded to (repeating its last row and column) before g_a: format 1 used
   * the codec's padding factor (64), so that y and z covered whole grids; format 2 pads to
   * y's stride (16) only, and z covers y rounded up (its extra rows and columns of hyperprior
   * output are dropped). A 854x480 frame codes 864x480 pixels instead of 896x512: 10% less
   * network work, and fewer bits spent on padding.
   */
  tilePadding(version: number = FORMAT_VERSION): number {
    const m = this.bundle.manifest;
    return version >= 2 ? m.downsampling.y : m.paddingFactor;
  }

  /** A tile's padded size and the sizes of its latent y and hyper-latent z, in a file of `version`. */
  tileGeometry(tile: { width: number; height: number }, version: number = FORMAT_VERSION): { ph: number; pw: number; h: number; w: number; hz: number; wz: number } {
    const m = this.bundle.manifest;
    const pad = this.tilePadding(version);
    const ph = Math.ceil(tile.height / pad) * pad;
    const pw = Math.ceil(tile.width / pad) * pad;
    const h = ph / m.downsampling.y;
    const w = pw / m.downsampling.y;
    const r = m.downsampling.z / m.downsampling.y;
    return { ph, pw, h, w, hz: Math.ceil(h / r), wz: Math.ceil(w / r) };
  }

  /**
   * h_s on z_hat, cropped to y's h x w: z covers y rounded up to whole z cells, and the
   * rows and columns past y's edge have no elements to predict.
   */
  async hyperprior(zHat: Tensor4, h: number, w: number, signal?: AbortSignal): Promise<Tensor4> {
    const { hyper } = await this.sessions.run('h_s', { z_hat: zHat }, signal);
    const [, ch, hh, hw] = hyper.dims;
    const r = this.bundle.manifest.downsampling.z / this.bundle.manifest.downsampling.y;
    if (hh !== zHat.dims[2] * r || hw !== zHat.dims[3] * r || hh < h || hw < w || hh - h >= r || hw - w >= r) {
      throw new ModelMismatchError(`h_s produced ${hh}x${hw} from a ${zHat.dims[2]}x${zHat.dims[3]} z, expected ${h}x${w} rounded up to whole z cells`);
    }
    if (hh === h && hw === w) return hyper;
    const out = new Float32Array(ch * h * w);
    for (let c = 0; c < ch; c++) {
      for (let i = 0; i < h; i++) out.set(hyper.data.subarray((c * hh + i) * hw, (c * hh + i) * hw + w), (c * h + i) * w);
    }
    return { data: out, dims: [1, ch, h, w] };
  }

  /** Encodes a frame into a complete file. */
  async encode(frame: Frame, options: ImageEncodeOptions): Promise<Uint8Array> {
    const plan = this.plan(frame, options);
    const ys: Tensor4[] = [];
    for (const t of plan.tiles) ys.push(await this.analyse(cropFrame(frame, t), options.signal));
    return this.assemble(frame, plan, ys, Math.round(options.quality * 100), options.signal);
  }

  /**
   * Checks options and cuts the frame into tiles. Without a tileSize, an image of up to
   * SINGLE_TILE_PIXELS is coded whole (no seams) and a larger one in DEFAULT_TILE squares,
   * which bounds the networks' working memory (about 2 GiB peak at either size).
   */
  plan(frame: Frame, options: { quality?: number; tileSize?: number }): { tiles: Tile[]; tileSize: number } {
    const pad = this.bundle.manifest.paddingFactor;
    const whole = Math.ceil(Math.max(frame.width, frame.height) / pad) * pad;
    const tileSize = options.tileSize ?? (frame.width * frame.height <= SINGLE_TILE_PIXELS ? whole : DEFAULT_TILE);
    if (!Number.isInteger(tileSize) || tileSize < pad || tileSize % pad !== 0 || tileSize > 65535) {
      throw invalidOption(`multiple of ${pad} between ${pad} and 65472`, 'tileSize', tileSize);
    }
    return { tiles: tilesOf(frame.width, frame.height, tileSize), tileSize };
  }

  /** Builds the file from analysed tiles at one quality (rate control calls it repeatedly). */
  async assemble(frame: Frame, plan: { tiles: Tile[]; tileSize: number }, ys: Tensor4[], quality100: number, signal?: AbortSignal): Promise<Uint8Array> {
    const units = imageHeaderUnits(frame, quality100, plan.tileSize, this.rans);
    for (const y of ys) {
      const [z, yStream, check] = await this.codeLatent(y, quality100, signal);
      units.push({ type: UnitType.Z_STREAM, payload: z }, { type: UnitType.Y_STREAM, payload: yStream }, { type: UnitType.SYMBOL_CHECKSUM, payload: check });
    }
    return writeContainer({ codecId: this.id, modelHash: this.bundle.hashPrefix, units });
  }

  /**
   * Decodes a complete file.
   * @throws ModelMismatchError when the file was made by another codec or other weights;
   *   BitstreamError / LimitExceededError for corrupt, truncated or oversized input.
   */
  async decode(bytes: Uint8Array, options: ImageDecodeOptions = {}): Promise<{ frame: Frame; info: ImageInfo; quality: number }> {
    const file = readContainer(bytes, options.limits);
    checkModel(file, { codecId: this.id, modelHash: this.bundle.hashPrefix });
    const { info, params, alphaUnit, tileUnits } = parseImageUnits(file.units, options.limits);
    this.sessions.prefetch(this.stages('decode'));
    const pad = this.bundle.manifest.paddingFactor;
    if (params.tileSize % pad !== 0 || params.tileSize < pad) throw new BitstreamError(`CODING_PARAMS tile size ${params.tileSize} is not a multiple of ${pad}`);
    const tiles = tilesOf(info.width, info.height, params.tileSize);
    if (tileUnits.length !== tiles.length) throw new BitstreamError(`File has ${tileUnits.length} tiles, expected ${tiles.length}`);
    const channels = info.channels as Frame['channels'];
    const out: Frame = { data: new Uint8Array(info.width * info.height * channels), width: info.width, height: info.height, channels };
    const alpha = alphaUnit ? decodeAlpha(alphaUnit.payload, info.width, info.height, this.rans) : undefined;
    for (let i = 0; i < tiles.length; i++) {
      const [z, y, check] = tileUnits[i];
      const reader = new ByteReader(check.payload);
      const crc = reader.u32le('SYMBOL_CHECKSUM');
      reader.expectEnd('SYMBOL_CHECKSUM');
      const tileFrame = await this.decodeTile(z.payload, y.payload, crc, tiles[i], channels, params.quality100, options.signal, file.version);
      pasteFrame(out, tileFrame, tiles[i]);
    }
    if (alpha) {
      const c = channels;
      for (let i = 0; i < alpha.length; i++) out.data[i * c + c - 1] = alpha[i];
    }
    return { frame: out, info, quality: params.quality100 / 100 };
  }
}

/** The units every learned image starts with: IMAGE_INFO, CODING_PARAMS and, with alpha, ALPHA. */
export function imageHeaderUnits(frame: Frame, quality100: number, tileSize: number, rans: RansCoder): { type: number; payload: Uint8Array }[] {
  const info: ImageInfo = {
    width: frame.width,
    height: frame.height,
    channels: frame.channels,
    bitDepth: 8,
    colourMatrix: 0,
    fullRange: true,
    alpha: hasAlpha(frame.channels),
  };
  const units: { type: number; payload: Uint8Array }[] = [
    { type: UnitType.IMAGE_INFO, payload: encodeImageInfo(info) },
    { type: UnitType.CODING_PARAMS, payload: encodeCodingParams({ quality100, tileSize }) },
  ];
  const alpha = alphaPlane(frame);
  if (alpha) units.push({ type: UnitType.ALPHA, payload: encodeAlpha(alpha, frame.width, frame.height, rans) });
  return units;
}

/**
 * Reads the units every learned image starts with (IMAGE_INFO, CODING_PARAMS, optional
 * ALPHA); `next` is the index, among the known units, of the first unit after them.
 */
export function parseImageHeader(units: readonly ContainerUnit[], limits?: Partial<Limits>) {
  const known = units.filter((u) => u.known);
  if (known[0]?.type !== UnitType.IMAGE_INFO) throw new BitstreamError('File does not start with IMAGE_INFO');
  if (known[1]?.type !== UnitType.CODING_PARAMS) throw new BitstreamError('IMAGE_INFO is not followed by CODING_PARAMS');
  const info = decodeImageInfo(known[0].payload, limits);
  const params = decodeCodingParams(known[1].payload);
  let i = 2;
  let alphaUnit: ContainerUnit | undefined;
  if (known[i]?.type === UnitType.ALPHA) alphaUnit = known[i++];
  if (info.alpha !== (alphaUnit !== undefined)) throw new BitstreamError(info.alpha ? 'ALPHA unit missing' : 'Unexpected ALPHA unit');
  return { known, info, params, alphaUnit, next: i };
}

/** Splits a learned-image file's units into their roles, checking order and counts. */
export function parseImageUnits(units: readonly ContainerUnit[], limits?: Partial<Limits>) {
  const { known, info, params, alphaUnit, next } = parseImageHeader(units, limits);
  let i = next;
  const tileUnits: [ContainerUnit, ContainerUnit, ContainerUnit][] = [];
  while (i < known.length) {
    const [z, y, c] = [known[i], known[i + 1], known[i + 2]];
    if (z?.type !== UnitType.Z_STREAM || y?.type !== UnitType.Y_STREAM || c?.type !== UnitType.SYMBOL_CHECKSUM) {
      throw new BitstreamError(`Unexpected unit ${known[i].name} at position ${i}: expected Z_STREAM, Y_STREAM, SYMBOL_CHECKSUM per tile`);
    }
    tileUnits.push([z, y, c]);
    i += 3;
  }
  return { info, params, alphaUnit, tileUnits };
}

