// AVX2 + FMA + F16C kernels of qlinear.h (x86-64 only; chosen at run time in qlinear.cc).
//
// Quantized rows are read in 32-byte units: each 32-bit lane holds 32/bits codes, and vector p of a
// unit takes code p of all 8 lanes. For affine codes, vector p is the lane masked in place (a
// multiple 2^(bits*p) of the code, exact in f32), with x divided by the same power of two once
// per call; so a vector costs one AND and one int->float conversion, no shift or shuffle (the
// same idea as MLX's qmv, ml-explore/mlx mlx/backend/metal/kernels/quantized.h, which prescales x
// instead of shifting codes). Products equal q*x exactly, as long as x/2^(bits*p) stays normal.
// x is permuted and prescaled once per call into that order (CallData::xperm).
//
// Affine rows are summed as y = sum_u s_u . dot_u(q, x) + sum_g b_g * sum(x_g): per unit, its
// vectors of products alternate between two accumulators (two dependency chains), whose sum times
// the unit's per-lane group scales is added to the row's accumulator; then its 8 lanes, then the
// biases times the sums of x per group (computed once per call). Each output's order depends only
// on the weight row and K: a row of x takes the same path whichever batch slot or thread it is in.
#include "qlinear_internal.h"

#if defined(__x86_64__)
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#define MTPKIT_AVX2 __attribute__((target("avx2,fma,f16c")))

