/**
 * P-frames: conditional coding of a frame given the previous decoded frame.
 *
 * Both sides build the prediction: the previous decoded frame moved by the coded block
 * motion (16x16 blocks, half pixels; see motion.ts), and its latent
 * y_pred = g_a(prediction) * gain (with the codec's int8 g_a_pred where it ships one). The current frame's latent y = g_a(x) * gain is coded with
 * its own hyperprior (z, factorized prior) and the codec's `temporal` net, which gives the
 * Gaussian mean and scale of every element from h_s(z_hat) and y_pred. Symbols are
 * round(y - mean) under the Gaussian table of their scale; the decoder rebuilds
 * y_hat = symbol + mean and runs g_s, exactly as for an I-frame at the same quality.
 *
 * Blocks whose prediction beats coding them (skip.ts) carry no symbols: the decoder takes the
 * temporal mean for their latent elements and pastes the prediction's pixels over them. z is
 * coded, or (no Z_STREAM) taken from the prediction as round(h_a(y_pred)) when the encoder
 * estimates that cheaper. A frame with every block skipped is its prediction: no z, no
 * symbols, no network run to decode it.
 *
 * Payload, in one of two layouts (PFrameCoderOptions.layout, from the sequence header's
 * frame format):
 * - 'compact' (frame format 1, written by default): a record of a flags byte, the quality, the
 *   motion and skip parameters when present, one rANS stream (motion differences, skip flags,
 *   z, y), the symbol checksum and a CRC32; about 41 bytes besides the symbols.
 * - 'container' (frame format 0, files from earlier builds): an NCDC container with
 *   IMAGE_INFO, CODING_PARAMS, MOTION or MOTION_ADAPTIVE, [SKIP], [Z_STREAM], Y_STREAM and
 *   SYMBOL_CHECKSUM, each stream on its own; about 150 bytes besides the symbols. SKIP is
 *   there only when a block is skipped; a payload of MOTION, Z_STREAM, Y_STREAM and
 *   SYMBOL_CHECKSUM is how P-frames were written before skip blocks, and still decodes.
 * The symbol checksum is the CRC32 of the z symbols, the coded y table indexes, the coded y
 * symbols and, when a block is skipped, the skip flags.
 */
import { ByteReader, ByteWriter } from '../bitstream/bytes.js';
import { checkModel, readContainer, writeContainer } from '../bitstream/container.js';
import { crc32 } from '../bitstream/crc32.js';
import type { Limits } from '../bitstream/limits.js';
import { UnitType } from '../bitstream/units.js';
import { imageHeaderUnits, parseImageHeader, rateIndex, type LearnedImageCodec } from '../codec/image.js';
import { channelIndexes } from '../entropy/factorized.js';
import { buildIndexes } from '../entropy/gaussian.js';
import { BitstreamError, ModelMismatchError, throwIfAborted } from '../errors.js';
import { fromPlanar, type Frame } from '../image/frame.js';
import type { Tensor4 } from '../model/session.js';
import { compensate, decodeMotion, decodeMotionAdaptive, encodeMotion, encodeMotionAdaptive, estimateMotion, luma, MOTION_PARAM_BYTES, pushMotion, readMotion, type MotionField } from './motion.js';
import { chooseSkips, decodeSkips, encodeSkips, estimateBits, pasteSkipped, pushSkips, readSkips, SKIP_LEVEL_BYTES } from './skip.js';

const bytesOf = (a: Int32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** Whether a codec can code P-frames (it ships the `temporal` net). */
export function supportsPFrames(codec: LearnedImageCodec): boolean {
  return codec.bundle.manifest.files.temporal !== undefined;
}

/** Mean absolute luma difference between a frame and its motion-compensated prediction. */
export function predictionError(cur: Uint8Array, pred: Uint8Array, width: number, height: number): number {
  const a = luma(cur, width, height);
  const b = luma(pred, width, height);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i] - b[i]);
  return s / a.length;
}

function roundAll(a: Float32Array): Int32Array {
  const out = new Int32Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = Math.round(a[i]);
  return out;
}

