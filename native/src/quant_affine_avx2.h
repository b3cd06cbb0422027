// AVX2 version of affine_quantize_groups (quant_affine.h): 8 lanes instead of 4, and the per-group
// scale / bias math done for 8 groups at once, one group per lane, instead of as a scalar chain of
// dependent divisions. Every lane runs the same IEEE fp32 operations, in the same order, as the
// portable kernel (no FMA: the target is plain "avx2" and the build uses -ffp-contract=off), so the
// bytes are identical; test/quant/kernels-simd.test.ts checks that against the TypeScript reference.
// Compiled only on x86-64 with GCC / clang, behind __attribute__((target)): callers check
// __builtin_cpu_supports("avx2") at run time.
#pragma once
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define MTPKIT_QUANT_AVX2 1
#include <immintrin.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "quant_affine.h"

#define MTPKIT_AVX2_FN __attribute__((target("avx2")))
#define MTPKIT_AVX2_INLINE inline __attribute__((target("avx2"), always_inline))

namespace mtpkit {
namespace quant {
namespace avx2 {

// 8 elements at p as fp32; ORs a non-zero lane into `bad` for each NaN / Inf.
template <DType T>
MTPKIT_AVX2_INLINE __m256 load8(const uint8_t* p, __m256i& bad) {
  if constexpr (T == DType::F32) {
    __m256i u = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
    const __m256i e = _mm256_set1_epi32(0x7F800000);
    bad = _mm256_or_si256(bad, _mm256_cmpeq_epi32(_mm256_and_si256(u, e), e));
    return _mm256_castsi256_ps(u);
  } else {
    __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const __m128i e = _mm_set1_epi16(T == DType::BF16 ? 0x7F80 : 0x7C00);
    __m128i b = _mm_cmpeq_epi16(_mm_and_si128(h, e), e);
    bad = _mm256_or_si256(bad, _mm256_castsi128_si256(b));  // only "any lane set" matters
    __m256i w = _mm256_cvtepu16_epi32(h);
    if constexpr (T == DType::BF16) return _mm256_castsi256_ps(_mm256_slli_epi32(w, 16));
    // f16_finite_to_f32: magnitude bits moved into an f32 and rescaled by 2^112 (exact), sign ORed.
    __m256 mag = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_and_si256(w, _mm256_set1_epi32(0x7FFF)), 13));
    mag = _mm256_mul_ps(mag, _mm256_set1_ps(0x1p112f));
    __m256i sign = _mm256_slli_epi32(_mm256_and_si256(w, _mm256_set1_epi32(0x8000)), 16);
    return _mm256_or_ps(mag, _mm256_castsi256_ps(sign));
  }
}

// Horizontal min / max with the portable kernel's comparisons (the order of equal values, i.e. the
// sign of a zero minimum, cannot change the outputs: see affine_params).
MTPKIT_AVX2_INLINE float hmin8(__m256 v) {
  __m128 m = _mm_min_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_min_ps(m, _mm_movehl_ps(m, m));
  m = _mm_min_ss(m, _mm_shuffle_ps(m, m, 1));
  return _mm_cvtss_f32(m);
}
MTPKIT_AVX2_INLINE float hmax8(__m256 v) {
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  m = _mm_max_ss(m, _mm_shuffle_ps(m, m, 1));
  return _mm_cvtss_f32(m);
}

MTPKIT_AVX2_INLINE __m256 sign_bits() { return _mm256_castsi256_ps(_mm256_set1_epi32(int32_t(0x80000000u))); }

// round_half_away for every float: trunc(|q|) + (frac >= 0.5), with q's sign. For |q| >= 2^23
// (inf included) the fraction is 0 (NaN for inf, which compares false), so q comes back unchanged.
MTPKIT_AVX2_INLINE __m256 round_half_away8(__m256 q) {
  const __m256 sb = sign_bits();
  __m256 a = _mm256_andnot_ps(sb, q);
  __m256 t = _mm256_round_ps(a, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
  __m256 up = _mm256_and_ps(_mm256_cmp_ps(_mm256_sub_ps(a, t), _mm256_set1_ps(0.5f), _CMP_GE_OQ), _mm256_set1_ps(1.0f));
  return _mm256_or_ps(_mm256_add_ps(t, up), _mm256_and_ps(q, sb));
}

// affine_params for 8 groups, lane k = group k: the same operations as the scalar code.
template <bool Metal>
MTPKIT_AVX2_INLINE void params8(__m256 w_min, __m256 w_max, int bits, __m256& scale_out, __m256& bias_out) {
  const __m256 zero = _mm256_setzero_ps(), sb = sign_bits();
  if (Metal) w_max = _mm256_max_ps(w_max, zero);  // w_max > 0 ? w_max : 0
  const __m256 n_bins = _mm256_set1_ps(float((1 << bits) - 1));
  const __m256 eps = _mm256_set1_ps(1e-7f);
  __m256 mask = _mm256_cmp_ps(_mm256_andnot_ps(sb, w_min), _mm256_andnot_ps(sb, w_max), _CMP_GT_OQ);
  __m256 scale = _mm256_div_ps(_mm256_sub_ps(w_max, w_min), n_bins);
  scale = _mm256_blendv_ps(scale, eps, _mm256_cmp_ps(scale, eps, _CMP_LT_OQ));
  scale = _mm256_xor_ps(scale, _mm256_andnot_ps(mask, sb));  // mask ? scale : -scale
  __m256 edge = _mm256_blendv_ps(w_max, w_min, mask);
  __m256 q = _mm256_div_ps(edge, scale);
  __m256 q0 = Metal ? round_half_away8(q) : _mm256_round_ps(q, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 nz = _mm256_cmp_ps(q0, zero, _CMP_NEQ_UQ);  // q0 != 0 (true for NaN, as in C)
  scale_out = _mm256_blendv_ps(scale, _mm256_div_ps(edge, q0), nz);
  bias_out = _mm256_and_ps(edge, nz);
}

// Codes of 8 elements: clamp((x - bias) / scale, 0, hi) rounded as affine_codes rounds.
template <bool Metal>
MTPKIT_AVX2_INLINE __m256i code8(__m256 x, __m256 vb, __m256 vs, __m256 vhi) {
  __m256 v = _mm256_div_ps(_mm256_sub_ps(x, vb), vs);
  v = _mm256_min_ps(_mm256_max_ps(v, _mm256_setzero_ps()), vhi);  // max_ps(v, 0) maps NaN to 0, as v > 0 ? v : 0
  if (Metal) {
    __m256i c = _mm256_cvttps_epi32(_mm256_add_ps(v, _mm256_set1_ps(0.5f)));
    return _mm256_add_epi32(c, _mm256_castps_si256(_mm256_cmp_ps(v, _mm256_set1_ps(0x1.fffffep-2f), _CMP_EQ_OQ)));
  }
  return _mm256_sub_epi32(_mm256_castps_si256(_mm256_add_ps(v, _mm256_set1_ps(0x1p23f))), _mm256_set1_epi32(0x4B000000));
}

// Four vectors of codes in [0, 255] -> 32 bytes in element order.
MTPKIT_AVX2_INLINE __m256i narrow32(__m256i a, __m256i b, __m256i c, __m256i d) {
  __m256i bytes = _mm256_packus_epi16(_mm256_packs_epi32(a, b), _mm256_packs_epi32(c, d));
  // the packs work per 128-bit half: dword j of the result holds codes 4*perm[j] .. +3
  return _mm256_permutevar8x32_epi32(bytes, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

// 32 codes (one per byte) -> 4*B packed bytes at out (quant_pack.h layout).
template <int B>
MTPKIT_AVX2_INLINE void pack32(__m256i x, uint8_t* out) {
  if constexpr (B == 8) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out), x);
  } else if constexpr (B == 4) {
    // byte pairs (c0, c1) -> c0 + 16 * c1 in 16-bit lanes, then those lanes narrowed to bytes
    __m256i m = _mm256_maddubs_epi16(x, _mm256_set1_epi16(0x1001));
    m = _mm256_permute4x64_epi64(_mm256_packus_epi16(m, m), 0x08);  // qwords 0 and 2 to the low half
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out), _mm256_castsi256_si128(m));
  } else {
    // merge8 (quant_pack.h) in each 64-bit lane, then the low B bytes of each lane
    constexpr uint64_t m1 = lane_mask(16, B), m2 = lane_mask(32, 2 * B), m3 = (uint64_t(1) << (4 * B)) - 1;
    const __m256i k1 = _mm256_set1_epi64x(int64_t(m1)), k2 = _mm256_set1_epi64x(int64_t(m2)),
                  k3 = _mm256_set1_epi64x(int64_t(m3));
    x = _mm256_or_si256(_mm256_and_si256(x, k1), _mm256_and_si256(_mm256_srli_epi64(x, 8 - B), _mm256_slli_epi64(k1, B)));
    x = _mm256_or_si256(_mm256_and_si256(x, k2),
                        _mm256_and_si256(_mm256_srli_epi64(x, 16 - 2 * B), _mm256_slli_epi64(k2, 2 * B)));
    x = _mm256_or_si256(_mm256_and_si256(x, k3),
                        _mm256_and_si256(_mm256_srli_epi64(x, 32 - 4 * B), _mm256_slli_epi64(k3, 4 * B)));
    alignas(32) uint8_t tmp[32];
    _mm256_store_si256(reinterpret_cast<__m256i*>(tmp), x);
    for (int j = 0; j < 4; ++j) std::memcpy(out + B * j, tmp + 8 * j, B);
  }
}

