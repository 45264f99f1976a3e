/**
 * neurocodec: a learned image codec for Node.js.
 *
 * What is public so far: the error family, the file container (read, write, inspect,
 * model check), the IMAGE_INFO unit and the named limits. Encoding and decoding images
 * will be added on top of these.
 *
 * @example
 * import { readFile } from 'node:fs/promises';
 * import { inspect, BitstreamError } from 'neurocodec';
 *
 * try {
 *   const summary = inspect(await readFile('photo.ncdc'));
 *   console.log(summary.codecId, summary.image?.width, summary.image?.height);
 *   for (const unit of summary.units) console.log(unit.name, unit.offset, unit.length);
 * } catch (err) {
 *   if (err instanceof BitstreamError) console.error('corrupt file:', err.message);
 *   else throw err;
 * }
 *
 * @packageDocumentation
 */
export {
  AbortError,
  BitstreamError,
  CodecError,
  InputError,
  InvalidOptionError,
  LimitExceededError,
  ModelMismatchError,
  type CodecErrorCode,
} from './errors.js';

export {
  FORMAT_VERSION,
  MAGIC,
  MODEL_HASH_BYTES,
  SUPPORTED_VERSIONS,
  checkModel,
  modelHashFromSha256,
  readContainer,
  writeContainer,
  type Container,
  type ContainerInput,
  type ContainerUnit,
  type ModelIdentity,
  type UnitInput,
} from './bitstream/container.js';

export { inspect, type ContainerSummary, type UnitSummary } from './bitstream/inspect.js';

export { COLOUR_MATRICES, decodeImageInfo, encodeImageInfo, type ImageInfo } from './bitstream/image-info.js';

export {
  DEFAULT_LIMITS,
  MAX_CODEC_ID_LENGTH,
  MAX_DIMENSION,
  MAX_FRAMES,
  MAX_PIXELS,
  MAX_UNITS,
  MAX_UNIT_BYTES,
  type LimitName,
  type Limits,
} from './bitstream/limits.js';

export {
  OPTIONAL_UNIT_BIT,
  UNIT_TYPES,
  UnitType,
  isOptionalUnitType,
  type UnitTypeInfo,
  type UnitTypeName,
} from './bitstream/units.js';
