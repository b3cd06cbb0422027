/**
 * Scalar bf16 / f16 / f32 conversions on bit patterns, written from the IEEE 754 definitions with
 * MLX's NaN rules (ml-explore/mlx mlx/types/half_types.h, bf16.h). Slow and plain on purpose: this is the independent
 * reference the native kernels (native/src/float_bits.h) are tested against.
 *
 * 16-bit patterns are numbers in [0, 0xFFFF]; f32 patterns are unsigned numbers in [0, 2^32).
 */
import { InputError, type ErrorPlace } from '../errors';

/** The float dtypes the conversion kernels handle (safetensors names). */
export type FloatDType = 'F32' | 'F16' | 'BF16';

export const FLOAT_DTYPE_BYTES: Readonly<Record<FloatDType, number>> = { F32: 4, F16: 2, BF16: 2 };

export function isConvertibleFloatDType(s: unknown): s is FloatDType {
  return s === 'F32' || s === 'F16' || s === 'BF16';
}

/** Number of elements in `byteLength` bytes of `dtype`; InputError if it is not whole. */
export function floatElementCount(byteLength: number, dtype: FloatDType, place: ErrorPlace = {}): number {
  if (!isConvertibleFloatDType(dtype)) {
    throw new InputError(`unknown float dtype '${String(dtype)}' (expected F32, F16 or BF16)`, place);
  }
  const size = FLOAT_DTYPE_BYTES[dtype];
  if (byteLength % size !== 0) {
    throw new InputError(
      `${dtype} data of ${byteLength} bytes is not a whole number of ${size}-byte elements`,
      place,
    );
  }
  return byteLength / size;
}

// Module-level copies of globals: inside Jest's vm sandbox every global lookup goes through the
// context proxy, which made these per-element functions ~15x slower.
const { abs, floor, max } = Math;
const INF = Number.POSITIVE_INFINITY;
const NAN = Number.NaN;

// One shared 4-byte scratch: storing a JS number into a Float32Array rounds it to float32 (RNE).
const scratchF32 = new Float32Array(1);
const scratchU32 = new Uint32Array(scratchF32.buffer);

/** Bit pattern of `x` rounded to float32 (NaN payloads are not meaningful here). */
export function f32Bits(x: number): number {
  scratchF32[0] = x;
  return scratchU32[0];
}

/** The float32 value of bit pattern `u`. A NaN pattern gives NaN (its payload is not kept). */
export function bitsToF32(u: number): number {
  scratchU32[0] = u >>> 0;
  return scratchF32[0];
}

function isF32NaNBits(u: number): boolean {
  return (u & 0x7fffffff) >>> 0 > 0x7f800000;
}

// ---- bf16 ----------------------------------------------------------------------------------

/** bf16 is the upper half of an f32: exact, NaN payloads included. */
export function bf16ToF32Bits(bits: number): number {
  return ((bits & 0xffff) << 16) >>> 0;
}

export function bf16ToF32(bits: number): number {
  return bitsToF32(bf16ToF32Bits(bits));
}

/**
 * Keep the upper 16 bits, rounding the dropped 16 to nearest, ties to even. The rounded-up pattern
 * is the next representable bf16 (a carry moves into the exponent; past the max it reaches inf).
 * Any NaN -> 0x7FC0, positive canonical (MLX drops the sign).
 */
export function f32BitsToBf16(u: number): number {
  u >>>= 0;
  if (isF32NaNBits(u)) return 0x7fc0;
  let kept = u >>> 16;
  const dropped = u & 0xffff;
  const half = 0x8000;
  if (dropped > half || (dropped === half && (kept & 1) === 1)) kept += 1;
  return kept;
}

/** `x` is first rounded to float32. */
export function f32ToBf16(x: number): number {
  return f32BitsToBf16(f32Bits(x));
}

// ---- f16 (IEEE binary16: 1 sign, 5 exponent bits with bias 15, 10 mantissa bits) -------------

/** Exact value of an f16 pattern. */
export function f16ToF32(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >> 10) & 0x1f;
  const mant = bits & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24; // zero / subnormal: mant * 2^-14 / 2^10
  if (exp === 31) return mant === 0 ? sign * INF : NAN;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/**
 * f32 pattern of an f16. NaNs keep sign and payload (shifted into the top mantissa bits) and get
 * the quiet bit, which is what hardware conversions (x86 F16C, ARM fcvt) produce.
 */
export function f16ToF32Bits(bits: number): number {
  const mant = bits & 0x3ff;
  if ((bits & 0x7c00) === 0x7c00 && mant !== 0) {
    return (((bits & 0x8000) << 16) | 0x7fc00000 | (mant << 13)) >>> 0;
  }
  return f32Bits(f16ToF32(bits));
}

/**
 * Round an f32 pattern to the nearest f16, ties to even, following the definition: find the f16
 * binade of |x| (at least the subnormal one, 2^-14), count |x| in units of that binade's spacing,
 * round the count, then encode. Overflow -> inf. Any NaN -> sign | 0x7D00 (MLX).
 */
export function f32BitsToF16(u: number): number {
  u >>>= 0;
  const sign = (u >>> 16) & 0x8000;
  if (isF32NaNBits(u)) return sign | 0x7d00;
  const x = abs(bitsToF32(u));
  if (x === INF) return sign | 0x7c00;

  // |x| lies in [2^e, 2^(e+1)) with e its f32 exponent; f16 spacing there is 2^(e-10), and below
  // the smallest normal f16 (2^-14) the spacing stays 2^-24.
  let e = max(((u >>> 23) & 0xff) - 127, -14);
  if (e > 15) return sign | 0x7c00;
  const spacing = 2 ** (e - 10);
  const q = x / spacing; // exact: power-of-two scaling of a float32 in double
  let n = floor(q);
  const frac = q - n;
  if (frac > 0.5 || (frac === 0.5 && n % 2 === 1)) n += 1;

  if (n === 2048) {
    // rounded up to the next power of two
    e += 1;
    n = 1024;
  }
  if (e > 15) return sign | 0x7c00; // above 65504 + half its spacing
  if (n < 1024) return sign | n; // subnormal (only when e === -14): exponent field 0
  return sign | ((e + 15) << 10) | (n - 1024);
}

/** `x` is first rounded to float32. */
export function f32ToF16(x: number): number {
  return f32BitsToF16(f32Bits(x));
}
