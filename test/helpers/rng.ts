/** Seeded xorshift32 generator for reproducible test data: numbers in [0, 1). */
export function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (Math.imul(s, 0x9e3779b1) >>> 0) / 4294967296;
  };
}