function encodeZ(rans: LearnedImageCodec['rans'], zSym: Int32Array, dims: Tensor4['dims'], tables: LearnedImageCodec['zTables']): Uint8Array {
  const enc = rans.createEncoder();
  try {
    enc.encodeWithIndexes(zSym, channelIndexes(dims[1], dims[2] * dims[3]), tables);
    return enc.flush();
  } finally {
    enc.dispose();
  }
}

/**
 * Default motion-search Lagrangian per unit of sqrt(3 / lambda) (see PFrameCoder.predict),
 * chosen by `npm run bench:video-tune` on sequences made from training photos.
 */
export const MOTION_SCALE = 0.5;

/** Default factor on the skip decision's Lagrangian (see PFrameCoderOptions.skipScale). */
export const SKIP_SCALE = 1;

/** The elements of a channel-major latent (channels x hw) outside the skipped positions. */
function keptOf<T extends Int32Array>(a: T, flags: Uint8Array, skipped: number): T {
  const hw = flags.length;
  const channels = a.length / hw;
  const out = new (a.constructor as new (n: number) => T)(channels * (hw - skipped));
  let k = 0;
  for (let c = 0; c < channels; c++) for (let p = 0, o = c * hw; p < hw; p++, o++) if (!flags[p]) out[k++] = a[o];
  return out;
}

/**
 * Checks a compact P-frame record's length and CRC (what `codec info` checks of each frame).
 * @throws BitstreamError for a record too short to hold its fields or a CRC mismatch.
 */
export function checkCompactPFrame(bytes: Uint8Array): void {
  if (bytes.length < 10) throw new BitstreamError(`P-frame record of ${bytes.length} bytes is truncated`);
  const end = bytes.length - 4;
  const crc = new ByteReader(bytes.subarray(end)).u32le('P-frame CRC');
  if (crc !== crc32(bytes.subarray(0, end)) >>> 0) throw new BitstreamError('P-frame record CRC mismatch (corrupt or truncated data)');
}

export interface PFrameCoderOptions {
  /** Let the encoder skip blocks whose prediction is good enough (default true). */
  skipBlocks?: boolean;
  /** Let the encoder take z from the prediction when that saves bits (default true). */
  predictZ?: boolean;
  /** Motion-search Lagrangian per unit of sqrt(3 / lambda) (default MOTION_SCALE). */
  motionScale?: number;
  /** Factor on the skip decision's 3 / lambda per bit (default SKIP_SCALE). */
  skipScale?: number;
  /**
   * Payload layout: 'compact' (one CRC-checked record with a single rANS stream; sequence
   * frame format 1, the default) or 'container' (an image container of units; frame format 0,
   * how earlier files were written).
   */
  layout?: PFrameLayout;
}

/** How a P-frame's payload is laid out (see PFrameCoderOptions.layout). */
export type PFrameLayout = 'compact' | 'container';

/** Flag bits of a compact P-frame record. */
const COMPACT_ADAPTIVE_MOTION = 1;
const COMPACT_SKIP = 2;
const COMPACT_Z = 4;

export class PFrameCoder {
  private readonly skipBlocks: boolean;
  private readonly predictZ: boolean;
  private readonly motionScale: number;
  private readonly skipScale: number;
  readonly layout: PFrameLayout;

  constructor(
    readonly codec: LearnedImageCodec,
    options: PFrameCoderOptions = {},
  ) {
    if (!supportsPFrames(codec)) throw new ModelMismatchError(`codec ${codec.id} has no temporal prior: it cannot code P-frames`);
    this.skipBlocks = options.skipBlocks ?? true;
    this.predictZ = options.predictZ ?? true;
    this.motionScale = options.motionScale ?? MOTION_SCALE;
    if (!(this.motionScale >= 0 && this.motionScale <= 100)) throw new RangeError(`motionScale ${this.motionScale} is not in [0, 100]`);
    this.skipScale = options.skipScale ?? SKIP_SCALE;
    if (!(this.skipScale >= 0 && this.skipScale <= 100)) throw new RangeError(`skipScale ${this.skipScale} is not in [0, 100]`);
    this.layout = options.layout ?? 'compact';
    if (this.layout !== 'compact' && this.layout !== 'container') throw new RangeError(`layout '${this.layout}' is not compact or container`);
  }

