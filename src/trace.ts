/**
 * Timing trace for performance work: with `NEUROCODEC_TRACE=1` in the environment, each
 * call prints the milliseconds since the process started and a label on standard error.
 * Off (and free) otherwise.
 *
 * @example
 * // NEUROCODEC_TRACE=1 codec decode photo.ncdc photo.png
 * // [trace    212.4 ms] session g_s created (18.9 ms)
 */
const enabled = typeof process !== 'undefined' && /^(1|true|yes)$/i.test(process.env.NEUROCODEC_TRACE ?? '');

/** Prints `label` with the time since process start when tracing is on. */
export function trace(label: string): void {
  if (enabled) process.stderr.write(`[trace ${performance.now().toFixed(1).padStart(8)} ms] ${label}\n`);
}
