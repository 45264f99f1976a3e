/**
 * Exit codes and the one error the CLI adds to the library's family: a usage error.
 */

/** Process exit codes of `codec`. */
export const ExitCode = Object.freeze({
  /** The work was done. */
  OK: 0,
  /** Bad input (corrupt file, broken limit, wrong model) or failed work. */
  FAILURE: 1,
  /** Bad usage: unknown command or option, missing or extra argument, bad option value. */
  USAGE: 2,
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
