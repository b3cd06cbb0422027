// MLX affine quantize / dequantize kernels (reference/mlx-format.md §2.3-§2.4), fp32 throughout.
// Built with -ffp-contract=off -fno-fast-math, so every float op below is one IEEE fp32 op, as in
// MLX's kernels. Kernels process a range of groups [g0, g1); groups are consecutive runs of
// `gs` elements of the flat row-major input (the last axis is a multiple of gs).
#pragma once
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "quant_io.h"
#include "quant_pack.h"
#include "quant_simd.h"

namespace mtpkit {
namespace quant {

constexpr int kMaxGroup = 128;
constexpr size_t kNoBad = ~size_t(0);

// Nearest integer, ties to even (std::rint under FE_TONEAREST), valid for every float.
inline float round_half_even(float v) {
  if (!(std::fabs(v) < 0x1p22f)) return std::rint(v);
  float r = (v + 0x1.8p23f) - 0x1.8p23f;  // the sum's ulp is 1: the add rounds to an integer
  return r;
}

// Nearest integer, ties away from zero (Metal round()), valid for every float.
inline float round_half_away(float v) {
  if (!(std::fabs(v) < 0x1p23f)) return v;  // already an integer
  float a = std::fabs(v);
  float t = float(int32_t(a));
  float r = t + float(int32_t((a - t) >= 0.5f));
  return std::copysign(r, v);  // bit operations: no branch on the (random) sign
}

struct AffineParams {
  float scale;  // unrounded fp32 values: the codes are computed with these
  float bias;
};

// Scale and bias of one group. Metal: w_max starts at 0 and q0 rounds ties away from zero;
// CPU: true maximum and ties to even.
// Vec = false forces the plain loops (the kernel the others are tested against).
template <bool Metal, bool Vec = true>
MTPKIT_QUANT_INLINE AffineParams affine_params(const float* x, int g, int bits) {
  float w_min, w_max;
#if MTPKIT_QUANT_SIMD
  if constexpr (Vec) {
    // Another reduction order than the plain loop: equal values may come from either side, which only
    // matters for +0 / -0, and the sign of a zero extreme changes neither mask, scale, edge nor q0 != 0.
    f4 mn0 = load4(x), mx0 = mn0, mn1 = load4(x + 4), mx1 = mn1;
    for (int i = 8; i < g; i += 8) {
      f4 a = load4(x + i), b = load4(x + i + 4);
      mn0 = vmin(a, mn0);
      mx0 = vmax(a, mx0);
      mn1 = vmin(b, mn1);
      mx1 = vmax(b, mx1);
    }
    w_min = hmin(vmin(mn0, mn1));
    w_max = hmax(vmax(mx0, mx1));
  } else
#endif
  {
    w_min = w_max = x[0];
    for (int i = 1; i < g; ++i) {
      w_min = x[i] < w_min ? x[i] : w_min;
      w_max = x[i] > w_max ? x[i] : w_max;
    }
  }
  if (Metal) w_max = w_max > 0.0f ? w_max : 0.0f;  // the Metal kernel starts its max at 0
  const float n_bins = float((1 << bits) - 1);
  const float eps = 1e-7f;
  bool mask = std::fabs(w_min) > std::fabs(w_max);
  float scale = (w_max - w_min) / n_bins;
  scale = scale < eps ? eps : scale;
  // scale = mask ? scale : -scale; edge = mask ? w_min : w_max — as integer selects, because
  // mask is data-dependent and a branch on it mispredicts half the time.
  scale = bits_f32(f32_bits(scale) ^ select_u32(mask, 0u, 0x80000000u));
  float edge = bits_f32(select_u32(mask, f32_bits(w_min), f32_bits(w_max)));
  float q = edge / scale;
  float q0 = Metal ? round_half_away(q) : round_half_even(q);
  float bias = 0.0f;
  if (q0 != 0.0f) {
    scale = edge / q0;
    bias = edge;
  }
  return {scale, bias};
}

// codes[i] = clamp(ROUND((x[i] - bias) / scale), 0, n_bins). Clamping before rounding gives the
// same result (round is monotone and 0, n_bins are integers) and keeps the value small enough
// for the cheap rounding tricks below.
#if MTPKIT_QUANT_SIMD
template <bool Metal>
MTPKIT_QUANT_INLINE i4 affine_code4(f4 x, f4 vb, f4 vs, f4 vhi) {
  f4 v = vmin(vmax((x - vb) / vs, splat(0.0f)), vhi);
  if (Metal) {
    // Half away from zero for v >= 0 is trunc(v + 0.5), except for the float just below 0.5,
    // whose sum with 0.5 rounds up to 1.0 (a true comparison lane is -1).
    return __builtin_convertvector(v + splat(0.5f), i4) + (v == splat(0x1.fffffep-2f));
  }
  // v + 2^23 lies in [2^23, 2^24) where the float spacing is 1: the add rounds to even.
  return as_i(v + splat(0x1p23f)) - splat_i(0x4B000000);
}
#endif

template <bool Metal, bool Vec = true>
MTPKIT_QUANT_INLINE void affine_codes(const float* x, int g, int bits, AffineParams p, uint8_t* codes) {
  const float hi = float((1 << bits) - 1);
#if MTPKIT_QUANT_SIMD
  if constexpr (Vec) {
    const f4 vb = splat(p.bias), vs = splat(p.scale), vhi = splat(hi);
    for (int i = 0; i < g; i += 16) {
      i4 c0 = affine_code4<Metal>(load4(x + i), vb, vs, vhi);
      i4 c1 = affine_code4<Metal>(load4(x + i + 4), vb, vs, vhi);
      i4 c2 = affine_code4<Metal>(load4(x + i + 8), vb, vs, vhi);
      i4 c3 = affine_code4<Metal>(load4(x + i + 12), vb, vs, vhi);
      narrow16(c0, c1, c2, c3, codes + i);
    }
    return;
  }
#endif
  for (int i = 0; i < g; ++i) {
    float v = (x[i] - p.bias) / p.scale;
    v = v > 0.0f ? v : 0.0f;
    v = v < hi ? v : hi;
    int32_t c;
    if (Metal) {
      c = int32_t(v + 0.5f) - int32_t(v == 0x1.fffffep-2f);
    } else {
      c = int32_t(f32_bits(v + 0x1p23f) - 0x4B000000u);
    }
    codes[i] = uint8_t(c);
  }
}

struct AffineOut {
  uint8_t* weight;
  uint8_t* scales;
  uint8_t* biases;
};

// Quantizes groups [g0, g1). Returns kNoBad, or the flat index of the first NaN / Inf (the range
// stops there).
template <DType T, int B, bool Metal, int gs, bool Vec>
size_t affine_quantize_groups(const uint8_t* src, size_t g0, size_t g1, AffineOut out) {
  // Groups go in batches of kBatch: the scalar scale / bias math of one group is a chain of
  // dependent divisions, and computing several before the code loops lets them overlap.
  constexpr int kBatch = 4;
  alignas(64) float x[kBatch][gs];
  alignas(64) uint8_t codes[gs];
  AffineParams ap[kBatch];
  const size_t in_bytes = size_t(gs) * dtype_bytes(T);
  const size_t w_bytes = size_t(gs) * B / 8;
  const size_t s_bytes = dtype_bytes(T);
  for (size_t g = g0; g < g1; g += kBatch) {
    const int nb = int(g1 - g < size_t(kBatch) ? g1 - g : size_t(kBatch));
    for (int k = 0; k < nb; ++k) {
      const uint8_t* p = src + (g + k) * in_bytes;
      if (!load_group<T>(p, gs, x[k])) return (g + k) * gs + size_t(first_non_finite<T>(p, gs));
    }
    for (int k = 0; k < nb; ++k) ap[k] = affine_params<Metal, Vec>(x[k], gs, B);
    for (int k = 0; k < nb; ++k) {
      affine_codes<Metal, Vec>(x[k], gs, B, ap[k], codes);
      pack_codes<B>(codes, gs, out.weight + (g + k) * w_bytes);
      store_value<T>(out.scales + (g + k) * s_bytes, ap[k].scale);
      store_value<T>(out.biases + (g + k) * s_bytes, ap[k].bias);
    }
  }
  return kNoBad;
}

// The group size is a template parameter of the kernel above so its loops have fixed trip counts.
template <DType T, int B, bool Metal, bool Vec = true>
size_t affine_quantize_range(const uint8_t* src, int gs, size_t g0, size_t g1, AffineOut out) {
  switch (gs) {
    case 32: return affine_quantize_groups<T, B, Metal, 32, Vec>(src, g0, g1, out);
    case 64: return affine_quantize_groups<T, B, Metal, 64, Vec>(src, g0, g1, out);
    default: return affine_quantize_groups<T, B, Metal, 128, Vec>(src, g0, g1, out);
  }
}

// Dequantizes groups [g0, g1): fp32 float(s) * q + float(b), then cast to O.
template <int B, DType O>
void affine_dequantize_range(const uint8_t* w, const uint8_t* scales, const uint8_t* biases, DType st, int gs,
                             size_t g0, size_t g1, uint8_t* out) {
  alignas(64) uint8_t codes[kMaxGroup];
  const size_t w_bytes = size_t(gs) * B / 8;
  const size_t s_bytes = dtype_bytes(st);
  const size_t o_bytes = dtype_bytes(O);
  for (size_t g = g0; g < g1; ++g) {
    unpack_codes<B>(w + g * w_bytes, gs, codes);
    float s = load_value(st, scales + g * s_bytes);
    float b = load_value(st, biases + g * s_bytes);
    uint8_t* o = out + g * size_t(gs) * o_bytes;
    for (int i = 0; i < gs; ++i) {
      float prod = s * float(codes[i]);
      store_value<O>(o + i * o_bytes, prod + b);
    }
  }
}

}  // namespace quant
}  // namespace mtpkit
