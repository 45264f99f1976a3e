/**
 * Trit-plane progressive coding (DPICT) with context-based refinement (CTC) on the latent of
 * a learned image codec that ships the progressive heads (prog_param, prog_crr, prog_cdr).
 *
 * Encoder: y' = g_a(x) * gain(quality) and z = h_a(y') as in the plain codec, but the mean
 * and scale of y' come from the hyperprior alone (prog_param), and s = round(y' - mean) is
 * sent as L trit-planes, most significant first. Within a plane the elements go in order of
 * expected distortion reduction per bit, computed from the hyperprior and the planes
 * already sent, so the decoder derives the same order. With CRR on (the default) the
 * probabilities of planes after the first come from the Gaussian that prog_crr predicts
 * from the decoded state of all elements.
 *
 * File: IMAGE_INFO, CODING_PARAMS, [ALPHA], PROGRESSIVE_INFO, Z_STREAM per tile, then one
 * PROGRESSIVE_PLANE per plane and tile, plane-major, END. Any prefix of at least the header
 * units decodes: complete units are CRC-checked, the unit the file was cut inside is
 * decoded as far as its bytes go (rANS decodes a prefix of a stream exactly), and every
 * element is reconstructed from the conditional mean of the interval it is known to lie
 * in, refined by prog_cdr.
 */
import { checkSplits, decodeProgressiveInfo, encodeProgressiveInfo, MAX_TRIT_PLANES, type ProgressiveInfo } from '../bitstream/progressive-info.js';
import { decodeCodingParams } from '../bitstream/coding-params.js';
import { checkModel, readContainer, writeContainer, type Container, type ContainerUnit, type UnitInput } from '../bitstream/container.js';
import { crc32 } from '../bitstream/crc32.js';
import { decodeImageInfo, type ImageInfo } from '../bitstream/image-info.js';
import type { Limits } from '../bitstream/limits.js';
import { UnitType } from '../bitstream/units.js';
import type { RansDecoder } from '../coder/types.js';
import { channelIndexes } from '../entropy/factorized.js';
import { BitstreamError, InvalidOptionError, ModelMismatchError, invalidOption, throwIfAborted } from '../errors.js';
import { fromPlanar, type Frame } from '../image/frame.js';
import type { Tensor4 } from '../model/session.js';
import { TRIT_CHUNK, planeModel, planesFor, stateFeatures, tritTables, type PlaneModel } from '../quant/tritplane.js';
import { decodeAlpha } from './alpha.js';
import { cropFrame, imageHeaderUnits, pasteFrame, tilesOf, type LearnedImageCodec, type Tile } from './image.js';

/** Graphs a codec needs for progressive coding. */
export const PROGRESSIVE_STAGES = ['prog_param', 'prog_crr', 'prog_cdr'] as const;

export interface ProgressiveEncodeOptions {
  /** The finest rate, 1..100 (default 100): the whole file decodes at this quality. */
  quality?: number;
  /** Tile side in pixels, a multiple of the codec's padding factor. */
  tileSize?: number;
  /** Code passes after the very first with the CRR head's probabilities (default true). */
  crr?: boolean;
  /**
   * How each plane is split into passes (the CRR head runs before each): fractions of the
   * plane, increasing in (0, 1), at which a pass ends and the rest is ranked again, e.g.
   * [0.25]; [] for one pass per plane; 'checkerboard' for the version 1 split (anchors,
   * then the others). Default: what the codec's heads were trained for (its manifest's
   * progressive.passes), else 'checkerboard'.
   */
  passes?: 'checkerboard' | readonly number[];
  signal?: AbortSignal;
}

export interface ProgressiveDecodeOptions {
  /**
   * A state object to carry between decodes of growing prefixes of one file (pass the same
   * `{}` each time): each call then continues from the planes the previous one completed
   * instead of starting over. Ignored for a different file.
   */
  resume?: ProgressiveResume;
  /** Decode only the first `bytes` bytes of the file. */
  bytes?: number;
  /** Decode at most this many trit-planes. */
  planes?: number;
  /** Refine the reconstruction with the CDR head (default true). */
  cdr?: boolean;
  signal?: AbortSignal;
  limits?: Partial<Limits>;
}

