// AVX2 + FMA + F16C kernels of qlinear.h (x86-64 only; chosen at run time in qlinear.cc).
//
// Affine rows are summed as y = sum_g s_g * dot(q_g, x_g) + sum_g b_g * sum(x_g): the codes are
// converted to floats once per block (8 bytes; 32 codes for 3/5/6 bits) and multiplied into every row of x in the batch (the
// weights are read once for M rows), and the sums of x per group are computed once per call.
// Nibble/crumb codes are unpacked with shifts and masks in code-stream order, so x is permuted once
// per call to the same order (CallData::xperm). Each output's summation order depends only on the
// weight row and K: a row of x takes the same path whichever batch slot it is in.
#include "qlinear_avx2.h"

#if defined(__x86_64__)

namespace mtpkit {
namespace engine {
namespace detail {
namespace {

using namespace avx2;

MTPKIT_AVX2 inline __m256i bytes8(const uint8_t* p) {
  return _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));
}

// Decoders: one block of a row (kPer * kBits bytes: 8, or 4B for B = 3/5/6 bits) -> kPer vectors of
// 8 element values (before the group scale). Vector p holds the codes at positions j*kPer + p of the
// block (j = 0..7), except for AffineStream.
struct Affine2 {
  static constexpr int kPer = 4, kBits = 2;
  static constexpr bool kAffine = true;
  MTPKIT_AVX2 static inline void block(const uint8_t* p, __m256* out) {
    __m256i v = bytes8(p), m = _mm256_set1_epi32(3);
    out[0] = _mm256_cvtepi32_ps(_mm256_and_si256(v, m));
    out[1] = _mm256_cvtepi32_ps(_mm256_and_si256(_mm256_srli_epi32(v, 2), m));
    out[2] = _mm256_cvtepi32_ps(_mm256_and_si256(_mm256_srli_epi32(v, 4), m));
    out[3] = _mm256_cvtepi32_ps(_mm256_srli_epi32(v, 6));
  }
};
struct Affine4 {
  static constexpr int kPer = 2, kBits = 4;
  static constexpr bool kAffine = true;
  MTPKIT_AVX2 static inline void block(const uint8_t* p, __m256* out) {
    __m256i v = bytes8(p);
    out[0] = _mm256_cvtepi32_ps(_mm256_and_si256(v, _mm256_set1_epi32(15)));
    out[1] = _mm256_cvtepi32_ps(_mm256_srli_epi32(v, 4));
  }
};
struct Affine8 {
  static constexpr int kPer = 1, kBits = 8;
  static constexpr bool kAffine = true;
  MTPKIT_AVX2 static inline void block(const uint8_t* p, __m256* out) { out[0] = _mm256_cvtepi32_ps(bytes8(p)); }
};
// 3/5/6 bits: 32 codes (4B bytes) per block, unpacked to bytes in code order (unpack32 in
// qlinear_avx2.h); vector p holds codes 8p .. 8p + 7, so x needs no permutation.
template <int B>
struct AffineStream {
  static constexpr int kPer = 4, kBits = B;
  static constexpr bool kAffine = true;
  MTPKIT_AVX2 static inline void block(const uint8_t* p, __m256* out) {
    const __m256i v = unpack32<B>(p);
    const __m128i h[2] = {_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1)};
    for (int i = 0; i < 2; ++i) {
      out[2 * i] = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(h[i]));
      out[2 * i + 1] = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(h[i], 8)));
    }
  }
};
// E2M1: magnitude from an 8-entry table (vpermps reads the low 3 bits), sign from bit 3.
struct Fp4 {
  static constexpr int kPer = 2, kBits = 4;
  static constexpr bool kAffine = false;
  MTPKIT_AVX2 static inline __m256 e2m1(__m256i c) {
    __m256 mag = _mm256_permutevar8x32_ps(_mm256_setr_ps(0.f, 0.5f, 1.f, 1.5f, 2.f, 3.f, 4.f, 6.f), c);
    __m256i sign = _mm256_and_si256(_mm256_slli_epi32(c, 28), _mm256_set1_epi32(int(0x80000000u)));
    return _mm256_xor_ps(mag, _mm256_castsi256_ps(sign));
  }
  MTPKIT_AVX2 static inline void block(const uint8_t* p, __m256* out) {
    __m256i v = bytes8(p);
    out[0] = e2m1(_mm256_and_si256(v, _mm256_set1_epi32(15)));
    out[1] = e2m1(_mm256_srli_epi32(v, 4));
  }
};
// E4M3 as in detail::decode_e4m3: exponent and mantissa moved to f32 position, times 2^120.
struct Fp8 {
  static constexpr int kPer = 1, kBits = 8;
  static constexpr bool kAffine = false;
  MTPKIT_AVX2 static inline void block(const uint8_t* p, __m256* out) {
    __m256i v = bytes8(p);
    __m256i mag = _mm256_slli_epi32(_mm256_and_si256(v, _mm256_set1_epi32(0x7F)), 20);
    __m256 f = _mm256_mul_ps(_mm256_castsi256_ps(mag), _mm256_set1_ps(0x1p120f));
    __m256i sign = _mm256_slli_epi32(_mm256_and_si256(v, _mm256_set1_epi32(0x80)), 24);
    out[0] = _mm256_xor_ps(f, _mm256_castsi256_ps(sign));
  }
};


