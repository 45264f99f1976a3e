// Interleaved rANS coder over indexed 16-bit CDF tables.
//
// Four 32-bit states, byte-wise renormalisation, states kept in [2^23, 2^31).
// Value number j of a stream (counted from 0 across every push / decode call) is
// coded entirely with state j & 3, escape and bypass data included.
// See wasm/README.md for the memory layout and the stream format; src/coder/reference.ts
// is a plain TypeScript implementation of the same format and must stay bit-identical.

// ---------------------------------------------------------------------------------------
// Constants

const PROB_BITS: u32 = 16;
const PROB_MASK: u32 = (1 << PROB_BITS) - 1;
const RANS_L: u32 = 1 << 23; // lower bound of a normalised state
const STATE_LIMIT: u32 = 0x80000000; // states stay below 2^31
const FLAG: u32 = 0x80000000; // set in the low word of a fast-path result: take the slow path
const XMAX_SHIFT: u32 = 15; // ((RANS_L >> PROB_BITS) << 8) == 1 << 15

const BYPASS_BITS: u32 = 4;
const BYPASS_SHIFT: u32 = PROB_BITS - BYPASS_BITS; // 12
const BYPASS_OP_HI: u32 = ((1 << BYPASS_SHIFT) - 1) << 16; // (freq - 1) << 16 for a 4-bit bypass op

// Status codes shared with src/coder/wasm.ts.
const OK: i32 = 0;
const E_TRUNCATED: i32 = -1; // needed a byte past the end of the stream
const E_BAD_INDEX: i32 = -2; // a table index outside [0, table count)
const E_BAD_ESCAPE: i32 = -3; // an escaped value that is not canonical or not an int32
const E_BAD_HEADER: i32 = -4; // stream shorter than the states, or a state out of range
const E_FAILED: i32 = -5; // the decoder failed before and cannot continue
const E_NOT_AT_END: i32 = -6; // finish(): bytes left over or states not back at the start

// Table set (built by the host, see README): header of 16 bytes, then one 16-byte entry per table.
const T_COUNT: usize = 0;
const T_ENTRIES: usize = 16;
// entry fields
const E_CDF: usize = 0; // absolute pointer to u32 cdf[len]
const E_INFO: usize = 4; // escape symbol (= len - 2) | bucket shift << 16
const E_OFFSET: usize = 8; // i32 value of symbol 0
const E_BUCKET: usize = 12; // absolute pointer to u16 bucket[(65536 >> shift) + 1]

// Encoder object.
const ENC_OPS: usize = 0;
const ENC_OPS_LEN: usize = 4;
const ENC_OPS_CAP: usize = 8;
const ENC_ESC: usize = 12;
const ENC_ESC_LEN: usize = 16;
const ENC_ESC_CAP: usize = 20;
const ENC_BUF: usize = 24;
const ENC_OUT: usize = 28;
const ENC_OUT_LEN: usize = 32;
const ENC_ERR_POS: usize = 36;
const ENC_STATES: usize = 48; // 4 x u32 used while flushing
const ENC_SIZE: usize = 64;

// Decoder object; the stream bytes follow the header at DEC_DATA.
const DEC_STATES: usize = 0; // 4 x u32
const DEC_PTR: usize = 16;
const DEC_END: usize = 20;
const DEC_COUNT: usize = 24;
const DEC_STATUS: usize = 28;
const DEC_ERR_POS: usize = 32;
const DEC_DATA: usize = 64;
// zero bytes after the stream: the branchless fast path may read up to 8 bytes past the end
// before its per-group check notices (and reports truncation)
const DEC_PAD: usize = 16;

// ---------------------------------------------------------------------------------------
// Memory for the host

/** Allocates `size` bytes (16-byte aligned); grows memory as needed. */
export function alloc(size: usize): usize {
  return heap.alloc(size);
}

/** Resizes a block, keeping its contents; a null block is allocated. */
function resize(ptr: usize, size: usize): usize {
  return ptr == 0 ? heap.alloc(size) : heap.realloc(ptr, size);
}