export interface ProgressiveDecodeResult {
  frame: Frame;
  info: ImageInfo;
  progressive: ProgressiveInfo;
  /** Bytes of the file that were used. */
  bytes: number;
  /** Trit-planes decoded completely in every tile. */
  planes: number;
  /** Fraction of all trits of the file that were decoded (1 for a whole file). */
  fraction: number;
  /** Whether the whole file was there. */
  complete: boolean;
}

const POW3 = Array.from({ length: MAX_TRIT_PLANES + 1 }, (_, k) => 3 ** k);

/** Whether a codec ships the progressive heads. */
export function supportsProgressive(codec: LearnedImageCodec): boolean {
  return PROGRESSIVE_STAGES.every((s) => s in codec.bundle.manifest.files);
}

/** Carried between decodes of growing prefixes; see {@link ProgressiveDecodeOptions.resume}. */
export interface ProgressiveResume {
  /** @internal */
  key?: string;
  /** @internal the state of each tile after its last complete plane */
  tiles?: ({ st: TileState; planes: number; lo: Int32Array; rem: Uint8Array; crcs: number[] } | undefined)[];
}

/** Per-tile hyperprior outputs and the trit state. */
interface TileState {
  h: number;
  w: number;
  /** Elements of the two checkerboard passes: anchors ((row + col) even in y), then the others. */
  passes: [Int32Array, Int32Array];
  /** Ranked passes: the elements of the current plane not coded yet. */
  remaining?: Int32Array;
  mean: Float32Array;
  scale: Float32Array;
  lo: Int32Array;
  rem: Uint8Array;
  /** The state features, kept current: passes coded since they were computed wait in `pending`. */
  cache?: { feat: Float32Array; yhat: Float32Array };
  pending: Int32Array[];
}

/** The tile's state features, recomputing only the elements that changed since the last call. */
function currentFeatures(st: TileState): { feat: Float32Array; yhat: Float32Array } {
  if (!st.cache) st.cache = stateFeatures(st.mean, st.scale, st.lo, st.rem);
  else for (const subset of st.pending) stateFeatures(st.mean, st.scale, st.lo, st.rem, st.cache, subset);
  st.pending = [];
  return st.cache;
}

/** Progressive encoder/decoder over a loaded codec. */
export class ProgressiveCoder {
  constructor(readonly codec: LearnedImageCodec) {
    if (!supportsProgressive(codec)) {
      throw new InvalidOptionError(`Codec ${codec.id} has no progressive heads (${PROGRESSIVE_STAGES.join(', ')}); use a codec that ships them, e.g. nc-prog`);
    }
  }

  get M(): number {
    return this.codec.bundle.manifest.config.M;
  }

  /**
   * The pass split of new files: the option (fractions of a plane), else the split the
   * codec's heads were trained for (manifest progressive.passes, e.g. "0.25"), else the
   * checkerboard split of version 1 files.
   */
  private passSplits(option: ProgressiveEncodeOptions['passes']): ProgressiveInfo['passes'] {
    let fractions: readonly number[] | 'checkerboard';
    if (option === undefined) {
      const trained = (this.codec.bundle.manifest as { progressive?: { passes?: unknown } }).progressive?.passes;
      if (typeof trained !== 'string' || trained === 'checkerboard') return 'checkerboard';
      fractions = trained.split(',').map(Number);
    } else if (option === 'checkerboard') {
      return 'checkerboard';
    } else if (Array.isArray(option)) {
      fractions = option;
    } else {
      throw invalidOption("'checkerboard' or an array of increasing fractions in (0, 1)", 'passes', option);
    }
    const splits = fractions.map((f) => (typeof f === 'number' && f > 0 && f < 1 ? Math.min(65535, Math.max(1, Math.round(f * 65536))) : NaN));
    try {
      checkSplits(splits);
    } catch {
      throw invalidOption('increasing fractions in (0, 1), at most 7', 'passes', option ?? fractions);
    }
    return splits;
  }