// Rows m0..m0+MB of x against weight rows n0..n0+NB, for block-packed formats (affine codes, fp4,
// fp8). Several weight rows at once give M = 1 independent dependency chains to overlap; each
// output is still summed exactly as it would be alone (NB changes the schedule, not the sums).
template <class D, int NB, int MB>
struct RowBlocks {
  MTPKIT_AVX2 static void go(const Ctx& c, int64_t m0, int64_t n0);
};
template <class D, int NB, int MB>
MTPKIT_AVX2 void RowBlocks<D, NB, MB>::go(const Ctx& c, int64_t m0, int64_t n0) {
  const QLinear& w = *c.w;
  const int64_t K = w.cols, G = K / w.group;
  const int bpg = w.group / (8 * D::kPer);  // blocks per group
  constexpr int64_t bb = D::kPer * D::kBits;  // bytes per block
  const int64_t gb = int64_t(w.group) * w.bits / 8, rb = K * w.bits / 8;
  const uint8_t* wr = static_cast<const uint8_t*>(w.w) + n0 * rb;
  const int64_t ss = scale_size(w);
  const uint8_t* sr = static_cast<const uint8_t*>(w.scales) + n0 * G * ss;
  const float* xr = c.xs + m0 * K;
  __m256 acc[NB][MB];
  for (int r = 0; r < NB; ++r)
    for (int m = 0; m < MB; ++m) acc[r][m] = _mm256_setzero_ps();
  for (int64_t k = 0; k < G; ++k) {
    __m256 qd[NB][MB];
    for (int r = 0; r < NB; ++r)
      for (int m = 0; m < MB; ++m) qd[r][m] = _mm256_setzero_ps();
    const float* xk = xr + k * w.group;
    // The hardware prefetcher loses track of NB interleaved row streams: fetch the same place of the
    // next NB rows (read right after these) ourselves: each line that starts within this group.
    for (int64_t o = (k * gb + 63) & ~int64_t(63); o < (k + 1) * gb; o += 64)
      for (int r = 0; r < NB; ++r) _mm_prefetch(reinterpret_cast<const char*>(wr + (NB + r) * rb + o), _MM_HINT_T0);
    for (int b = 0; b < bpg; ++b) {
      for (int r = 0; r < NB; ++r) {
        __m256 f[D::kPer];
        D::block(wr + r * rb + k * gb + bb * b, f);
        for (int p = 0; p < D::kPer; ++p)
          for (int m = 0; m < MB; ++m)
            qd[r][m] = _mm256_fmadd_ps(f[p], _mm256_loadu_ps(xk + m * K + (b * D::kPer + p) * 8), qd[r][m]);
      }
    }
    for (int r = 0; r < NB; ++r) {
      const uint8_t* sp = sr + r * G * ss;
      float sv = D::kAffine ? load_scale(sp + k * ss, w.sdt) : fp_scale(w, sp[k]);
      __m256 s = _mm256_set1_ps(sv);
      for (int m = 0; m < MB; ++m) acc[r][m] = _mm256_fmadd_ps(s, qd[r][m], acc[r][m]);
    }
  }
  for (int r = 0; r < NB; ++r)
    for (int m = 0; m < MB; ++m) {
      float v = hsum(acc[r][m]);
      if (D::kAffine)
        v += bias_dot(static_cast<const uint8_t*>(w.biases) + (n0 + r) * G * ss, w.sdt, ss, c.xsum + (m0 + m) * G, G);
      c.y[(m0 + m) * w.rows + n0 + r] = v;
    }
}

// Unquantized rows: two interleaved accumulators per row of x (16 elements per step), 8 more if
// left, then the last K % 8 products in order.
template <WFormat F>
MTPKIT_AVX2 inline __m256 float8(const uint8_t* p) {
  return load8(p, F == WFormat::BF16 ? ScaleType::BF16 : F == WFormat::F16 ? ScaleType::F16 : ScaleType::F32);
}
template <WFormat F>
inline float float1(const uint8_t* p) {
  return load_scale(p, F == WFormat::BF16 ? ScaleType::BF16 : F == WFormat::F16 ? ScaleType::F16 : ScaleType::F32);
}

