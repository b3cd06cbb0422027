// AVX2 kernels of the q8 mode (int8 activations, affine weights; x86-64 only, chosen at run time).
//
// A weight row is walked in steps (see the step kinds below): 4-bit rows 128 bytes (256 codes, 8
// activation blocks) at a time, 8-bit rows 32 bytes (128 in the VNNI builds), 2-bit rows 32 bytes,
// 3/5/6-bit rows 32 codes (12, 20, 24 bytes) unpacked to bytes in registers; what is left of a row
// after its last whole step goes in 32-byte chunks, then (codes that fill no chunk) to a scalar
// tail. A step is unpacked ONCE and applied to every row of x in the batch: vpmaddubsw (unsigned codes x signed activation codes, pairs summed in
// int16) and vpmaddwd (pairs of int16 into int32) give 8 int32 lanes, each a part of exactly one
// activation block's integer dot product I_j, or all of it (the scheme of ggml-org/llama.cpp
// ggml/src/ggml-cpu/arch/x86/quants.c, mul_sum_us8_pairs_float). Saturation is impossible by
// construction: a vpmaddubsw pair is at most 2 * 63 * 127 = 16002 for codes <= 6 bits, and at most 4
// (2-bit) or 8 (4-bit: pairs <= 2 * 15 * 127) of them are added in int16 (<= 3048, 30480); 8-bit
// codes (up to 255) skip vpmaddubsw and are widened to int16 for vpmaddwd.
// Per step and row of x: acc += (float(I lanes) * d of each lane's block) * s of each lane's group,
// then y = hsum(acc) + the rows' last codes that fill no step (scalar, in order) + sum_g b_g * xsum_g.
// The order depends on the weight row and K only, never on the other rows of x: a row's outputs are
// the same bits alone and in any batch. The integer parts are exact, so only the float order differs
// from the portable kernel (qlinear_q8.cc, per block then per group): the two paths agree to float
// rounding, not bit for bit. The activation codes are laid out once per call in the order the
// unpacking produces (CallData::xqp / xq16; 3/5/6 bits unpack in code order and read CallData::xq),
// with each lane's step in CallData::dv.
//
// The same kernels are compiled a second time by qlinear_q8_vnni.cc with MTPKIT_Q8_VNNI = 1, for
// CPUs with AVX-VNNI: vpdpbusd (unsigned bytes x signed bytes, 4 products summed into each int32
// lane without intermediate saturation) replaces each vpmaddubsw / vpaddw / vpmaddwd chain. Each
// int32 lane then holds exactly the same codes' products as here, the integers are exact either
// way, and the float steps are the same instructions, so both builds give the same bits, except at
// 8 bits, where the VNNI builds walk rows in steps of 4 blocks (Bytes8x4). qlinear_q8_avx512.cc
// compiles them a third time for AVX512-VNNI (same bits as the AVX-VNNI build).
#include "qlinear_avx2.h"

#if defined(__x86_64__)
#ifndef MTPKIT_Q8_VNNI
#define MTPKIT_Q8_VNNI 0
#endif
#ifndef MTPKIT_Q8_AVX512
#define MTPKIT_Q8_AVX512 0
#endif
// Each build's kernels live in a namespace of their own: an anonymous namespace alone does not keep
// the builds apart, as gcc gives templates instantiated with a template template argument from
// one (avx2::run_rows<MultiRow<Q8Rows, D>::R>) weak linkage under the same name in all, and the
// linker then keeps one of them for every build.
#if MTPKIT_Q8_AVX512
// AVX-512 VNNI (Ice Lake and later, Zen 4): the same 256-bit kernels, EVEX-encoded, with 32 vector
// registers instead of 16, so a step's unpacked weights, activation codes and accumulators stay in
// registers (measured in cache: 11% faster than AVX2 at M = 1, 23% faster than the AVX-VNNI build
// at M = 4).
#define MTPKIT_Q8 __attribute__((target("avx2,fma,f16c,avx512f,avx512vl,avx512bw,avx512vnni")))
#define MTPKIT_Q8_NS q8_avx512
#elif MTPKIT_Q8_VNNI
#define MTPKIT_Q8 __attribute__((target("avx2,fma,f16c,avxvnni")))
#define MTPKIT_Q8_NS q8_vnni
#else
#define MTPKIT_Q8 MTPKIT_AVX2
#define MTPKIT_Q8_NS q8_avx2
#endif
#include <algorithm>
#include <limits>
#include <type_traits>