/** Frees a block returned by alloc, encNew or decNew. */
export function free(ptr: usize): void {
  if (ptr != 0) heap.free(ptr);
}

// ---------------------------------------------------------------------------------------
// Encoder

export function encNew(): usize {
  const enc = heap.alloc(ENC_SIZE);
  memory.fill(enc, 0, ENC_SIZE);
  return enc;
}

export function encFree(enc: usize): void {
  if (enc == 0) return;
  free(load<usize>(enc, ENC_OPS));
  free(load<usize>(enc, ENC_ESC));
  free(load<usize>(enc, ENC_BUF));
  heap.free(enc);
}

/** Drops values pushed after the encoder held `opsLen` values and `escLen` escape records. */
export function encTruncate(enc: usize, opsLen: u32, escLen: u32): void {
  if (opsLen < load<u32>(enc, ENC_OPS_LEN)) store<u32>(enc, opsLen, ENC_OPS_LEN);
  if (escLen < load<u32>(enc, ENC_ESC_LEN)) store<u32>(enc, escLen, ENC_ESC_LEN);
}

/** Number of escape records pushed since the last flush. */
export function encEscapes(enc: usize): u32 {
  return load<u32>(enc, ENC_ESC_LEN);
}

/** Number of values pushed since the last flush. */
export function encPending(enc: usize): u32 {
  return load<u32>(enc, ENC_OPS_LEN);
}

function reserveOps(enc: usize, extra: u32): void {
  const len = load<u32>(enc, ENC_OPS_LEN);
  const cap = load<u32>(enc, ENC_OPS_CAP);
  const need = len + extra;
  if (need <= cap) return;
  let newCap: u32 = cap < 1024 ? 1024 : cap + (cap >> 1);
  if (newCap < need) newCap = need;
  const ops = resize(load<usize>(enc, ENC_OPS), <usize>newCap << 2);
  store<usize>(enc, ops, ENC_OPS);
  store<u32>(enc, newCap, ENC_OPS_CAP);
}

function pushEscape(enc: usize, dir: u32, d: u32): void {
  const len = load<u32>(enc, ENC_ESC_LEN);
  const cap = load<u32>(enc, ENC_ESC_CAP);
  let esc = load<usize>(enc, ENC_ESC);
  if (len == cap) {
    const newCap: u32 = cap < 64 ? 64 : cap << 1;
    esc = resize(esc, <usize>newCap << 3);
    store<usize>(enc, esc, ENC_ESC);
    store<u32>(enc, newCap, ENC_ESC_CAP);
  }
  const rec = esc + (<usize>len << 3);
  store<u32>(rec, dir);
  store<u32>(rec, d, 4);
  store<u32>(enc, len + 1, ENC_ESC_LEN);
}

/**
 * Appends n values (i32 at `sp`) coded with tables picked by `ip` (u32 indexes).
 * Each value becomes one packed op `start | (freq - 1) << 16`; an escaped value also
 * leaves a (direction, distance) record. On a bad index nothing is appended.
 */
export function encPush(enc: usize, tbl: usize, sp: usize, ip: usize, n: u32): i32 {
  reserveOps(enc, n);
  const count = load<u32>(tbl, T_COUNT);
  const opsStart = load<u32>(enc, ENC_OPS_LEN);
  const escStart = load<u32>(enc, ENC_ESC_LEN);
  let op = load<usize>(enc, ENC_OPS) + (<usize>opsStart << 2);
  for (let i: u32 = 0; i < n; i++) {
    const idx = load<u32>(ip + (<usize>i << 2));
    if (idx >= count) {
      store<u32>(enc, escStart, ENC_ESC_LEN);
      store<u32>(enc, i, ENC_ERR_POS);
      return E_BAD_INDEX;
    }
    const e = tbl + T_ENTRIES + (<usize>idx << 4);
    const cdf = load<usize>(e, E_CDF);
    const esc = load<u32>(e, E_INFO) & 0xffff;
    const s = <i64>load<i32>(sp + (<usize>i << 2)) - <i64>load<i32>(e, E_OFFSET);
    let c: usize;
    if (<u64>s < <u64>esc) {
      c = cdf + (<usize>s << 2);
    } else {
      c = cdf + (<usize>esc << 2);
      if (s < 0) pushEscape(enc, 0, <u32>(-s - 1));
      else pushEscape(enc, 1, <u32>(s - <i64>esc));
    }
    const start = load<u32>(c);
    const freq = load<u32>(c, 4) - start;
    store<u32>(op, start | ((freq - 1) << 16));
    op += 4;
  }
  store<u32>(enc, opsStart + n, ENC_OPS_LEN);
  return OK;
}

