// Run by scripts/check-native-portability.sh, built once for x86-64 and once for aarch64 (under
// qemu-user): prints a hash of what the portable quantizer and engine kernels produce from fixed
// inputs. The two builds must print the same lines, because both use the same IEEE fp32 operations in
// the same order (binding.gyp's -ffp-contract=off -fno-fast-math keep the compiler from fusing or
// reordering them). The quantizer's vector-extension path (SSE2 on x86-64, NEON on aarch64) is
// compared too; the AVX2 engine kernels are not, since they sum in another order (qlinear.h).
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <vector>

#include "engine/qlinear.h"
#include "quant_affine.h"

namespace {

using mtpkit::engine::QLinear;

uint64_t g_state = 0x9e3779b97f4a7c15ull;

// xorshift64* mapped to [-8, 8): a uniform mantissa times a power of two in [2^-3, 2^3].
float next_value() {
  g_state ^= g_state >> 12;
  g_state ^= g_state << 25;
  g_state ^= g_state >> 27;
  uint64_t r = g_state * 0x2545f4914f6cdd1dull;
  float u = float(r >> 40) / float(1 << 24) * 2.f - 1.f;
  return std::ldexp(u, int((r >> 8) & 7) - 3);
}

// FNV-1a over bytes, chained through h.
uint64_t fnv1a(const void* p, size_t n, uint64_t h = 1469598103934665603ull) {
  const uint8_t* b = static_cast<const uint8_t*>(p);
  for (size_t i = 0; i < n; ++i) {
    h ^= b[i];
    h *= 1099511628211ull;
  }
  return h;
}

struct Quantized {
  std::vector<uint8_t> w, scales, biases;
};

template <int B, bool Vec>
Quantized quantize(const std::vector<float>& x, int gs) {
  namespace q = mtpkit::quant;
  size_t groups = x.size() / size_t(gs);
  Quantized out{std::vector<uint8_t>(x.size() * B / 8), std::vector<uint8_t>(groups * 4),
                std::vector<uint8_t>(groups * 4)};
  size_t bad = q::affine_quantize_range<q::DType::F32, B, false, Vec>(
      reinterpret_cast<const uint8_t*>(x.data()), gs, 0, groups,
      q::AffineOut{out.w.data(), out.scales.data(), out.biases.data()});
  uint64_t h = fnv1a(out.w.data(), out.w.size());
  h = fnv1a(out.scales.data(), out.scales.size(), h);
  h = fnv1a(out.biases.data(), out.biases.size(), h);
  std::printf("quantize f32 bits=%d group=%d %s: %s %016llx\n", B, gs, Vec ? "vector" : "scalar",
              bad == q::kNoBad ? "ok" : "non-finite", static_cast<unsigned long long>(h));
  return out;
}

void forward(const char* label, const QLinear& w, const std::vector<float>& x, int64_t M) {
  std::vector<float> y(size_t(M * w.rows));
  mtpkit::engine::qlinear_forward(w, x.data(), M, y.data(), nullptr);
  std::printf("forward %s (%s kernels): %016llx\n", label, mtpkit::engine::qlinear_isa(),
              static_cast<unsigned long long>(fnv1a(y.data(), y.size() * sizeof(float))));
}

}  // namespace

int main() {
  namespace e = mtpkit::engine;
  const int64_t N = 48, K = 512, M = 3;
  std::vector<float> w(size_t(N * K)), x(size_t(M * K));
  for (float& v : w) v = next_value();
  for (float& v : x) v = next_value();

  quantize<3, false>(w, 32);
  quantize<3, true>(w, 32);
  quantize<8, false>(w, 128);
  quantize<8, true>(w, 128);
  quantize<4, false>(w, 64);
  Quantized q4 = quantize<4, true>(w, 64);

  e::qlinear_force_scalar(true);
  QLinear affine;
  affine.fmt = e::WFormat::Affine;
  affine.bits = 4;
  affine.group = 64;
  affine.rows = N;
  affine.cols = K;
  affine.w = q4.w.data();
  affine.scales = q4.scales.data();
  affine.biases = q4.biases.data();
  affine.sdt = e::ScaleType::F32;
  forward("affine 4-bit, f32 activations", affine, x, M);
  affine.act = e::Activations::Q8;
  forward("affine 4-bit, q8 activations", affine, x, M);
  QLinear dense;
  dense.fmt = e::WFormat::F32;
  dense.rows = N;
  dense.cols = K;
  dense.w = w.data();
  forward("f32", dense, x, M);

  std::vector<int8_t> xq(size_t(M * K));
  std::vector<float> d(size_t(M * K / e::kQB));
  e::quantize_activations(x.data(), M, K, xq.data(), d.data());
  std::printf("quantize_activations: %016llx\n",
              static_cast<unsigned long long>(fnv1a(d.data(), d.size() * sizeof(float), fnv1a(xq.data(), xq.size()))));
  return 0;
}