  /** Squared inverse gain per channel at a quality: the weight of a y' error in y. */
  private weights(quality100: number): Float32Array {
    const { invGain } = this.codec.gains(quality100 / 100);
    return Float32Array.from(invGain, (g) => g * g);
  }

  /** z -> hyperprior -> the progressive mean and scale of every element. */
  private async hyper(zHat: Tensor4, h: number, w: number, signal?: AbortSignal): Promise<{ mean: Float32Array; scale: Float32Array }> {
    const hyper = await this.codec.hyperprior(zHat, h, w, signal);
    const { mean, scale } = await this.codec.sessions.run('prog_param', { hyper }, signal);
    return { mean: mean.data, scale: scale.data };
  }

  /**
   * The coding model of one pass of a plane, from the state before it: the previous planes,
   * plus what this plane's earlier passes refined. `model.order` lists the pass's elements
   * in coding order. Checkerboard passes are the anchors, then the others; ranked passes
   * take the next elements of the plane by expected distortion reduction per bit.
   */
  private async model(st: TileState, plane: number, pass: number, L: number, info: ProgressiveInfo, weight: Float32Array, signal?: AbortSignal): Promise<PlaneModel> {
    const { crr, passes } = info;
    let subset: Int32Array;
    let take = -1;
    if (passes === 'checkerboard') {
      subset = st.passes[pass];
    } else {
      const n = st.lo.length;
      if (pass === 0) {
        st.remaining = new Int32Array(n);
        for (let e = 0; e < n; e++) st.remaining[e] = e;
      }
      const end = (j: number) => (j < 0 ? 0 : j < passes.length ? Math.floor((n * passes[j]) / 65536) : n);
      take = end(pass) - end(pass - 1);
      subset = st.remaining!;
      // a pass with no elements (a tiny tile) needs no model
      if (take === 0) return { order: new Int32Array(0), outer: new Int32Array(0), upper: new Int32Array(0) };
    }
    let shift: Float32Array | undefined;
    let logScale: Float32Array | undefined;
    if (crr && (plane > 0 || pass > 0)) {
      const { feat } = currentFeatures(st);
      const out = await this.codec.sessions.run('prog_crr', { feat: { data: feat, dims: [1, 3 * this.M, st.h, st.w] } }, signal);
      shift = out.shift.data;
      logScale = out.log_scale.data;
    }
    const m = planeModel({ lo: st.lo, width: POW3[L - plane], scale: st.scale, hw: st.h * st.w, weight, shift, logScale, subset });
    if (take < 0) return m;
    st.remaining = m.order.slice(take);
    return { order: m.order.subarray(0, take), outer: m.outer, upper: m.upper };
  }

  /** Passes per plane. */
  private static passCount(info: ProgressiveInfo): number {
    return info.passes === 'checkerboard' ? 2 : info.passes.length + 1;
  }

  /** A tile's starting state: z from its stream, or every value at its prior's mode without one; then the hyperprior. */
  private async tileStart(zUnit: ContainerUnit | undefined, zMode: Int32Array, Nz: number, hz: number, wz: number, h: number, w: number, L: number, signal?: AbortSignal): Promise<TileState> {
    const codec = this.codec;
    const zSym = new Int32Array(Nz * hz * wz);
    for (let c = 0; c < Nz; c++) zSym.fill(zMode[c], c * hz * wz, (c + 1) * hz * wz);
    if (zUnit) {
      // only a whole z stream gets here: decode it strictly, end check included
      const dec = codec.rans.createDecoder(zUnit.payload);
      try {
        dec.decodeWithIndexes(channelIndexes(Nz, hz * wz), codec.zTables, zSym);
        dec.finish();
      } finally {
        dec.dispose();
      }
    }
    throwIfAborted(signal);
    const { mean, scale } = await this.hyper({ data: Float32Array.from(zSym), dims: [1, Nz, hz, wz] }, h, w, signal);
    const n = this.M * h * w;
    if (mean.length !== n) throw new ModelMismatchError(`prog_param produced ${mean.length} values, expected ${n}`);
    return { h, w, passes: checkerboardPasses(this.M, h, w), mean, scale, lo: new Int32Array(n).fill(-(POW3[L] - 1) / 2), rem: new Uint8Array(n).fill(L), pending: [] };
  }

