// q8 mode of qlinear.h, portable part: the activation row quantizer (the reference the SIMD one
// matches bit for bit, and src/numeric/q8-activations.ts is the TS twin), the per-call preparation
// shared by both kernel paths, and the portable kernel. The kernel unpacks each weight row to byte
// codes once, then for every row of x takes exact int32 dot products per block of kQB and combines
// them as acc += s_g * (sum_{j in g} d_j * I_j) group by group, then adds sum_g b_g * xsum_g.
#include <cmath>
#include <limits>
#include <vector>

#include "qlinear_internal.h"

namespace mtpkit {
namespace engine {
namespace detail {

void scalar_quantize_blocks(const float* x, int64_t nblocks, int8_t* xq, float* d) {
  for (int64_t j = 0; j < nblocks; ++j) {
    const float* xb = x + j * kQB;
    int8_t* qb = xq + j * kQB;
    float amax = 0.f;
    bool finite = true;
    for (int i = 0; i < kQB; ++i) {
      float a = std::fabs(xb[i]);
      if (!(a <= std::numeric_limits<float>::max())) finite = false;  // NaN or Inf
      else if (a > amax) amax = a;
    }
    const float step = finite ? amax / 127.f : std::numeric_limits<float>::quiet_NaN();
    d[j] = step;
    if (!finite || step == 0.f) {
      for (int i = 0; i < kQB; ++i) qb[i] = 0;
      continue;
    }
    for (int i = 0; i < kQB; ++i) {
      float r = std::nearbyint(xb[i] / step);  // default rounding mode: half to even
      qb[i] = int8_t(r > 127.f ? 127 : r < -127.f ? -127 : int(r));
    }
  }
}

void q8_prepare(const QLinear& w, CallData& cd) {
  const int64_t n = cd.M * w.cols;
  cd.xq.resize(size_t(n));
  cd.xd.resize(size_t(n / kQB));
  quantize_activations(cd.x, cd.M, w.cols, cd.xq.data(), cd.xd.data());
  scalar_group_sums(w, cd);
}

void scalar_q8_rows(const QLinear& w, const CallData& cd, float* y, int64_t r0, int64_t r1) {
  thread_local std::vector<uint8_t> row;
  const int64_t K = w.cols, G = groups_per_row(w);
  const int g = w.group;
  row.resize(size_t(K));
  const int64_t rb = row_bytes(w), gb = int64_t(g) * w.bits / 8, ss = scale_size(w);
  const uint8_t* wb = static_cast<const uint8_t*>(w.w);
  const uint8_t* sb = static_cast<const uint8_t*>(w.scales);
  const uint8_t* bb = static_cast<const uint8_t*>(w.biases);
  for (int64_t n = r0; n < r1; ++n) {
    for (int64_t k = 0; k < G; ++k) unpack_codes(wb + n * rb + k * gb, w.bits, g, row.data() + k * g);
    for (int64_t m = 0; m < cd.M; ++m) {
      const int8_t* xq = cd.xq.data() + m * K;
      const float* xd = cd.xd.data() + m * (K / kQB);
      float acc = 0.f, accb = 0.f;
      for (int64_t k = 0; k < G; ++k) {
        float gs = q8_group_sum(row.data() + k * g, xq + k * g, xd + k * g / kQB, g);
        acc += load_scale(sb + (n * G + k) * ss, w.sdt) * gs;
        accb += load_scale(bb + (n * G + k) * ss, w.sdt) * cd.xsum[size_t(m * G + k)];
      }
      y[m * w.rows + n] = acc + accb;
    }
  }
}

}  // namespace detail

void quantize_activations(const float* x, int64_t M, int64_t K, int8_t* xq, float* d) {
  const int64_t nblocks = M * K / kQB;
#if defined(__x86_64__)
  if (detail::use_simd()) return detail::avx2_quantize_blocks(x, nblocks, xq, d);
#endif
  detail::scalar_quantize_blocks(x, nblocks, xq, d);
}

}  // namespace engine
}  // namespace mtpkit