  /**
   * Squared-error units per bit at a quality (3 / lambda of the training loss
   * R + lambda * 255^2 * MSE, lambda interpolated geometrically as the gains are), or
   * undefined when the manifest lists no lambdas.
   */
  skipMultiplier(quality100: number): number | undefined {
    const lambdas = this.codec.bundle.manifest.quality?.lambdas;
    if (!lambdas || lambdas.length < 2) return undefined;
    const { lo, t } = rateIndex(quality100 / 100, lambdas.length);
    return 3 / (lambdas[lo] ** (1 - t) * lambdas[lo + 1] ** t);
  }

  /**
   * Motion of `cur` against the reference, and the prediction it gives. With a quality, the
   * search trades SAD against vector bits at motionScale * sqrt(3 / lambda) per bit (the
   * usual square root of the mode decision's Lagrangian for a SAD criterion).
   */
  predict(cur: Frame, ref: Frame, quality100?: number): { field: MotionField; prediction: Uint8Array } {
    const { width, height } = cur;
    const multiplier = quality100 === undefined ? undefined : this.skipMultiplier(quality100);
    const lambda = multiplier === undefined ? undefined : this.motionScale * Math.sqrt(multiplier);
    const field = estimateMotion(luma(cur.data, width, height), luma(ref.data, width, height), width, height, { lambda });
    return { field, prediction: compensate(ref.data, width, height, field) };
  }

  /**
   * The analysis graph of the prediction: `g_a_pred` (an int8 g_a, training/quantize_pred.py)
   * where the codec ships one, else g_a. Both coders use the same one.
   */
  get predictionStage(): string {
    return this.codec.bundle.manifest.files.g_a_pred ? 'g_a_pred' : 'g_a';
  }

  private async gained(rgb: Uint8Array, width: number, height: number, gain: Float32Array, signal?: AbortSignal, version?: number, stage = 'g_a'): Promise<Tensor4> {
    const y = await this.codec.analyse({ data: rgb, width, height, channels: 3 }, signal, version, stage);
    const hw = y.dims[2] * y.dims[3];
    const out = new Float32Array(y.data.length);
    for (let c = 0; c < y.dims[1]; c++) {
      const g = gain[c];
      for (let i = c * hw; i < (c + 1) * hw; i++) out[i] = y.data[i] * g;
    }
    return { data: out, dims: y.dims };
  }

  /** The temporal net's mean and scale, as table indexes, for a frame's hyperprior and prediction. */
  private async params(zHat: Tensor4, yPred: Tensor4, signal?: AbortSignal): Promise<{ mean: Float32Array; indexes: Int32Array }> {
    const hyper = await this.codec.hyperprior(zHat, yPred.dims[2], yPred.dims[3], signal);
    throwIfAborted(signal);
    const { mean, scale } = await this.codec.sessions.run('temporal', { hyper, y_pred: yPred }, signal);
    if (mean.data.length !== yPred.data.length) throw new ModelMismatchError('temporal net output does not match the latent');
    return { mean: mean.data, indexes: buildIndexes(scale.data, this.codec.scaleTable) };
  }

  private async synthesise(yHat: Float32Array, dims: Tensor4['dims'], quality100: number, width: number, height: number, signal?: AbortSignal): Promise<Frame> {
    const { invGain } = this.codec.gains(quality100 / 100);
    const hw = dims[2] * dims[3];
    for (let c = 0; c < dims[1]; c++) {
      const g = invGain[c];
      for (let i = c * hw; i < (c + 1) * hw; i++) yHat[i] *= g;
    }
    throwIfAborted(signal);
    const { x_hat } = await this.codec.sessions.run('g_s', { y_hat: { data: yHat, dims } }, signal);
    return fromPlanar({ data: x_hat.data, width: dims[3] * 16, height: dims[2] * 16 }, width, height, 3);
  }

