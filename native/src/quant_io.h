// Loading input groups as fp32 (with a finiteness check on the raw bits) and storing fp32 values
// in the output dtype, for the quantize / dequantize kernels.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "float_bits.h"

// Hot helpers must inline into the per-group loops: with dozens of kernel instantiations GCC's
// inlining budget otherwise leaves some as calls, which costs a third of the throughput.
#if defined(__GNUC__) || defined(__clang__)
#define MTPKIT_QUANT_INLINE inline __attribute__((always_inline))
#else
#define MTPKIT_QUANT_INLINE inline
#endif

namespace mtpkit {
namespace quant {

enum class DType { F32 = 0, F16 = 1, BF16 = 2 };

inline size_t dtype_bytes(DType t) { return t == DType::F32 ? 4 : 2; }

// Exact f16 -> f32 for finite values (the caller rejects Inf / NaN): the f16 magnitude bits
// shifted into an f32 are the value times 2^-112 (subnormals included), so one multiply rescales.
// Branch-free, so the load loop vectorizes. Needs subnormals enabled (no FTZ / DAZ), the default.
inline float f16_finite_to_f32(uint16_t h) {
  float mag = bits_f32(uint32_t(h & 0x7FFFu) << 13) * 0x1p112f;
  return bits_f32(f32_bits(mag) | (uint32_t(h & 0x8000u) << 16));
}

// Converts g elements at p to fp32; returns false if any is NaN or Inf.
template <DType T>
MTPKIT_QUANT_INLINE bool load_group(const uint8_t* p, int g, float* out) {
  uint32_t bad = 0;
  if constexpr (T == DType::F32) {
    for (int i = 0; i < g; ++i) {
      uint32_t u;
      std::memcpy(&u, p + 4 * i, 4);
      bad |= uint32_t((u & 0x7F800000u) == 0x7F800000u);
      out[i] = bits_f32(u);
    }
  } else {
    for (int i = 0; i < g; ++i) {
      uint16_t h;
      std::memcpy(&h, p + 2 * i, 2);
      if constexpr (T == DType::BF16) {
        bad |= uint32_t((h & 0x7F80u) == 0x7F80u);
        out[i] = bf16_to_f32(h);
      } else {
        bad |= uint32_t((h & 0x7C00u) == 0x7C00u);
        out[i] = f16_finite_to_f32(h);
      }
    }
  }
  return bad == 0;
}

// Index in [0, g) of the first NaN / Inf of a group that load_group rejected.
template <DType T>
inline int first_non_finite(const uint8_t* p, int g) {
  for (int i = 0; i < g; ++i) {
    if constexpr (T == DType::F32) {
      uint32_t u;
      std::memcpy(&u, p + 4 * i, 4);
      if ((u & 0x7F800000u) == 0x7F800000u) return i;
    } else {
      uint16_t h;
      std::memcpy(&h, p + 2 * i, 2);
      uint16_t m = T == DType::BF16 ? 0x7F80u : 0x7C00u;
      if ((h & m) == m) return i;
    }
  }
  return 0;
}

inline float load_value(DType t, const uint8_t* p) {
  if (t == DType::F32) {
    float v;
    std::memcpy(&v, p, 4);
    return v;
  }
  uint16_t h;
  std::memcpy(&h, p, 2);
  return t == DType::BF16 ? bf16_to_f32(h) : f16_to_f32(h);
}

// Stores x at p as T (f32 -> bf16 / f16 with MLX rounding).
template <DType T>
MTPKIT_QUANT_INLINE void store_value(uint8_t* p, float x) {
  if constexpr (T == DType::F32) {
    std::memcpy(p, &x, 4);
  } else {
    uint16_t h = T == DType::BF16 ? f32_to_bf16(x) : f32_to_f16(x);
    std::memcpy(p, &h, 2);
  }
}

}  // namespace quant
}  // namespace mtpkit
