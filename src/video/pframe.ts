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
 * Payload: an NCDC container with IMAGE_INFO, CODING_PARAMS, MOTION or MOTION_ADAPTIVE,
 * [SKIP], [Z_STREAM], Y_STREAM and SYMBOL_CHECKSUM (CRC32 of the z symbols, the coded y table
 * indexes, the coded y symbols and, when SKIP is there, the skip flags). SKIP is there only
 * when a block is skipped; a payload of MOTION, Z_STREAM, Y_STREAM and SYMBOL_CHECKSUM is how
 * P-frames were written before these tools, and still decodes.
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
import { compensate, decodeMotion, decodeMotionAdaptive, encodeMotion, encodeMotionAdaptive, estimateMotion, luma, type MotionField } from './motion.js';
import { chooseSkips, decodeSkips, encodeSkips, estimateBits, pasteSkipped } from './skip.js';

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

export interface PFrameCoderOptions {
  /** Let the encoder skip blocks whose prediction is good enough (default true). */
  skipBlocks?: boolean;
  /** Let the encoder take z from the prediction when that saves bits (default true). */
  predictZ?: boolean;
  /** Motion-search Lagrangian per unit of sqrt(3 / lambda) (default MOTION_SCALE). */
  motionScale?: number;
  /** Factor on the skip decision's 3 / lambda per bit (default SKIP_SCALE). */
  skipScale?: number;
}

export class PFrameCoder {
  private readonly skipBlocks: boolean;
  private readonly predictZ: boolean;
  private readonly motionScale: number;
  private readonly skipScale: number;

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
    const yEnc = rans.createEncoder();
    let yStream: Uint8Array;
    try {
      yEnc.encodeWithIndexes(keptSym, keptIdx, this.codec.yTables);
      yStream = yEnc.flush();
    } finally {
      yEnc.dispose();
    }
    const crc = crc32(bytesOf(keptSym), crc32(bytesOf(keptIdx), crc32(bytesOf(zSym))));
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
      { type: UnitType.SYMBOL_CHECKSUM, payload: new ByteWriter(4).u32le((skipped > 0 ? crc32(flags, crc) : crc) >>> 0).finish() },
    );
    const bytes = writeContainer({ codecId: this.codec.id, modelHash: this.codec.bundle.hashPrefix, units });
    return { bytes, decoded };
  }

  /**
   * Decodes a P-frame payload against the previous decoded frame.
   * @throws BitstreamError for a corrupt payload, a size that differs from the reference or
   *   decoded symbols that do not match the checksum; ModelMismatchError for another model.
   */
  async decode(bytes: Uint8Array, ref: Frame, options: { signal?: AbortSignal; limits?: Partial<Limits> } = {}): Promise<Frame> {
    const { signal } = options;
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
    const prediction = compensate(ref.data, width, height, field);
    const g = this.codec.tileGeometry({ width, height }, file.version);
    const rans = this.codec.rans;
    const flags = su ? decodeSkips(su.payload, g.w, g.h, rans) : new Uint8Array(g.h * g.w);
    let skipped = 0;
    for (const f of flags) skipped += f;
    const reader = new ByteReader(cu.payload);
    const stored = reader.u32le('SYMBOL_CHECKSUM');
    reader.expectEnd('SYMBOL_CHECKSUM');
    if (skipped === flags.length) {
      // every block skipped: the frame is its prediction; no z, no latent symbols, no networks
      if (zu) throw new BitstreamError('P-frame with every block skipped carries a Z_STREAM');
      const yDec = rans.createDecoder(yu.payload);
      try {
        yDec.finish();
      } finally {
        yDec.dispose();
      }
      if (crc32(flags) >>> 0 !== stored) throw new BitstreamError('Decoded P-frame symbols do not match the stream checksum (encoder/decoder drift or corrupt data)');
      return { data: prediction, width, height, channels: 3 };
    }
    const { gain } = this.codec.gains(params.quality100 / 100);
    const yPred = await this.gained(prediction, width, height, gain, signal, file.version, this.predictionStage);
    const Nz = this.codec.bundle.manifest.config.Nz;
    let zSym: Int32Array;
    if (zu) {
      const zDec = rans.createDecoder(zu.payload);
      try {
        zSym = zDec.decodeWithIndexes(channelIndexes(Nz, g.hz * g.wz), this.codec.zTables);
        zDec.finish();
      } finally {
        zDec.dispose();
      }
    } else {
      // no Z_STREAM: z is the rounded hyper-analysis of the prediction's latent
      const { z } = await this.codec.sessions.run('h_a', { y: yPred }, signal);
      if (z.data.length !== Nz * g.hz * g.wz) throw new ModelMismatchError('h_a output does not match the hyper-latent grid');
      zSym = roundAll(z.data);
    }
    const [, channels, h, w] = yPred.dims;
    const hw = h * w;
    if (h !== g.h || w !== g.w) throw new ModelMismatchError('g_a output does not match the latent grid');
    const { mean, indexes } = await this.params({ data: Float32Array.from(zSym), dims: [1, Nz, g.hz, g.wz] }, yPred, signal);
    const keptIdx = keptOf(indexes, flags, skipped);
    const yDec = rans.createDecoder(yu.payload);
    let keptSym: Int32Array;
    try {
      keptSym = yDec.decodeWithIndexes(keptIdx, this.codec.yTables);
      yDec.finish();
    } finally {
      yDec.dispose();
    }
    const crc = crc32(bytesOf(keptSym), crc32(bytesOf(keptIdx), crc32(bytesOf(zSym))));
    if (((su ? crc32(flags, crc) : crc) >>> 0) !== stored) {
      throw new BitstreamError('Decoded P-frame symbols do not match the stream checksum (encoder/decoder drift or corrupt data)');
    }
    const yHat = Float32Array.from(mean);
    for (let c = 0, k = 0; c < channels; c++) for (let p = 0, o = c * hw; p < hw; p++, o++) if (!flags[p]) yHat[o] += keptSym[k++];
    const frame = await this.synthesise(yHat, yPred.dims, params.quality100, width, height, signal);
    if (skipped > 0) pasteSkipped(frame.data, prediction, width, height, flags, w);
    return frame;
  }
}