  /**
   * Decodes one plane unit of a tile (both checkerboard passes) as far as its bytes go;
   * returns the number of elements refined.
   */
  private async decodePlaneUnit(payload: Uint8Array, st: TileState, p: number, L: number, info: ProgressiveInfo, weight: Float32Array, third: number, signal?: AbortSignal): Promise<number> {
    if (payload.length < 16) return 0;
    const dec = this.codec.rans.createDecoder(payload);
    try {
      let done = 0;
      for (let pass = 0; pass < ProgressiveCoder.passCount(info); pass++) {
        throwIfAborted(signal);
        const model = await this.model(st, p, pass, L, info, weight, signal);
        const got = decodePlane(dec, model, st, third, tritTables().tables);
        st.pending.push(model.order);
        done += got;
        if (got < model.order.length) break;
      }
      return done;
    } finally {
      dec.dispose();
    }
  }

  /** Codes plane p of a tile, all its passes, into one rANS stream; advances the state. */
  private async encodePlaneUnit(st: TileState & { s: Int32Array }, p: number, L: number, info: ProgressiveInfo, weight: Float32Array, signal?: AbortSignal): Promise<Uint8Array> {
    const { tables } = tritTables();
    const third = POW3[L - p - 1];
    const enc = this.codec.rans.createEncoder();
    try {
      for (let pass = 0; pass < ProgressiveCoder.passCount(info); pass++) {
        throwIfAborted(signal);
        const m = await this.model(st, p, pass, L, info, weight, signal);
        const n = m.order.length;
        for (let c0 = 0; c0 < n; c0 += TRIT_CHUNK) {
          // the chunk's "outer third?" decisions, then "upper third?" for the outer ones
          const c1 = Math.min(n, c0 + TRIT_CHUNK);
          const a = new Int32Array(c1 - c0);
          const ia = new Int32Array(c1 - c0);
          const b: number[] = [];
          const ib: number[] = [];
          for (let k = c0; k < c1; k++) {
            const e = m.order[k];
            const digit = Math.floor((st.s[e] - st.lo[e]) / third);
            a[k - c0] = digit === 1 ? 0 : 1;
            ia[k - c0] = m.outer[e];
            if (digit !== 1) {
              b.push(digit === 2 ? 1 : 0);
              ib.push(m.upper[e]);
            }
            st.lo[e] += digit * third;
            st.rem[e]--;
          }
          enc.encodeWithIndexes(a, ia, tables);
          if (b.length) enc.encodeWithIndexes(Int32Array.from(b), Int32Array.from(ib), tables);
        }
        st.pending.push(m.order);
      }
      return enc.flush();
    } finally {
      enc.dispose();
    }
  }

