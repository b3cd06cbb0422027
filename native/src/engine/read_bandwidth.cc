#include "read_bandwidth.h"

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <new>

#include "thread_pool.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace mtpkit {
namespace engine {

namespace {

// XOR of every 8-byte word (the result is kept so the reads cannot be removed).
uint64_t read_portable(const uint8_t* p, int64_t n) {
  uint64_t a[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  for (int64_t i = 0; i + 64 <= n; i += 64) {
    uint64_t v[8];
    std::memcpy(v, p + i, 64);
    for (int j = 0; j < 8; ++j) a[j] ^= v[j];
  }
  return a[0] ^ a[1] ^ a[2] ^ a[3] ^ a[4] ^ a[5] ^ a[6] ^ a[7];
}

#if defined(__x86_64__)
__attribute__((target("avx2"))) uint64_t read_avx2(const uint8_t* p, int64_t n) {
  __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
  for (int64_t i = 0; i + 128 <= n; i += 128) {
    a0 = _mm256_xor_si256(a0, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i)));
    a1 = _mm256_xor_si256(a1, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 32)));
    a2 = _mm256_xor_si256(a2, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 64)));
    a3 = _mm256_xor_si256(a3, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 96)));
  }
  __m256i a = _mm256_xor_si256(_mm256_xor_si256(a0, a1), _mm256_xor_si256(a2, a3));
  return uint64_t(_mm256_extract_epi64(a, 0) ^ _mm256_extract_epi64(a, 1) ^ _mm256_extract_epi64(a, 2) ^
                  _mm256_extract_epi64(a, 3));
}
#endif

uint64_t read_block(const uint8_t* p, int64_t n) {
#if defined(__x86_64__)
  static const bool avx2 = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") != 0;
  }();
  if (avx2) return read_avx2(p, n);
#endif
  return read_portable(p, n);
}

}  // namespace

double process_cpu_seconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
}

std::string read_bandwidth(int64_t bytes, ThreadPool* pool, int repeat, std::vector<double>& wall,
                           std::vector<double>& cpu) {
  const int64_t kChunk = 4096;  // blocks split on page boundaries, aligned for the vector loads
  bytes = (bytes + kChunk - 1) / kChunk * kChunk;
  // posix_memalign, not std::aligned_alloc: libc++ declares std::aligned_alloc on macOS only when the
  // deployment target is 10.15 or later, the first macOS whose C library has aligned_alloc
  // (llvm/llvm-project libcxx/include/__config, _LIBCPP_HAS_ALIGNED_ALLOC; the resulting build error
  // is free-audio/clap-plugins#1). Node 20's common.gypi targets 10.15, so today's default build would
  // compile either way; posix_memalign does not depend on the target and is freed with free() as well.
  void* mem = nullptr;
  if (posix_memalign(&mem, size_t(kChunk), size_t(bytes)) != 0) mem = nullptr;
  if (!mem) return "could not allocate " + std::to_string(bytes) + " bytes";
  uint8_t* buf = static_cast<uint8_t*>(mem);
  std::memset(buf, 1, size_t(bytes));  // fault every page in before timing
  int64_t pages = bytes / kChunk;
  std::atomic<uint64_t> sink{0};
  for (int r = 0; r < repeat; ++r) {
    double c0 = process_cpu_seconds();
    auto t0 = std::chrono::steady_clock::now();
    auto body = [&](int64_t p0, int64_t p1) {
      uint64_t v = read_block(buf + p0 * kChunk, (p1 - p0) * kChunk);
      sink.fetch_xor(v, std::memory_order_relaxed);
    };
    if (pool)
      pool->parallel_for(pages, 1, body);
    else
      body(0, pages);
    wall.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    cpu.push_back(process_cpu_seconds() - c0);
  }
  std::free(mem);
  return "";
}

}  // namespace engine
}  // namespace mtpkit
