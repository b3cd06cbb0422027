// Pieces shared by the AVX2 kernel files (qlinear_avx2.cc: float activations, qlinear_q8_avx2.cc:
// int8 activations): horizontal sums, scale loads, the bias term, the unpacker of 3/5/6-bit codes,
// and the driver that walks weight rows and slices of the batch. x86-64 only; every function carries
// its own target attribute.
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

// Shuffle controls and multipliers of unpack32<B> (below), made at compile time. In 16-bit lane j of
// a 128-bit half (code j, or 8 + j for the second control, of the half's 16 codes): the stream bytes
// holding bits [jB, jB + B) of the half's 2B bytes, byte jB / 8 low and the next one high when the
// code reaches into it (else 0x80: zero), counted from where the half's bytes start in its load.
template <int B>
constexpr int stream_load_bytes() {
  return 4 * B >= 16 ? 16 : 8;  // bytes loaded per half
}
struct StreamTables {
  alignas(32) int8_t shuf[2][32];  // codes 0-7 and 8-15 of each half
  alignas(32) int16_t mul[16];     // 2^(16 - B - jB % 8): moves code j to the top of its lane
};
template <int B>
constexpr StreamTables stream_tables() {
  StreamTables t{};
  for (int s = 0; s < 2; ++s)
    for (int h = 0; h < 2; ++h) {
      const int off = h == 0 ? 0 : stream_load_bytes<B>() - 2 * B;  // the high half's load ends at byte 4B
      for (int j = 0; j < 8; ++j) {
        const int first = (8 * s + j) * B, lo = first / 8, hi = (first + B - 1) / 8;
        t.shuf[s][16 * h + 2 * j] = int8_t(off + lo);
        t.shuf[s][16 * h + 2 * j + 1] = hi > lo ? int8_t(off + hi) : int8_t(-128);
      }
    }
  for (int j = 0; j < 16; ++j) t.mul[j] = int16_t(1 << (16 - B - (j % 8) * B % 8));
  return t;
}
template <int B>
inline constexpr StreamTables kStreamTables = stream_tables<B>();

// 32 codes of B = 3, 5 or 6 bits -> 32 bytes in code order, reading exactly the 4B bytes at p. MLX
// packs a row as one little-endian bit stream, code i at bits [iB, (i + 1)B) (ml-explore/mlx
// mlx/backend/common/quantized.h), so each 8 codes fill B bytes and the two 128-bit halves (16 codes
// each, 2B bytes) are independent: the low half is loaded from p, the high one so that its load ends
// at p + 4B (16 bytes, or 8 for 3 bits, where 4B = 12). Per half, two vpshufb put the (at most) two
// bytes of each code into a 16-bit lane, vpmullw shifts each code to the top of its lane (its bit
// offset within the byte, jB % 8, is the same for codes j and 8 + j), vpsrlw by 16 - B brings it down
// with nothing above it, and vpackuswb joins the two sets of 8 (codes <= 63: no saturation).
template <int B>
MTPKIT_AVX2 inline __m256i unpack32(const uint8_t* p) {
  static_assert(B == 3 || B == 5 || B == 6, "widths whose codes straddle bytes");
  const StreamTables& t = kStreamTables<B>;
  __m128i lo, hi;
  if constexpr (stream_load_bytes<B>() == 16) {
    lo = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    hi = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 4 * B - 16));
  } else {
    lo = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(p));
    hi = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(p + 4 * B - 8));
  }
  const __m256i v = _mm256_inserti128_si256(_mm256_castsi128_si256(lo), hi, 1);
  const __m256i mul = _mm256_load_si256(reinterpret_cast<const __m256i*>(t.mul));
  __m256i c[2];
  for (int s = 0; s < 2; ++s) {
    const __m256i w = _mm256_shuffle_epi8(v, _mm256_load_si256(reinterpret_cast<const __m256i*>(t.shuf[s])));
    c[s] = _mm256_srli_epi16(_mm256_mullo_epi16(w, mul), 16 - B);
  }
  return _mm256_packus_epi16(c[0], c[1]);
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
