import { readFile, stat } from 'node:fs/promises';
import { InputError, OutputError, fsReason, throwIfAborted } from '../errors.js';
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

/** How an output path is shown in messages: `-` is standard output. */
export function displayOutput(path: string): string {
  return path === '-' ? '(stdout)' : path;
}

function readError(path: string, err: unknown): InputError {
  const code = (err as NodeJS.ErrnoException).code ?? '';
  const reason = FS_REASONS[code] ?? (err instanceof Error ? err.message : String(err));
  return new InputError(`cannot read '${path}': ${reason}`, { cause: err });
}

/**
 * Collects a byte stream, giving up with AbortError when `signal` fires (the stream is then
 * released, so a process waiting on standard input can exit).
 */
async function readAll(source: AsyncIterable<Uint8Array | string>, signal?: AbortSignal): Promise<Uint8Array> {
  throwIfAborted(signal);
  const it = source[Symbol.asyncIterator]();
  const chunks: Uint8Array[] = [];
  let total = 0;
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => {
      try {
        throwIfAborted(signal);
      } catch (err) {
        reject(err);
      }
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
  aborted.catch(() => undefined);
  try {
    for (;;) {
      const next = await Promise.race([it.next(), aborted]);
      if (next.done) break;
      const bytes = typeof next.value === 'string' ? Buffer.from(next.value) : next.value;
      chunks.push(bytes);
      total += bytes.length;
    }
  } catch (err) {
    // Release the source without waiting: a pipe nobody closes would never finish.
    it.return?.().catch(() => undefined);
    throw err;
  } finally {
    if (onAbort) signal?.removeEventListener('abort', onAbort);
  }
  return Buffer.concat(chunks, total);
}

/**
 * Read a whole file, or standard input for `-`.
 *
 * @throws InputError when the file cannot be read; AbortError when `signal` fires while
 *   waiting for standard input.
 */
export async function readInput(path: string, io: CliIO, signal?: AbortSignal): Promise<Uint8Array> {
  if (path === '-') return readAll(io.stdin, signal);
  try {
    return await readFile(path);
  } catch (err) {
    throw readError(path, err);
  }
}

/**
 * Checks that `path` is a readable regular file without reading it, so that a missing
 * input gets the same message as {@link readInput} gives.
 *
 * @throws InputError when it is missing, a directory or not readable.
 */
export async function checkInputFile(path: string): Promise<void> {
  try {
    const s = await stat(path);
    if (s.isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
  } catch (err) {
    throw readError(path, err);
  }
}

/**
 * Writes bytes to standard output and waits until they are handed over.
 *
 * @throws OutputError when the write fails, e.g. EPIPE when the reader has gone away.
 */
export function writeStdout(io: CliIO, bytes: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    try {
      io.stdout.write(bytes, (err) => {
        if (err) reject(new OutputError(`cannot write to standard output: ${fsReason(err)}`, { cause: err }));
        else resolve();
      });
    } catch (err) {
      reject(new OutputError(`cannot write to standard output: ${fsReason(err)}`, { cause: err }));
    }
  });
}

/**
 * Writes a whole output: standard output for `-`, else the file atomically (a temporary
 * file renamed over it), so a failure or interruption never leaves a partial file.
 *
 * @throws OutputError when it cannot be written; AbortError when `signal` fired first.
 */
export async function writeOutput(path: string, bytes: Uint8Array, io: CliIO, signal?: AbortSignal): Promise<void> {
  throwIfAborted(signal);
  if (path === '-') return writeStdout(io, bytes);
  // loaded on use: `codec info` and `--help` should not pay for sharp
  const { writeFileAtomic } = await import('../image/io.js');
  await writeFileAtomic(path, bytes, { signal });
}