namespace mtpkit {
namespace engine {
namespace detail {
namespace {

constexpr int kMaxRows = 5;  // rows of x in one pass over a weight row
constexpr int kSlice = 4;    // rows of x per pass in larger batches
constexpr int kUnit = 32;    // bytes of packed codes per unit
constexpr int kMaxNB = 4;    // weight rows per pass at most

// Decoders of a unit into vectors of 8 element values (before the group scale). kVecs = vectors
// per unit (0: group / 8, for Staged).
// Packed decoders: a unit is one 32-byte load.
struct Packed {
  static constexpr bool kStaged = false;
  using State = __m256i;
  MTPKIT_AVX2 static inline State load(const uint8_t* p, float*, const QLinear&) {
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
  }
};
template <int B>
struct AffineBits : Packed {
  static constexpr int kVecs = 32 / B;
  static constexpr bool kAffine = true;  // x prescaled by 2^-(B*p) for vector p (avx2_prepare)
  // The top code is shifted down instead (masked, it would set the int32 sign bit).
  MTPKIT_AVX2 static inline __m256 vec(State v, int p) {
    if (p == kVecs - 1) return _mm256_cvtepi32_ps(_mm256_srli_epi32(v, B * p));
    return _mm256_cvtepi32_ps(_mm256_and_si256(v, _mm256_set1_epi32(int(((1u << B) - 1u) << (B * p)))));
  }
};
// E2M1: magnitude from an 8-entry table (vpermps reads the low 3 bits), sign from bit 3.
struct Fp4 : Packed {
  static constexpr int kVecs = 8;
  static constexpr bool kAffine = false;
  MTPKIT_AVX2 static inline __m256 vec(State v, int p) {
    __m256i idx = p ? _mm256_srli_epi32(v, 4 * p) : v;
    __m256 mag = _mm256_permutevar8x32_ps(_mm256_setr_ps(0.f, 0.5f, 1.f, 1.5f, 2.f, 3.f, 4.f, 6.f), idx);
    __m256i top = p < 7 ? _mm256_slli_epi32(v, 28 - 4 * p) : v;
    __m256i sign = _mm256_and_si256(top, _mm256_set1_epi32(int(0x80000000u)));
    return _mm256_xor_ps(mag, _mm256_castsi256_ps(sign));
  }
};
// E4M3 as in detail::decode_e4m3: exponent and mantissa moved to f32 position, times 2^120.
struct Fp8 : Packed {
  static constexpr int kVecs = 4;
  static constexpr bool kAffine = false;
  MTPKIT_AVX2 static inline __m256 vec(State v, int p) {
    __m256i t = p < 3 ? _mm256_slli_epi32(v, 24 - 8 * p) : v;  // code p in the top byte
    __m256i mag = _mm256_srli_epi32(_mm256_and_si256(t, _mm256_set1_epi32(0x7F000000)), 4);
    __m256 f = _mm256_mul_ps(_mm256_castsi256_ps(mag), _mm256_set1_ps(0x1p120f));
    __m256i sign = _mm256_and_si256(t, _mm256_set1_epi32(int(0x80000000u)));
    return _mm256_xor_ps(f, _mm256_castsi256_ps(sign));
  }
};
// Affine 3/5/6 bits: codes straddle words, so a unit is one group, unpacked to floats first
// (portable unpacker) and read 8 at a time; x is used as it is.
struct Staged {
  static constexpr int kVecs = 0;
  static constexpr bool kAffine = true, kStaged = true;
  using State = const float*;
  static inline State load(const uint8_t* p, float* stage, const QLinear& w) {
    unpack_codes(p, w.bits, w.group, stage);
    return stage;
  }
  MTPKIT_AVX2 static inline __m256 vec(State codes, int p) { return _mm256_loadu_ps(codes + 8 * p); }
};

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
MTPKIT_AVX2 float bias_dot(const uint8_t* b, ScaleType t, int64_t ss, const float* xs, int64_t G) {
  __m256 acc = _mm256_setzero_ps();
  int64_t G8 = G & ~int64_t(7);
  for (int64_t k = 0; k < G8; k += 8) acc = _mm256_fmadd_ps(load8(b + k * ss, t), _mm256_loadu_ps(xs + k), acc);
  float s = hsum(acc);
  for (int64_t k = G8; k < G; ++k) s += load_scale(b + k * ss, t) * xs[k];
  return s;
}

struct Ctx {
  const QLinear* w;
  const float* xs;    // [M, xstride]: x, or x in code order
  int64_t xstride;
  const float* xsum;  // [M, G] (affine)
  float* y;
  float* scales;      // this thread's scratch: kMaxNB rows of G + 8 group scales as floats
  float* staged;      // this thread's scratch: kMaxNB rows of 128 unpacked codes (Staged)
};

// Group scales of rows n0..n0+nb as floats, 8 zeros after each row (the last unit of a row may
// run past its groups; see row_units). Vectorized for affine; the fp modes' one-byte scales are
// decoded one by one. The inner loops then never branch on the scale type.
MTPKIT_AVX2 void decode_scales(const QLinear& w, bool affine, int64_t n0, int nb, float* out) {
  const int64_t G = groups_per_row(w), ss = scale_size(w);
  for (int r = 0; r < nb; ++r) {
    const uint8_t* sp = static_cast<const uint8_t*>(w.scales) + (n0 + r) * G * ss;
    float* o = out + r * (G + 8);
    int64_t k = 0;
    if (affine) {
      for (; k + 8 <= G; k += 8) _mm256_storeu_ps(o + k, load8(sp + k * ss, w.sdt));
      for (; k < G; ++k) o[k] = load_scale(sp + k * ss, w.sdt);
    } else {
      for (; k < G; ++k) o[k] = fp_scale(w, sp[k]);
    }
    _mm256_storeu_ps(o + G, _mm256_setzero_ps());
  }
}

// Bytes of one unit, and units per row (the last one may be partial: its bytes past the row are
// read as zero codes, meeting zeros in xperm and zero scales).
inline int64_t unit_bytes(const QLinear& w, bool staged) { return staged ? int64_t(w.group) * w.bits / 8 : kUnit; }

// Rows m0..m0+MB of x against weight rows n0..n0+NB. Several weight rows per pass give M = 1 more
// independent chains and share each load of x; several rows of x share each decoded vector. The
// grouping changes the schedule, never an output's sum (see the top of the file).
template <class D, int NB, int MB>
MTPKIT_AVX2 void row_units(const Ctx& c, int64_t m0, int64_t n0) {
  const QLinear& w = *c.w;
  const int64_t G = groups_per_row(w), rb = row_bytes(w);
  const int64_t ub = unit_bytes(w, D::kStaged), units = (rb + ub - 1) / ub;
  const int vecs = D::kStaged ? w.group / 8 : D::kVecs;
  const int64_t gbytes = int64_t(w.group) * w.bits / 8;
  const int gshift = __builtin_ctzll(uint64_t(gbytes));  // packed formats: gbytes is a power of two
  // Lane d of unit u holds codes of group u*ub/gbytes + idx[d].
  __m256i idx = _mm256_setzero_si256();
  if (!D::kStaged && gbytes < kUnit)
    idx = _mm256_setr_epi32(0, 4 / gbytes, 8 / gbytes, 12 / gbytes, 16 / gbytes, 20 / gbytes, 24 / gbytes, 28 / gbytes);
  const uint8_t* wr = static_cast<const uint8_t*>(w.w) + n0 * rb;
  const float* xr = c.xs + m0 * c.xstride;
  decode_scales(w, D::kAffine, n0, NB, c.scales);
  __m256 acc[NB][MB];
  for (int r = 0; r < NB; ++r)
    for (int m = 0; m < MB; ++m) acc[r][m] = _mm256_setzero_ps();
  for (int64_t u = 0; u < units; ++u) {
    const int64_t off = u * ub;
    typename D::State st[NB];
    if (off + ub <= rb) {
      for (int r = 0; r < NB; ++r) st[r] = D::load(wr + r * rb + off, c.staged + r * 128, w);
      // The hardware prefetcher loses track of NB interleaved row streams: fetch the same place of
      // the next NB rows (read right after these) ourselves, once per cache line.
      if (!D::kStaged && (off & 63) == 0)
        for (int r = 0; r < NB; ++r) _mm_prefetch(reinterpret_cast<const char*>(wr + (NB + r) * rb + off), _MM_HINT_T0);
    } else {
      alignas(32) uint8_t tail[kMaxNB][kUnit] = {};
      for (int r = 0; r < NB; ++r) {
        std::memcpy(tail[r], wr + r * rb + off, size_t(rb - off));
        st[r] = D::load(tail[r], c.staged + r * 128, w);
      }
    }
    const float* xu = xr + u * vecs * 8;
    __m256 qa[NB][MB], qb[NB][MB];
    for (int r = 0; r < NB; ++r)
      for (int m = 0; m < MB; ++m) qa[r][m] = qb[r][m] = _mm256_setzero_ps();
    for (int p = 0; p < vecs; p += 2) {
      for (int r = 0; r < NB; ++r) {
        __m256 f0 = D::vec(st[r], p), f1 = D::vec(st[r], p + 1);
        for (int m = 0; m < MB; ++m) {
          qa[r][m] = _mm256_fmadd_ps(f0, _mm256_loadu_ps(xu + m * c.xstride + 8 * p), qa[r][m]);
          qb[r][m] = _mm256_fmadd_ps(f1, _mm256_loadu_ps(xu + m * c.xstride + 8 * p + 8), qb[r][m]);
        }
      }
    }
    const int64_t g0 = D::kStaged ? u : off >> gshift;
    for (int r = 0; r < NB; ++r) {
      __m256 s = _mm256_permutevar8x32_ps(_mm256_loadu_ps(c.scales + r * (G + 8) + g0), idx);
      for (int m = 0; m < MB; ++m) acc[r][m] = _mm256_fmadd_ps(s, _mm256_add_ps(qa[r][m], qb[r][m]), acc[r][m]);
    }
  }
  const int64_t ss = scale_size(w);
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
  const float* xr = c.xs + m0 * c.xstride;
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

// Batches up to kMaxRows in one pass per weight row (M = 1 and 2: 2 weight rows at once, which
// share each load of x; more rows per pass spill accumulators and gain nothing);
// larger batches in slices of kSlice rows of x while tiles of weight rows stay in cache. Results do
// not depend on the split.
template <class Row>
void run_rows(const QLinear& w, const CallData& cd, float* y, int64_t r0, int64_t r1) {
  thread_local std::vector<float> scales, staged(kMaxNB * 128);
  scales.resize(size_t(kMaxNB * (groups_per_row(w) + 8)));
  const bool perm = !cd.xperm.empty();
  Ctx c{&w, perm ? cd.xperm.data() : cd.x, perm ? cd.xstride : w.cols, cd.xsum.data(), y, scales.data(), staged.data()};
  auto call = [&](int mb, int64_t m0, int64_t n) {
    switch (mb) {
      case 1: Row::template run<1, 1>(c, m0, n); break;
      case 2: Row::template run<1, 2>(c, m0, n); break;
      case 3: Row::template run<1, 3>(c, m0, n); break;
      case 4: Row::template run<1, 4>(c, m0, n); break;
      default: Row::template run<1, 5>(c, m0, n); break;
    }
  };
  const int64_t M = cd.M;
  if (M <= kMaxRows) {
    int64_t n = r0;
    if (M == 1)
      for (; n + 2 <= r1; n += 2) Row::template run<2, 1>(c, 0, n);
    else if (M == 2)
      for (; n + 2 <= r1; n += 2) Row::template run<2, 2>(c, 0, n);
    for (; n < r1; ++n) call(int(M), 0, n);
    return;
  }
  const int64_t tile = 16;
  for (int64_t t0 = r0; t0 < r1; t0 += tile) {
    int64_t t1 = std::min(r1, t0 + tile);
    for (int64_t m0 = 0; m0 < M; m0 += kSlice) {
      int mb = int(std::min<int64_t>(kSlice, M - m0));
      for (int64_t n = t0; n < t1; ++n) call(mb, m0, n);
    }
  }
}

// Row kinds: run<NB, MB> = NB weight rows against MB rows of x.
template <class D>
struct BlockRow {
  template <int NB, int MB>
  static void run(const Ctx& c, int64_t m0, int64_t n) {
    row_units<D, NB, MB>(c, m0, n);
  }
};
template <WFormat F>
struct FloatRow {
  template <int NB, int MB>
  static void run(const Ctx& c, int64_t m0, int64_t n) {
    for (int r = 0; r < NB; ++r) row_floats<F, MB>(c, m0, n + r);
  }
};

template <class D>
void blocks_kernel(const QLinear& w, const CallData& cd, float* y, int64_t r0, int64_t r1) {
  run_rows<BlockRow<D>>(w, cd, y, r0, r1);
}
template <WFormat F>
void floats_kernel(const QLinear& w, const CallData& cd, float* y, int64_t r0, int64_t r1) {
  run_rows<FloatRow<F>>(w, cd, y, r0, r1);
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
        case 2: return blocks_kernel<AffineBits<2>>;
        case 4: return blocks_kernel<AffineBits<4>>;
        case 8: return blocks_kernel<AffineBits<8>>;
        default: return blocks_kernel<Staged>;
      }
  }
  return nullptr;
}

void avx2_prepare(const QLinear& w, CallData& cd) {
  scalar_group_sums(w, cd);
  const bool fp4 = w.fmt == WFormat::MXFP4 || w.fmt == WFormat::NVFP4;
  const bool packed = w.fmt == WFormat::MXFP8 || fp4 || (w.fmt == WFormat::Affine && 32 % w.bits == 0);
  if (!packed) return;
  const int bits = fp4 ? 4 : w.fmt == WFormat::MXFP8 ? 8 : w.bits;
  const bool prescale = w.fmt == WFormat::Affine;
  // Unit u, vector p, lane d holds code u*ucodes + d*lane + p (lane = codes per 32-bit lane).
  const int lane = 32 / bits, ucodes = 8 * lane;
  const int64_t K = w.cols, stride = (K + ucodes - 1) / ucodes * ucodes;
  float pre[32];
  for (int p = 0; p < lane; ++p) pre[p] = (prescale && p < lane - 1) ? std::ldexp(1.f, -bits * p) : 1.f;
  cd.xstride = stride;
  cd.xperm.assign(size_t(cd.M * stride), 0.f);
  for (int64_t m = 0; m < cd.M; ++m) {
    const float* x = cd.x + m * K;
    float* o = cd.xperm.data() + m * stride;
    for (int64_t u = 0; u < stride; u += ucodes)
      for (int p = 0; p < lane; ++p)
        for (int d = 0; d < 8; ++d) {
          int64_t k = u + d * lane + p;
          if (k < K) o[u + p * 8 + d] = x[k] * pre[p];
        }
  }
}

}  // namespace detail
}  // namespace engine
}  // namespace mtpkit
#endif
