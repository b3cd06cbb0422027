// MLX fp modes (mxfp4, mxfp8, nvfp4) as the Metal kernel fp_quantize computes them
// (reference/mlx-format.md §6.1-§6.2): E2M1 / E4M3 element codes, E8M0 / E4M3 scale bytes.
#pragma once
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "quant_affine.h"
#include "quant_io.h"
#include "quant_pack.h"
#include "quant_simd.h"

namespace mtpkit {
namespace quant {

// |x| = (1 + m / 2^23) * 2^e for finite x != 0 (subnormals normalized).
inline void split_f32(float x, int& e, uint32_t& m) {
  uint32_t u = f32_bits(x) & 0x7FFFFFFFu;
  uint32_t ef = u >> 23;
  if (ef != 0) {
    e = int(ef) - 127;
    m = u & 0x7FFFFFu;
    return;
  }
  // subnormal (u != 0): shift the leading 1 up to the implicit-bit position
  e = -126;
  while (!(u & 0x800000u)) {
    u <<= 1;
    --e;
  }
  m = u & 0x7FFFFFu;
}

// E2M1: NaN -> 0x7; magnitude thresholds (ties to even, saturating at 6); sign from the sign bit.
inline uint32_t encode_e2m1(float x) {
  if (std::isnan(x)) return 0x7;
  uint32_t s = (f32_bits(x) >> 28) & 0x8u;
  float a = std::fabs(x);
  uint32_t c = uint32_t(a > 0.25f) + uint32_t(a >= 0.75f) + uint32_t(a > 1.25f) + uint32_t(a >= 1.75f) +
               uint32_t(a > 2.5f) + uint32_t(a >= 3.5f) + uint32_t(a > 5.0f);
  return c | s;
}

inline float decode_e2m1(uint32_t c) {
  static const float kValues[8] = {0.0f, 0.5f, 1.0f, 1.5f, 2.0f, 3.0f, 4.0f, 6.0f};
  float v = kValues[c & 7];
  return (c & 8) ? -v : v;
}

// E4M3 (bias 7, no inf): nearest, ties to even; |x| >= 448, inf and NaN saturate to 0x7E.
inline uint32_t encode_e4m3(float x) {
  uint32_t u = f32_bits(x);
  uint32_t s = (u >> 24) & 0x80u;
  u &= 0x7FFFFFFFu;
  if (u >= 0x43E00000u) return s | 0x7Eu;  // 448.0f and above (inf / NaN patterns too)
  if (u < 0x3C800000u) {                   // below 2^-6: subnormal step 2^-9
    float k = bits_f32(u) * 512.0f;          // exact, < 8
    return s | (f32_bits(k + 0x1p23f) - 0x4B000000u);  // round to integer, ties to even
  }
  uint32_t q = (((u >> 23) - 120u) << 3) | ((u >> 20) & 7u);  // exponent rebias 127 -> 7
  uint32_t rem = u & 0xFFFFFu;
  q += uint32_t(rem > 0x80000u || (rem == 0x80000u && (q & 1u)));
  return s | q;
}

// E4M3 byte -> value; 0x7F decodes to 480 as in MLX.
inline float decode_e4m3(uint32_t c) {
  uint32_t exp = (c >> 3) & 0xFu, mant = c & 7u;
  float v = exp == 0 ? float(mant) * 0x1p-9f : bits_f32(((exp + 120u) << 23) | (mant << 20));
  return (c & 0x80u) ? -v : v;
}

#if MTPKIT_QUANT_SIMD
// encode_e2m1 on 4 lanes.
inline i4 encode_e2m1_4(f4 x) {
  i4 u = as_i(x);
  f4 a = as_f(u & splat_i(0x7FFFFFFF));
  // each true comparison is -1: subtracting counts the thresholds passed
  i4 c = splat_i(0) - (a > splat(0.25f)) - (a >= splat(0.75f)) - (a > splat(1.25f)) - (a >= splat(1.75f)) -
         (a > splat(2.5f)) - (a >= splat(3.5f)) - (a > splat(5.0f));
  c |= (u >> 28) & splat_i(8);  // arithmetic shift keeps bit 3 = sign
  i4 nan = x != x;
  return (nan & splat_i(7)) | (~nan & c);
}

// encode_e4m3 on 4 lanes (same steps, with selects).
inline i4 encode_e4m3_4(f4 x) {
  i4 u = as_i(x);
  i4 s = (u >> 24) & splat_i(0x80);
  u &= splat_i(0x7FFFFFFF);  // now non-negative: signed comparisons are safe
  i4 sub = as_i(as_f(u) * splat(512.0f) + splat(0x1p23f)) - splat_i(0x4B000000);
  i4 t = u - splat_i(120 << 23);  // exponent bias 127 -> 7; mantissa kept in bits 0..22
  i4 normal = (t + splat_i(0x7FFFF) + ((t >> 20) & splat_i(1))) >> 20;  // round the 20 dropped bits, ties even
  i4 is_sub = u < splat_i(0x3C800000), is_sat = u >= splat_i(0x43E00000);
  i4 c = (is_sub & sub) | (~is_sub & normal);
  c = (is_sat & splat_i(0x7E)) | (~is_sat & c);
  return c | s;
}
#endif

// For each fp32 exponent e in [-149, 127]: the smallest mantissa at which round_half_away(fp32(
// log2 x)) is e + 1 instead of e. Models Metal's log2 as correctly rounded (unverified there).
inline const int32_t* e8m0_thresholds() {
  static const struct Table {
    int32_t t[277];
    Table() {
      for (int e = -149; e <= 127; ++e) {
        int32_t lo = 0, hi = 1 << 23;
        while (lo < hi) {
          int32_t mid = (lo + hi) / 2;
          double x = std::ldexp(1.0 + double(mid) / 8388608.0, e);
          float l = float(std::log2(x));
          float r = std::round(l);  // ties away from zero
          if (r == float(e + 1)) hi = mid;
          else lo = mid + 1;
        }
        t[e + 149] = lo;
      }
    }
  } table;
  return table.t;
}

// E8M0: non-finite -> 0xFF; x <= 0 -> 0 (log2(0) = -inf taken as saturating, assumed);
// else clamp(round(log2 x), -127, 127) + 127.
inline uint32_t encode_e8m0(float x) {
  if (!std::isfinite(x)) return 0xFF;
  if (!(x > 0.0f)) return 0;
  int e;
  uint32_t m;
  split_f32(x, e, m);
  int n = e + int(int32_t(m) >= e8m0_thresholds()[e + 149]);
  n = n < -127 ? -127 : (n > 127 ? 127 : n);
  return uint32_t(n + 127);
}

inline float decode_e8m0(uint32_t b) {
  return b == 0 ? bits_f32(0x00400000u) : bits_f32(b << 23);  // 255 -> +inf
}

inline float fp_scale_value(uint32_t byte, int gs) { return gs == 16 ? decode_e4m3(byte) : decode_e8m0(byte); }

// fp-mode groups [g0, g1). B = 4 (E2M1) or 8 (E4M3); gs = 16 (E4M3 scale) or 32 (E8M0 scale).
// scale_enc = 2688 / global_scale for nvfp4 with a global scale, else 1 (has_global false).
template <DType T, int B>
size_t fp_quantize_range(const uint8_t* src, int gs, bool has_global, float scale_enc, size_t g0, size_t g1,
                         uint8_t* weight, uint8_t* scales) {
  alignas(64) float x[32];
  alignas(64) uint8_t codes[32];
  const size_t in_bytes = size_t(gs) * dtype_bytes(T);
  const size_t w_bytes = size_t(gs) * B / 8;
  for (size_t g = g0; g < g1; ++g) {
    const uint8_t* p = src + g * in_bytes;
    if (!load_group<T>(p, gs, x)) return g * gs + size_t(first_non_finite<T>(p, gs));
    float amax = 0.0f;
#if MTPKIT_QUANT_SIMD
    f4 am = splat(0.0f);
    for (int i = 0; i < gs; i += 4) am = vmax(as_f(as_i(load4(x + i)) & splat_i(0x7FFFFFFF)), am);
    amax = hmax(am);
#else
    for (int i = 0; i < gs; ++i) {
      float a = std::fabs(x[i]);
      amax = a > amax ? a : amax;
    }
#endif
    float sd = amax / (B == 4 ? 6.0f : 448.0f);
    if (has_global) sd = sd * scale_enc;
    uint32_t s = gs == 16 ? encode_e4m3(sd) : encode_e8m0(sd);
    scales[g] = uint8_t(s);
    float sv = fp_scale_value(s, gs);
    float enc = sv == 0.0f ? 0.0f : scale_enc / sv;
#if MTPKIT_QUANT_SIMD
    const f4 venc = splat(enc);
    for (int i = 0; i < gs; i += 16) {
      f4 v0 = load4(x + i) * venc, v1 = load4(x + i + 4) * venc, v2 = load4(x + i + 8) * venc,
         v3 = load4(x + i + 12) * venc;
      if (B == 4) narrow16(encode_e2m1_4(v0), encode_e2m1_4(v1), encode_e2m1_4(v2), encode_e2m1_4(v3), codes + i);
      else narrow16(encode_e4m3_4(v0), encode_e4m3_4(v1), encode_e4m3_4(v2), encode_e4m3_4(v3), codes + i);
    }
#else
    for (int i = 0; i < gs; ++i) {
      float v = x[i] * enc;
      codes[i] = uint8_t(B == 4 ? encode_e2m1(v) : encode_e4m3(v));
    }
#endif
    pack_codes<B>(codes, gs, weight + g * w_bytes);
  }
  return kNoBad;
}

// Metal fp_dequantize: T(scale [* global / 2688] * decode(code)).
template <int B, DType O>
void fp_dequantize_range(const uint8_t* w, const uint8_t* scales, int gs, bool has_global, float inv_scale_enc,
                         size_t g0, size_t g1, uint8_t* out) {
  alignas(64) uint8_t codes[32];
  const size_t w_bytes = size_t(gs) * B / 8;
  const size_t o_bytes = dtype_bytes(O);
  for (size_t g = g0; g < g1; ++g) {
    unpack_codes<B>(w + g * w_bytes, gs, codes);
    float s = fp_scale_value(scales[g], gs);
    if (has_global) s = s * inv_scale_enc;
    uint8_t* o = out + g * size_t(gs) * o_bytes;
    for (int i = 0; i < gs; ++i) {
      float d = B == 4 ? decode_e2m1(codes[i]) : decode_e4m3(codes[i]);
      store_value<O>(o + i * o_bytes, s * d);
    }
  }
}

}  // namespace quant
}  // namespace mtpkit
