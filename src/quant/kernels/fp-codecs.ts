/**
 * Element and scale encodings of MLX's fp modes as the Metal kernels compute them
 * (ml-explore/mlx mlx/ops.cpp `quantize`, mlx/backend/metal/kernels/quantized.h; mlx/backend/metal/kernels/fp4.h, fp8.h). Written from the
 * definitions in exact double arithmetic.
 */

const f = Math.fround;
const scratch = new Float32Array(1);
const scratchU = new Uint32Array(scratch.buffer);

function signBit(x: number): boolean {
  return x < 0 || Object.is(x, -0);
}

/** Nearest integer, ties to even (v >= 0). */
function rne(v: number): number {
  const fl = Math.floor(v);
  const d = v - fl;
  if (d > 0.5 || (d === 0.5 && fl % 2 === 1)) return fl + 1;
  return fl;
}

/** fp32 exponent and mantissa of |x| > 0 (subnormals normalized): |x| = (1 + m / 2^23) * 2^e. */
function split(x: number): { e: number; m: number } {
  scratch[0] = Math.abs(x);
  const u = scratchU[0];
  const ef = u >>> 23;
  if (ef !== 0) return { e: ef - 127, m: u & 0x7fffff };
  // subnormal: value = u * 2^-149
  const lead = 31 - Math.clz32(u); // position of the leading 1
  return { e: lead - 149, m: ((u - 2 ** lead) * 2 ** (23 - lead)) >>> 0 };
}

// ---- E2M1 (fp4) ------------------------------------------------------------------------------

export const E2M1_VALUES: readonly number[] = [0, 0.5, 1, 1.5, 2, 3, 4, 6, -0, -0.5, -1, -1.5, -2, -3, -4, -6];

/** Metal fp4_e2m1: NaN -> 0x7; else magnitude thresholds (ties to even, saturating at 6), sign from signbit. */
export function encodeE2M1(x: number): number {
  if (Number.isNaN(x)) return 0x7;
  const s = signBit(x) ? 0x8 : 0;
  const a = Math.abs(x);
  let c: number;
  if (a > 5) c = 7;
  else if (a >= 3.5) c = 6;
  else if (a > 2.5) c = 5;
  else if (a >= 1.75) c = 4;
  else if (a > 1.25) c = 3;
  else if (a >= 0.75) c = 2;
  else if (a > 0.25) c = 1;
  else c = 0;
  return c | s;
}

export function decodeE2M1(c: number): number {
  return E2M1_VALUES[c & 0xf];
}

// ---- E4M3 (fp8; 1 sign, 4 exponent bits bias 7, 3 mantissa bits, no inf) ---------------------

/**
 * Round |x| to the nearest E4M3 value, ties to even (subnormal step 2^-9); every |x| >= 448, inf
 * and NaN saturate to 0x7E (448). Sign from the sign bit.
 */
export function encodeE4M3(x: number): number {
  scratch[0] = x;
  const u = scratchU[0];
  const s = u >>> 31 ? 0x80 : 0;
  const a = Math.abs(scratch[0]);
  if (Number.isNaN(a) || a >= 448) return s | 0x7e;
  if (a < 2 ** -6) return s | rne(a * 512); // subnormal: multiples of 2^-9 (8 -> 0x08, the smallest normal)
  let { e, m } = split(a);
  let mant = rne((m / 2 ** 23) * 8); // exact in double
  if (mant === 8) {
    e += 1;
    mant = 0;
  }
  return s | ((e + 7) << 3) | mant;
}

/** E4M3 byte -> value; 0x7F / 0xFF decode to +-480 as in MLX (no NaN). */
export function decodeE4M3(c: number): number {
  const exp = (c >> 3) & 0xf;
  const mant = c & 7;
  const v = exp === 0 ? mant * 2 ** -9 : (1 + mant / 8) * 2 ** (exp - 7);
  return c & 0x80 ? -v : v;
}

// ---- E8M0 (power-of-two scale, mx modes) ----------------------------------------------------

/**
 * For each fp32 exponent e (-149..127), the smallest mantissa m (0..2^23) at which
 * round_half_away(fp32(log2(x))) gives e + 1 rather than e. Built once from double log2 rounded to
 * fp32: this models Metal's log2 as correctly rounded (its real last-ulp behaviour is unverified).
 */
let thresholds: Int32Array | undefined;

function roundsUp(e: number, m: number): boolean {
  const x = (1 + m / 2 ** 23) * 2 ** e;
  const l = f(Math.log2(x));
  const r = Math.floor(Math.abs(l) + 0.5) * (l < 0 ? -1 : 1);
  return r === e + 1;
}

export function e8m0Thresholds(): Int32Array {
  if (!thresholds) {
    const t = new Int32Array(277);
    for (let e = -149; e <= 127; e++) {
      let lo = 0;
      let hi = 2 ** 23; // hi: "never within this binade"
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (roundsUp(e, mid)) hi = mid;
        else lo = mid + 1;
      }
      t[e + 149] = lo;
    }
    thresholds = t;
  }
  return thresholds;
}

/** Metal fp8_e8m0: non-finite -> 0xFF, negative -> 0, 0 -> 0 (log2 = -inf saturates, assumed); else round(log2 x) + 127, clamped to [-127, 127]. */
export function encodeE8M0(x: number): number {
  if (!Number.isFinite(x)) return 0xff;
  if (x <= 0) return 0;
  const { e, m } = split(x);
  let n = e + (m >= e8m0Thresholds()[e + 149] ? 1 : 0);
  n = n < -127 ? -127 : n > 127 ? 127 : n;
  return n + 127;
}

/** E8M0 byte -> fp32 value: 2^(b-127); 0 -> 2^-127 (as MLX), 255 -> +inf. */
export function decodeE8M0(b: number): number {
  if (b === 255) return Infinity;
  return b === 0 ? 2 ** -127 : 2 ** (b - 127);
}
