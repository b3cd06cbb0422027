// AVX2 kernels of the q8 mode (int8 activations, affine weights; x86-64 only, chosen at run time).
//
// A weight row is walked in chunks of 32 bytes. A chunk is unpacked ONCE into byte codes (2-bit: 4
// vectors of 32 codes, 4-bit: 2, 3/5/6-bit: a row unpacked to bytes beforehand, 1; 8-bit: 2 vectors
// of 16 codes widened to int16) and applied to every row of x in the batch: vpmaddubsw (unsigned
// codes x signed activation codes, pairs summed in int16) and vpmaddwd (pairs of int16 into int32)
// give 8 int32 lanes, each a part of exactly one activation block's integer dot product I_j (the
// scheme of ggml-org/llama.cpp ggml/src/ggml-cpu/arch/x86/quants.c, mul_sum_us8_pairs_float).
// Saturation is impossible by construction: a maddubs pair is at most 2 * 63 * 127 = 16002 for
// codes <= 6 bits, and at most 4 (2-bit) or 2 (4-bit) vectors are added in int16 (<= 3048, 7620);
// 8-bit codes (up to 255) skip maddubs and are widened to int16 for vpmaddwd.
// Per chunk and row of x: acc += (float(I lanes) * d of each lane's block) * s of each lane's group,
// then y = hsum(acc) + the rows' last K % chunk codes in order (scalar) + sum_g b_g * xsum_g. The
// order depends on the weight row and K only. The activation codes are laid out once per call in
// the order the unpacking produces (CallData::xqp / xq16), with each lane's step in CallData::dv.
#include "qlinear_avx2.h"

#if defined(__x86_64__)
#include <limits>