  /** Encodes a frame into a progressive file. */
  async encode(frame: Frame, options: ProgressiveEncodeOptions = {}): Promise<Uint8Array> {
    const quality = options.quality ?? 100;
    if (typeof quality !== 'number' || !(quality >= 1 && quality <= 100)) throw invalidOption('number between 1 and 100', 'quality', quality);
    const crr = options.crr ?? true;
    const signal = options.signal;
    const quality100 = Math.round(quality * 100);
    const passes = this.passSplits(options.passes);
    const codec = this.codec;
    const plan = codec.plan(frame, options);
    const { gain } = codec.gains(quality100 / 100);
    const weight = this.weights(quality100);
    const M = this.M;
    const zUnits: Uint8Array[] = [];
    const tiles: (TileState & { s: Int32Array })[] = [];
    let maxAbs = 0;
    for (const t of plan.tiles) {
      throwIfAborted(signal);
      const y = await codec.analyse(cropFrame(frame, t), signal);
      const [, , h, w] = y.dims;
      const hw = h * w;
      const yg = new Float32Array(y.data.length);
      for (let c = 0; c < M; c++) for (let i = c * hw; i < (c + 1) * hw; i++) yg[i] = y.data[i] * gain[c];
      const { z } = await codec.sessions.run('h_a', { y: { data: yg, dims: y.dims } }, signal);
      const zSym = new Int32Array(z.data.length);
      for (let i = 0; i < zSym.length; i++) zSym[i] = Math.round(z.data[i]);
      const enc = codec.rans.createEncoder();
      try {
        enc.encodeWithIndexes(zSym, channelIndexes(z.dims[1], z.dims[2] * z.dims[3]), codec.zTables);
        zUnits.push(enc.flush());
      } finally {
        enc.dispose();
      }
      const { mean, scale } = await this.hyper({ data: Float32Array.from(zSym), dims: z.dims }, h, w, signal);
      const s = new Int32Array(yg.length);
      for (let i = 0; i < s.length; i++) {
        s[i] = Math.round(yg[i] - mean[i]);
        const a = s[i] < 0 ? -s[i] : s[i];
        if (a > maxAbs) maxAbs = a;
      }
      tiles.push({ h, w, passes: checkerboardPasses(M, h, w), mean, scale, s, lo: new Int32Array(s.length), rem: new Uint8Array(s.length), pending: [] });
    }
    const L = planesFor(maxAbs);
    if (L > MAX_TRIT_PLANES) throw new BitstreamError(`latent values up to ${maxAbs} need ${L} trit-planes; at most ${MAX_TRIT_PLANES}`);
    const half = (POW3[L] - 1) / 2;
    for (const st of tiles) {
      st.lo.fill(-half);
      st.rem.fill(L);
    }
    const planeUnits: Uint8Array[] = [];
    const info: ProgressiveInfo = { planes: L, crr, passes };
    for (let p = 0; p < L; p++) {
      for (const st of tiles) planeUnits.push(await this.encodePlaneUnit(st, p, L, info, weight, signal));
    }
    const units: UnitInput[] = imageHeaderUnits(frame, quality100, plan.tileSize, codec.rans);
    units.push({ type: UnitType.PROGRESSIVE_INFO, payload: encodeProgressiveInfo(info) });
    for (const z of zUnits) units.push({ type: UnitType.Z_STREAM, payload: z });
    for (const u of planeUnits) units.push({ type: UnitType.PROGRESSIVE_PLANE, payload: u });
    return writeContainer({ codecId: codec.id, modelHash: codec.bundle.hashPrefix, units });
  }