  /**
   * Codes `cur` (RGB) against the reference `ref` (the previous decoded frame). Returns the
   * payload and the decoded frame, which is the next reference.
   */
  async encode(cur: Frame, ref: Frame, quality100: number, signal?: AbortSignal, motion?: { field: MotionField; prediction: Uint8Array }): Promise<{ bytes: Uint8Array; decoded: Frame }> {
    const { width, height } = cur;
    const { field, prediction } = motion ?? this.predict(cur, ref, quality100);
    const { gain } = this.codec.gains(quality100 / 100);
    const y = await this.gained(cur.data, width, height, gain, signal);
    const yPred = await this.gained(prediction, width, height, gain, signal, undefined, this.predictionStage);
    const [, channels, h, w] = y.dims;
    const hw = h * w;
    const rans = this.codec.rans;
    const latentBits = (m: { mean: Float32Array; indexes: Int32Array }) => {
      const sym = new Int32Array(y.data.length);
      for (let i = 0; i < sym.length; i++) sym[i] = Math.round(y.data[i] - m.mean[i]);
      return estimateBits(sym, m.indexes, this.codec.scaleTable);
    };
    // z coded, or taken from the prediction (no bits) when that costs fewer bits in all
    const { z } = await this.codec.sessions.run('h_a', { y }, signal);
    let zSym = roundAll(z.data);
    let zStream: Uint8Array | undefined = encodeZ(rans, zSym, z.dims, this.codec.zTables);
    let { mean, indexes } = await this.params({ data: Float32Array.from(zSym), dims: z.dims }, yPred, signal);
    if (this.predictZ) {
      const zp = roundAll((await this.codec.sessions.run('h_a', { y: yPred }, signal)).z.data);
      const predicted = await this.params({ data: Float32Array.from(zp), dims: z.dims }, yPred, signal);
      if (latentBits(predicted) <= zStream.length * 8 + latentBits({ mean, indexes })) {
        ({ mean, indexes } = predicted);
        zSym = zp;
        zStream = undefined;
      }
    }
    const ySym = new Int32Array(y.data.length);
    const yHat = new Float32Array(y.data.length);
    for (let i = 0; i < ySym.length; i++) {
      ySym[i] = Math.round(y.data[i] - mean[i]);
      yHat[i] = ySym[i] + mean[i];
    }
    let decoded = await this.synthesise(Float32Array.from(yHat), y.dims, quality100, width, height, signal);
    let flags: Uint8Array = new Uint8Array(hw);
    const multiplier = this.skipBlocks ? this.skipMultiplier(quality100) : undefined;
    if (multiplier !== undefined) {
      flags = chooseSkips(cur.data, prediction, decoded.data, width, height, { symbols: ySym, indexes, channels, h, w, scaleTable: this.codec.scaleTable }, multiplier * this.skipScale);
    }
    let skipped = 0;
    for (const f of flags) skipped += f;
    if (skipped === hw) {
      // every block skipped: the frame is its prediction, with no z and no latent symbols
      zSym = new Int32Array(0);
      zStream = undefined;
      decoded = { data: prediction, width, height, channels: 3 };
    } else if (skipped > 0) {
      // the decoder's reconstruction: temporal means where blocks are skipped, then their prediction pasted
      for (let p = 0; p < hw; p++) if (flags[p]) for (let c = 0, o = p; c < channels; c++, o += hw) yHat[o] = mean[o];
      decoded = await this.synthesise(yHat, y.dims, quality100, width, height, signal);
      pasteSkipped(decoded.data, prediction, width, height, flags, w);
    }
    const keptSym = keptOf(ySym, flags, skipped);
    const keptIdx = keptOf(indexes, flags, skipped);
    const crc = crc32(bytesOf(keptSym), crc32(bytesOf(keptIdx), crc32(bytesOf(zSym))));
    const checksum = (skipped > 0 ? crc32(flags, crc) : crc) >>> 0;
    if (this.layout === 'compact') {
      const enc = rans.createEncoder();
      let stream: Uint8Array;
      let params: Uint8Array | undefined;
      let levels: Uint8Array | undefined;
      try {
        params = pushMotion(enc, field, rans);
        if (skipped > 0) levels = pushSkips(enc, flags, w, h);
        if (skipped < hw) {
          if (zStream) enc.encodeWithIndexes(zSym, channelIndexes(z.dims[1], z.dims[2] * z.dims[3]), this.codec.zTables);
          enc.encodeWithIndexes(keptSym, keptIdx, this.codec.yTables);
        }
        stream = enc.flush();
      } finally {
        enc.dispose();
      }
      const bits = (params ? COMPACT_ADAPTIVE_MOTION : 0) | (levels ? COMPACT_SKIP : 0) | (zStream ? COMPACT_Z : 0);
      const wr = new ByteWriter(stream.length + 32).u8(bits).varuint(quality100);
      if (params) wr.bytes(params);
      if (levels) wr.bytes(levels);
      const body = wr.bytes(stream).u32le(checksum).finish();
      return { bytes: new ByteWriter(body.length + 4).bytes(body).u32le(crc32(body) >>> 0).finish(), decoded };
    }
    const yEnc = rans.createEncoder();
    let yStream: Uint8Array;
    try {
      yEnc.encodeWithIndexes(keptSym, keptIdx, this.codec.yTables);
      yStream = yEnc.flush();
    } finally {
      yEnc.dispose();
    }
    const pad = this.codec.bundle.manifest.paddingFactor;
    const units = imageHeaderUnits(cur, quality100, Math.ceil(Math.max(width, height) / pad) * pad, this.codec.rans);
    // the vectors with the fixed table or with per-frame context parameters, whichever is shorter
    const fixed = encodeMotion(field, rans);
    const adaptive = encodeMotionAdaptive(field, rans);
    units.push(adaptive.length < fixed.length ? { type: UnitType.MOTION_ADAPTIVE, payload: adaptive } : { type: UnitType.MOTION, payload: fixed });
    if (skipped > 0) units.push({ type: UnitType.SKIP, payload: encodeSkips(flags, w, h, rans) });
    if (zStream) units.push({ type: UnitType.Z_STREAM, payload: zStream });
    units.push(
      { type: UnitType.Y_STREAM, payload: yStream },
      { type: UnitType.SYMBOL_CHECKSUM, payload: new ByteWriter(4).u32le(checksum).finish() },
    );
    const bytes = writeContainer({ codecId: this.codec.id, modelHash: this.codec.bundle.hashPrefix, units });
    return { bytes, decoded };
  }

