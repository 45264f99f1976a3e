/**
 * Entropy models and their CDF table builders. Every builder quantises with
 * {@link quantizePmfToCdf} and uses only deterministic arithmetic, so encoder and decoder
 * build identical tables on any machine.
 */
export { quantizePmfToCdf, cdfToPmf } from './quantize.js';
export { expDet, erfcDet, normalCdf, normalQuantile } from './math.js';
export {
  DEFAULT_SCALE_TABLE,
  DEFAULT_TAIL_MASS,
  GaussianConditional,
  buildGaussianTables,
  buildIndexes,
  scaleToIndex,
  type GaussianTableOptions,
} from './gaussian.js';
export { FactorizedPrior, buildFactorizedTables, channelIndexes, type FactorizedChannel } from './factorized.js';
export { buildBinaryTables, buildTernaryTables } from './binary.js';
export { EntropyModel } from './model.js';
