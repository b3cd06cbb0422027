// Shared between the portable and the SIMD implementations of qlinear.h: byte sizes, scale and
// element decoders, and the per-call data (sums of x per group) the kernels read.
#pragma once
#include <cstdint>
#include <cstring>
#include <vector>

#include "../float_bits.h"
#include "qlinear.h"

namespace mtpkit {
namespace engine {
namespace detail {

inline uint32_t load_u32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);  // mapped tensors need not be 4-byte aligned
  return v;
}
inline uint16_t load_u16(const uint8_t* p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}

inline bool is_quantized(WFormat f) { return f >= WFormat::Affine; }
inline int64_t float_size(WFormat f) { return f == WFormat::F32 ? 4 : 2; }
inline int64_t scale_size(const QLinear& w) {
  if (w.fmt != WFormat::Affine) return 1;
  return w.sdt == ScaleType::F32 ? 4 : 2;
}
// Bytes of one row of w.w, and scales per row.
inline int64_t row_bytes(const QLinear& w) {
  return is_quantized(w.fmt) ? w.cols * w.bits / 8 : w.cols * float_size(w.fmt);
}
inline int64_t groups_per_row(const QLinear& w) { return is_quantized(w.fmt) ? w.cols / w.group : 0; }

inline float load_scale(const uint8_t* p, ScaleType t) {
  switch (t) {
    case ScaleType::BF16: return bf16_to_f32(load_u16(p));
    case ScaleType::F16: return f16_to_f32(load_u16(p));
    default: {
      float f;
      std::memcpy(&f, p, 4);
      return f;
    }
  }
}

// E4M3 (no inf/NaN; 0x7F -> 480 as in MLX): put exponent and mantissa where an f32's are and
// rescale by 2^(127-7); subnormal E4M3 land on f32 subnormals, so the product is exact too.
inline float decode_e4m3(uint32_t c) {
  float mag = bits_f32((c & 0x7Fu) << 20) * 0x1p120f;
  return (c & 0x80u) ? -mag : mag;
}
// E8M0: 2^(b-127); 0 -> 2^-127, 255 -> inf (MLX).
inline float decode_e8m0(uint32_t b) {
  if (b == 255) return bits_f32(0x7F800000u);
  return b == 0 ? bits_f32(0x00400000u) : bits_f32(b << 23);
}
// E2M1 LUT (index = 4-bit code).
extern const float kE2M1[16];

// Per-group scale of an fp mode (mxfp4/mxfp8: E8M0, nvfp4: E4M3).
inline float fp_scale(const QLinear& w, uint32_t byte) {
  return w.fmt == WFormat::NVFP4 ? decode_e4m3(byte) : decode_e8m0(byte);
}

// Data prepared once per qlinear_forward and shared by all threads: sums of x over each
// quantization group (affine: y += s*dot(q,x) + b*sum(x)), and a code-order copy of x for SIMD
// kernels that unpack several codes per byte (see qlinear_avx2.cc).
// In q8 mode the activation codes and steps are made here too, once per call.
struct CallData {
  const float* x = nullptr;
  int64_t M = 0;
  std::vector<float> xsum;  // [M, groups]
  std::vector<float> xperm;  // [M, cols] or empty
  // q8 mode (qlinear_q8.cc, qlinear_q8_avx2.cc)
  std::vector<int8_t> xq;      // [M, cols] codes in natural order
  std::vector<float> xd;       // [M, cols / kQB] steps
  std::vector<int8_t> xqp;     // SIMD: [M, chunked cols] codes in the order the kernel unpacks weights
  std::vector<int16_t> xq16;   // SIMD 8-bit: [M, cols] codes widened to int16
  std::vector<float> dv;       // SIMD: [M, chunks, 8] the step of each int32 lane's block
};

// Row-range kernels: y[m*w.rows + n] for n in [r0, r1), all m.
using RowKernel = void (*)(const QLinear& w, const CallData& cd, float* y, int64_t r0, int64_t r1);

// Codes of one group of an affine row (as floats or as bytes); the group starts at a word boundary.
template <class T>
void unpack_codes(const uint8_t* p, int bits, int g, T* out);
extern template void unpack_codes<float>(const uint8_t*, int, int, float*);
extern template void unpack_codes<uint8_t>(const uint8_t*, int, int, uint8_t*);

// True when qlinear_forward uses the SIMD kernels (not pinned to scalar, CPU has AVX2+FMA+F16C).
bool use_simd();

// Portable kernels (qlinear.cc).
void scalar_rows(const QLinear& w, const CallData& cd, float* y, int64_t r0, int64_t r1);
void scalar_group_sums(const QLinear& w, CallData& cd);

// q8 mode: one group's sum_j d_j * I_j, blocks in order, I_j = sum codes * xq (an exact int32:
// |I_j| <= kQB * 255 * 127). codes, xq start at the group, xd at its first block.
inline float q8_group_sum(const uint8_t* codes, const int8_t* xq, const float* xd, int g) {
  float gs = 0.f;
  for (int b = 0; b < g; b += kQB) {
    int32_t I = 0;
    for (int i = 0; i < kQB; ++i) I += int32_t(codes[b + i]) * xq[b + i];
    gs += xd[b / kQB] * float(I);
  }
  return gs;
}

// q8 mode (qlinear_q8.cc): the portable row quantizer over n blocks of kQB, the portable kernel,
// and the per-call preparation both paths share (codes, steps, sums of x).
void scalar_quantize_blocks(const float* x, int64_t nblocks, int8_t* xq, float* d);
void scalar_q8_rows(const QLinear& w, const CallData& cd, float* y, int64_t r0, int64_t r1);
void q8_prepare(const QLinear& w, CallData& cd);

#if defined(__x86_64__)
// AVX2+FMA+F16C kernels (qlinear_avx2.cc); null when the format has no SIMD kernel.
RowKernel avx2_kernel(const QLinear& w);
void avx2_prepare(const QLinear& w, CallData& cd);
// q8 mode (qlinear_q8_avx2.cc): the same quantizer bit for bit, the affine q8 kernels (null for a
// width they do not handle: the portable kernel then), and their per-call layouts of the codes
// (after q8_prepare).
void avx2_quantize_blocks(const float* x, int64_t nblocks, int8_t* xq, float* d);
RowKernel avx2_q8_kernel(const QLinear& w);
void avx2_q8_prepare(const QLinear& w, CallData& cd);
// The same q8 kernels with vpdpbusd for CPUs with AVX-VNNI (qlinear_q8_vnni.cc): the same output
// bits as the AVX2 ones, except at 8 bits (other steps: the same to float rounding).
RowKernel vnni_q8_kernel(const QLinear& w);
void vnni_q8_prepare(const QLinear& w, CallData& cd);
// And once more for CPUs with AVX512-VNNI (qlinear_q8_avx512.cc): the AVX-VNNI build's bits.
RowKernel avx512_q8_kernel(const QLinear& w);
void avx512_q8_prepare(const QLinear& w, CallData& cd);
// Which vpdpbusd build of the q8 kernels qlinear_forward may use (use_simd(), the CPU has it, the
// kernel choice allows it): AVX-512 first, then AVX-VNNI, else none.
enum class VnniBuild { None, AvxVnni, Avx512 };
VnniBuild vnni_build();
#endif

}  // namespace detail
}  // namespace engine
}  // namespace mtpkit