// Globals carry (state, pointer) through the rarely taken escape path.
let gX: u32 = 0;
let gP: usize = 0;

/**
 * One encoder step: returns the new state in the low word and the output pointer in the high
 * word. Renormalisation is branchless. A valid state needs at most two bytes, and how many
 * follows from x alone (x >= xmax, x >> 8 >= xmax), so the pointer's dependency chain is one
 * subtraction per step. Both candidate bytes are always stored below p; a byte that is not
 * kept is overwritten by the next step or by the final states.
 */
// @ts-ignore: decorator
@inline function encStep(x: u32, op: u32, p: usize): u64 {
  const start = op & 0xffff;
  const freq = (op >> 16) + 1;
  const xmax = freq << XMAX_SHIFT;
  const k = <u32>(x >= xmax) + <u32>(x >> 8 >= xmax);
  store<u8>(p - 1, <u8>x);
  store<u8>(p - 2, <u8>(x >> 8));
  p -= <usize>k;
  x >>= k << 3;
  const q = x / freq;
  x = (q << PROB_BITS) + (x - q * freq) + start;
  return (<u64>p << 32) | <u64>x;
}

function encStepG(op: u32): void {
  const r = encStep(gX, op, gP);
  gX = <u32>r;
  gP = <usize>(r >> 32);
}

/** Codes an escaped value in reverse: distance nibbles (high first), header, escape symbol. */
function encEscape(op: u32, dir: u32, d: u32): void {
  const bits: u32 = 32 - clz<u32>(d);
  let m: u32 = (bits + 3) >> 2;
  if (m == 0) m = 1;
  for (let k: i32 = <i32>m - 1; k >= 0; k--) {
    const nib = (d >> (<u32>k << 2)) & 15;
    encStepG((nib << BYPASS_SHIFT) | BYPASS_OP_HI);
  }
  encStepG(((((m - 1) << 1) | dir) << BYPASS_SHIFT) | BYPASS_OP_HI);
  encStepG(op);
}

// @ts-ignore: decorator
@inline function isEscapeOp(op: u32): bool {
  return (op & 0xffff) + (op >> 16) == 0xffff;
}

/**
 * Codes every pushed value (last to first) into a fresh buffer. The stream then lies at
 * [encOut, encOut + encOutLen). The ops are cleared; the encoder can be used again.
 */
