/**
 * One error family for everything the codec rejects. Every error carries a stable
 * machine-readable `code` so callers (and the CLI) can branch without parsing messages.
 */
export type CodecErrorCode =
  | 'ERR_INVALID_OPTION'
  | 'ERR_BITSTREAM'
  | 'ERR_LIMIT_EXCEEDED'
  | 'ERR_MODEL_MISMATCH'
  | 'ERR_INPUT'
  | 'ERR_OUTPUT'
  | 'ERR_ABORTED'
  | 'ERR_INTERNAL';

export class CodecError extends Error {
  readonly code: CodecErrorCode;
  constructor(code: CodecErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** An option had the wrong type or was out of range. */
export class InvalidOptionError extends CodecError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_INVALID_OPTION', message, options);
  }
}

/** The bytes are not a valid bitstream: bad magic, CRC mismatch, truncation, bad symbol data. */
export class BitstreamError extends CodecError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_BITSTREAM', message, options);
  }
}

/** A size or count read from input broke a named limit; nothing was allocated for it. */
export class LimitExceededError extends CodecError {
  readonly limit: string;
  readonly value: number;
  readonly max: number;
  constructor(limit: string, value: number, max: number) {
    super('ERR_LIMIT_EXCEEDED', `${limit} is ${value}, above the limit of ${max}`);
    this.limit = limit;
    this.value = value;
    this.max = max;
  }
}

/** The bitstream was made by another codec or other weights than the ones loaded. */
export class ModelMismatchError extends CodecError {
  constructor(message: string) {
    super('ERR_MODEL_MISMATCH', message);
  }
}

/** The input image or video could not be read. */
export class InputError extends CodecError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_INPUT', message, options);
  }
}

/** The result could not be written: unwritable path, full disk, closed pipe, format sharp cannot write. */
export class OutputError extends CodecError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_OUTPUT', message, options);
  }
}

/** The operation was cancelled through an AbortSignal. */
export class AbortError extends CodecError {
  constructor(message = 'The operation was aborted', options?: { cause?: unknown }) {
    super('ERR_ABORTED', message, options);
  }
}

/**
 * Throws AbortError (with the signal's reason as its cause) when `signal` has fired.
 * @example
 * throwIfAborted(options.signal);
 * @throws AbortError
 */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new AbortError(undefined, { cause: signal.reason });
}

/**
 * sharp-style message for a bad option:
 * `Expected integer between 1 and 100 for quality but received 140 of type number`.
 */
export function invalidOption(expected: string, name: string, value: unknown): InvalidOptionError {
  return new InvalidOptionError(
    `Expected ${expected} for ${name} but received ${String(value)} of type ${typeof value}`,
  );
}

/**
 * Capture the caller's stack before crossing into WASM or ONNX, and rethrow a failure
 * through it so the trace points at user code, not at the engine's internals.
 */
export function captureStack(): Error {
  const holder = new Error();
  Error.captureStackTrace?.(holder, captureStack);
  return holder;
}

export function rethrowWith(err: unknown, stackHolder: Error): never {
  if (err instanceof Error && stackHolder.stack) {
    const head = `${err.name}: ${err.message}`;
    err.stack = head + stackHolder.stack.slice(stackHolder.stack.indexOf('\n'));
  }
  throw err;
}

const FS_REASONS: Readonly<Record<string, string>> = {
  ENOENT: 'no such file or directory',
  ENOTDIR: 'a parent is not a directory',
  EISDIR: 'it is a directory',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EEXIST: 'it already exists',
  EPIPE: 'broken pipe',
  ERR_FS_FILE_TOO_LARGE: 'file too large',
};

/**
 * A short reason for a file-system or stream error (`no such file or directory`, `broken
 * pipe`), else the first line of its message.
 * @example
 * throw new OutputError(`cannot write '${path}': ${fsReason(err)}`, { cause: err });
 */
export function fsReason(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  const known = typeof code === 'string' ? FS_REASONS[code] : undefined;
  return known ?? (err instanceof Error ? err.message : String(err)).split('\n')[0];
}