  /**
   * Decodes a P-frame payload (in this coder's layout) against the previous decoded frame.
   * @throws BitstreamError for a corrupt payload, a size that differs from the reference or
   *   decoded symbols that do not match the checksum; ModelMismatchError for another model.
   */
  async decode(bytes: Uint8Array, ref: Frame, options: { signal?: AbortSignal; limits?: Partial<Limits> } = {}): Promise<Frame> {
    if (ref.channels !== 3) throw new BitstreamError(`a P-frame's reference must be RGB (it has ${ref.channels} channels)`);
    return this.layout === 'compact' ? this.decodeCompact(bytes, ref, options.signal) : this.decodeContainer(bytes, ref, options);
  }

  /**
   * A compact record: flags (u8: 1 motion with per-frame context parameters, 2 skip flags,
   * 4 z coded), quality x 100 (varint), the motion parameters (9 bytes) and skip
   * probabilities (4 bytes) when flagged, one rANS stream (motion differences, skip flags,
   * z symbols, the y symbols of the blocks not skipped), the symbol checksum (u32le) and a
   * CRC32 (u32le) of everything before it. Its size is the reference's (the sequence's).
   */
  private async decodeCompact(bytes: Uint8Array, ref: Frame, signal?: AbortSignal): Promise<Frame> {
    checkCompactPFrame(bytes);
    const end = bytes.length - 4;
    const stored = new ByteReader(bytes.subarray(end - 4, end)).u32le('P-frame checksum');
    const r = new ByteReader(bytes.subarray(0, end - 4));
    const bits = r.u8('P-frame flags');
    if (bits & ~(COMPACT_ADAPTIVE_MOTION | COMPACT_SKIP | COMPACT_Z)) throw new BitstreamError(`P-frame flags 0x${bits.toString(16)} set reserved bits`);
    const quality100 = r.varuint('P-frame quality');
    if (quality100 < 100 || quality100 > 10000) throw new BitstreamError(`P-frame quality ${quality100 / 100} is outside 1..100`);
    const params = bits & COMPACT_ADAPTIVE_MOTION ? r.bytes(MOTION_PARAM_BYTES, 'P-frame motion parameters') : undefined;
    const levels = bits & COMPACT_SKIP ? r.bytes(SKIP_LEVEL_BYTES, 'P-frame skip probabilities') : undefined;
    const { width, height } = ref;
    const g = this.codec.tileGeometry({ width, height });
    const dec = this.codec.rans.createDecoder(bytes.subarray(r.position, end - 4));
    try {
      const field = readMotion(dec, width, height, params, 'P-frame motion');
      const flags = levels ? readSkips(dec, g.w, g.h, levels, 'P-frame skip') : new Uint8Array(g.h * g.w);
      return await this.rebuild(
        {
          quality100,
          field,
          flags,
          zCoded: (bits & COMPACT_Z) !== 0,
          readZ: (idx) => dec.decodeWithIndexes(idx, this.codec.zTables),
          readY: (idx) => dec.decodeWithIndexes(idx, this.codec.yTables),
          finish: () => dec.finish(),
          stored,
        },
        ref,
        undefined,
        signal,
      );
    } finally {
      dec.dispose();
    }
  }