namespace mtpkit {
namespace engine {
namespace detail {
namespace MTPKIT_Q8_NS {
namespace {

using namespace avx2;

MTPKIT_Q8 inline __m256i load32(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }

#if MTPKIT_Q8_VNNI
// acc + the 4-byte dot products of unsigned w and signed x in each int32 lane: vpdpbusd, VEX-encoded
// (AVX-VNNI) or EVEX-encoded (AVX512-VNNI with VL, which CPUs without AVX-VNNI also have).
MTPKIT_Q8 inline __m256i dpbusd(__m256i acc, __m256i w, __m256i x) {
#if MTPKIT_Q8_AVX512
  return _mm256_dpbusd_epi32(acc, w, x);
#else
  return _mm256_dpbusd_avx_epi32(acc, w, x);
#endif
}
#endif

// sum_i w[i] x_i (x_i: the 32 signed codes at x + 32 i) as 8 int32 lanes, each the sum of the
// products in its own 4 bytes of all N vectors (callers make sure these fit: see the header).
template <int N>
MTPKIT_Q8 inline __m256i dot_bytes(const __m256i* w, const int8_t* x) {
#if MTPKIT_Q8_VNNI
  // Two independent chains, so that one row of x does not wait on the latency of N in a row.
  __m256i a = dpbusd(_mm256_setzero_si256(), w[0], load32(x));
  if constexpr (N == 1) {
    return a;
  } else {
    __m256i b = dpbusd(_mm256_setzero_si256(), w[1], load32(x + 32));
    for (int i = 2; i < N; ++i) {
      if (i % 2 == 0)
        a = dpbusd(a, w[i], load32(x + 32 * i));
      else
        b = dpbusd(b, w[i], load32(x + 32 * i));
    }
    return _mm256_add_epi32(a, b);
  }
#else
  __m256i s = _mm256_maddubs_epi16(w[0], load32(x));
  for (int i = 1; i < N; ++i) s = _mm256_add_epi16(s, _mm256_maddubs_epi16(w[i], load32(x + 32 * i)));
  return _mm256_madd_epi16(s, _mm256_set1_epi16(1));
#endif
}

// The kinds of step a row is walked in. A step covers kCC codes (kBytes bytes of the row) and is
// unpacked ONCE into W; dot() turns W and the step's activation codes into 8 int32 lanes, lane j
// holding part (or all) of block lane_block(j) of the step. X: the activation code type. Rem: the
// kind that walks what is left of a row after the last whole step (the kind itself when a step is
// one 32-byte chunk). kLaidOut: code(v, P) gives which code of the step vector v of W holds at
// position P (byte, or int16 for 8 bits), and the activation codes are laid out once per call in
// that order; otherwise W holds the codes in order.
template <int Bits>
struct Packed {  // 2 or 4 bits, one 32-byte chunk: vector p holds codes b * kP + p (b = byte 0..31)
  static constexpr int kP = 8 / Bits, kCC = 32 * kP, kBytes = 32, kVecs = kP, kPos = 32;
  static constexpr bool kLaidOut = true;
  using X = int8_t;
  using Rem = Packed;
  struct W {
    __m256i v[kP];
  };
  static constexpr int lane_block(int j) { return j * (kCC / 8) / kQB; }
  static constexpr int code(int v, int P) { return P * kP + v; }
  static const X* codes(const CallData& cd) { return cd.xqp.data(); }
  MTPKIT_Q8 static inline void load(const uint8_t* p, W& w) {
    const __m256i raw = load32(p), mask = _mm256_set1_epi8(char((1 << Bits) - 1));
    for (int i = 0; i < kP; ++i) w.v[i] = _mm256_and_si256(_mm256_srli_epi16(raw, i * Bits), mask);
  }
  MTPKIT_Q8 static inline __m256i dot(const W& w, const int8_t* x) { return dot_bytes<kP>(w.v, x); }
};
// Four 32-byte chunks at p, transposed by 32-bit words within each 128-bit half: word 4h + i of t[k]
// is word 4h + k of chunk i.
MTPKIT_Q8 inline void transpose4(const uint8_t* p, __m256i (&t)[4]) {
  const __m256i r0 = load32(p), r1 = load32(p + 32), r2 = load32(p + 64), r3 = load32(p + 96);
  const __m256i a = _mm256_unpacklo_epi32(r0, r1), b = _mm256_unpacklo_epi32(r2, r3);
  const __m256i c = _mm256_unpackhi_epi32(r0, r1), d = _mm256_unpackhi_epi32(r2, r3);
  t[0] = _mm256_unpacklo_epi64(a, b);
  t[1] = _mm256_unpackhi_epi64(a, b);
  t[2] = _mm256_unpacklo_epi64(c, d);
  t[3] = _mm256_unpackhi_epi64(c, d);
}

// 4 bits, four 32-byte chunks (256 codes, 8 blocks) per step. In chunk i, 32-bit word t holds 8
// codes of block 2i + t / 4. A 4x4 transpose of the words within each 128-bit half gives vectors
// T_k whose word 4h + i is word 4h + k of chunk i: every 32-bit lane of every T_k (and of its low and
// high nibbles) belongs to one block, the same block in all of them, so the 8 vpmaddubsw results of
// a row can be added in int16 (8 * 2 * 15 * 127 = 30480 < 32768) before one vpmaddwd makes each
// lane a whole block's I_j: lane j = 4h + i holds block 2i + h. The transpose and the nibble split
// are done once per step for all rows of x; per row and step: 8 vpmaddubsw, 7 vpaddw, 1 vpmaddwd
// and one float step (convert, times d, fused add of times s) for 8 blocks.
struct Nib4x4 {
  static constexpr int kCC = 256, kBytes = 128, kVecs = 8, kPos = 32;
  static constexpr bool kLaidOut = true;
  using X = int8_t;
  using Rem = Packed<4>;
  struct W {
    __m256i v[8];  // v[2k] low nibbles of T_k, v[2k + 1] high nibbles
  };
  static constexpr int lane_block(int j) { return 2 * (j & 3) + (j >> 2); }
  // byte P = 16h + 4i + e of T_k is byte 16h + 4k + e of chunk i: codes 64i + 2 (16h + 4k + e) + nibble.
  static constexpr int code(int v, int P) {
    return 64 * ((P >> 2) & 3) + 32 * (P >> 4) + 8 * (v >> 1) + 2 * (P & 3) + (v & 1);
  }
  static const X* codes(const CallData& cd) { return cd.xqp.data(); }
  MTPKIT_Q8 static inline void load(const uint8_t* p, W& w) {
    __m256i t[4];
    transpose4(p, t);
    const __m256i mask = _mm256_set1_epi8(0x0F);
    for (int k = 0; k < 4; ++k) {
      w.v[2 * k] = _mm256_and_si256(t[k], mask);
      w.v[2 * k + 1] = _mm256_and_si256(_mm256_srli_epi16(t[k], 4), mask);
    }
  }
  MTPKIT_Q8 static inline __m256i dot(const W& w, const int8_t* x) { return dot_bytes<8>(w.v, x); }
};
#if !MTPKIT_Q8_VNNI
struct Bytes8 {  // 8 bits: codes up to 255 would saturate vpmaddubsw, so both sides go to int16
  static constexpr int kCC = 32, kBytes = 32, kVecs = 2, kPos = 16;
  static constexpr bool kLaidOut = true;
  using X = int16_t;
  using Rem = Bytes8;
  struct W {
    __m256i lo, hi;
  };
  static constexpr int lane_block(int) { return 0; }
  static constexpr int code(int v, int P) { return 16 * v + P; }
  static const X* codes(const CallData& cd) { return cd.xq16.data(); }
  MTPKIT_Q8 static inline void load(const uint8_t* p, W& w) {
    w.lo = _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    w.hi = _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16)));
  }
  MTPKIT_Q8 static inline __m256i dot(const W& w, const int16_t* x) {
    return _mm256_add_epi32(_mm256_madd_epi16(w.lo, load32(x)), _mm256_madd_epi16(w.hi, load32(x + 16)));
  }
};
#endif
// Steps of one 32-byte vector of byte codes: each int32 lane 4 codes of the step's one block.
struct OneVector {
  static constexpr int kCC = 32;
  using X = int8_t;
  struct W {
    __m256i v;
  };
  static constexpr int lane_block(int) { return 0; }
  MTPKIT_Q8 static inline __m256i dot(const W& w, const int8_t* x) { return dot_bytes<1>(&w.v, x); }
};
#if MTPKIT_Q8_VNNI
// 8 bits with vpdpbusd (codes as unsigned bytes, no widening). Lane j must hold the same codes as
// Bytes8's lane j, {2j, 2j+1, 16+2j, 17+2j}: a qword permute and an in-lane byte shuffle put 16-bit
// words j and 8 + j of the chunk side by side, and the activation codes are laid out to match.
struct Bytes8Dp : OneVector {
  static constexpr int kBytes = 32, kVecs = 1, kPos = 32;
  static constexpr bool kLaidOut = true;
  using Rem = Bytes8Dp;
  static constexpr int code(int, int P) { return 2 * (P >> 2) + (P & 1) + 16 * ((P >> 1) & 1); }
  static const X* codes(const CallData& cd) { return cd.xqp.data(); }
  MTPKIT_Q8 static inline void load(const uint8_t* p, W& w) {
    // qwords 0 2 1 3: 16-bit words 0-3 8-11 | 4-7 12-15; then words 0 4 1 5 2 6 3 7 of each half.
    const __m256i q = _mm256_permute4x64_epi64(load32(p), 0xD8);
    const __m256i order = _mm256_setr_epi8(0, 1, 8, 9, 2, 3, 10, 11, 4, 5, 12, 13, 6, 7, 14, 15,  //
                                           0, 1, 8, 9, 2, 3, 10, 11, 4, 5, 12, 13, 6, 7, 14, 15);
    w.v = _mm256_shuffle_epi8(q, order);
  }
};
// 8 bits with vpdpbusd, four 32-byte chunks (128 codes, 4 blocks) per step, transposed as in Nib4x4:
// lane j = 4h + i of each T_k holds bytes 16h + 4k .. 16h + 4k + 3 of chunk i, four codes of block i
// of the step, so the 4 T_k of a row add up in int32 lanes and one float step covers 4 blocks
// (Bytes8Dp takes one per block). The AVX2 build keeps Bytes8: there the transpose costs more than
// the float steps it saves (measured in cache at M = 1: 0.41 vs 0.31 ms for an 8-bit 4096x2560
// layer), so at 8 bits the VNNI builds and the AVX2 build sum in different orders (qlinear.cc never
// mixes them within a model: on a CPU with VNNI, 8-bit rows take it at every M).
struct Bytes8x4 {
  static constexpr int kCC = 128, kBytes = 128, kVecs = 4, kPos = 32;
  static constexpr bool kLaidOut = true;
  using X = int8_t;
  using Rem = Bytes8Dp;
  struct W {
    __m256i v[4];
  };
  static const X* codes(const CallData& cd) { return cd.xqp.data(); }
  // byte P of T_v: byte P % 4 of lane j = P / 4 = 4h + i, which is code 32 i + 16 h + 4 v + P % 4.
  static constexpr int code(int v, int P) { return 32 * ((P >> 2) & 3) + 16 * (P >> 4) + 4 * v + (P & 3); }
  static constexpr int lane_block(int j) { return j & 3; }
  MTPKIT_Q8 static inline void load(const uint8_t* p, W& w) { transpose4(p, w.v); }
  MTPKIT_Q8 static inline __m256i dot(const W& w, const int8_t* x) { return dot_bytes<4>(w.v, x); }
};
#endif
// 3/5/6 bits: 32 codes (4 * Bits bytes of the row) per step, unpacked to bytes in code order
// (unpack32 in qlinear_avx2.h; codes <= 63), so the activation codes are read as quantized.
template <int Bits>
struct Stream : OneVector {
  static constexpr int kBytes = 4 * Bits;
  static constexpr bool kLaidOut = false;
  using Rem = Stream;
  static const X* codes(const CallData& cd) { return cd.xq.data(); }
  MTPKIT_Q8 static inline void load(const uint8_t* p, W& w) { w.v = unpack32<Bits>(p); }
};

template <int Bits>
struct Kind {  // the step kind of each width
  using D = Stream<Bits>;
};
template <>
struct Kind<2> {
  using D = Packed<2>;
};
template <>
struct Kind<4> {
  using D = Nib4x4;
};
template <>
struct Kind<8> {
#if MTPKIT_Q8_VNNI
  using D = Bytes8x4;
#else
  using D = Bytes8;
#endif
};

// How a row of K codes is walked: nstep whole steps of D, then nrem whole steps of D::Rem; kfull
// codes in all (the rest, whole groups, goes to tail_sum). Each step has 8 lanes of d.
struct Walk {
  int64_t nstep, nrem, kfull;
  int64_t lanes() const { return 8 * (nstep + nrem); }
};
template <class D>
Walk walk(int64_t K) {
  const int64_t nstep = K / D::kCC, nrem = (K - nstep * D::kCC) / D::Rem::kCC;
  return {nstep, nrem, nstep * D::kCC + nrem * D::Rem::kCC};
}

// The group of each lane of a step of kind E among the groups the step spans (g < E::kCC); the
// lanes' scales are these entries of the 8 scales from the step's first group (padded at the end).
template <class E>
MTPKIT_Q8 inline __m256i lane_groups(int g) {
  alignas(32) int32_t v[8];
  for (int j = 0; j < 8; ++j) v[j] = E::lane_block(j) * kQB / g;
  return _mm256_load_si256(reinterpret_cast<const __m256i*>(v));
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
  using X = typename D::X;
  // The partial sums, 8 lanes per output (passed and returned by value so that they stay in registers).
  struct Acc {
    __m256 v[NB][MB];
  };
  struct Args {
    const uint8_t* const* src;  // NB rows
    const uint8_t* wr;          // the first of them, for prefetching
    int64_t rb;
    const X* xr;  // codes of row m0
    const float* dr;  // lane steps of row m0
    int64_t xstride, dstride;
  };
  // One step of kind E (at byte b of the rows, code xo of the laid-out codes, lane offset lo) of
  // every weight row, all rows of x; s[r]: the scale of each lane of row r.
  template <class E>
  MTPKIT_Q8 static inline __attribute__((always_inline)) Acc step(const Args& a, int64_t b, int64_t xo, int64_t lo,
                                                                   const __m256* s, Acc acc) {
    // As in qlinear_avx2.cc: the prefetcher loses track of NB interleaved streams, so fetch the same
    // place of the next NB rows ourselves: each cache line that starts within this step's bytes.
    for (int64_t o = (b + 63) & ~int64_t(63); o < b + E::kBytes; o += 64)
      for (int r = 0; r < NB; ++r) _mm_prefetch(reinterpret_cast<const char*>(a.wr + (NB + r) * a.rb + o), _MM_HINT_T0);
    for (int r = 0; r < NB; ++r) {
      typename E::W wv;
      E::load(a.src[r] + b, wv);
      for (int m = 0; m < MB; ++m) {
        __m256i I = E::dot(wv, a.xr + m * a.xstride + xo);
        __m256 t = _mm256_mul_ps(_mm256_cvtepi32_ps(I), _mm256_loadu_ps(a.dr + m * a.dstride + lo));
        acc.v[r][m] = _mm256_fmadd_ps(t, s[r], acc.v[r][m]);
      }
    }
    return acc;
  }
  // n steps of kind E starting at code k0 / byte b0 / lane l0 (k0 a multiple of the group size g or
  // of E::kCC, whichever is larger; g and E::kCC are powers of two, so one divides the other).
  template <class E>
  MTPKIT_Q8 static inline __attribute__((always_inline)) Acc steps(const Args& a, const float* sf, int64_t G, int g,
                                                                    int64_t n, int64_t k0, int64_t b0, int64_t lo0,
                                                                    Acc acc) {
    __m256 s[NB];
    const float* sp = sf + k0 / g;  // the scale of the first group of the step
    if (g >= E::kCC) {  // a group is whole steps: one broadcast scale per group and row
      const int64_t per = g / E::kCC;
      for (int64_t i = 0; i < n; ++sp) {
        for (int r = 0; r < NB; ++r) s[r] = _mm256_broadcast_ss(sp + r * G);
        for (const int64_t e = std::min(n, i + per); i < e; ++i)
          acc = step<E>(a, b0 + i * E::kBytes, k0 + i * E::kCC, lo0 + 8 * i, s, acc);
      }
    } else {
      const __m256i idx = lane_groups<E>(g);
      const int64_t per = E::kCC / g;  // groups per step
      for (int64_t i = 0; i < n; ++i, sp += per) {
        for (int r = 0; r < NB; ++r) s[r] = _mm256_permutevar8x32_ps(_mm256_loadu_ps(sp + r * G), idx);
        acc = step<E>(a, b0 + i * E::kBytes, k0 + i * E::kCC, lo0 + 8 * i, s, acc);
      }
    }
    return acc;
  }
  MTPKIT_Q8 static void go(const Ctx& c, int64_t m0, int64_t n0);
};
template <class D, int NB, int MB>
MTPKIT_Q8 void Q8Rows<D, NB, MB>::go(const Ctx& c, int64_t m0, int64_t n0) {
  const QLinear& w = *c.w;
  const CallData& cd = *c.cd;
  const int64_t K = w.cols, G = K / w.group, QK = K / kQB;
  const Walk wk = walk<D>(K);
  const int64_t rb = K * w.bits / 8, ss = scale_size(w);
  const uint8_t* wr = static_cast<const uint8_t*>(w.w) + n0 * rb;
  const uint8_t* sr = static_cast<const uint8_t*>(w.scales) + n0 * G * ss;
  const uint8_t* src[NB];
  for (int r = 0; r < NB; ++r) src[r] = wr + r * rb;
  const Args a{src, wr, rb, D::codes(cd) + m0 * wk.kfull, cd.dv.data() + m0 * wk.lanes(), wk.kfull, wk.lanes()};
  Acc acc;
  for (int r = 0; r < NB; ++r)
    for (int m = 0; m < MB; ++m) acc.v[r][m] = _mm256_setzero_ps();
  // The rows' scales as floats once (padded for the 8-wide loads of the lane scales).
  thread_local std::vector<float> sbuf;
  sbuf.resize(size_t(NB * G + 8));
  float* sf = sbuf.data();
  for (int r = 0; r < NB; ++r) {
    int64_t k = 0;
    for (; k + 8 <= G; k += 8) _mm256_storeu_ps(sf + r * G + k, load8(sr + (r * G + k) * ss, w.sdt));
    for (; k < G; ++k) sf[r * G + k] = load_scale(sr + (r * G + k) * ss, w.sdt);
  }
  for (int i = 0; i < 8; ++i) sf[NB * G + i] = 0.f;
  using Rm = typename D::Rem;
  const int64_t ks = wk.nstep * D::kCC;
  acc = steps<D>(a, sf, G, w.group, wk.nstep, 0, 0, 0, acc);
  if constexpr (!std::is_same<D, Rm>::value)
    acc = steps<Rm>(a, sf, G, w.group, wk.nrem, ks, ks * w.bits / 8, 8 * wk.nstep, acc);
  const int64_t kfull = wk.kfull;
  for (int r = 0; r < NB; ++r)
    for (int m = 0; m < MB; ++m) {
      float v = hsum(acc.v[r][m]);
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

template <class X>
std::vector<X>& laid_out(CallData& cd) {
  if constexpr (std::is_same<X, int8_t>::value)
    return cd.xqp;
  else
    return cd.xq16;
}

// The activation codes of x in the order steps of kind D (then D::Rem) read them.
template <class D>
void lay_out(const QLinear& w, CallData& cd) {
  const int64_t K = w.cols, M = cd.M, QK = K / kQB;
  const Walk wk = walk<D>(K);
  using Rm = typename D::Rem;
  const int64_t ks = wk.nstep * D::kCC;
  if constexpr (D::kLaidOut) {
    using X = typename D::X;
    std::vector<X>& buf = laid_out<X>(cd);
    buf.resize(size_t(M * wk.kfull));
    for (int64_t m = 0; m < M; ++m) {
      const int8_t* x = cd.xq.data() + m * K;
      X* o = buf.data() + m * wk.kfull;
      for (int64_t c0 = 0; c0 < ks; c0 += D::kCC)
        for (int v = 0; v < D::kVecs; ++v)
          for (int P = 0; P < D::kPos; ++P) o[c0 + D::kPos * v + P] = x[c0 + D::code(v, P)];
      for (int64_t c0 = ks; c0 < wk.kfull; c0 += Rm::kCC)
        for (int v = 0; v < Rm::kVecs; ++v)
          for (int P = 0; P < Rm::kPos; ++P) o[c0 + Rm::kPos * v + P] = x[c0 + Rm::code(v, P)];
    }
  }
  cd.dv.resize(size_t(M * wk.lanes()));
  for (int64_t m = 0; m < M; ++m) {
    float* o = cd.dv.data() + m * wk.lanes();
    const float* d = cd.xd.data() + m * QK;
    for (int64_t i = 0; i < wk.nstep; ++i)
      for (int j = 0; j < 8; ++j) o[8 * i + j] = d[(i * D::kCC) / kQB + D::lane_block(j)];
    for (int64_t i = 0; i < wk.nrem; ++i)
      for (int j = 0; j < 8; ++j) o[8 * (wk.nstep + i) + j] = d[(ks + i * Rm::kCC) / kQB + Rm::lane_block(j)];
  }
}

}  // namespace
}  // namespace MTPKIT_Q8_NS
using namespace MTPKIT_Q8_NS;

#if !MTPKIT_Q8_VNNI
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

#endif  // !MTPKIT_Q8_VNNI

// avx2_q8_kernel / avx2_q8_prepare here, vnni_q8_kernel / vnni_q8_prepare in the VNNI build.
#if MTPKIT_Q8_AVX512
#define MTPKIT_Q8_NAME(n) avx512_##n
#elif MTPKIT_Q8_VNNI
#define MTPKIT_Q8_NAME(n) vnni_##n
#else
#define MTPKIT_Q8_NAME(n) avx2_##n
#endif
RowKernel MTPKIT_Q8_NAME(q8_kernel)(const QLinear& w) {
  switch (w.bits) {
    case 2: return q8_kernel<Kind<2>::D>;
    case 4: return q8_kernel<Kind<4>::D>;
    case 8: return q8_kernel<Kind<8>::D>;
    case 3: return q8_kernel<Kind<3>::D>;
    case 5: return q8_kernel<Kind<5>::D>;
    case 6: return q8_kernel<Kind<6>::D>;
    default: return nullptr;  // no other affine widths (MLX: 2, 3, 4, 5, 6, 8)
  }
}

void MTPKIT_Q8_NAME(q8_prepare)(const QLinear& w, CallData& cd) {
  switch (w.bits) {
    case 2: return lay_out<Kind<2>::D>(w, cd);
    case 4: return lay_out<Kind<4>::D>(w, cd);
    case 8: return lay_out<Kind<8>::D>(w, cd);
    case 3: return lay_out<Kind<3>::D>(w, cd);
    case 5: return lay_out<Kind<5>::D>(w, cd);
    case 6: return lay_out<Kind<6>::D>(w, cd);
    default: return;
  }
}

}  // namespace detail
}  // namespace engine
}  // namespace mtpkit
#endif