export function encFlush(enc: usize): i32 {
  const n = load<u32>(enc, ENC_OPS_LEN);
  let nEsc = load<u32>(enc, ENC_ESC_LEN);
  free(load<usize>(enc, ENC_BUF));
  // at most 2 bytes per step; an escape adds at most 9 bypass steps
  const size: usize = 16 + (<usize>n << 1) + <usize>nEsc * 18;
  const buf = heap.alloc(size);
  store<usize>(enc, buf, ENC_BUF);
  const ops = load<usize>(enc, ENC_OPS);
  const escs = load<usize>(enc, ENC_ESC);
  let p = buf + size;

  const st = enc + ENC_STATES;
  store<u32>(st, RANS_L, 0);
  store<u32>(st, RANS_L, 4);
  store<u32>(st, RANS_L, 8);
  store<u32>(st, RANS_L, 12);

  // values past the last full group of four, one by one
  let j = n;
  while ((j & 3) != 0) {
    j--;
    const sp = st + (<usize>(j & 3) << 2);
    const op = load<u32>(ops + (<usize>j << 2));
    gX = load<u32>(sp);
    gP = p;
    if (isEscapeOp(op)) {
      nEsc--;
      const rec = escs + (<usize>nEsc << 3);
      encEscape(op, load<u32>(rec), load<u32>(rec, 4));
    } else {
      encStepG(op);
    }
    store<u32>(sp, gX);
    p = gP;
  }

  let x0 = load<u32>(st, 0);
  let x1 = load<u32>(st, 4);
  let x2 = load<u32>(st, 8);
  let x3 = load<u32>(st, 12);
  let r: u64;
  while (j != 0) {
    j -= 4;
    const g = ops + (<usize>j << 2);
    let op = load<u32>(g, 12);
    if (isEscapeOp(op)) {
      nEsc--;
      const rec = escs + (<usize>nEsc << 3);
      gX = x3; gP = p;
      encEscape(op, load<u32>(rec), load<u32>(rec, 4));
      x3 = gX; p = gP;
    } else {
      r = encStep(x3, op, p); x3 = <u32>r; p = <usize>(r >> 32);
    }
    op = load<u32>(g, 8);
    if (isEscapeOp(op)) {
      nEsc--;
      const rec = escs + (<usize>nEsc << 3);
      gX = x2; gP = p;
      encEscape(op, load<u32>(rec), load<u32>(rec, 4));
      x2 = gX; p = gP;
    } else {
      r = encStep(x2, op, p); x2 = <u32>r; p = <usize>(r >> 32);
    }
    op = load<u32>(g, 4);
    if (isEscapeOp(op)) {
      nEsc--;
      const rec = escs + (<usize>nEsc << 3);
      gX = x1; gP = p;
      encEscape(op, load<u32>(rec), load<u32>(rec, 4));
      x1 = gX; p = gP;
    } else {
      r = encStep(x1, op, p); x1 = <u32>r; p = <usize>(r >> 32);
    }
    op = load<u32>(g, 0);
    if (isEscapeOp(op)) {
      nEsc--;
      const rec = escs + (<usize>nEsc << 3);
      gX = x0; gP = p;
      encEscape(op, load<u32>(rec), load<u32>(rec, 4));
      x0 = gX; p = gP;
    } else {
      r = encStep(x0, op, p); x0 = <u32>r; p = <usize>(r >> 32);
    }
  }

  // final states, little-endian, state 0 first
  p -= 16;
  store<u32>(p, x0, 0);
  store<u32>(p, x1, 4);
  store<u32>(p, x2, 8);
  store<u32>(p, x3, 12);
  store<usize>(enc, p, ENC_OUT);
  store<u32>(enc, <u32>(buf + size - p), ENC_OUT_LEN);

  store<u32>(enc, 0, ENC_OPS_LEN);
  store<u32>(enc, 0, ENC_ESC_LEN);
  // a flushed encoder keeps no buffers but the output
  free(ops);
  free(escs);
  store<usize>(enc, 0, ENC_OPS);
  store<u32>(enc, 0, ENC_OPS_CAP);
  store<usize>(enc, 0, ENC_ESC);
  store<u32>(enc, 0, ENC_ESC_CAP);
  return OK;
}

/** Frees the output of the last flush. */
export function encReleaseOutput(enc: usize): void {
  free(load<usize>(enc, ENC_BUF));
  store<usize>(enc, 0, ENC_BUF);
  store<usize>(enc, 0, ENC_OUT);
  store<u32>(enc, 0, ENC_OUT_LEN);
}

// ---------------------------------------------------------------------------------------
// Decoder

/** Allocates a decoder with room for `len` stream bytes at decData(dec). */
export function decNew(len: u32): usize {
  const dec = heap.alloc(DEC_DATA + <usize>len + DEC_PAD);
  memory.fill(dec, 0, DEC_DATA);
  memory.fill(dec + DEC_DATA + <usize>len, 0, DEC_PAD);
  return dec;
}

export function decData(dec: usize): usize {
  return dec + DEC_DATA;
}

export function decFree(dec: usize): void {
  if (dec != 0) heap.free(dec);
}

