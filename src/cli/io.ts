import { readFile } from 'node:fs/promises';
import { InputError } from '../errors.js';
import type { CliIO } from './command.js';

const FS_REASONS: Readonly<Record<string, string>> = {
  ENOENT: 'no such file',
  EISDIR: 'it is a directory',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  ERR_FS_FILE_TOO_LARGE: 'file too large',
};

/** How a path is shown in messages: `-` is standard input. */
export function displayName(path: string): string {
  return path === '-' ? '(stdin)' : path;
}

/**
 * Read a whole file, or standard input for `-`.
 *
 * @throws InputError when the file cannot be read.
 */
export async function readInput(path: string, io: CliIO): Promise<Uint8Array> {
  if (path === '-') {
    const chunks: Uint8Array[] = [];
    let total = 0;
    for await (const chunk of io.stdin) {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      chunks.push(bytes);
      total += bytes.length;
    }
    return Buffer.concat(chunks, total);
  }
  try {
    return await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? '';
    const reason = FS_REASONS[code] ?? (err instanceof Error ? err.message : String(err));
    throw new InputError(`cannot read '${path}': ${reason}`, { cause: err });
  }
}