  /**
   * Decodes a progressive file or any prefix of one.
   * @throws BitstreamError when the prefix is too short to hold the image header units, or
   *   for corrupt data; ModelMismatchError for a file of another codec.
   */
  async decode(bytes: Uint8Array, options: ProgressiveDecodeOptions = {}): Promise<ProgressiveDecodeResult> {
    if (!(bytes instanceof Uint8Array)) throw invalidOption('Uint8Array', 'bytes', bytes);
    const { signal } = options;
    let data = bytes;
    if (options.bytes !== undefined) {
      if (!Number.isInteger(options.bytes) || options.bytes < 1) throw invalidOption('positive integer', 'bytes', options.bytes);
      data = bytes.subarray(0, Math.min(bytes.length, options.bytes));
    }
    const maxPlanes = options.planes ?? MAX_TRIT_PLANES;
    if (!Number.isInteger(maxPlanes) || maxPlanes < 0) throw invalidOption('non-negative integer', 'planes', options.planes);
    const cdr = options.cdr ?? true;
    const file = readProgressive(data, options.limits);
    checkModel(file.container, { codecId: this.codec.id, modelHash: this.codec.bundle.hashPrefix });
    const { info, params, progressive, alpha, zUnits, planeUnits } = file;
    const codec = this.codec;
    const m = codec.bundle.manifest;
    const pad = m.paddingFactor;
    if (params.tileSize % pad !== 0 || params.tileSize < pad) throw new BitstreamError(`CODING_PARAMS tile size ${params.tileSize} is not a multiple of ${pad}`);
    const tiles = tilesOf(info.width, info.height, params.tileSize);
    const T = tiles.length;
    if (zUnits.length > T || planeUnits.length > T * progressive.planes) throw new BitstreamError('Progressive file has more units than its tiles and planes need');
    const L = progressive.planes;
    const weight = this.weights(params.quality100);
    const { invGain } = codec.gains(params.quality100 / 100);
    const zMode = zModes(codec);
    const channels = info.channels as Frame['channels'];
    const out: Frame = { data: new Uint8Array(info.width * info.height * channels), width: info.width, height: info.height, channels };
    const M = this.M;
    let planesAll = L;
    let decodedTrits = 0;
    let totalTrits = 0;
    // a resume state from a shorter prefix of this same file (same header units) carries on
    const resume = options.resume;
    const key = `${file.container.codecId}:${Buffer.from(data.subarray(0, zUnits[0]?.offset ?? data.length)).toString('base64')}`;
    if (resume && resume.key !== key) {
      resume.key = key;
      resume.tiles = [];
    }
    for (let ti = 0; ti < T; ti++) {
      const tile = tiles[ti];
      const { ph, pw, h, w, hz, wz } = codec.tileGeometry(tile, file.container.version);
      const Nz = m.config.Nz;
      const n = M * h * w;
      totalTrits += n * L;
      // the units a saved state was built from must be these very bytes
      const unitCrcs = (planes: number) => [zUnits[ti], ...Array.from({ length: planes }, (_, p) => planeUnits[p * T + ti])].map((u) => (u ? crc32(u.payload) : -1));
      const saved = resume?.tiles?.[ti];
      let st: TileState;
      let full = 0;
      if (saved && saved.planes <= maxPlanes && unitCrcs(saved.planes).every((c, i) => c === saved.crcs[i])) {
        st = saved.st;
        st.lo.set(saved.lo);
        st.rem.set(saved.rem);
        st.cache = undefined;
        st.pending = [];
        full = saved.planes;
      } else {
        // a z stream cut short is not used: z values filled in part by part make a hyperprior
        // that can get worse before it gets better, and the image must only improve with bytes
        const zComplete = zUnits[ti] !== undefined && zUnits[ti] !== file.container.tail;
        st = await this.tileStart(zComplete ? zUnits[ti] : undefined, zMode, Nz, hz, wz, h, w, L, signal);
      }
      const zComplete = zUnits[ti] !== undefined && zUnits[ti] !== file.container.tail;
      if (resume && zComplete && full === 0) (resume.tiles ??= [])[ti] = { st, planes: 0, lo: st.lo.slice(), rem: st.rem.slice(), crcs: unitCrcs(0) };
      decodedTrits += full * n;
      for (let p = full; p < Math.min(L, maxPlanes); p++) {
        const unit = planeUnits[p * T + ti];
        if (!unit) break;
        const third = POW3[L - p - 1];
        const done = await this.decodePlaneUnit(unit.payload, st, p, L, progressive, weight, third, signal);
        decodedTrits += done;
        if (done < n) break;
        full++;
        if (resume && zComplete) (resume.tiles ??= [])[ti] = { st, planes: full, lo: st.lo.slice(), rem: st.rem.slice(), crcs: unitCrcs(full) };
      }
      planesAll = Math.min(planesAll, full);
      // reconstruction: conditional means, refined by CDR where elements are unfinished
      const { feat, yhat: current } = currentFeatures(st);
      const yhat = Float32Array.from(current);
      let unfinished = false;
      for (let i = 0; i < n; i++) if (st.rem[i] > 0) unfinished = true;
      if (cdr && unfinished) {
        throwIfAborted(signal);
        const { delta } = await codec.sessions.run('prog_cdr', { feat: { data: feat, dims: [1, 3 * M, h, w] } }, signal);
        for (let i = 0; i < n; i++) {
          const r = st.rem[i];
          if (r === 0) continue;
          const W = POW3[r];
          const two = 2 * st.scale[i];
          yhat[i] += 0.5 * (W < two ? W : two) * delta.data[i];
        }
      }
      const hw = h * w;
      for (let c = 0; c < M; c++) {
        const g = invGain[c];
        for (let i = c * hw; i < (c + 1) * hw; i++) yhat[i] *= g;
      }
      throwIfAborted(signal);
      const { x_hat } = await codec.sessions.run('g_s', { y_hat: { data: yhat, dims: [1, M, h, w] } }, signal);
      pasteFrame(out, fromPlanar({ data: x_hat.data, width: pw, height: ph }, tile.width, tile.height, channels), tile);
    }
    if (alpha) {
      const a = decodeAlpha(alpha.payload, info.width, info.height, codec.rans);
      for (let i = 0; i < a.length; i++) out.data[i * channels + channels - 1] = a[i];
    }
    return {
      frame: out,
      info,
      progressive,
      bytes: data.length,
      planes: planesAll,
      fraction: totalTrits ? decodedTrits / totalTrits : 1,
      complete: file.container.complete && data.length === bytes.length,
    };
  }
}