/** Reads the four initial states once the host has copied `len` bytes to decData(dec). */
export function decInit(dec: usize, len: u32): i32 {
  const data = dec + DEC_DATA;
  if (len < 16) {
    store<i32>(dec, E_BAD_HEADER, DEC_STATUS);
    return E_BAD_HEADER;
  }
  for (let k: usize = 0; k < 4; k++) {
    const x = load<u32>(data + (k << 2));
    if (x < RANS_L || x >= STATE_LIMIT) {
      store<u32>(dec, <u32>k, DEC_ERR_POS);
      store<i32>(dec, E_BAD_HEADER, DEC_STATUS);
      return E_BAD_HEADER;
    }
    store<u32>(dec + (k << 2), x, DEC_STATES);
  }
  store<usize>(dec, data + 16, DEC_PTR);
  store<usize>(dec, data + <usize>len, DEC_END);
  store<u32>(dec, 0, DEC_COUNT);
  store<i32>(dec, OK, DEC_STATUS);
  return OK;
}

/** Bytes of the stream not read yet. */
export function decRemaining(dec: usize): u32 {
  return <u32>(load<usize>(dec, DEC_END) - load<usize>(dec, DEC_PTR));
}

/**
 * Fast path for one value: returns (pointer << 32 | new state), or FLAG in the low word
 * (nothing changed) when the value needs the slow path: escape or bad index. Writes the
 * decoded value to `out` only on success. Renormalisation is branchless; it may read into
 * the padding past the end of the stream, which the caller detects after each group of four
 * values; it then redoes the group on the slow path, which stops exactly where the bytes end.
 */
// @ts-ignore: decorator
@inline function decFast(x: u32, p: usize, idx: u32, out: usize, tbl: usize, count: u32): u64 {
  if (idx >= count) return <u64>FLAG;
  const e = tbl + T_ENTRIES + (<usize>idx << 4);
  const cdf = load<usize>(e, E_CDF);
  const info = load<u32>(e, E_INFO);
  const slot = x & PROB_MASK;
  const b = load<usize>(e, E_BUCKET) + (<usize>(slot >> (info >> 16)) << 1);
  let lo = <u32>load<u16>(b);
  let hi = <u32>load<u16>(b, 2);
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (load<u32>(cdf + (<usize>mid << 2)) <= slot) lo = mid;
    else hi = mid - 1;
  }
  if (lo == (info & 0xffff)) return <u64>FLAG;
  const c = cdf + (<usize>lo << 2);
  const start = load<u32>(c);
  const freq = load<u32>(c, 4) - start;
  x = freq * (x >> PROB_BITS) + slot - start;
  // x >= 128 here, so at most two bytes are needed, and how many follows from x alone:
  // the pointer does not wait for the bytes it reads
  const one = x < RANS_L;
  const two = x < (RANS_L >> 8);
  const b0 = <u32>load<u8>(p);
  const b1 = <u32>load<u8>(p, 1);
  const x1 = (x << 8) | b0;
  x = select<u32>((x1 << 8) | b1, select<u32>(x1, x, one), two);
  p += <usize>one + <usize>two;
  store<i32>(out, <i32>lo + load<i32>(e, E_OFFSET));
  return (<u64>p << 32) | <u64>x;
}

/** Pops one symbol of frequency `freq`, `start`; `slot` is gX's low 16 bits. Renormalises. */
// @ts-ignore: decorator
@inline function decAdvance(start: u32, freq: u32, end: usize): bool {
  let x = freq * (gX >> PROB_BITS) + (gX & PROB_MASK) - start;
  let p = gP;
  while (x < RANS_L) {
    if (p >= end) return false;
    x = (x << 8) | <u32>load<u8>(p);
    p++;
  }
  gX = x;
  gP = p;
  return true;
}

/** Reads 4 bypass bits from gX. */
// @ts-ignore: decorator
@inline function decBypass(end: usize): i32 {
  const nib = (gX & PROB_MASK) >> BYPASS_SHIFT;
  if (!decAdvance(nib << BYPASS_SHIFT, 1 << BYPASS_SHIFT, end)) return -1;
  return <i32>nib;
}

