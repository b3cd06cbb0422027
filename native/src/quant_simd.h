// 4-lane float / int vectors through the GCC / clang vector extension (SSE2 on x86-64, NEON on
// arm64) for the quantizer hot loops. GCC does not if-convert float selects under -fno-fast-math,
// so plain loops with ?: stay scalar; these helpers make the selects explicit bit operations.
// Every lane operation is the same IEEE fp32 operation as the scalar code.
#pragma once
#include <cstdint>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#ifndef MTPKIT_QUANT_SIMD  // -DMTPKIT_QUANT_SIMD=0 forces the scalar code (to test it)
#if defined(__GNUC__) || defined(__clang__)
#define MTPKIT_QUANT_SIMD 1
#else
#define MTPKIT_QUANT_SIMD 0
#endif
#endif

#if MTPKIT_QUANT_SIMD
namespace mtpkit {
namespace quant {

typedef float f4 __attribute__((vector_size(16)));
typedef int32_t i4 __attribute__((vector_size(16)));

inline f4 splat(float x) { return f4{x, x, x, x}; }
inline i4 splat_i(int32_t x) { return i4{x, x, x, x}; }
inline f4 load4(const float* p) {
  f4 v;
  std::memcpy(&v, p, 16);
  return v;
}
inline i4 as_i(f4 v) {
  i4 r;
  std::memcpy(&r, &v, 16);
  return r;
}
inline f4 as_f(i4 v) {
  f4 r;
  std::memcpy(&r, &v, 16);
  return r;
}
// m lanes are all-ones or zero (a vector comparison result).
inline f4 select(i4 m, f4 a, f4 b) { return as_f((as_i(a) & m) | (as_i(b) & ~m)); }
// Vector ?: (GCC >= 4.8, clang >= 12); these exact forms become minps / maxps (fmin / fmax on NEON
// agree for the non-NaN values the kernels see).
inline f4 vmin(f4 a, f4 b) { return a < b ? a : b; }
inline f4 vmax(f4 a, f4 b) { return a > b ? a : b; }
inline float hmin(f4 v) {
  float r = v[0];
  for (int j = 1; j < 4; ++j) r = v[j] < r ? v[j] : r;
  return r;
}
inline float hmax(f4 v) {
  float r = v[0];
  for (int j = 1; j < 4; ++j) r = v[j] > r ? v[j] : r;
  return r;
}

// Four vectors of lane values in [0, 255] -> 16 bytes in lane order.
inline void narrow16(i4 a, i4 b, i4 c, i4 d, uint8_t* out) {
#if defined(__SSE2__)
  // Signed saturating packs are exact for values in [0, 255].
  __m128i ab = _mm_packs_epi32(__m128i(a), __m128i(b));
  __m128i cd = _mm_packs_epi32(__m128i(c), __m128i(d));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(out), _mm_packus_epi16(ab, cd));
#else
  for (int j = 0; j < 4; ++j) {
    out[j] = uint8_t(a[j]);
    out[4 + j] = uint8_t(b[j]);
    out[8 + j] = uint8_t(c[j]);
    out[12 + j] = uint8_t(d[j]);
  }
#endif
}

}  // namespace quant
}  // namespace mtpkit
#endif
