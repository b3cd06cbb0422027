// Pieces shared by the AVX2 kernel files (qlinear_avx2.cc: float activations, qlinear_q8_avx2.cc:
// int8 activations): horizontal sums, scale loads, the bias term, and the driver that walks weight
// rows and slices of the batch. x86-64 only; every function carries its own target attribute.
#pragma once
#include "qlinear_internal.h"

#if defined(__x86_64__)
#include <immintrin.h>

#include <algorithm>

#define MTPKIT_AVX2 __attribute__((target("avx2,fma,f16c")))

namespace mtpkit {
namespace engine {
namespace detail {
namespace avx2 {

constexpr int kMaxRows = 6;  // rows of x per pass over a weight row (registers: 2 per row)

MTPKIT_AVX2 inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
  return _mm_cvtss_f32(s);
}

// 8 floats from bf16 / f16 / f32 storage.
MTPKIT_AVX2 inline __m256 load8(const uint8_t* p, ScaleType t) {
  switch (t) {
    case ScaleType::BF16:
      return _mm256_castsi256_ps(
          _mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))), 16));
    case ScaleType::F16: return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    default: return _mm256_loadu_ps(reinterpret_cast<const float*>(p));
  }
}

// sum_g b_g * xsum_g over one row's G biases: 8 lanes, then the tail in order.
MTPKIT_AVX2 inline float bias_dot(const uint8_t* b, ScaleType t, int64_t ss, const float* xs, int64_t G) {
  __m256 acc = _mm256_setzero_ps();
  int64_t G8 = G & ~int64_t(7);
  for (int64_t k = 0; k < G8; k += 8) acc = _mm256_fmadd_ps(load8(b + k * ss, t), _mm256_loadu_ps(xs + k), acc);
  float s = hsum(acc);
  for (int64_t k = G8; k < G; ++k) s += load_scale(b + k * ss, t) * xs[k];
  return s;
}

struct Ctx {
  const QLinear* w;
  const float* xs;    // [M, K]: x, or x in code order
  const float* xsum;  // [M, G] (affine)
  float* y;
  const CallData* cd;  // everything else the call prepared (q8 codes and steps)
};

// Batch slices of at most kMaxRows rows of x; for larger batches, tiles of weight rows stay in
// cache while every slice passes over them. Results do not depend on the slicing.
template <template <int> class Row>
void run_rows(const QLinear& w, const CallData& cd, float* y, int64_t r0, int64_t r1) {
  Ctx c{&w, cd.xperm.empty() ? cd.x : cd.xperm.data(), cd.xsum.data(), y, &cd};
  auto call = [&](int mb, int64_t m0, int64_t n) {
    switch (mb) {
      case 1: Row<1>::run(c, m0, n); break;
      case 2: Row<2>::run(c, m0, n); break;
      case 3: Row<3>::run(c, m0, n); break;
      case 4: Row<4>::run(c, m0, n); break;
      case 5: Row<5>::run(c, m0, n); break;
      default: Row<6>::run(c, m0, n); break;
    }
  };
  const int64_t M = cd.M;
  if (M <= 2) {  // small batches: several weight rows per pass where the row kind offers it
    int64_t n = r0;
    if (M == 1)
      for (; n + 4 <= r1; n += 4) Row<1>::run4(c, 0, n);
    else
      for (; n + 2 <= r1; n += 2) Row<2>::run2(c, 0, n);
    for (; n < r1; ++n) call(int(M), 0, n);
    return;
  }
  if (M <= kMaxRows) {
    for (int64_t n = r0; n < r1; ++n) call(int(M), 0, n);
    return;
  }
  const int64_t tile = 16;
  for (int64_t t0 = r0; t0 < r1; t0 += tile) {
    int64_t t1 = std::min(r1, t0 + tile);
    for (int64_t m0 = 0; m0 < M; m0 += kMaxRows) {
      int mb = int(std::min<int64_t>(kMaxRows, M - m0));
      for (int64_t n = t0; n < t1; ++n) call(mb, m0, n);
    }
  }
}

// Row kinds from a kernel K<D, NB, MB>::go over NB weight rows at once: run = one weight row,
// run4 (M = 1) / run2 (M = 2) = several at once where it pays.
template <template <class, int, int> class K, class D>
struct MultiRow {
  template <int MB>
  struct R {
    static void run(const Ctx& c, int64_t m0, int64_t n) { K<D, 1, MB>::go(c, m0, n); }
    static void run4(const Ctx& c, int64_t m0, int64_t n) { K<D, 4, MB>::go(c, m0, n); }
    static void run2(const Ctx& c, int64_t m0, int64_t n) { K<D, 2, MB>::go(c, m0, n); }
  };
};

// Row kinds without a multi-row kernel: run4 / run2 are that many single rows.
template <class Single>
struct OneByOne {
  static void run(const Ctx& c, int64_t m0, int64_t n) { Single::run(c, m0, n); }
  static void run4(const Ctx& c, int64_t m0, int64_t n) {
    for (int r = 0; r < 4; ++r) Single::run(c, m0, n + r);
  }
  static void run2(const Ctx& c, int64_t m0, int64_t n) {
    for (int r = 0; r < 2; ++r) Single::run(c, m0, n + r);
  }
};

}  // namespace avx2
}  // namespace detail
}  // namespace engine
}  // namespace mtpkit
#endif
