/**
 * The BSQ codec: binary spherical quantization tokens (one d-bit token per 16x16 pixels)
 * coded with rANS under a bit context model, and the token API behind tokenize() and
 * detokenize().
 *
 * Graphs: bsq_enc (image -> v, token bit i = v_i >= 0), bsq_ctx (bits known so far, +-1 and
 * 0 for unknown -> a logit per bit), bsq_dec (+-1 per kept bit, 0 for dropped -> image).
 * A file keeps the first k of the model's nested bit groups: fewer groups, fewer bits.
 *
 * File: IMAGE_INFO, CODING_PARAMS, [ALPHA], BSQ_INFO, then per tile BSQ_TOKENS and
 * SYMBOL_CHECKSUM (a CRC of every table index and bit, so drift fails loudly).
 */
import { ByteReader, ByteWriter } from '../bitstream/bytes.js';
import { encodeBsqInfo, decodeBsqInfo, type BsqInfo } from '../bitstream/bsq-info.js';
import { checkModel, readContainer, writeContainer, type ContainerUnit } from '../bitstream/container.js';
import { crc32 } from '../bitstream/crc32.js';
import type { ImageInfo } from '../bitstream/image-info.js';
import type { Limits } from '../bitstream/limits.js';
import { UnitType } from '../bitstream/units.js';
import type { RansCoder } from '../coder/types.js';
import { loadRans } from '../coder/wasm.js';
import { BitstreamError, ModelMismatchError, invalidOption, throwIfAborted } from '../errors.js';
import { fromPlanar, toPaddedPlanar, type Frame } from '../image/frame.js';
import { loadCodecBundle, type CodecBundle } from '../model/manifest.js';
import { ModelSessions } from '../model/session.js';
import { groupCodes, latentBits, logitIndex, phasePositions, planesToTokens, signsOf, tokensToPlanes, type BsqLayout } from '../quant/bsq.js';
import { tritTables } from '../quant/tritplane.js';
import { decodeAlpha } from './alpha.js';
import { SINGLE_TILE_PIXELS, cropFrame, imageHeaderUnits, parseImageHeader, pasteFrame, tilesOf, type Tile } from './image.js';

/** Tile side for images larger than SINGLE_TILE_PIXELS. */
export const BSQ_DEFAULT_TILE = 1280;
/** Pixels per token side. */
export const BSQ_STRIDE = 16;

/** Tokens of an image: what {@link BsqCodec.tokenize} returns and {@link BsqCodec.detokenize} takes. */
export interface BsqTokens {
  /** Image size in pixels. */
  width: number;
  height: number;
  /** Token grid [rows, cols]: ceil(height / 16) x ceil(width / 16). */
  shape: [number, number];
  /** Bits per token of the model. */
  d: number;
  /** Bits per group; a token holds `groups * groupBits` bits. */
  groupBits: number;
  /** Groups kept (the first ones of each token), 1..d/groupBits. */
  groups: number;
  /** Tile side in pixels the tokens were made with (tiles are analysed independently). */
  tileSize: number;
  /** Token-major bits, 0 or 1: token t (row-major over the grid) holds bits[t * groups * groupBits ...]. */
  bits: Uint8Array;
  /** The codec that made them, and the first 16 hex digits of its model hash (checked when present). */
  codec: string;
  modelHash?: string;
}

export interface BsqEncodeOptions {
  /** Groups to keep, 1..G (default G). */
  groups?: number;
  /** Tile side, a multiple of 16. */
  tileSize?: number;
  /** Quality recorded in the file (1..100); the groups decide the rate. */
  quality?: number;
  signal?: AbortSignal;
}