// Same contract as quant::affine_quantize_groups.
template <DType T, int B, bool Metal, int gs>
MTPKIT_AVX2_FN size_t quantize_groups(const uint8_t* src, size_t g0, size_t g1, AffineOut out) {
  constexpr int kBatch = 8;  // one group per lane of the scale / bias math
  constexpr size_t esz = T == DType::F32 ? 4 : 2;
  alignas(32) float x[kBatch][gs];
  alignas(32) float mn[kBatch], mx[kBatch], sc[kBatch], bi[kBatch];
  const size_t w_bytes = size_t(gs) * B / 8;
  const __m256 vhi = _mm256_set1_ps(float((1 << B) - 1));
  for (size_t g = g0; g < g1; g += kBatch) {
    const int nb = int(g1 - g < size_t(kBatch) ? g1 - g : size_t(kBatch));
    for (int k = 0; k < kBatch; ++k) mn[k] = mx[k] = 0.0f;  // unused lanes of a short batch
    for (int k = 0; k < nb; ++k) {
      const uint8_t* p = src + (g + k) * gs * esz;
      __m256i bad = _mm256_setzero_si256();
      __m256 v = load8<T>(p, bad), vmn = v, vmx = v;
      _mm256_store_ps(x[k], v);
      for (int i = 8; i < gs; i += 8) {
        v = load8<T>(p + i * esz, bad);
        _mm256_store_ps(x[k] + i, v);
        vmn = _mm256_min_ps(v, vmn);
        vmx = _mm256_max_ps(v, vmx);
      }
      if (!_mm256_testz_si256(bad, bad)) return (g + k) * gs + size_t(first_non_finite<T>(p, gs));
      mn[k] = hmin8(vmn);
      mx[k] = hmax8(vmx);
    }
    __m256 vs, vb;
    params8<Metal>(_mm256_load_ps(mn), _mm256_load_ps(mx), B, vs, vb);
    _mm256_store_ps(sc, vs);
    _mm256_store_ps(bi, vb);
    for (int k = 0; k < nb; ++k) {
      const __m256 s = _mm256_set1_ps(sc[k]), b = _mm256_set1_ps(bi[k]);
      uint8_t* w = out.weight + (g + k) * w_bytes;
      for (int i = 0; i < gs; i += 32) {
        __m256i c0 = code8<Metal>(_mm256_load_ps(x[k] + i), b, s, vhi);
        __m256i c1 = code8<Metal>(_mm256_load_ps(x[k] + i + 8), b, s, vhi);
        __m256i c2 = code8<Metal>(_mm256_load_ps(x[k] + i + 16), b, s, vhi);
        __m256i c3 = code8<Metal>(_mm256_load_ps(x[k] + i + 24), b, s, vhi);
        pack32<B>(narrow32(c0, c1, c2, c3), w + i * B / 8);
      }
      store_value<T>(out.scales + (g + k) * esz, sc[k]);
      store_value<T>(out.biases + (g + k) * esz, bi[k]);
    }
  }
  return kNoBad;
}

template <DType T, int B, bool Metal>
size_t quantize_range(const uint8_t* src, int gs, size_t g0, size_t g1, AffineOut out) {
  switch (gs) {
    case 32: return quantize_groups<T, B, Metal, 32>(src, g0, g1, out);
    case 64: return quantize_groups<T, B, Metal, 64>(src, g0, g1, out);
    default: return quantize_groups<T, B, Metal, 128>(src, g0, g1, out);
  }
}

inline bool supported() {
  __builtin_cpu_init();  // harmless when already done; needed if called before libgcc's constructor
  return __builtin_cpu_supports("avx2");
}

}  // namespace avx2
}  // namespace quant
}  // namespace mtpkit
#endif