template <WFormat F, int MB>
MTPKIT_AVX2 void row_floats(const Ctx& c, int64_t m0, int64_t n) {
  const QLinear& w = *c.w;
  const int64_t K = w.cols, es = float_size(F);
  const uint8_t* wr = static_cast<const uint8_t*>(w.w) + n * K * es;
  const float* xr = c.xs + m0 * K;
  __m256 a0[MB], a1[MB];
  for (int m = 0; m < MB; ++m) a0[m] = a1[m] = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= K; i += 16) {
    __m256 f0 = float8<F>(wr + i * es), f1 = float8<F>(wr + (i + 8) * es);
    for (int m = 0; m < MB; ++m) {
      a0[m] = _mm256_fmadd_ps(f0, _mm256_loadu_ps(xr + m * K + i), a0[m]);
      a1[m] = _mm256_fmadd_ps(f1, _mm256_loadu_ps(xr + m * K + i + 8), a1[m]);
    }
  }
  if (i + 8 <= K) {
    __m256 f0 = float8<F>(wr + i * es);
    for (int m = 0; m < MB; ++m) a0[m] = _mm256_fmadd_ps(f0, _mm256_loadu_ps(xr + m * K + i), a0[m]);
    i += 8;
  }
  for (int m = 0; m < MB; ++m) {
    float v = hsum(_mm256_add_ps(a0[m], a1[m]));
    for (int64_t j = i; j < K; ++j) v += float1<F>(wr + j * es) * xr[m * K + j];
    c.y[(m0 + m) * w.rows + n] = v;
  }
}


template <WFormat F>
struct FloatRow {
  template <int MB>
  struct One {
    static void run(const Ctx& c, int64_t m0, int64_t n) { row_floats<F, MB>(c, m0, n); }
  };
  template <int MB>
  struct R : OneByOne<One<MB>> {};
};

template <class D>
void blocks_kernel(const QLinear& w, const CallData& cd, float* y, int64_t r0, int64_t r1) {
  run_rows<MultiRow<RowBlocks, D>::template R>(w, cd, y, r0, r1);
}
template <WFormat F>
void floats_kernel(const QLinear& w, const CallData& cd, float* y, int64_t r0, int64_t r1) {
  run_rows<FloatRow<F>::template R>(w, cd, y, r0, r1);
}

// Codes per byte for the block decoders that need x in code order (1 = no permutation).
int codes_per_byte(const QLinear& w) {
  if (w.fmt == WFormat::MXFP4 || w.fmt == WFormat::NVFP4) return 2;
  if (w.fmt == WFormat::Affine && (w.bits == 2 || w.bits == 4)) return 8 / w.bits;
  return 1;
}

}  // namespace

RowKernel avx2_kernel(const QLinear& w) {
  switch (w.fmt) {
    case WFormat::F32: return floats_kernel<WFormat::F32>;
    case WFormat::F16: return floats_kernel<WFormat::F16>;
    case WFormat::BF16: return floats_kernel<WFormat::BF16>;
    case WFormat::MXFP4:
    case WFormat::NVFP4: return blocks_kernel<Fp4>;
    case WFormat::MXFP8: return blocks_kernel<Fp8>;
    case WFormat::Affine:
      switch (w.bits) {
        case 2: return blocks_kernel<Affine2>;
        case 4: return blocks_kernel<Affine4>;
        case 8: return blocks_kernel<Affine8>;
        case 3: return blocks_kernel<AffineStream<3>>;
        case 5: return blocks_kernel<AffineStream<5>>;
        case 6: return blocks_kernel<AffineStream<6>>;
        default: return nullptr;  // no other affine widths (MLX: 2, 3, 4, 5, 6, 8)
      }
  }
  return nullptr;
}

void avx2_prepare(const QLinear& w, CallData& cd) {
  scalar_group_sums(w, cd);
  const int per = codes_per_byte(w);
  if (per == 1) return;
  // Within each 8-byte block (8*per codes), vector p takes the codes j*per + p, j = 0..7.
  const int64_t K = w.cols, block = 8 * per;
  cd.xperm.resize(size_t(cd.M * K));
  for (int64_t m = 0; m < cd.M; ++m) {
    const float* x = cd.x + m * K;
    float* o = cd.xperm.data() + m * K;
    for (int64_t b = 0; b < K; b += block)
      for (int p = 0; p < per; ++p)
        for (int j = 0; j < 8; ++j) o[b + p * 8 + j] = x[b + j * per + p];
  }
}

}  // namespace detail
}  // namespace engine
}  // namespace mtpkit
#endif