/** Slow path for one value with state k, everything checked; state and pointer live in `dec`. */
function decSlow(dec: usize, tbl: usize, io: usize, k: u32): i32 {
  const idx = load<u32>(io);
  if (idx >= load<u32>(tbl, T_COUNT)) return E_BAD_INDEX;
  const sp = dec + DEC_STATES + (<usize>k << 2);
  const end = load<usize>(dec, DEC_END);
  gX = load<u32>(sp);
  gP = load<usize>(dec, DEC_PTR);

  const e = tbl + T_ENTRIES + (<usize>idx << 4);
  const cdf = load<usize>(e, E_CDF);
  const info = load<u32>(e, E_INFO);
  const esc = info & 0xffff;
  const off = load<i32>(e, E_OFFSET);
  const slot = gX & PROB_MASK;
  const b = load<usize>(e, E_BUCKET) + (<usize>(slot >> (info >> 16)) << 1);
  let lo = <u32>load<u16>(b);
  let hi = <u32>load<u16>(b, 2);
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (load<u32>(cdf + (<usize>mid << 2)) <= slot) lo = mid;
    else hi = mid - 1;
  }
  const c = cdf + (<usize>lo << 2);
  const start = load<u32>(c);
  if (!decAdvance(start, load<u32>(c, 4) - start, end)) return E_TRUNCATED;

  if (lo != esc) {
    store<i32>(io, <i32>lo + off);
  } else {
    const h = decBypass(end);
    if (h < 0) return E_TRUNCATED;
    const m = (<u32>h >> 1) + 1;
    let d: u64 = 0;
    for (let q: u32 = 0; q < m; q++) {
      const nib = decBypass(end);
      if (nib < 0) return E_TRUNCATED;
      d |= <u64>nib << (<u64>q << 2);
    }
    // canonical form: shortest nibble count
    if (m > 1 && (d >> (<u64>(m - 1) << 2)) == 0) return E_BAD_ESCAPE;
    let v: i64;
    if ((h & 1) != 0) v = <i64>off + <i64>esc + <i64>d;
    else v = <i64>off - 1 - <i64>d;
    if (v < <i64>i32.MIN_VALUE || v > <i64>i32.MAX_VALUE) return E_BAD_ESCAPE;
    store<i32>(io, <i32>v);
  }
  store<u32>(sp, gX);
  store<usize>(dec, gP, DEC_PTR);
  return OK;
}

// @ts-ignore: decorator
@inline function decFail(dec: usize, status: i32, pos: u32): i32 {
  store<i32>(dec, status, DEC_STATUS);
  store<u32>(dec, pos, DEC_ERR_POS);
  return status;
}

/**
 * Decodes n values in place: `io` holds n u32 table indexes on entry and the n decoded
 * i32 values on return. Continues exactly where the previous call stopped.
 */
