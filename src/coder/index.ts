/**
 * rANS entropy coding over indexed integer CDF tables: a WASM coder for production and a
 * bit-identical TypeScript reference. Both implement {@link RansCoder}.
 *
 * @example
 * const rans = await loadRans();
 * const enc = rans.createEncoder();
 * enc.encodeWithIndexes(symbols, indexes, tables);
 * const bytes = enc.flush();
 * const dec = rans.createDecoder(bytes);
 * const values = dec.decodeWithIndexes(indexes, tables);
 * dec.finish();
 */
export * from './constants.js';
export { RansTables, type CdfTable } from './tables.js';
export type { IntArray, RansCoder, RansDecoder, RansEncoder } from './types.js';
export { ReferenceRansDecoder, ReferenceRansEncoder, referenceRans } from './reference.js';
export {
  CHUNK_SYMBOLS,
  WasmRans,
  WasmRansDecoder,
  WasmRansEncoder,
  loadRans,
  loadRansSync,
  ransWasmPath,
} from './wasm.js';
