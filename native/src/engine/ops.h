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

inline float sigmoidf(float x) { return 1.f / (1.f + std::exp(-x)); }
inline float siluf(float x) { return x / (1.f + std::exp(-x)); }
// log(1 + e^x) computed as mlx's logaddexp(x, 0).
inline float softplusf(float x) { return x > 0.f ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x)); }

}  // namespace engine
}  // namespace mtpkit