namespace mtpkit {
namespace engine {
namespace detail {
namespace {

using namespace avx2;

MTPKIT_AVX2 inline __m256i load32(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }

// Codes per 32-byte chunk of a row and how the chunk is unpacked. X: the activation code type.
// load(): chunk -> W; dot(): W x the chunk's activation codes -> 8 int32 lanes, lane l holding part
// of block (chunk start + l * kCC / 8) / kQB.
template <int Bits>
struct Packed {  // 2 or 4 bits: vector p holds codes b * kP + p of the chunk (b = byte 0..31)
  static constexpr int kP = 8 / Bits, kCC = 32 * kP;
  static constexpr bool kPacked = true;
  using X = int8_t;
  struct W {
    __m256i v[kP];
  };
  MTPKIT_AVX2 static inline void load(const uint8_t* p, W& w) {
    const __m256i raw = load32(p), mask = _mm256_set1_epi8(char((1 << Bits) - 1));
    for (int i = 0; i < kP; ++i) w.v[i] = _mm256_and_si256(_mm256_srli_epi16(raw, i * Bits), mask);
  }
  MTPKIT_AVX2 static inline __m256i dot(const W& w, const int8_t* x) {
    __m256i s = _mm256_maddubs_epi16(w.v[0], load32(x));
    for (int i = 1; i < kP; ++i) s = _mm256_add_epi16(s, _mm256_maddubs_epi16(w.v[i], load32(x + 32 * i)));
    return _mm256_madd_epi16(s, _mm256_set1_epi16(1));
  }
  static const X* codes(const CallData& cd) { return cd.xqp.data(); }
};
struct Bytes8 {  // 8 bits: codes up to 255 would saturate vpmaddubsw, so both sides go to int16
  static constexpr int kCC = 32;
  static constexpr bool kPacked = true;
  using X = int16_t;
  struct W {
    __m256i lo, hi;
  };
  MTPKIT_AVX2 static inline void load(const uint8_t* p, W& w) {
    w.lo = _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    w.hi = _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16)));
  }
  MTPKIT_AVX2 static inline __m256i dot(const W& w, const int16_t* x) {
    return _mm256_add_epi32(_mm256_madd_epi16(w.lo, load32(x)), _mm256_madd_epi16(w.hi, load32(x + 16)));
  }
  static const X* codes(const CallData& cd) { return cd.xq16.data(); }
};
struct Unpacked {  // 3/5/6 bits: the row is unpacked to one byte per code first (codes <= 63)
  static constexpr int kCC = 32;
  static constexpr bool kPacked = false;
  using X = int8_t;
  struct W {
    __m256i v;
  };
  MTPKIT_AVX2 static inline void load(const uint8_t* p, W& w) { w.v = load32(p); }
  MTPKIT_AVX2 static inline __m256i dot(const W& w, const int8_t* x) {
    return _mm256_madd_epi16(_mm256_maddubs_epi16(w.v, load32(x)), _mm256_set1_epi16(1));
  }
  static const X* codes(const CallData& cd) { return cd.xq.data(); }
};

// The scales of chunk ch when a chunk spans n = cc / group groups (lanes 8/n per group); sf: the row's scales.
MTPKIT_AVX2 inline __m256 mixed_scales(const float* sf, int64_t ch, int n) {
  alignas(32) float s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  for (int i = 0; i < n; ++i) s[i] = sf[ch * n + i];
  const int lpg = 8 / n;
  const __m256i idx = _mm256_setr_epi32(0, 1 / lpg, 2 / lpg, 3 / lpg, 4 / lpg, 5 / lpg, 6 / lpg, 7 / lpg);
  return _mm256_permutevar8x32_ps(_mm256_load_ps(s), idx);
}

// The codes from k0 to the end of the row that do not fill a chunk (whole groups), in order.
float tail_sum(const QLinear& w, const uint8_t* wrow, const uint8_t* sp, int64_t ss, const int8_t* xq, const float* xd,
               int64_t k0) {
  alignas(32) uint8_t codes[128];
  const int g = w.group;
  const int64_t gb = int64_t(g) * w.bits / 8;
  float t = 0.f;
  for (int64_t k = k0 / g; k < w.cols / g; ++k) {
    unpack_codes(wrow + k * gb, w.bits, g, codes);
    t += load_scale(sp + k * ss, w.sdt) * q8_group_sum(codes, xq + k * g, xd + k * g / kQB, g);
  }
  return t;
}

// Rows m0..m0+MB of x against weight rows n0..n0+NB (NB > 1 only to overlap independent chains at
// small M; each output is summed exactly as it would be alone).
template <class D, int NB, int MB>
struct Q8Rows {
  MTPKIT_AVX2 static void go(const Ctx& c, int64_t m0, int64_t n0);
};
template <class D, int NB, int MB>
MTPKIT_AVX2 void Q8Rows<D, NB, MB>::go(const Ctx& c, int64_t m0, int64_t n0) {
  const QLinear& w = *c.w;
  const CallData& cd = *c.cd;
  const int64_t K = w.cols, G = K / w.group, QK = K / kQB;
  const int64_t nfull = K / D::kCC, kfull = nfull * D::kCC;
  const int64_t rb = K * w.bits / 8, ss = scale_size(w);
  const uint8_t* wr = static_cast<const uint8_t*>(w.w) + n0 * rb;
  const uint8_t* sr = static_cast<const uint8_t*>(w.scales) + n0 * G * ss;
  const typename D::X* xr = D::codes(cd) + m0 * kfull;
  const float* dr = cd.dv.data() + m0 * nfull * 8;
  const uint8_t* src[NB];
  if (D::kPacked) {
    for (int r = 0; r < NB; ++r) src[r] = wr + r * rb;
  } else {
    thread_local std::vector<uint8_t> buf;
    buf.resize(size_t(NB * K));
    const int64_t gb = int64_t(w.group) * w.bits / 8;
    for (int r = 0; r < NB; ++r) {
      for (int64_t k = 0; k < G; ++k) unpack_codes(wr + r * rb + k * gb, w.bits, w.group, buf.data() + r * K + k * w.group);
      src[r] = buf.data() + r * K;
    }
  }
  __m256 acc[NB][MB];
  for (int r = 0; r < NB; ++r)
    for (int m = 0; m < MB; ++m) acc[r][m] = _mm256_setzero_ps();
  // One chunk of every row, all rows of x; s[r]: the scale of each lane of row r.
  auto chunk = [&](int64_t ch, const __m256* s) __attribute__((always_inline, target("avx2,fma,f16c"))) {
    // As in qlinear_avx2.cc: the prefetcher loses track of NB interleaved streams, so fetch the same
    // place of the next NB rows ourselves.
    if (D::kPacked && (ch & 1) == 0)
      for (int r = 0; r < NB; ++r) _mm_prefetch(reinterpret_cast<const char*>(wr + (NB + r) * rb + 32 * ch), _MM_HINT_T0);
    for (int r = 0; r < NB; ++r) {
      typename D::W wv;
      D::load(src[r] + 32 * ch, wv);
      for (int m = 0; m < MB; ++m) {
        __m256i I = D::dot(wv, xr + m * kfull + ch * D::kCC);
        __m256 t = _mm256_mul_ps(_mm256_cvtepi32_ps(I), _mm256_loadu_ps(dr + (m * nfull + ch) * 8));
        acc[r][m] = _mm256_fmadd_ps(t, s[r], acc[r][m]);
      }
    }
  };
  // The rows' scales as floats once, so that a group's scale is one broadcast load.
  thread_local std::vector<float> sbuf;
  sbuf.resize(size_t(NB * G));
  float* sf = sbuf.data();
  for (int r = 0; r < NB; ++r) {
    int64_t k = 0;
    for (; k + 8 <= G; k += 8) _mm256_storeu_ps(sf + r * G + k, load8(sr + (r * G + k) * ss, w.sdt));
    for (; k < G; ++k) sf[r * G + k] = load_scale(sr + (r * G + k) * ss, w.sdt);
  }
  __m256 s[NB];
  if (w.group >= D::kCC) {  // a group is whole chunks: one broadcast scale per group and row
    const int64_t cpg = w.group / D::kCC;
    for (int64_t k = 0, ch = 0; k < G; ++k) {
      for (int r = 0; r < NB; ++r) s[r] = _mm256_broadcast_ss(sf + r * G + k);
      for (int64_t i = 0; i < cpg; ++i, ++ch) chunk(ch, s);
    }
  } else {
    const int n = int(D::kCC / w.group);
    for (int64_t ch = 0; ch < nfull; ++ch) {
      for (int r = 0; r < NB; ++r) s[r] = mixed_scales(sf + r * G, ch, n);
      chunk(ch, s);
    }
  }
  for (int r = 0; r < NB; ++r)
    for (int m = 0; m < MB; ++m) {
      float v = hsum(acc[r][m]);
      if (kfull < K)
        v += tail_sum(w, wr + r * rb, sr + r * G * ss, ss, cd.xq.data() + (m0 + m) * K, cd.xd.data() + (m0 + m) * QK, kfull);
      v += bias_dot(static_cast<const uint8_t*>(w.biases) + (n0 + r) * G * ss, w.sdt, ss, c.xsum + (m0 + m) * G, G);
      c.y[(m0 + m) * w.rows + n0 + r] = v;
    }
}

template <class D>
void q8_kernel(const QLinear& w, const CallData& cd, float* y, int64_t r0, int64_t r1) {
  run_rows<MultiRow<Q8Rows, D>::template R>(w, cd, y, r0, r1);
}

int chunk_codes(const QLinear& w) { return w.bits == 2 ? Packed<2>::kCC : w.bits == 4 ? Packed<4>::kCC : 32; }

}  // namespace

