/**
 * neurocodec: a learned image codec for Node.js.
 *
 * Encode any image sharp reads into a small file and decode it back, through promises
 * ({@link encode}, {@link encodeWithInfo}, {@link decode}, {@link decodeToImage}) or Node
 * streams ({@link createEncodeStream}, {@link createDecodeStream}); look inside a file with
 * {@link inspect}. Every failure is a typed {@link CodecError}.
 *
 * @example
 * import { readFile, writeFile } from 'node:fs/promises';
 * import { encodeWithInfo, decodeToImage, closeCodecs, CodecError } from 'neurocodec';
 *
 * try {
 *   const { bytes, bpp, warnings } = await encodeWithInfo('photo.jpg', { quality: 60 });
 *   await writeFile('photo.ncdc', bytes);
 *   await writeFile('photo.png', await decodeToImage(await readFile('photo.ncdc')));
 * } catch (err) {
 *   if (err instanceof CodecError) console.error(err.code, err.message);
 *   else throw err;
 * } finally {
 *   await closeCodecs();
 * }
 *
 * @packageDocumentation
 */
export {
  DEFAULT_BSQ_CODEC,
  DEFAULT_CODEC,
  DEFAULT_PROGRESSIVE_CODEC,
  detokenize,
  getBsqCodec,
  getCodec,
  tokenize,
  tokenizeVideo,
  type EncodeMode,
  type TokenizeOptions,
  truncate,
  type ProgressiveStatus,
  checkDecodeOptions,
  checkEncodeOptions,
  closeCodecs,
  decode,
  decodeToImage,
  encode,
  encodeWithInfo,
  type DecodeOptions,
  type DecodedImage,
  type EncodeOptions,
  type EncodeResult,
} from './api.js';

export {
  DecodeStream,
  EncodeStream,
  createDecodeStream,
  createEncodeStream,
  type DecodeInfo,
  type DecodeStreamOptions,
  type EncodeInfo,
} from './stream/index.js';

export {
  ProgressiveDecodeStream,
  createProgressiveDecodeStream,
  type ProgressiveDecodeStreamOptions,
  type ProgressiveRefinement,
} from './stream/progressive.js';

export {
  ProgressiveCoder,
  readProgressive,
  supportsProgressive,
  truncateProgressive,
  type ProgressiveDecodeOptions,
  type ProgressiveDecodeResult,
  type ProgressiveEncodeOptions,
  type ProgressiveResume,
} from './codec/progressive.js';
export { BSQ_DEFAULT_TILE, BSQ_STRIDE, BsqCodec, tokensFromJson, tokensToJson, type BsqEncodeOptions, type BsqTokens, type BsqTokensJson } from './codec/bsq.js';
export { BSQ_PHASES, groupCodes, phasePositions, type BsqLayout } from './quant/bsq.js';
export { decodeBsqInfo, encodeBsqInfo, type BsqInfo } from './bitstream/bsq-info.js';
export { decodeProgressiveInfo, encodeProgressiveInfo, type ProgressiveInfo } from './bitstream/progressive-info.js';

export {
  encodeImage,
  formatForPath,
  outputFormats,
  readImage,
  toOutputFormat,
  type ImageInput,
  type OutputFormat,
  type RawImage,
  type ReadResult,
} from './image/io.js';

export type { Frame } from './image/frame.js';

export {
  AbortError,
  BitstreamError,
  CodecError,
  InputError,
  InvalidOptionError,
  LimitExceededError,
  ModelMismatchError,
  OutputError,
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

export { inspect, type CodingSummary, type ContainerSummary, type UnitSummary } from './bitstream/inspect.js';

export { COLOUR_MATRICES, decodeImageInfo, encodeImageInfo, type ImageInfo } from './bitstream/image-info.js';

export { decodeCodingParams, encodeCodingParams, type CodingParams } from './bitstream/coding-params.js';

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

// ---------------------------------------------------------------------------------------
// video: ffmpeg I/O, Matroska mux/demux, the sequence header and the all-intra video path

export {
  ProcessExitError,
  STDERR_TAIL_BYTES,
  ffmpegEncoders,
  findFfmpeg,
  findFfprobe,
  mp4VideoEncoder,
  probe,
  readFrames,
  resetToolPaths,
  runFfmpeg,
  writeFrames,
  type AudioStreamInfo,
  type FrameLike,
  type MediaInput,
  type ProbeOptions,
  type ProbeResult,
  type Rational,
  type ReadFramesOptions,
  type RgbFrame,
  type VideoOutputFormat,
  type VideoStreamInfo,
  type WriteFramesOptions,
  type WriteFramesResult,
} from './video/ffmpeg.js';

export {
  BufferSink,
  MATROSKA_LIMITS,
  MatroskaWriter,
  NEUROCODEC_CODEC_ID,
  extractAudio,
  fileSink,
  readMatroska,
  streamSink,
  writeNeurocodecMatroska,
  type AudioCopy,
  type CodedFrame,
  type MatroskaLimits,
  type MatroskaSink,
  type MatroskaWriterOptions,
  type MkvBlock,
  type MkvCuePoint,
  type MkvFile,
  type MkvTrack,
  type NeurocodecMatroskaOptions,
  type NeurocodecMatroskaResult,
  type ReadMatroskaOptions,
} from './video/matroska.js';

export { PFrameCoder, predictionError, supportsPFrames } from './video/pframe.js';
export { MOTION_BLOCK, MOTION_RANGE, compensate, decodeMotion, decodeMotionAdaptive, encodeMotion, encodeMotionAdaptive, estimateMotion, luma, type MotionField } from './video/motion.js';

export {
  DEFAULT_INTRA_PERIOD,
  DEFAULT_SCENE_CUT,
  DEFAULT_VIDEO_CODEC,
  VIDEO_EXTENSIONS,
  createVideoDecodeStream,
  createVideoEncodeStream,
  decodeVideo,
  decodeVideoFrames,
  encodeVideo,
  inspectVideo,
  isMatroska,
  isVideoPath,
  type DecodedVideoFrame,
  type VideoFrameInput,
  type VideoDecodeOptions,
  type VideoDecodeResult,
  type VideoEncodeOptions,
  type VideoEncodeResult,
  type VideoFrameSummary,
  type VideoProgress,
  type VideoSummary,
} from './video/codec.js';

export {
  FrameFormat,
  FrameType,
  MAX_FPS,
  SEQUENCE_MAGIC,
  SEQUENCE_VERSION,
  frameTypeName,
  readFramePayload,
  readSequenceHeader,
  writeFramePayload,
  writeSequenceHeader,
  type FrameTypeName,
  type SequenceHeader,
  type SequenceHeaderInput,
} from './video/sequence.js';
