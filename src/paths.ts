import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CodecError } from './errors.js';

let root: string | undefined;

/**
 * The package root: the nearest folder above this module that holds package.json. The same
 * answer whether the code runs from src/ (tests) or dist/src/ (the built package).
 */
export function packageRoot(): string {
  if (root) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return (root = dir);
    const up = dirname(dir);
    if (up === dir) throw new CodecError('ERR_INTERNAL', 'Cannot find the neurocodec package root (package.json)');
    dir = up;
  }
}
