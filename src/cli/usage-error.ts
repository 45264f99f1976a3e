/**
 * Exit codes and the errors the CLI adds to the library's family: a usage error, and the
 * interruption by a signal.
 */
import { AbortError } from '../errors.js';

/** Process exit codes of `codec`. */
export const ExitCode = Object.freeze({
  /** The work was done. */
  OK: 0,
  /** Bad input (corrupt file, broken limit, wrong model) or failed work. */
  FAILURE: 1,
  /** Bad usage: unknown command or option, missing or extra argument, bad option value. */
  USAGE: 2,
  /** Interrupted by SIGINT (Ctrl-C); SIGTERM gives 143 (128 + the signal number). */
  INTERRUPTED: 130,
} as const);

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** The command line itself is wrong; exit code 2. */
export class UsageError extends Error {
  readonly code = 'ERR_USAGE';
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/**
 * The process was told to stop by a signal; the CLI aborts its work with this reason and
 * exits with 128 + the signal number.
 */
export class InterruptedError extends AbortError {
  readonly signalName: string;
  readonly exitCode: number;
  constructor(signalName: string, signalNumber: number) {
    super(`interrupted by ${signalName}`);
    this.signalName = signalName;
    this.exitCode = 128 + signalNumber;
  }
}
