// Linear layers over MLX weights exactly as stored: unquantized f32/f16/bf16 rows, or MLX's packed
// formats (affine 2-8 bits with bf16/f16/f32 scales and biases, mxfp4, mxfp8, nvfp4), read in place
// from the memory-mapped file. Nothing here makes a dequantized copy of a matrix.
//
// Numerics contract (the speculative-decoding greedy check relies on it): every output element is
// summed in an order that depends only on the weight row and K, never on M (rows in the batch) nor on
// the thread count, so a token's logits are bit-identical alone, inside a verify batch or inside a
// prefill chunk. In q8 mode (affine weights, Activations::Q8) each row of x is first quantized on its
// own (quantize_activations: per block of kQB elements, int8 codes and one float step d, exactly as
// src/numeric/q8-activations.ts), the per-block integer dot products of codes are exact, and only the
// float combination y = sum_g s_g * sum_{j in g} d_j * I_j + sum_g b_g * sum_{k in g} x_k has an
// order, again fixed by the weight row and K alone.
#pragma once
#include <cstdint>

namespace mtpkit {
namespace engine {

class ThreadPool;

enum class WFormat : int { F32 = 0, F16 = 1, BF16 = 2, Affine = 3, MXFP4 = 4, MXFP8 = 5, NVFP4 = 6 };
enum class ScaleType : int { BF16 = 0, F16 = 1, F32 = 2 };
// Activations of an affine layer: float32 as given, or int8 per block of kQB (llama.cpp's Q8_0 idea,
// ggml-org/llama.cpp ggml/src/ggml-quants.c quantize_row_q8_0). Other formats always use F32.
enum class Activations : int { F32 = 0, Q8 = 1 };

// Elements per activation block in q8 mode: the one place the native side names it (the TS
// reference has its own, src/numeric/q8-activations.ts QB). Every affine K is a multiple of it.
constexpr int kQB = 32;

// One [rows, cols] weight (out_features x in_features). Stacked MoE experts [E, N, K] are one
// QLinear with rows = E*N; slice_rows() takes one expert.
struct QLinear {
  WFormat fmt = WFormat::F32;
  int bits = 0;                  // quantized formats: 2,3,4,5,6,8 (affine), 4 (mxfp4/nvfp4), 8 (mxfp8)
  int group = 0;                 // quantized formats: 32/64/128 (affine), 32 (mx*), 16 (nvfp4)
  int64_t rows = 0, cols = 0;    // logical shape
  const void* w = nullptr;       // float formats: [rows, cols]; quantized: uint32 LE words [rows, cols*bits/32]
  const void* scales = nullptr;  // affine: sdt [rows, cols/group]; fp modes: uint8 [rows, cols/group]
  const void* biases = nullptr;  // affine only: sdt [rows, cols/group]
  ScaleType sdt = ScaleType::BF16;
  Activations act = Activations::F32;  // affine only
};

// Rows [r0, r1) of w as a QLinear of their own (pointer arithmetic only).
QLinear slice_rows(const QLinear& w, int64_t r0, int64_t r1);

// y[m*rows + n] = sum_k W[n,k] * x[m*cols + k], for m < M and n < rows; fp32 accumulation.
// Reads every weight block once for all M rows. pool may be null (runs on the caller's thread).
void qlinear_forward(const QLinear& w, const float* x, int64_t M, float* y, ThreadPool* pool);

// Q8 row quantizer: x [M, K] (K a multiple of kQB) -> xq [M, K] int8 codes and d [M, K / kQB] steps.
// amax = max |x| over the block, d = amax / 127 (float division), xq = round-half-even(x / d) clamped
// to +-127; d = 0 gives zero codes; a block holding NaN / Inf gets d = NaN and zero codes, so every
// output it touches is NaN. The SIMD and portable versions give identical bits.
void quantize_activations(const float* x, int64_t M, int64_t K, int8_t* xq, float* d);

// Dequantizes row `row` of w into out[cols] (embedding lookup, tied LM head rows).
void qlinear_row(const QLinear& w, int64_t row, float* out);

// Bytes of w (weights + scales + biases) that one qlinear_forward reads: the bandwidth denominator.
int64_t qlinear_bytes(const QLinear& w);

// Kernel selection. The portable kernels are the fallback on any CPU; on x86-64 with AVX2+FMA+F16C
// the SIMD ones are picked at run time. Both keep the numerics contract above, but they sum in
// different orders, so their outputs may differ in the last bits. MTPKIT_KERNELS=scalar in the
// environment, or qlinear_force_scalar(true), pins the portable kernels (tests run both).
void qlinear_force_scalar(bool on);
// Auto: the best kernels the CPU runs (on x86-64 with AVX-VNNI or AVX512-VNNI, the q8 kernels use
// vpdpbusd); Scalar: the portable ones; Avx2: the AVX2 ones without VNNI (the VNNI q8 kernels give
// the same bits except at 8 bits, where they agree to float rounding; tests compare them); Vnni: the
// AVX-VNNI q8 kernels at every M, where Auto picks them per call; Avx512: the AVX512-VNNI q8 kernels
// (what Auto uses where the CPU has them). Vnni and Avx512 are for comparisons and tests: on a CPU
// without that extension they are Avx2. MTPKIT_KERNELS=scalar / avx2 / vnni / avx512 in the
// environment picks the same.
enum class KernelChoice { Auto = 0, Scalar = 1, Avx2 = 2, Vnni = 3, Avx512 = 4 };
// "auto", "scalar", "avx2", "vnni", "avx512" (the MTPKIT_KERNELS and setKernels names); else Auto.
KernelChoice kernel_choice_named(const char* name);
void qlinear_set_kernels(KernelChoice c);
// "avx512-vnni" or "avx2-vnni" (AVX2, and q8 mode with that VNNI build), "avx2" or "scalar": what
// qlinear_forward uses now for formats that have a SIMD kernel.
const char* qlinear_isa();

}  // namespace engine
}  // namespace mtpkit