export function decDecode(dec: usize, tbl: usize, io: usize, n: u32): i32 {
  if (load<i32>(dec, DEC_STATUS) != OK) return E_FAILED;
  const base = load<u32>(dec, DEC_COUNT);
  let i: u32 = 0;
  let st: i32;
  // up to the next group boundary
  while (i < n && ((base + i) & 3) != 0) {
    st = decSlow(dec, tbl, io + (<usize>i << 2), (base + i) & 3);
    if (st != OK) return decFail(dec, st, i);
    i++;
  }
  if (n - i >= 4) {
    const count = load<u32>(tbl, T_COUNT);
    const end = load<usize>(dec, DEC_END);
    let x0 = load<u32>(dec, DEC_STATES);
    let x1 = load<u32>(dec, DEC_STATES + 4);
    let x2 = load<u32>(dec, DEC_STATES + 8);
    let x3 = load<u32>(dec, DEC_STATES + 12);
    let p = load<usize>(dec, DEC_PTR);
    let r: u64;
    const stop = n - 3;
    while (i < stop) {
      const a = io + (<usize>i << 2);
      // the group's starting point, to redo it exactly on the slow path if it overruns
      const k0 = load<u32>(a);
      const k1 = load<u32>(a, 4);
      const k2 = load<u32>(a, 8);
      const k3 = load<u32>(a, 12);
      const y0 = x0;
      const y1 = x1;
      const y2 = x2;
      const y3 = x3;
      const q = p;
      r = decFast(x0, p, k0, a, tbl, count);
      if ((<u32>r & FLAG) != 0) {
        store<u32>(dec, x0, DEC_STATES);
        store<usize>(dec, p, DEC_PTR);
        st = decSlow(dec, tbl, a, 0);
        if (st != OK) return decFail(dec, st, i);
        x0 = load<u32>(dec, DEC_STATES);
        p = load<usize>(dec, DEC_PTR);
      } else {
        x0 = <u32>r;
        p = <usize>(r >> 32);
      }
      r = decFast(x1, p, k1, a + 4, tbl, count);
      if ((<u32>r & FLAG) != 0) {
        store<u32>(dec, x1, DEC_STATES + 4);
        store<usize>(dec, p, DEC_PTR);
        st = decSlow(dec, tbl, a + 4, 1);
        if (st != OK) return decFail(dec, st, i + 1);
        x1 = load<u32>(dec, DEC_STATES + 4);
        p = load<usize>(dec, DEC_PTR);
      } else {
        x1 = <u32>r;
        p = <usize>(r >> 32);
      }
      r = decFast(x2, p, k2, a + 8, tbl, count);
      if ((<u32>r & FLAG) != 0) {
        store<u32>(dec, x2, DEC_STATES + 8);
        store<usize>(dec, p, DEC_PTR);
        st = decSlow(dec, tbl, a + 8, 2);
        if (st != OK) return decFail(dec, st, i + 2);
        x2 = load<u32>(dec, DEC_STATES + 8);
        p = load<usize>(dec, DEC_PTR);
      } else {
        x2 = <u32>r;
        p = <usize>(r >> 32);
      }
      r = decFast(x3, p, k3, a + 12, tbl, count);
      if ((<u32>r & FLAG) != 0) {
        store<u32>(dec, x3, DEC_STATES + 12);
        store<usize>(dec, p, DEC_PTR);
        st = decSlow(dec, tbl, a + 12, 3);
        if (st != OK) return decFail(dec, st, i + 3);
        x3 = load<u32>(dec, DEC_STATES + 12);
        p = load<usize>(dec, DEC_PTR);
      } else {
        x3 = <u32>r;
        p = <usize>(r >> 32);
      }
      if (p > end) {
        // ran past the stream: restore the group and let the slow path find the exact end
        store<u32>(a, k0);
        store<u32>(a, k1, 4);
        store<u32>(a, k2, 8);
        store<u32>(a, k3, 12);
        x0 = y0;
        x1 = y1;
        x2 = y2;
        x3 = y3;
        p = q;
        break;
      }
      i += 4;
    }
    store<u32>(dec, x0, DEC_STATES);
    store<u32>(dec, x1, DEC_STATES + 4);
    store<u32>(dec, x2, DEC_STATES + 8);
    store<u32>(dec, x3, DEC_STATES + 12);
    store<usize>(dec, p, DEC_PTR);
  }
  while (i < n) {
    st = decSlow(dec, tbl, io + (<usize>i << 2), (base + i) & 3);
    if (st != OK) return decFail(dec, st, i);
    i++;
  }
  store<u32>(dec, base + n, DEC_COUNT);
  return OK;
}

/** Succeeds only when every byte was read and all states are back at their initial value. */
export function decFinish(dec: usize): i32 {
  if (load<i32>(dec, DEC_STATUS) != OK) return E_FAILED;
  if (load<usize>(dec, DEC_PTR) != load<usize>(dec, DEC_END)) return E_NOT_AT_END;
  for (let k: usize = 0; k < 4; k++) {
    if (load<u32>(dec + (k << 2), DEC_STATES) != RANS_L) return E_NOT_AT_END;
  }
  return OK;
}
