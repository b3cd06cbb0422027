// Per-row elementwise pieces of the forward (fp32). Every reduction is a plain left-to-right loop
// over one row, so a row's result never depends on how many rows are computed together.
#pragma once
#include <cmath>
#include <cstdint>

namespace mtpkit {
namespace engine {

// y = x * rsqrt(mean(x^2) + eps) * w (w may be null): mlx.core.fast.rms_norm. MLX artifacts store
// the final gamma (1 + w of the HF zero-centred norms), so no +1 here.
inline void rms_norm(const float* x, const float* w, int64_t n, float eps, float* y) {
  float ss = 0.f;
  for (int64_t i = 0; i < n; ++i) ss += x[i] * x[i];
  float r = 1.f / std::sqrt(ss / static_cast<float>(n) + eps);
  if (w) {
    for (int64_t i = 0; i < n; ++i) y[i] = x[i] * r * w[i];
  } else {
    for (int64_t i = 0; i < n; ++i) y[i] = x[i] * r;
  }
}

// Sum of a[i]*b[i] in 8 interleaved partial sums combined in a fixed tree: vectorizable without
// -ffast-math, and the order depends only on n, so results stay batch invariant.
inline float dot8(const float* a, const float* b, int64_t n) {
  float p[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    for (int j = 0; j < 8; ++j) p[j] += a[i + j] * b[i + j];
  }
  for (; i < n; ++i) p[i & 7] += a[i] * b[i];
  return ((p[0] + p[1]) + (p[2] + p[3])) + ((p[4] + p[5]) + (p[6] + p[7]));
}

// s = src * decay (src may be s), then returns dot(s, k) (the GDN state row read after its decay),
// in dot8's order.
inline float scale_dot8(const float* src, float* s, float decay, const float* k, int64_t n) {
  for (int64_t i = 0; i < n; ++i) s[i] = src[i] * decay;
  return dot8(s, k, n);
}

// s += k * delta, then returns dot(s, q) (the GDN rank-1 update and the read of the updated state).
inline float axpy_dot8(float* s, const float* k, float delta, const float* q, int64_t n) {
  for (int64_t i = 0; i < n; ++i) s[i] += k[i] * delta;
  return dot8(s, q, n);
}

inline float sigmoidf(float x) { return 1.f / (1.f + std::exp(-x)); }
inline float siluf(float x) { return x / (1.f + std::exp(-x)); }
// log(1 + e^x) computed as mlx's logaddexp(x, 0).
inline float softplusf(float x) { return x > 0.f ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x)); }

}  // namespace engine
}  // namespace mtpkit
