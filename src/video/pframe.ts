/**
 * P-frames: conditional coding of a frame given the previous decoded frame.
 *
 * Both sides build the prediction: the previous decoded frame moved by the coded block
 * motion (16x16 blocks, integer pixels; see motion.ts), and its latent
 * y_pred = g_a(prediction) * gain. The current frame's latent y = g_a(x) * gain is coded with
 * its own hyperprior (z, factorized prior) and the codec's `temporal` net, which gives the
 * Gaussian mean and scale of every element from h_s(z_hat) and y_pred. Symbols are
 * round(y - mean) under the Gaussian table of their scale; the decoder rebuilds
 * y_hat = symbol + mean and runs g_s, exactly as for an I-frame at the same quality.
 *
 * Payload: an NCDC container with IMAGE_INFO, CODING_PARAMS, MOTION, Z_STREAM, Y_STREAM and
 * SYMBOL_CHECKSUM (CRC32 of the z symbols, the y table indexes and the y symbols).
 */
import { ByteReader, ByteWriter } from '../bitstream/bytes.js';
import { checkModel, readContainer, writeContainer } from '../bitstream/container.js';
import { crc32 } from '../bitstream/crc32.js';
import type { Limits } from '../bitstream/limits.js';
import { UnitType } from '../bitstream/units.js';
import { imageHeaderUnits, parseImageHeader, type LearnedImageCodec } from '../codec/image.js';
import { channelIndexes } from '../entropy/factorized.js';
import { buildIndexes } from '../entropy/gaussian.js';
import { BitstreamError, ModelMismatchError, throwIfAborted } from '../errors.js';
import { fromPlanar, type Frame } from '../image/frame.js';
import type { Tensor4 } from '../model/session.js';
import { compensate, decodeMotion, encodeMotion, estimateMotion, luma, type MotionField } from './motion.js';

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

export class PFrameCoder {
  constructor(readonly codec: LearnedImageCodec) {
    if (!supportsPFrames(codec)) throw new ModelMismatchError(`codec ${codec.id} has no temporal prior: it cannot code P-frames`);
  }

  /** Motion of `cur` against the reference, and the prediction it gives. */
  predict(cur: Frame, ref: Frame): { field: MotionField; prediction: Uint8Array } {
    const { width, height } = cur;
    const field = estimateMotion(luma(cur.data, width, height), luma(ref.data, width, height), width, height);
    return { field, prediction: compensate(ref.data, width, height, field) };
  }

  private async gained(rgb: Uint8Array, width: number, height: number, gain: Float32Array, signal?: AbortSignal, version?: number): Promise<Tensor4> {
    const y = await this.codec.analyse({ data: rgb, width, height, channels: 3 }, signal, version);
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
    const { field, prediction } = motion ?? this.predict(cur, ref);
    const { gain } = this.codec.gains(quality100 / 100);
    const y = await this.gained(cur.data, width, height, gain, signal);
    const yPred = await this.gained(prediction, width, height, gain, signal);
    const { z } = await this.codec.sessions.run('h_a', { y }, signal);
    const zSym = new Int32Array(z.data.length);
    for (let i = 0; i < zSym.length; i++) zSym[i] = Math.round(z.data[i]);
    const { mean, indexes } = await this.params({ data: Float32Array.from(zSym), dims: z.dims }, yPred, signal);
    const ySym = new Int32Array(y.data.length);
    const yHat = new Float32Array(y.data.length);
    for (let i = 0; i < ySym.length; i++) {
      ySym[i] = Math.round(y.data[i] - mean[i]);
      yHat[i] = ySym[i] + mean[i];
    }
    const rans = this.codec.rans;
    const zEnc = rans.createEncoder();
    const yEnc = rans.createEncoder();
    let zStream: Uint8Array;
    let yStream: Uint8Array;
    try {
      zEnc.encodeWithIndexes(zSym, channelIndexes(z.dims[1], z.dims[2] * z.dims[3]), this.codec.zTables);
      yEnc.encodeWithIndexes(ySym, indexes, this.codec.yTables);
      zStream = zEnc.flush();
      yStream = yEnc.flush();
    } finally {
      zEnc.dispose();
      yEnc.dispose();
    }
    const crc = crc32(bytesOf(ySym), crc32(bytesOf(indexes), crc32(bytesOf(zSym))));
    const pad = this.codec.bundle.manifest.paddingFactor;
    const units = imageHeaderUnits(cur, quality100, Math.ceil(Math.max(width, height) / pad) * pad, this.codec.rans);
    units.push(
      { type: UnitType.MOTION, payload: encodeMotion(field, rans) },
      { type: UnitType.Z_STREAM, payload: zStream },
      { type: UnitType.Y_STREAM, payload: yStream },
      { type: UnitType.SYMBOL_CHECKSUM, payload: new ByteWriter(4).u32le(crc >>> 0).finish() },
    );
    const bytes = writeContainer({ codecId: this.codec.id, modelHash: this.codec.bundle.hashPrefix, units });
    const decoded = await this.synthesise(yHat, y.dims, quality100, width, height, signal);
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
    const [mu, zu, yu, cu] = known.slice(next);
    if (mu?.type !== UnitType.MOTION || zu?.type !== UnitType.Z_STREAM || yu?.type !== UnitType.Y_STREAM || cu?.type !== UnitType.SYMBOL_CHECKSUM || known.length !== next + 4) {
      throw new BitstreamError('P-frame units are not MOTION, Z_STREAM, Y_STREAM, SYMBOL_CHECKSUM');
    }
    const { width, height } = info;
    const field = decodeMotion(mu.payload, width, height, this.codec.rans);
    const prediction = compensate(ref.data, width, height, field);
    const { gain } = this.codec.gains(params.quality100 / 100);
    const yPred = await this.gained(prediction, width, height, gain, signal, file.version);
    const g = this.codec.tileGeometry({ width, height }, file.version);
    const Nz = this.codec.bundle.manifest.config.Nz;
    const rans = this.codec.rans;
    const zDec = rans.createDecoder(zu.payload);
    let zSym: Int32Array;
    try {
      zSym = zDec.decodeWithIndexes(channelIndexes(Nz, g.hz * g.wz), this.codec.zTables);
      zDec.finish();
    } finally {
      zDec.dispose();
    }
    const { mean, indexes } = await this.params({ data: Float32Array.from(zSym), dims: [1, Nz, g.hz, g.wz] }, yPred, signal);
    const yDec = rans.createDecoder(yu.payload);
    let ySym: Int32Array;
    try {
      ySym = yDec.decodeWithIndexes(indexes, this.codec.yTables);
      yDec.finish();
    } finally {
      yDec.dispose();
    }
    const reader = new ByteReader(cu.payload);
    const stored = reader.u32le('SYMBOL_CHECKSUM');
    reader.expectEnd('SYMBOL_CHECKSUM');
    if ((crc32(bytesOf(ySym), crc32(bytesOf(indexes), crc32(bytesOf(zSym)))) >>> 0) !== stored) {
      throw new BitstreamError('Decoded P-frame symbols do not match the stream checksum (encoder/decoder drift or corrupt data)');
    }
    const yHat = new Float32Array(ySym.length);
    for (let i = 0; i < yHat.length; i++) yHat[i] = ySym[i] + mean[i];
    return this.synthesise(yHat, yPred.dims, params.quality100, width, height, signal);
  }
}
