// TEMPORARY scalar stand-in for the kernels branch (qlinear.h / thread_pool.h) so the engine links
// before that branch lands; deleted when `git merge kernels` brings the real implementation.
#include <cmath>
#include <cstring>

#include "../float_bits.h"
#include "qlinear.h"
#include "thread_pool.h"

namespace mtpkit {
namespace engine {

struct ThreadPool::Impl {};
ThreadPool::ThreadPool(int) : impl_(nullptr) {}
ThreadPool::~ThreadPool() {}
int ThreadPool::size() const { return 1; }
void ThreadPool::parallel_for(int64_t n, int64_t, const std::function<void(int64_t, int64_t)>& fn) {
  if (n > 0) fn(0, n);
}

static float scale_of(const QLinear& w, int64_t idx) {
  const uint8_t* s = static_cast<const uint8_t*>(w.scales);
  if (w.fmt == WFormat::Affine) {
    if (w.sdt == ScaleType::F32) { float v; std::memcpy(&v, s + 4 * idx, 4); return v; }
    uint16_t h; std::memcpy(&h, s + 2 * idx, 2);
    return w.sdt == ScaleType::BF16 ? bf16_to_f32(h) : f16_to_f32(h);
  }
  uint8_t b = s[idx];
  if (w.fmt == WFormat::NVFP4) {  // e4m3
    float m = f16_to_f32(uint16_t((b & 0x7F) << 7)) * 256.f;
    return (b & 0x80) ? -m : m;
  }
  if (b == 0) return bits_f32(0x00400000u);
  if (b == 255) return INFINITY;
  return bits_f32(uint32_t(b) << 23);
}
static float bias_of(const QLinear& w, int64_t idx) {
  const uint8_t* s = static_cast<const uint8_t*>(w.biases);
  if (w.sdt == ScaleType::F32) { float v; std::memcpy(&v, s + 4 * idx, 4); return v; }
  uint16_t h; std::memcpy(&h, s + 2 * idx, 2);
  return w.sdt == ScaleType::BF16 ? bf16_to_f32(h) : f16_to_f32(h);
}
static const float kFp4[16] = {0, 0.5f, 1, 1.5f, 2, 3, 4, 6, -0.f, -0.5f, -1, -1.5f, -2, -3, -4, -6};

void qlinear_row(const QLinear& w, int64_t r, float* out) {
  const uint8_t* base = static_cast<const uint8_t*>(w.w);
  if (w.fmt == WFormat::F32 || w.fmt == WFormat::F16 || w.fmt == WFormat::BF16) {
    for (int64_t k = 0; k < w.cols; ++k) {
      if (w.fmt == WFormat::F32) { std::memcpy(&out[k], base + 4 * (r * w.cols + k), 4); continue; }
      uint16_t h; std::memcpy(&h, base + 2 * (r * w.cols + k), 2);
      out[k] = w.fmt == WFormat::BF16 ? bf16_to_f32(h) : f16_to_f32(h);
    }
    return;
  }
  const int64_t words = w.cols * w.bits / 32;
  const uint8_t* row = base + 4 * r * words;
  const int64_t groups = w.cols / w.group;
  for (int64_t k = 0; k < w.cols; ++k) {
    int64_t bit = k * w.bits;
    uint64_t chunk = 0;
    std::memcpy(&chunk, row + bit / 8, (bit % 8 + w.bits + 7) / 8);
    uint32_t q = uint32_t(chunk >> (bit % 8)) & ((1u << w.bits) - 1u);
    int64_t g = r * groups + k / w.group;
    float s = scale_of(w, g);
    if (w.fmt == WFormat::Affine) out[k] = s * float(q) + bias_of(w, g);
    else if (w.fmt == WFormat::MXFP8) {
      float m = f16_to_f32(uint16_t((q & 0x7F) << 7)) * 256.f;
      out[k] = s * ((q & 0x80) ? -m : m);
    } else out[k] = s * kFp4[q];
  }
}

QLinear slice_rows(const QLinear& w, int64_t r0, int64_t r1) {
  QLinear o = w;
  o.rows = r1 - r0;
  const uint8_t* b = static_cast<const uint8_t*>(w.w);
  if (w.fmt == WFormat::F32 || w.fmt == WFormat::F16 || w.fmt == WFormat::BF16) {
    int64_t es = w.fmt == WFormat::F32 ? 4 : 2;
    o.w = b + r0 * w.cols * es;
    return o;
  }
  o.w = b + r0 * (w.cols * w.bits / 32) * 4;
  int64_t groups = w.cols / w.group;
  int64_t ss = w.fmt == WFormat::Affine ? (w.sdt == ScaleType::F32 ? 4 : 2) : 1;
  o.scales = static_cast<const uint8_t*>(w.scales) + r0 * groups * ss;
  if (w.biases) o.biases = static_cast<const uint8_t*>(w.biases) + r0 * groups * ss;
  return o;
}

void qlinear_forward(const QLinear& w, const float* x, int64_t M, float* y, ThreadPool*) {
  float* row = new float[w.cols];
  for (int64_t n = 0; n < w.rows; ++n) {
    qlinear_row(w, n, row);
    for (int64_t m = 0; m < M; ++m) {
      float acc = 0.f;
      for (int64_t k = 0; k < w.cols; ++k) acc += row[k] * x[m * w.cols + k];
      y[m * w.rows + n] = acc;
    }
  }
  delete[] row;
}

int64_t qlinear_bytes(const QLinear& w) {
  if (w.fmt == WFormat::F32) return w.rows * w.cols * 4;
  if (w.fmt == WFormat::F16 || w.fmt == WFormat::BF16) return w.rows * w.cols * 2;
  int64_t groups = w.rows * (w.cols / w.group);
  int64_t ss = w.fmt == WFormat::Affine ? (w.sdt == ScaleType::F32 ? 4 : 2) : 1;
  return w.rows * w.cols * w.bits / 8 + groups * ss * (w.biases ? 2 : 1);
}

}  // namespace engine
}  // namespace mtpkit
