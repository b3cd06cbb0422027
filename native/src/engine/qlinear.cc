// Portable implementation of qlinear.h and the run-time choice of kernels. The portable kernels
// decode one weight row into floats once and apply it to every row of x, summing each output in
// an order fixed by K alone (8 interleaved partial sums per group, then groups in order).
#include "qlinear.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>

#include "../quant_pack.h"
#include "qlinear_internal.h"
#include "thread_pool.h"

#if defined(__x86_64__)
#include <cpuid.h>
#endif

namespace mtpkit {
namespace engine {
namespace detail {

const float kE2M1[16] = {0.f, 0.5f, 1.f, 1.5f, 2.f, 3.f, 4.f, 6.f, -0.f, -0.5f, -1.f, -1.5f, -2.f, -3.f, -4.f, -6.f};

// 3/5/6 bits: each 8 codes are the next B bytes of the stream, loaded as one little-endian value
// and split to one byte per code at once (split8, the inverse of the converter's packing in
// quant_pack.h); reads exactly g * B / 8 bytes. The B bytes are put together from whole loads: a
// B-byte memcpy into a u64 goes through the stack and stalls on store forwarding.
template <int B>
inline uint64_t load_stream8(const uint8_t* p) {
  static_assert(B == 3 || B == 5 || B == 6, "widths whose codes straddle bytes");
  if constexpr (B == 3) return load_u16(p) | uint64_t(p[2]) << 16;
  if constexpr (B == 5) return load_u32(p) | uint64_t(p[4]) << 32;
  return load_u32(p) | uint64_t(load_u16(p + 4)) << 32;
}
template <int B>
void unpack_stream(const uint8_t* p, int g, uint8_t* out) {
  for (int i = 0; i < g; i += 8) {
    const uint64_t c = quant::split8<B>(load_stream8<B>(p + i / 8 * B));
    std::memcpy(out + i, &c, 8);
  }
}
// As floats: bytes first, then a plain conversion loop (the compiler vectorizes it).
template <int B>
void unpack_stream(const uint8_t* p, int g, float* out) {
  uint8_t b[128];
  for (int i = 0; i < g; i += 128) {
    const int n = std::min(128, g - i);
    unpack_stream<B>(p + i / 8 * B, n, b);
    for (int j = 0; j < n; ++j) out[i + j] = float(b[j]);
  }
}

// Codes of one group starting at a word boundary (g*bits is a multiple of 32): MLX's packing
// (ml-explore/mlx mlx/backend/common/quantized.h: each row one little-endian bit stream, code i at
// stream bits [i*bits, (i+1)*bits), codes of 3/5/6 bits straddling word boundaries).
template <class T>
void unpack_codes(const uint8_t* p, int bits, int g, T* out) {
  switch (bits) {
    case 3: return unpack_stream<3>(p, g, out);
    case 5: return unpack_stream<5>(p, g, out);
    case 6: return unpack_stream<6>(p, g, out);
    default: break;
  }
  const uint32_t mask = (1u << bits) - 1u;
  if (bits == 8) {
    for (int i = 0; i < g; ++i) out[i] = T(p[i]);
  } else if (bits == 4) {
    for (int i = 0; i < g / 2; ++i) {
      out[2 * i] = T(p[i] & 15u);
      out[2 * i + 1] = T(p[i] >> 4);
    }
  } else if (bits == 2) {
    for (int i = 0; i < g / 4; ++i)
      for (int j = 0; j < 4; ++j) out[4 * i + j] = T((p[i] >> (2 * j)) & 3u);
  } else {  // any other width, one code at a time
    for (int i = 0; i < g; ++i) {
      int bit = i * bits;
      int wi = bit >> 5, sh = bit & 31;
      uint64_t win = load_u32(p + 4 * wi);
      if (sh + bits > 32) win |= uint64_t(load_u32(p + 4 * (wi + 1))) << 32;
      out[i] = T(uint32_t(win >> sh) & mask);
    }
  }
}
template void unpack_codes<float>(const uint8_t*, int, int, float*);
template void unpack_codes<uint8_t>(const uint8_t*, int, int, uint8_t*);

namespace {

// Element values (not yet scaled) of one group of an fp mode.
void unpack_fp(const uint8_t* p, WFormat fmt, int g, float* out) {
  if (fmt == WFormat::MXFP8) {
    for (int i = 0; i < g; ++i) out[i] = decode_e4m3(p[i]);
  } else {
    for (int i = 0; i < g / 2; ++i) {
      out[2 * i] = kE2M1[p[i] & 15u];
      out[2 * i + 1] = kE2M1[p[i] >> 4];
    }
  }
}

void unpack_floats(const uint8_t* p, WFormat fmt, int64_t n, float* out) {
  if (fmt == WFormat::F32) {
    std::memcpy(out, p, size_t(n) * 4);
  } else if (fmt == WFormat::BF16) {
    for (int64_t i = 0; i < n; ++i) out[i] = bf16_to_f32(load_u16(p + 2 * i));
  } else {
    for (int64_t i = 0; i < n; ++i) out[i] = f16_to_f32(load_u16(p + 2 * i));
  }
}

// sum a[i]*b[i] over n: 8 interleaved partials, a fixed pairwise combine, then the tail in order.
float dot8(const float* a, const float* b, int64_t n) {
  float p[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t n8 = n & ~int64_t(7);
  for (int64_t i = 0; i < n8; i += 8)
    for (int j = 0; j < 8; ++j) p[j] += a[i + j] * b[i + j];
  float s = ((p[0] + p[1]) + (p[2] + p[3])) + ((p[4] + p[5]) + (p[6] + p[7]));
  for (int64_t i = n8; i < n; ++i) s += a[i] * b[i];
  return s;
}

float sum8(const float* a, int64_t n) {
  float p[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t n8 = n & ~int64_t(7);
  for (int64_t i = 0; i < n8; i += 8)
    for (int j = 0; j < 8; ++j) p[j] += a[i + j];
  float s = ((p[0] + p[1]) + (p[2] + p[3])) + ((p[4] + p[5]) + (p[6] + p[7]));
  for (int64_t i = n8; i < n; ++i) s += a[i];
  return s;
}

// -1: not read from the environment yet; otherwise a KernelChoice.
std::atomic<int> g_choice{-1};

KernelChoice kernel_choice() {
  int v = g_choice.load(std::memory_order_relaxed);
  if (v < 0) {
    v = int(kernel_choice_named(std::getenv("MTPKIT_KERNELS")));
    g_choice.store(v, std::memory_order_relaxed);
  }
  return KernelChoice(v);
}

bool force_scalar() { return kernel_choice() == KernelChoice::Scalar; }

#if defined(__x86_64__)
// F16C is read from CPUID leaf 1 (ECX bit 29, bit_F16C in <cpuid.h>) rather than with
// __builtin_cpu_supports("f16c"): clang accepts that name only from release 18 on (added by
// llvm/llvm-project#78384, requested in #65320); earlier clang, and the Apple clang releases based on
// it, stop with "invalid cpu feature string for builtin". avx2 and fma are accepted by gcc and clang
// alike, and the avx2 test also covers the OS saving the YMM registers, which F16C needs as well.
bool cpu_has_avx2() {
  static const bool ok = [] {
    __builtin_cpu_init();
    unsigned a = 0, b = 0, c = 0, d = 0;
    bool f16c = __get_cpuid(1, &a, &b, &c, &d) != 0 && (c & bit_F16C) != 0;
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && f16c;
  }();
  return ok;
}

// AVX-VNNI (the VEX-encoded vpdpbusd) is CPUID leaf 7 subleaf 1, EAX bit 4 (Intel SDM vol. 2,
// CPUID; gcc's and clang's <cpuid.h> differ on the macro's name and clang 14 has none, hence the
// literal). It uses only the YMM state, which the avx2 test above already requires the OS to save.
bool cpu_has_avx_vnni() {
  static const bool ok = [] {
    unsigned a = 0, b = 0, c = 0, d = 0;
    return cpu_has_avx2() && __get_cpuid_count(7, 1, &a, &b, &c, &d) != 0 && (a & (1u << 4)) != 0;
  }();
  return ok;
}

// AVX512F, AVX512BW, AVX512VL (CPUID leaf 7 subleaf 0, EBX bits 16, 30, 31) and AVX512_VNNI (ECX
// bit 11) (Intel SDM vol. 2, CPUID), and an OS that saves the opmask and all ZMM state: XCR0 bits 1,
// 2 and 5-7 (read with xgetbv, which CPUID leaf 1 ECX bit 27, OSXSAVE, says is usable).
bool cpu_has_avx512_vnni() {
  static const bool ok = [] {
    unsigned a = 0, b = 0, c = 0, d = 0;
    if (!cpu_has_avx2() || __get_cpuid(1, &a, &b, &c, &d) == 0 || (c & (1u << 27)) == 0) return false;
    unsigned lo = 0, hi = 0;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    if ((lo & 0xE6u) != 0xE6u) return false;
    if (__get_cpuid_count(7, 0, &a, &b, &c, &d) == 0) return false;
    const unsigned ebx = (1u << 16) | (1u << 30) | (1u << 31);
    return (b & ebx) == ebx && (c & (1u << 11)) != 0;
  }();
  return ok;
}
#endif

}  // namespace

bool use_simd() {
  if (force_scalar()) return false;
#if defined(__x86_64__)
  return cpu_has_avx2();
#else
  return false;  // no vector kernels for this architecture yet: the portable ones
#endif
}

#if defined(__x86_64__)
VnniBuild vnni_build() {
  if (!use_simd()) return VnniBuild::None;
  const KernelChoice k = kernel_choice();
  if ((k == KernelChoice::Auto || k == KernelChoice::Avx512) && cpu_has_avx512_vnni()) return VnniBuild::Avx512;
  if ((k == KernelChoice::Auto || k == KernelChoice::Vnni) && cpu_has_avx_vnni()) return VnniBuild::AvxVnni;
  return VnniBuild::None;
}
#endif

void scalar_group_sums(const QLinear& w, CallData& cd) {
  if (w.fmt != WFormat::Affine) return;
  int64_t G = groups_per_row(w);
  cd.xsum.resize(size_t(cd.M * G));
  for (int64_t m = 0; m < cd.M; ++m)
    for (int64_t k = 0; k < G; ++k) cd.xsum[size_t(m * G + k)] = sum8(cd.x + m * w.cols + k * w.group, w.group);
}

void scalar_rows(const QLinear& w, const CallData& cd, float* y, int64_t r0, int64_t r1) {
  thread_local std::vector<float> row;
  const int64_t K = w.cols;
  row.resize(size_t(K));
  const uint8_t* wb = static_cast<const uint8_t*>(w.w);
  const int64_t rb = row_bytes(w);
  if (!is_quantized(w.fmt)) {
    for (int64_t n = r0; n < r1; ++n) {
      unpack_floats(wb + n * rb, w.fmt, K, row.data());
      for (int64_t m = 0; m < cd.M; ++m) y[m * w.rows + n] = dot8(row.data(), cd.x + m * K, K);
    }
    return;
  }
  const int g = w.group;
  const int64_t G = groups_per_row(w);
  const int64_t gb = int64_t(g) * w.bits / 8;
  const int64_t ss = scale_size(w);
  const uint8_t* sb = static_cast<const uint8_t*>(w.scales);
  const uint8_t* bb = static_cast<const uint8_t*>(w.biases);
  for (int64_t n = r0; n < r1; ++n) {
    const uint8_t* wr = wb + n * rb;
    for (int64_t k = 0; k < G; ++k) {
      if (w.fmt == WFormat::Affine)
        unpack_codes(wr + k * gb, w.bits, g, row.data() + k * g);
      else
        unpack_fp(wr + k * gb, w.fmt, g, row.data() + k * g);
    }
    for (int64_t m = 0; m < cd.M; ++m) {
      const float* xm = cd.x + m * K;
      float acc = 0.f, accb = 0.f;
      for (int64_t k = 0; k < G; ++k) {
        float qd = dot8(row.data() + k * g, xm + k * g, g);
        if (w.fmt == WFormat::Affine) {
          acc += load_scale(sb + (n * G + k) * ss, w.sdt) * qd;
          accb += load_scale(bb + (n * G + k) * ss, w.sdt) * cd.xsum[size_t(m * G + k)];
        } else {
          acc += fp_scale(w, sb[n * G + k]) * qd;
        }
      }
      y[m * w.rows + n] = acc + accb;
    }
  }
}

}  // namespace detail

using namespace detail;

QLinear slice_rows(const QLinear& w, int64_t r0, int64_t r1) {
  QLinear s = w;
  s.rows = r1 - r0;
  s.w = static_cast<const uint8_t*>(w.w) + r0 * row_bytes(w);
  if (is_quantized(w.fmt)) {
    int64_t off = r0 * groups_per_row(w) * scale_size(w);
    s.scales = static_cast<const uint8_t*>(w.scales) + off;
    if (w.biases) s.biases = static_cast<const uint8_t*>(w.biases) + off;
  }
  return s;
}

int64_t qlinear_bytes(const QLinear& w) {
  int64_t b = w.rows * row_bytes(w);
  if (is_quantized(w.fmt)) {
    int64_t sc = w.rows * groups_per_row(w) * scale_size(w);
    b += w.fmt == WFormat::Affine ? 2 * sc : sc;
  }
  return b;
}

void qlinear_row(const QLinear& w, int64_t row, float* out) {
  const uint8_t* wr = static_cast<const uint8_t*>(w.w) + row * row_bytes(w);
  if (!is_quantized(w.fmt)) {
    unpack_floats(wr, w.fmt, w.cols, out);
    return;
  }
  const int g = w.group;
  const int64_t G = groups_per_row(w);
  const int64_t gb = int64_t(g) * w.bits / 8;
  const int64_t ss = scale_size(w);
  const uint8_t* sb = static_cast<const uint8_t*>(w.scales) + row * G * ss;
  for (int64_t k = 0; k < G; ++k) {
    float* o = out + k * g;
    if (w.fmt == WFormat::Affine) {
      // fp32 s*q + b, no FMA: MLX's quantized-matmul loaders since v0.32.1 (mlx/backend/metal/kernels/quantized.h).
      unpack_codes(wr + k * gb, w.bits, g, o);
      float s = load_scale(sb + k * ss, w.sdt);
      float b = load_scale(static_cast<const uint8_t*>(w.biases) + (row * G + k) * ss, w.sdt);
      for (int i = 0; i < g; ++i) {
        float sq = s * o[i];
        o[i] = sq + b;
      }
    } else {
      unpack_fp(wr + k * gb, w.fmt, g, o);
      float s = fp_scale(w, sb[k]);
      for (int i = 0; i < g; ++i) o[i] = s * o[i];
    }
  }
}

void qlinear_force_scalar(bool on) { qlinear_set_kernels(on ? KernelChoice::Scalar : KernelChoice::Auto); }

KernelChoice kernel_choice_named(const char* name) {
  static const struct {
    const char* name;
    KernelChoice choice;
  } kNames[] = {{"scalar", KernelChoice::Scalar}, {"avx2", KernelChoice::Avx2}, {"vnni", KernelChoice::Vnni}, {"avx512", KernelChoice::Avx512}};
  for (const auto& n : kNames)
    if (name && std::strcmp(name, n.name) == 0) return n.choice;
  return KernelChoice::Auto;
}

void qlinear_set_kernels(KernelChoice c) { g_choice.store(int(c), std::memory_order_relaxed); }

const char* qlinear_isa() {
  if (!use_simd()) return "scalar";
#if defined(__x86_64__)
  switch (vnni_build()) {
    case VnniBuild::Avx512: return "avx512-vnni";
    case VnniBuild::AvxVnni: return "avx2-vnni";
    case VnniBuild::None: break;
  }
#endif
  return "avx2";
}

void qlinear_forward(const QLinear& w, const float* x, int64_t M, float* y, ThreadPool* pool) {
  if (M <= 0 || w.rows <= 0) return;
  CallData cd;
  cd.x = x;
  cd.M = M;
  RowKernel kernel = nullptr;
  const bool q8 = w.fmt == WFormat::Affine && w.act == Activations::Q8;
  if (q8) q8_prepare(w, cd);
#if defined(__x86_64__)
  if (use_simd()) {
    // The three q8 builds give the same bits, except at 8 bits, where the two VNNI builds agree with
    // each other but not with AVX2 (qlinear_q8_avx2.cc, Bytes8x4): a row's bits stay the same at
    // every M as long as 8-bit rows never switch builds. The AVX-512 one is used at every M. The
    // AVX-VNNI one for M > 1, and for every M at 8 bits: measured in cache, CPU time, 1 thread, a
    // 4-bit 9216x2560 layer is 3-7% slower with it at M = 1 (0.447 vs 0.434 ms) and 12% faster at
    // M = 2 and 4; an 8-bit 4096x2560 one at M = 1 is 18% faster (0.372 vs 0.452 ms), as vpdpbusd
    // takes the codes as they are where AVX2 must widen them to int16 first.
    const VnniBuild vb = q8 ? vnni_build() : VnniBuild::None;
    const bool vnni_rows = M > 1 || w.bits == 8 || kernel_choice() == KernelChoice::Vnni;
    if (vb == VnniBuild::Avx512) {
      kernel = avx512_q8_kernel(w);
      avx512_q8_prepare(w, cd);
    } else if (vb == VnniBuild::AvxVnni && vnni_rows) {
      kernel = vnni_q8_kernel(w);
      vnni_q8_prepare(w, cd);
    } else if (q8) {
      kernel = avx2_q8_kernel(w);
      avx2_q8_prepare(w, cd);
    } else {
      kernel = avx2_kernel(w);
      if (kernel) avx2_prepare(w, cd);
    }
  }
#endif
  if (!kernel && q8) {
    kernel = scalar_q8_rows;
  } else if (!kernel) {
    kernel = scalar_rows;
    scalar_group_sums(w, cd);
  }
  if (!pool) {
    kernel(w, cd, y, 0, w.rows);
    return;
  }
  // Blocks of at least ~256K multiply-adds, so small layers do not pay for waking threads.
  int64_t per_row = std::max<int64_t>(1, w.cols * M);
  int64_t min_block = std::max<int64_t>(4, (int64_t(1) << 18) / per_row);
  pool->parallel_for(w.rows, min_block, [&](int64_t r0, int64_t r1) { kernel(w, cd, y, r0, r1); });
}

}  // namespace engine
}  // namespace mtpkit