/** Anchor and other element indexes of an M x h x w latent ((row + col) even = anchor). */
function checkerboardPasses(M: number, h: number, w: number): [Int32Array, Int32Array] {
  const hw = h * w;
  const anchors = new Int32Array(M * Math.ceil(hw / 2));
  const others = new Int32Array(M * hw - anchors.length);
  let a = 0;
  let o = 0;
  for (let c = 0; c < M; c++) {
    for (let i = 0; i < h; i++) {
      for (let j = 0; j < w; j++) {
        const e = c * hw + i * w + j;
        if (((i + j) & 1) === 0) anchors[a++] = e;
        else others[o++] = e;
      }
    }
  }
  return [anchors, others];
}

/**
 * Decodes one plane of one tile as far as the stream goes, updating the state of every
 * element whose trit arrived; returns the number of elements refined.
 */
function decodePlane(dec: RansDecoder, model: PlaneModel, st: TileState, third: number, tables: ReturnType<typeof tritTables>['tables']): number {
  const n = model.order.length;
  let done = 0;
  const a = new Int32Array(TRIT_CHUNK);
  const ia = new Int32Array(TRIT_CHUNK);
  const b = new Int32Array(TRIT_CHUNK);
  const ib = new Int32Array(TRIT_CHUNK);
  const outerIdx = new Int32Array(TRIT_CHUNK);
  for (let c0 = 0; c0 < n; c0 += TRIT_CHUNK) {
    const len = Math.min(n, c0 + TRIT_CHUNK) - c0;
    for (let k = 0; k < len; k++) ia[k] = model.outer[model.order[c0 + k]];
    const gotA = dec.decodePrefix(ia.subarray(0, len), tables, a.subarray(0, len));
    let nOuter = 0;
    for (let k = 0; k < gotA; k++) {
      const e = model.order[c0 + k];
      const v = a[k];
      if (v === 0) {
        st.lo[e] += third;
        st.rem[e]--;
        done++;
      } else if (v === 1) {
        outerIdx[nOuter] = e;
        ib[nOuter++] = model.upper[e];
      } else {
        throw new BitstreamError(`Progressive plane holds the value ${v} where a bit was expected`);
      }
    }
    if (gotA < len) return done;
    if (nOuter === 0) continue;
    const gotB = dec.decodePrefix(ib.subarray(0, nOuter), tables, b.subarray(0, nOuter));
    for (let k = 0; k < gotB; k++) {
      const e = outerIdx[k];
      const v = b[k];
      if (v !== 0 && v !== 1) throw new BitstreamError(`Progressive plane holds the value ${v} where a bit was expected`);
      st.lo[e] += v * 2 * third;
      st.rem[e]--;
      done++;
    }
    if (gotB < nOuter) return done;
  }
  return done;
}

/** The most likely value of each channel of z under its factorized prior. */
function zModes(codec: LearnedImageCodec): Int32Array {
  const prior = codec.bundle.tables.priorZ;
  const out = new Int32Array(prior.length);
  prior.forEach((t, c) => {
    let best = 0;
    for (let i = 1; i < t.pmf.length; i++) if (t.pmf[i] > t.pmf[best]) best = i;
    out[c] = t.offset + best;
  });
  return out;
}

/** The parts of a (possibly cut) progressive file. */
export interface ProgressiveFile {
  container: Container;
  info: ImageInfo;
  params: { quality100: number; tileSize: number };
  progressive: ProgressiveInfo;
  alpha?: ContainerUnit;
  /** Z_STREAM units present, the cut one included (its payload is partial). */
  zUnits: ContainerUnit[];
  /** PROGRESSIVE_PLANE units present, plane-major, the cut one included. */
  planeUnits: ContainerUnit[];
}