  /** An image container of units (frame format 0). */
  private async decodeContainer(bytes: Uint8Array, ref: Frame, options: { signal?: AbortSignal; limits?: Partial<Limits> }): Promise<Frame> {
    const file = readContainer(bytes, options.limits);
    checkModel(file, { codecId: this.codec.id, modelHash: this.codec.bundle.hashPrefix });
    const { known, info, params, next } = parseImageHeader(file.units, options.limits);
    if (info.width !== ref.width || info.height !== ref.height || info.channels !== 3) {
      throw new BitstreamError(`P-frame is ${info.width}x${info.height} with ${info.channels} channels; its reference is ${ref.width}x${ref.height} RGB`);
    }
    const rest = known.slice(next);
    const su = rest[1]?.type === UnitType.SKIP ? rest.splice(1, 1)[0] : undefined;
    const zu = rest[1]?.type === UnitType.Z_STREAM ? rest.splice(1, 1)[0] : undefined;
    const [mu, yu, cu] = rest;
    if ((mu?.type !== UnitType.MOTION && mu?.type !== UnitType.MOTION_ADAPTIVE) || yu?.type !== UnitType.Y_STREAM || cu?.type !== UnitType.SYMBOL_CHECKSUM || rest.length !== 3) {
      throw new BitstreamError('P-frame units are not MOTION or MOTION_ADAPTIVE, [SKIP,] [Z_STREAM,] Y_STREAM, SYMBOL_CHECKSUM');
    }
    const { width, height } = info;
    const field = (mu.type === UnitType.MOTION ? decodeMotion : decodeMotionAdaptive)(mu.payload, width, height, this.codec.rans);
    const g = this.codec.tileGeometry({ width, height }, file.version);
    const rans = this.codec.rans;
    const flags = su ? decodeSkips(su.payload, g.w, g.h, rans) : new Uint8Array(g.h * g.w);
    const reader = new ByteReader(cu.payload);
    const stored = reader.u32le('SYMBOL_CHECKSUM');
    reader.expectEnd('SYMBOL_CHECKSUM');
    // each stream is its own: read whole, then checked for its end
    const whole = (payload: Uint8Array, idx: Int32Array | undefined, tables: LearnedImageCodec['yTables']) => {
      const d = rans.createDecoder(payload);
      try {
        const out = idx ? d.decodeWithIndexes(idx, tables) : new Int32Array(0);
        d.finish();
        return out;
      } finally {
        d.dispose();
      }
    };
    let yRead = false;
    return this.rebuild(
      {
        quality100: params.quality100,
        field,
        flags,
        zCoded: zu !== undefined,
        readZ: (idx) => whole(zu!.payload, idx, this.codec.zTables),
        readY: (idx) => {
          yRead = true;
          return whole(yu.payload, idx, this.codec.yTables);
        },
        // a frame with every block skipped still has an (empty) Y_STREAM
        finish: () => void (yRead || whole(yu.payload, undefined, this.codec.yTables)),
        stored,
      },
      ref,
      file.version,
      options.signal,
    );
  }