MTPKIT_AVX2 void avx2_quantize_blocks(const float* x, int64_t nblocks, int8_t* xq, float* d) {
  static_assert(kQB == 32, "the AVX2 quantizer handles blocks of 4 x 8 floats");
  const __m256i abs_mask = _mm256_set1_epi32(0x7FFFFFFF), max_finite = _mm256_set1_epi32(0x7F7FFFFF);
  const __m256i lim = _mm256_set1_epi32(127), nlim = _mm256_set1_epi32(-127);
  const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
  for (int64_t j = 0; j < nblocks; ++j) {
    const float* xb = x + j * kQB;
    __m256 v[4];
    __m256i bad = _mm256_setzero_si256();
    __m256 mx = _mm256_setzero_ps();
    for (int i = 0; i < 4; ++i) {
      v[i] = _mm256_loadu_ps(xb + 8 * i);
      __m256i a = _mm256_and_si256(_mm256_castps_si256(v[i]), abs_mask);
      bad = _mm256_or_si256(bad, _mm256_cmpgt_epi32(a, max_finite));  // exponent all ones: NaN / Inf
      mx = _mm256_max_ps(mx, _mm256_castsi256_ps(a));
    }
    __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(mx), _mm256_extractf128_ps(mx, 1));
    m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
    m4 = _mm_max_ss(m4, _mm_shuffle_ps(m4, m4, 1));
    const bool finite = _mm256_testz_si256(bad, bad);
    const float step = finite ? _mm_cvtss_f32(m4) / 127.f : std::numeric_limits<float>::quiet_NaN();
    d[j] = step;
    __m256i out = _mm256_setzero_si256();
    if (finite && step != 0.f) {
      const __m256 vd = _mm256_set1_ps(step);
      __m256i q[4];
      for (int i = 0; i < 4; ++i) {
        // vcvtps2dq rounds half to even under the default MXCSR, as nearbyint does.
        q[i] = _mm256_cvtps_epi32(_mm256_div_ps(v[i], vd));
        q[i] = _mm256_max_epi32(_mm256_min_epi32(q[i], lim), nlim);
      }
      // Packing works within 128-bit lanes; the permute puts the 4-code dwords back in order.
      __m256i p = _mm256_packs_epi16(_mm256_packs_epi32(q[0], q[1]), _mm256_packs_epi32(q[2], q[3]));
      out = _mm256_permutevar8x32_epi32(p, order);
    }
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(xq + j * kQB), out);
  }
}