/** Whether a file (or a prefix of one) is a progressive stream. */
export function isProgressiveFile(bytes: Uint8Array): boolean {
  try {
    const c = readContainer(bytes, undefined, { allowTruncation: true });
    return c.units.some((u) => u.type === UnitType.PROGRESSIVE_INFO);
  } catch {
    return false;
  }
}

/**
 * Splits a progressive file or prefix into its parts.
 * @throws BitstreamError when the header units are cut off or out of order.
 */
export function readProgressive(bytes: Uint8Array, limits?: Partial<Limits>): ProgressiveFile {
  const container = readContainer(bytes, limits, { allowTruncation: true });
  const known = container.units.filter((u) => u.known);
  const need = (i: number, type: number, what: string) => {
    if (known[i]?.type !== type) {
      if (known.length <= i) throw new BitstreamError(`Progressive file cut off before its ${what} unit: ${bytes.length} bytes are not enough to decode`);
      throw new BitstreamError(`Progressive file has ${known[i].name} where ${what} belongs`);
    }
    return known[i];
  };
  const info = decodeImageInfo(need(0, UnitType.IMAGE_INFO, 'IMAGE_INFO').payload, limits);
  const params = decodeCodingParams(need(1, UnitType.CODING_PARAMS, 'CODING_PARAMS').payload);
  let i = 2;
  let alpha: ContainerUnit | undefined;
  if (info.alpha) alpha = need(i++, UnitType.ALPHA, 'ALPHA');
  const progressive = decodeProgressiveInfo(need(i++, UnitType.PROGRESSIVE_INFO, 'PROGRESSIVE_INFO').payload);
  const rest = container.tail?.known ? [...known.slice(i), container.tail] : known.slice(i);
  const zUnits: ContainerUnit[] = [];
  const planeUnits: ContainerUnit[] = [];
  for (const u of rest) {
    if (u.type === UnitType.Z_STREAM && planeUnits.length === 0) zUnits.push(u);
    else if (u.type === UnitType.PROGRESSIVE_PLANE) planeUnits.push(u);
    else throw new BitstreamError(`Unexpected unit ${u.name} in a progressive file`);
  }
  return { container, info, params, progressive, alpha, zUnits, planeUnits };
}

/**
 * A valid, complete file holding the first `maxBytes` bytes' worth of a progressive file:
 * the unit cut at the budget keeps the payload bytes that fit, with its length and CRC
 * rewritten, and an END unit closes the file. The result is at most `maxBytes` long.
 * @throws BitstreamError when the budget does not even hold the header units.
 */
export function truncateProgressive(bytes: Uint8Array, maxBytes: number): Uint8Array {
  if (!Number.isInteger(maxBytes) || maxBytes < 1) throw invalidOption('positive integer', 'bytes', maxBytes);
  const full = readProgressive(bytes);
  if (bytes.length <= maxBytes) return bytes.slice();
  const END_BYTES = 6;
  const units: UnitInput[] = [];
  let size = full.container.headerLength + END_BYTES;
  const unitSize = (len: number) => 1 + varLen(len) + len + 4;
  for (const u of full.container.units) {
    if (size + unitSize(u.payload.length) <= maxBytes) {
      units.push({ type: u.type, payload: u.payload });
      size += unitSize(u.payload.length);
      continue;
    }
    const room = maxBytes - size;
    if (u.type === UnitType.Z_STREAM || u.type === UnitType.PROGRESSIVE_PLANE) {
      let len = Math.min(u.payload.length, room - 6);
      while (len > 0 && unitSize(len) > room) len--;
      if (len >= 16) units.push({ type: u.type, payload: u.payload.subarray(0, len) });
    }
    break;
  }
  const out = writeContainer({ codecId: full.container.codecId, modelHash: full.container.modelHash, units });
  readProgressive(out); // throws when the budget cut into the header units
  return out;
}

function varLen(n: number): number {
  let k = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    k++;
  }
  return k;
}

export type { ProgressiveInfo, Tile };