  /**
   * Everything after the motion and skip flags, in either layout: the prediction, then for
   * a frame not wholly skipped y_pred, z (read or from the prediction), the temporal
   * parameters, the y symbols, the checksum and the reconstruction.
   */
  private async rebuild(
    src: {
      quality100: number;
      field: MotionField;
      flags: Uint8Array;
      zCoded: boolean;
      readZ: (indexes: Int32Array) => Int32Array;
      readY: (indexes: Int32Array) => Int32Array;
      /** end-of-stream checks, once every symbol is read */
      finish: () => void;
      stored: number;
    },
    ref: Frame,
    version: number | undefined,
    signal?: AbortSignal,
  ): Promise<Frame> {
    const { width, height } = ref;
    const { flags, stored } = src;
    const prediction = compensate(ref.data, width, height, src.field);
    const g = this.codec.tileGeometry({ width, height }, version);
    let skipped = 0;
    for (const f of flags) skipped += f;
    const drift = () => new BitstreamError('Decoded P-frame symbols do not match the stream checksum (encoder/decoder drift or corrupt data)');
    if (skipped === flags.length) {
      // every block skipped: the frame is its prediction; no z, no latent symbols, no networks
      if (src.zCoded) throw new BitstreamError('P-frame with every block skipped carries z');
      src.finish();
      if (crc32(flags) >>> 0 !== stored) throw drift();
      return { data: prediction, width, height, channels: 3 };
    }
    const { gain } = this.codec.gains(src.quality100 / 100);
    const yPred = await this.gained(prediction, width, height, gain, signal, version, this.predictionStage);
    const Nz = this.codec.bundle.manifest.config.Nz;
    let zSym: Int32Array;
    if (src.zCoded) {
      zSym = src.readZ(channelIndexes(Nz, g.hz * g.wz));
    } else {
      // no z coded: z is the rounded hyper-analysis of the prediction's latent
      const { z } = await this.codec.sessions.run('h_a', { y: yPred }, signal);
      if (z.data.length !== Nz * g.hz * g.wz) throw new ModelMismatchError('h_a output does not match the hyper-latent grid');
      zSym = roundAll(z.data);
    }
    const [, channels, h, w] = yPred.dims;
    const hw = h * w;
    if (h !== g.h || w !== g.w) throw new ModelMismatchError('g_a output does not match the latent grid');
    const { mean, indexes } = await this.params({ data: Float32Array.from(zSym), dims: [1, Nz, g.hz, g.wz] }, yPred, signal);
    const keptIdx = keptOf(indexes, flags, skipped);
    const keptSym = src.readY(keptIdx);
    src.finish();
    const crc = crc32(bytesOf(keptSym), crc32(bytesOf(keptIdx), crc32(bytesOf(zSym))));
    if (((skipped > 0 ? crc32(flags, crc) : crc) >>> 0) !== stored) throw drift();
    const yHat = Float32Array.from(mean);
    for (let c = 0, k = 0; c < channels; c++) for (let p = 0, o = c * hw; p < hw; p++, o++) if (!flags[p]) yHat[o] += keptSym[k++];
    const frame = await this.synthesise(yHat, yPred.dims, src.quality100, width, height, signal);
    if (skipped > 0) pasteSkipped(frame.data, prediction, width, height, flags, w);
    return frame;
  }
}