RowKernel avx2_q8_kernel(const QLinear& w) {
  switch (w.bits) {
    case 2: return q8_kernel<Packed<2>>;
    case 4: return q8_kernel<Packed<4>>;
    case 8: return q8_kernel<Bytes8>;
    default: return q8_kernel<Unpacked>;
  }
}

void avx2_q8_prepare(const QLinear& w, CallData& cd) {
  const int64_t K = w.cols, M = cd.M, QK = K / kQB;
  const int cc = chunk_codes(w), per = cc / 32;  // per: codes of a chunk per byte position
  const int64_t nfull = K / cc, kfull = nfull * cc;
  if (w.bits == 2 || w.bits == 4) {
    // Vector p of a chunk holds codes b * per + p (b = 0..31): the same order for x.
    cd.xqp.resize(size_t(M * kfull));
    for (int64_t m = 0; m < M; ++m) {
      const int8_t* x = cd.xq.data() + m * K;
      int8_t* o = cd.xqp.data() + m * kfull;
      for (int64_t c0 = 0; c0 < kfull; c0 += cc)
        for (int p = 0; p < per; ++p)
          for (int b = 0; b < 32; ++b) o[c0 + 32 * p + b] = x[c0 + b * per + p];
    }
  } else if (w.bits == 8) {
    cd.xq16.assign(cd.xq.begin(), cd.xq.end());
  }
  cd.dv.resize(size_t(M * nfull * 8));
  for (int64_t m = 0; m < M; ++m)
    for (int64_t ch = 0; ch < nfull; ++ch)
      for (int l = 0; l < 8; ++l) cd.dv[size_t((m * nfull + ch) * 8 + l)] = cd.xd[size_t(m * QK + (ch * cc + l * (cc / 8)) / kQB)];
}

}  // namespace detail
}  // namespace engine
}  // namespace mtpkit
#endif
