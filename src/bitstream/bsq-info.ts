/**
 * The BSQ_INFO unit of a binary-spherical-quantization file: the token geometry the file
 * was coded with, checked against the decoding model.
 *
 * | field     | encoding | notes                                      |
 * |-----------|----------|--------------------------------------------|
 * | version   | u8       | 1                                          |
 * | d         | u8       | bits per token of the model, 1..64         |
 * | groupBits | u8       | bits per group, divides d                  |
 * | groups    | u8       | groups coded in this file, 1..d/groupBits  |
 */
import { BitstreamError, invalidOption } from '../errors.js';
import { ByteReader, ByteWriter } from './bytes.js';

export interface BsqInfo {
  readonly d: number;
  readonly groupBits: number;
  /** Groups coded in the file (the first ones of each token). */
  readonly groups: number;
}

export const BSQ_INFO_VERSION = 1;
export const MAX_BSQ_BITS = 64;

function valid(i: BsqInfo): boolean {
  return (
    Number.isInteger(i.d) && i.d >= 1 && i.d <= MAX_BSQ_BITS &&
    Number.isInteger(i.groupBits) && i.groupBits >= 1 && i.d % i.groupBits === 0 &&
    Number.isInteger(i.groups) && i.groups >= 1 && i.groups <= i.d / i.groupBits
  );
}

/** @throws InvalidOptionError for an inconsistent geometry. */
export function encodeBsqInfo(info: BsqInfo): Uint8Array {
  if (!valid(info)) throw invalidOption('d 1..64, groupBits dividing d, groups 1..d/groupBits', 'bsqInfo', JSON.stringify(info));
  return new ByteWriter(4).u8(BSQ_INFO_VERSION).u8(info.d).u8(info.groupBits).u8(info.groups).finish();
}

/** @throws BitstreamError for truncation, trailing bytes, an unknown version or an inconsistent geometry. */
export function decodeBsqInfo(payload: Uint8Array): BsqInfo {
  const r = new ByteReader(payload);
  const version = r.u8('BSQ_INFO version');
  if (version !== BSQ_INFO_VERSION) throw new BitstreamError(`BSQ_INFO version ${version} is not supported (this reader reads ${BSQ_INFO_VERSION})`);
  const info = { d: r.u8('BSQ_INFO d'), groupBits: r.u8('BSQ_INFO groupBits'), groups: r.u8('BSQ_INFO groups') };
  r.expectEnd('BSQ_INFO');
  if (!valid(info)) throw new BitstreamError(`BSQ_INFO geometry is inconsistent: d ${info.d}, groupBits ${info.groupBits}, groups ${info.groups}`);
  return info;
}
