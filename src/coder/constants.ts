/**
 * Parameters of the rANS stream format. Shared by the WASM coder (wasm/rans.ts) and the
 * TypeScript reference coder; changing any of them changes the bitstream.
 */

/** CDF precision in bits: every table's CDF ends at 2^16. */
export const PROB_BITS = 16;
/** Total of every CDF table: 65536. */
export const PROB_SCALE = 1 << PROB_BITS;
/** Lower bound of a normalised state; states live in [RANS_L, 2^31). */
export const RANS_L = 1 << 23;
/** Exclusive upper bound of a state. */
export const STATE_LIMIT = 0x80000000;
/** Number of interleaved states; value j of a stream uses state j % NUM_STATES. */
export const NUM_STATES = 4;
/** Bytes of the final states at the start of every stream. */
export const STATE_BYTES = 4 * NUM_STATES;
/** Bits per bypass step in an escape. */
export const BYPASS_BITS = 4;
/** Longest possible table (65536 symbols including the escape symbol). */
export const MAX_CDF_LENGTH = PROB_SCALE + 1;
