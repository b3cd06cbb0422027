// Scalar bf16 / f16 <-> f32 conversions with MLX's rounding and NaN rules
// (docs: /work/shared/reference/mlx-format.md §7). Self-contained, no Napi, so any kernel can include it.
// Written branch-free (selects instead of ifs) so loops over them auto-vectorize.
#pragma once
#include <cstdint>
#include <cstring>

namespace mtpkit {

inline uint32_t f32_bits(float x) {
  uint32_t u;
  std::memcpy(&u, &x, sizeof u);
  return u;
}

inline float bits_f32(uint32_t u) {
  float x;
  std::memcpy(&x, &u, sizeof x);
  return x;
}

// c ? a : b as mask arithmetic: with trapping math on (-fno-fast-math) GCC will not if-convert a
// ternary whose arms hold float work, and the branch would stop the loop from vectorizing.
inline uint32_t select_u32(bool c, uint32_t a, uint32_t b) {
  uint32_t m = 0u - uint32_t(c);
  return (a & m) | (b & ~m);
}

// Exact: bf16 is the upper half of an f32 (NaN payloads kept as they are).
inline float bf16_to_f32(uint16_t h) { return bits_f32(uint32_t(h) << 16); }

// Round-to-nearest-even on the 16 dropped bits; a carry moves into the exponent, so the largest
// finite values round up to inf as IEEE says. Every NaN becomes the positive canonical 0x7FC0 (MLX).
inline uint16_t f32_to_bf16(float x) {
  uint32_t u = f32_bits(x);
  uint32_t rounded = (u + 0x7FFFu + ((u >> 16) & 1u)) >> 16;
  bool nan = (u & 0x7FFFFFFFu) > 0x7F800000u;
  return uint16_t(select_u32(nan, 0x7FC0u, rounded));
}

// Exact. f16 NaNs keep sign and payload and get the quiet bit set, as F16C / ARM fcvt (and so
// MLX on those machines) do.
inline float f16_to_f32(uint16_t h) {
  uint32_t sign = uint32_t(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1Fu;
  uint32_t mant = h & 0x3FFu;
  // Normal: rebias the exponent from 15 to 127 (127 - 15 = 112).
  uint32_t normal = ((exp + 112u) << 23) | (mant << 13);
  // Subnormal (and zero): value is mant * 2^-24, exact in f32.
  uint32_t sub = f32_bits(float(int32_t(mant)) * 0x1p-24f);
  uint32_t special = 0x7F800000u | (mant << 13) | select_u32(mant != 0, 0x00400000u, 0u);
  uint32_t mag = select_u32(exp == 0, sub, select_u32(exp == 31, special, normal));
  return bits_f32(sign | mag);
}

// IEEE round-to-nearest-even including f16 subnormals; |x| >= 65520 (half-way above 65504, whose
// last mantissa bit is odd) becomes inf. NaN -> sign | 0x7D00 (MLX).
inline uint16_t f32_to_f16(float x) {
  uint32_t u = f32_bits(x);
  uint32_t sign = (u >> 16) & 0x8000u;
  uint32_t a = u & 0x7FFFFFFFu;
  // Normal f16 range: rebias exponent (112 << 23), then round away the low 13 mantissa bits.
  uint32_t r = a - 0x38000000u;
  uint32_t normal = (r + 0xFFFu + ((r >> 13) & 1u)) >> 13;
  // Below 2^-14: adding 0.5f puts the value in a binade whose f32 ulp is 2^-24, the f16 subnormal
  // step, so the hardware add rounds to nearest-even for us; the low bits are then the f16 pattern.
  uint32_t sub = f32_bits(bits_f32(a) + 0.5f) - 0x3F000000u;
  uint32_t mag = select_u32(a < 0x38800000u, sub, normal);
  mag = select_u32(a >= 0x477FF000u, 0x7C00u, mag);  // 65520.0f and above, inf included
  mag = select_u32(a > 0x7F800000u, 0x7D00u, mag);   // NaN
  return uint16_t(sign | mag);
}

}  // namespace mtpkit