const bytesOf = (a: Int32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');

/** A loaded BSQ codec. Create with {@link BsqCodec.load}; call dispose() when done. */
export class BsqCodec {
  readonly layout: BsqLayout;

  private constructor(
    readonly bundle: CodecBundle,
    /** @internal */
    readonly sessions: ModelSessions,
    /** @internal */
    readonly rans: RansCoder,
  ) {
    const m = bundle.manifest;
    if (m.kind !== 'bsq' || !m.bsq) throw new ModelMismatchError(`Codec ${m.id} is not a BSQ codec (kind ${m.kind})`);
    const { d, groups, groupBits } = m.bsq;
    if (!(d >= 1 && d <= 64 && groups >= 1 && groupBits * groups === d)) throw new ModelMismatchError(`Codec ${m.id} has an inconsistent BSQ geometry`);
    this.layout = { d, groups, groupBits };
  }

  /** Loads `codecs/<id>` (or a codec folder) and the rANS coder. */
  static async load(idOrDir: string, options: { threads?: number } = {}): Promise<BsqCodec> {
    const [bundle, rans] = await Promise.all([loadCodecBundle(idOrDir), loadRans()]);
    return new BsqCodec(bundle, new ModelSessions(bundle, { threads: options.threads }), rans);
  }

  get id(): string {
    return this.bundle.manifest.id;
  }

  async dispose(): Promise<void> {
    await this.sessions.dispose();
  }

  /** Groups for a quality 1..100: 1 at quality 1, all at 100, linear between. */
  groupsForQuality(quality: number): number {
    const G = this.layout.groups;
    return Math.min(G, Math.max(1, Math.round(1 + ((quality - 1) / 99) * (G - 1))));
  }

  private checkGroups(groups: number | undefined): number {
    const G = this.layout.groups;
    if (groups === undefined) return G;
    if (!Number.isInteger(groups) || groups < 1 || groups > G) throw invalidOption(`integer between 1 and ${G}`, 'groups', groups);
    return groups;
  }

  /** Tile grid: the whole image up to SINGLE_TILE_PIXELS, else BSQ_DEFAULT_TILE squares. */
  plan(frame: { width: number; height: number }, tileSize?: number): { tiles: Tile[]; tileSize: number } {
    const whole = Math.ceil(Math.max(frame.width, frame.height) / BSQ_STRIDE) * BSQ_STRIDE;
    const size = tileSize ?? (frame.width * frame.height <= SINGLE_TILE_PIXELS ? whole : BSQ_DEFAULT_TILE);
    if (!Number.isInteger(size) || size < BSQ_STRIDE || size % BSQ_STRIDE !== 0 || size > 65535) {
      throw invalidOption(`multiple of ${BSQ_STRIDE} between ${BSQ_STRIDE} and 65520`, 'tileSize', size);
    }
    return { tiles: tilesOf(frame.width, frame.height, size), tileSize: size };
  }

  /** The token grid of a tile (its padded size / 16). */
  private tileGrid(t: { width: number; height: number }): { h: number; w: number } {
    return { h: Math.ceil(t.height / BSQ_STRIDE), w: Math.ceil(t.width / BSQ_STRIDE) };
  }

  /** Runs bsq_enc on one tile: channel-major bit planes of the first `groups` groups. */
  private async tileBits(tile: Frame, groups: number, signal?: AbortSignal): Promise<Uint8Array> {
    const x = toPaddedPlanar(tile, BSQ_STRIDE);
    const { v } = await this.sessions.run('bsq_enc', { x: { data: x.data, dims: [1, 3, x.height, x.width] } }, signal);
    const { h, w } = this.tileGrid(tile);
    if (v.dims[1] !== this.layout.d || v.dims[2] !== h || v.dims[3] !== w) {
      throw new ModelMismatchError(`bsq_enc produced ${v.dims.slice(1).join('x')}, expected ${this.layout.d}x${h}x${w}`);
    }
    return latentBits(v.data, h * w, groups * this.layout.groupBits);
  }

  /** Decodes the bit planes of one tile to pixels (the tile's own size). */
  private async tilePixels(planes: Uint8Array, tile: Tile, channels: Frame['channels'], signal?: AbortSignal): Promise<Frame> {
    const { h, w } = this.tileGrid(tile);
    throwIfAborted(signal);
    const { x_hat } = await this.sessions.run('bsq_dec', { signs: { data: signsOf(planes, this.layout.d, h * w), dims: [1, this.layout.d, h, w] } }, signal);
    return fromPlanar({ data: x_hat.data, width: w * BSQ_STRIDE, height: h * BSQ_STRIDE }, tile.width, tile.height, channels);
  }

  /**
   * Tokens of an image (colour only; alpha is not tokenized).
   * @throws InvalidOptionError for a bad group count or tile size; AbortError.
   */
  async tokenize(frame: Frame, options: { groups?: number; tileSize?: number; signal?: AbortSignal } = {}): Promise<BsqTokens> {
    const groups = this.checkGroups(options.groups);
    const { tiles, tileSize } = this.plan(frame, options.tileSize);
    const rows = Math.ceil(frame.height / BSQ_STRIDE);
    const cols = Math.ceil(frame.width / BSQ_STRIDE);
    const per = groups * this.layout.groupBits;
    const bits = new Uint8Array(rows * cols * per);
    for (const t of tiles) {
      throwIfAborted(options.signal);
      const planes = await this.tileBits(cropFrame(frame, t), groups, options.signal);
      const { h, w } = this.tileGrid(t);
      const tok = planesToTokens(planes, h * w, per);
      const r0 = t.y / BSQ_STRIDE;
      const c0 = t.x / BSQ_STRIDE;
      for (let r = 0; r < h; r++) bits.set(tok.subarray(r * w * per, (r + 1) * w * per), ((r0 + r) * cols + c0) * per);
    }
    return {
      width: frame.width,
      height: frame.height,
      shape: [rows, cols],
      d: this.layout.d,
      groupBits: this.layout.groupBits,
      groups,
      tileSize,
      bits,
      codec: this.id,
      modelHash: hex(this.bundle.hashPrefix),
    };
  }

  /** Checks a token set against this model and returns its tile plan. */
  private checkTokens(tokens: BsqTokens): { tiles: Tile[]; per: number } {
    if (tokens === null || typeof tokens !== 'object') throw invalidOption('object', 'tokens', tokens);
    const { d, groupBits } = this.layout;
    if (tokens.d !== d || tokens.groupBits !== groupBits) {
      throw new ModelMismatchError(`tokens of ${tokens.d} bits in groups of ${tokens.groupBits} do not fit codec ${this.id} (${d} bits in groups of ${groupBits})`);
    }
    if (tokens.modelHash !== undefined && tokens.modelHash !== hex(this.bundle.hashPrefix)) {
      throw new ModelMismatchError(`tokens were made by model ${tokens.modelHash}…, but the loaded weights are ${hex(this.bundle.hashPrefix)}…`);
    }
    const groups = this.checkGroups(tokens.groups);
    for (const k of ['width', 'height'] as const) {
      if (!Number.isInteger(tokens[k]) || tokens[k] < 1 || tokens[k] > 0x3fff * 4) throw invalidOption('positive integer', `tokens.${k}`, tokens[k]);
    }
    const rows = Math.ceil(tokens.height / BSQ_STRIDE);
    const cols = Math.ceil(tokens.width / BSQ_STRIDE);
    if (!Array.isArray(tokens.shape) || tokens.shape[0] !== rows || tokens.shape[1] !== cols) {
      throw invalidOption(`shape [${rows}, ${cols}]`, 'tokens.shape', JSON.stringify(tokens.shape));
    }
    const per = groups * groupBits;
    if (!(tokens.bits instanceof Uint8Array) || tokens.bits.length !== rows * cols * per) {
      throw invalidOption(`Uint8Array of ${rows * cols * per} bits`, 'tokens.bits', tokens.bits?.length);
    }
    for (let i = 0; i < tokens.bits.length; i++) if (tokens.bits[i] > 1) throw invalidOption('bits of 0 or 1', `tokens.bits[${i}]`, tokens.bits[i]);
    const { tiles } = this.plan(tokens, tokens.tileSize);
    return { tiles, per };
  }

  /** The channel-major planes of one tile, cut from a token grid. */
  private tilePlanes(tokens: BsqTokens, t: Tile, per: number): Uint8Array {
    const { h, w } = this.tileGrid(t);
    const cols = tokens.shape[1];
    const tok = new Uint8Array(h * w * per);
    const r0 = t.y / BSQ_STRIDE;
    const c0 = t.x / BSQ_STRIDE;
    for (let r = 0; r < h; r++) tok.set(tokens.bits.subarray(((r0 + r) * cols + c0) * per, ((r0 + r) * cols + c0 + w) * per), r * w * per);
    return tokensToPlanes(tok, h * w, per);
  }

  /**
   * The image of a token set (RGB, the tokens' width x height). The same tokens always give
   * the same image.
   * @throws InvalidOptionError for malformed tokens; ModelMismatchError for tokens of another model.
   */
  async detokenize(tokens: BsqTokens, options: { signal?: AbortSignal } = {}): Promise<Frame> {
    const { tiles, per } = this.checkTokens(tokens);
    const out: Frame = { data: new Uint8Array(tokens.width * tokens.height * 3), width: tokens.width, height: tokens.height, channels: 3 };
    for (const t of tiles) pasteFrame(out, await this.tilePixels(this.tilePlanes(tokens, t, per), t, 3, options.signal), t);
    return out;
  }

  /**
   * The context loop shared by encoder and decoder: group by group, phase by phase, it runs
   * bsq_ctx on the bits known so far, turns logits into table indexes and lets `code` fill
   * the bits of the step (from the tokens when encoding, from the stream when decoding).
   * Returns the planes and the CRC of every index and bit.
   */
  private async contextLoop(
    h: number,
    w: number,
    groups: number,
    signal: AbortSignal | undefined,
    code: (indexes: Int32Array, c0: number, positions: Int32Array, sym: Int32Array) => void,
  ): Promise<{ planes: Uint8Array; crc: number }> {
    const { d, groupBits } = this.layout;
    const hw = h * w;
    const known = new Float32Array(d * hw);
    const planes = new Uint8Array(groups * groupBits * hw);
    const phases = phasePositions(h, w);
    let crc = 0;
    for (let g = 0; g < groups; g++) {
      for (const positions of phases) {
        const n = positions.length;
        if (n === 0) continue;
        throwIfAborted(signal);
        const { logits } = await this.sessions.run('bsq_ctx', { known: { data: known, dims: [1, d, h, w] } }, signal);
        const indexes = new Int32Array(groupBits * n);
        const c0 = g * groupBits;
        for (let b = 0; b < groupBits; b++) {
          const base = (c0 + b) * hw;
          for (let k = 0; k < n; k++) indexes[b * n + k] = logitIndex(logits.data[base + positions[k]]);
        }
        const sym = new Int32Array(groupBits * n);
        code(indexes, c0, positions, sym);
        for (let b = 0; b < groupBits; b++) {
          const base = (c0 + b) * hw;
          for (let k = 0; k < n; k++) {
            const bit = sym[b * n + k];
            if (bit !== 0 && bit !== 1) throw new BitstreamError(`BSQ_TOKENS holds a value ${bit} where a bit belongs`);
            planes[base + positions[k]] = bit;
            known[base + positions[k]] = bit ? 1 : -1;
          }
        }
        crc = crc32(bytesOf(sym), crc32(bytesOf(indexes), crc));
      }
    }
    return { planes, crc };
  }

  /** Codes one tile's bit planes: the BSQ_TOKENS and SYMBOL_CHECKSUM payloads. */
  async codeTile(planes: Uint8Array, h: number, w: number, groups: number, signal?: AbortSignal): Promise<[Uint8Array, Uint8Array]> {
    const hw = h * w;
    const { tables } = tritTables();
    const enc = this.rans.createEncoder();
    try {
      const { crc } = await this.contextLoop(h, w, groups, signal, (indexes, c0, positions, sym) => {
        const n = positions.length;
        for (let b = 0; b < indexes.length / n; b++) {
          const base = (c0 + b) * hw;
          for (let k = 0; k < n; k++) sym[b * n + k] = planes[base + positions[k]];
        }
        enc.encodeWithIndexes(sym, indexes, tables);
      });
      return [enc.flush(), new ByteWriter(4).u32le(crc >>> 0).finish()];
    } finally {
      enc.dispose();
    }
  }

  /** Decodes one tile's BSQ_TOKENS payload to its bit planes, checking the checksum. */
  async decodeTile(stream: Uint8Array, checksum: number, h: number, w: number, groups: number, signal?: AbortSignal): Promise<Uint8Array> {
    const { tables } = tritTables();
    const dec = this.rans.createDecoder(stream);
    try {
      const { planes, crc } = await this.contextLoop(h, w, groups, signal, (indexes, _c0, _positions, sym) => {
        dec.decodeWithIndexes(indexes, tables, sym);
      });
      dec.finish();
      if ((crc >>> 0) !== checksum) throw new BitstreamError('Decoded BSQ bits do not match the stream checksum (encoder/decoder drift or corrupt data)');
      return planes;
    } finally {
      dec.dispose();
    }
  }

  /** Codes a token set into a file (the tokens must come from this model). */
  async encodeTokens(frame: Frame, tokens: BsqTokens, quality100: number, signal?: AbortSignal): Promise<Uint8Array> {
    const { tiles, per } = this.checkTokens(tokens);
    const units: { type: number; payload: Uint8Array }[] = imageHeaderUnits(frame, quality100, tokens.tileSize, this.rans);
    const info: BsqInfo = { d: this.layout.d, groupBits: this.layout.groupBits, groups: tokens.groups };
    units.push({ type: UnitType.BSQ_INFO, payload: encodeBsqInfo(info) });
    for (const t of tiles) {
      const { h, w } = this.tileGrid(t);
      const [stream, check] = await this.codeTile(this.tilePlanes(tokens, t, per), h, w, tokens.groups, signal);
      units.push({ type: UnitType.BSQ_TOKENS, payload: stream }, { type: UnitType.SYMBOL_CHECKSUM, payload: check });
    }
    return writeContainer({ codecId: this.id, modelHash: this.bundle.hashPrefix, units });
  }

  /** Encodes a frame into a complete BSQ file. */
  async encode(frame: Frame, options: BsqEncodeOptions = {}): Promise<Uint8Array> {
    const tokens = await this.tokenize(frame, { groups: options.groups, tileSize: options.tileSize, signal: options.signal });
    return this.encodeTokens(frame, tokens, Math.round((options.quality ?? 100) * 100), options.signal);
  }

  /**
   * Reads a BSQ file's tokens without running the image decoder.
   * @throws ModelMismatchError for a file of another codec or weights; BitstreamError /
   *   LimitExceededError for corrupt, truncated or oversized input.
   */
  async readTokens(bytes: Uint8Array, options: { signal?: AbortSignal; limits?: Partial<Limits> } = {}): Promise<{ tokens: BsqTokens; info: ImageInfo; quality: number; alpha?: ContainerUnit }> {
    const file = readContainer(bytes, options.limits);
    checkModel(file, { codecId: this.id, modelHash: this.bundle.hashPrefix });
    const { known, info, params, alphaUnit, next } = parseImageHeader(file.units, options.limits);
    if (known[next]?.type !== UnitType.BSQ_INFO) throw new BitstreamError('BSQ file has no BSQ_INFO unit after the image header');
    const bsq = decodeBsqInfo(known[next].payload);
    if (bsq.d !== this.layout.d || bsq.groupBits !== this.layout.groupBits) {
      throw new ModelMismatchError(`the file has ${bsq.d}-bit tokens in groups of ${bsq.groupBits}; codec ${this.id} makes ${this.layout.d} in groups of ${this.layout.groupBits}`);
    }
    if (params.tileSize % BSQ_STRIDE !== 0) throw new BitstreamError(`CODING_PARAMS tile size ${params.tileSize} is not a multiple of ${BSQ_STRIDE}`);
    const tiles = tilesOf(info.width, info.height, params.tileSize);
    const rest = known.slice(next + 1);
    if (rest.length !== 2 * tiles.length) throw new BitstreamError(`BSQ file has ${rest.length} units after BSQ_INFO, expected ${2 * tiles.length} for ${tiles.length} tiles`);
    const rows = Math.ceil(info.height / BSQ_STRIDE);
    const cols = Math.ceil(info.width / BSQ_STRIDE);
    const per = bsq.groups * bsq.groupBits;
    const bits = new Uint8Array(rows * cols * per);
    for (let i = 0; i < tiles.length; i++) {
      const [tok, check] = [rest[2 * i], rest[2 * i + 1]];
      if (tok.type !== UnitType.BSQ_TOKENS || check.type !== UnitType.SYMBOL_CHECKSUM) {
        throw new BitstreamError(`Unexpected unit ${tok.name}/${check.name}: expected BSQ_TOKENS, SYMBOL_CHECKSUM per tile`);
      }
      const reader = new ByteReader(check.payload);
      const crc = reader.u32le('SYMBOL_CHECKSUM');
      reader.expectEnd('SYMBOL_CHECKSUM');
      const t = tiles[i];
      const { h, w } = this.tileGrid(t);
      const planes = await this.decodeTile(tok.payload, crc, h, w, bsq.groups, options.signal);
      const tk = planesToTokens(planes, h * w, per);
      const r0 = t.y / BSQ_STRIDE;
      const c0 = t.x / BSQ_STRIDE;
      for (let r = 0; r < h; r++) bits.set(tk.subarray(r * w * per, (r + 1) * w * per), ((r0 + r) * cols + c0) * per);
    }
    const tokens: BsqTokens = {
      width: info.width,
      height: info.height,
      shape: [rows, cols],
      d: bsq.d,
      groupBits: bsq.groupBits,
      groups: bsq.groups,
      tileSize: params.tileSize,
      bits,
      codec: this.id,
      modelHash: hex(this.bundle.hashPrefix),
    };
    return { tokens, info, quality: params.quality100 / 100, alpha: alphaUnit };
  }

  /**
   * Decodes a complete BSQ file to pixels of its original size and channels.
   * @throws as {@link readTokens}.
   */
  async decode(bytes: Uint8Array, options: { signal?: AbortSignal; limits?: Partial<Limits> } = {}): Promise<{ frame: Frame; info: ImageInfo; quality: number; groups: number }> {
    const { tokens, info, quality, alpha } = await this.readTokens(bytes, options);
    const channels = info.channels as Frame['channels'];
    const out: Frame = { data: new Uint8Array(info.width * info.height * channels), width: info.width, height: info.height, channels };
    const per = tokens.groups * tokens.groupBits;
    for (const t of this.plan(tokens, tokens.tileSize).tiles) {
      pasteFrame(out, await this.tilePixels(this.tilePlanes(tokens, t, per), t, channels, options.signal), t);
    }
    if (alpha) {
      const a = decodeAlpha(alpha.payload, info.width, info.height, this.rans);
      for (let i = 0; i < a.length; i++) out.data[i * channels + channels - 1] = a[i];
    }
    return { frame: out, info, quality, groups: tokens.groups };
  }
}

/** The JSON form of a token set (`codec tokens --json`), read back by {@link tokensFromJson}. */
export interface BsqTokensJson {
  codec: string;
  modelHash: string;
  width: number;
  height: number;
  shape: [number, number];
  d: number;
  groupBits: number;
  groups: number;
  tileSize: number;
  /** How `bits` and `codes` are laid out. */
  layout: string;
  /** The bits, packed 8 to a byte, most significant first, base64. */
  bits: string;
  /** Per token, per group, the group's bits as an integer (bit b weighs 2^b). */
  codes: number[];
}

const JSON_LAYOUT =
  'tokens row-major over shape; a token is groups*groupBits bits, group by group; bits packed MSB-first then base64; ' +
  'codes: tokens x groups integers, bit b of a group weighs 2^b';

/** A token set as JSON-ready data. */
export function tokensToJson(tokens: BsqTokens): BsqTokensJson {
  const n = tokens.bits.length;
  const packed = new Uint8Array(Math.ceil(n / 8));
  for (let i = 0; i < n; i++) if (tokens.bits[i]) packed[i >> 3] |= 0x80 >> (i & 7);
  const count = tokens.shape[0] * tokens.shape[1];
  return {
    codec: tokens.codec,
    modelHash: tokens.modelHash ?? '',
    width: tokens.width,
    height: tokens.height,
    shape: tokens.shape,
    d: tokens.d,
    groupBits: tokens.groupBits,
    groups: tokens.groups,
    tileSize: tokens.tileSize,
    layout: JSON_LAYOUT,
    bits: Buffer.from(packed).toString('base64'),
    codes: Array.from(groupCodes(tokens.bits, count, tokens.groups, tokens.groupBits)),
  };
}

/**
 * A token set from its JSON form (the `bits` field; `codes` is ignored).
 * @throws InvalidOptionError for a malformed object.
 */
export function tokensFromJson(json: unknown): BsqTokens {
  if (json === null || typeof json !== 'object') throw invalidOption('object', 'tokens', json);
  const j = json as Partial<BsqTokensJson>;
  for (const k of ['width', 'height', 'd', 'groupBits', 'groups', 'tileSize'] as const) {
    if (!Number.isInteger(j[k]) || (j[k] as number) < 1) throw invalidOption('positive integer', `tokens.${k}`, j[k]);
  }
  if (!Array.isArray(j.shape) || j.shape.length !== 2 || !j.shape.every((v) => Number.isInteger(v) && v >= 1)) {
    throw invalidOption('[rows, cols]', 'tokens.shape', JSON.stringify(j.shape));
  }
  if (typeof j.bits !== 'string') throw invalidOption('base64 string', 'tokens.bits', j.bits);
  const n = j.shape[0] * j.shape[1] * j.groups! * j.groupBits!;
  const packed = Buffer.from(j.bits, 'base64');
  if (packed.length !== Math.ceil(n / 8)) throw invalidOption(`${Math.ceil(n / 8)} bytes of packed bits`, 'tokens.bits', `${packed.length} bytes`);
  const bits = new Uint8Array(n);
  for (let i = 0; i < n; i++) bits[i] = (packed[i >> 3] >> (7 - (i & 7))) & 1;
  return {
    width: j.width!,
    height: j.height!,
    shape: [j.shape[0], j.shape[1]],
    d: j.d!,
    groupBits: j.groupBits!,
    groups: j.groups!,
    tileSize: j.tileSize!,
    bits,
    codec: typeof j.codec === 'string' ? j.codec : 'nc-bsq',
    ...(typeof j.modelHash === 'string' ? { modelHash: j.modelHash } : {}),
  };
}
