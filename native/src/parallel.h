// Splits [0, n) into contiguous blocks run on up to `threads` std::threads.
// Kernels call this from an AsyncWorker's Execute(), so the event loop never waits on it.
#pragma once
#include <algorithm>
#include <cstddef>
#include <thread>
#include <vector>

namespace mtpkit {

inline unsigned resolve_threads(int requested) {
  if (requested > 0) return static_cast<unsigned>(requested);
  unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1u : hw;
}

// fn(begin, end) is called once per block; blocks never overlap.
template <typename Fn>
void parallel_for(size_t n, unsigned threads, size_t min_block, Fn fn) {
  if (n == 0) return;
  size_t max_blocks = (n + min_block - 1) / std::max<size_t>(min_block, 1);
  size_t blocks = std::min<size_t>(threads == 0 ? 1 : threads, std::max<size_t>(max_blocks, 1));
  if (blocks <= 1) {
    fn(size_t(0), n);
    return;
  }
  std::vector<std::thread> pool;
  pool.reserve(blocks - 1);
  size_t per = (n + blocks - 1) / blocks;
  for (size_t b = 1; b < blocks; ++b) {
    size_t begin = b * per;
    size_t end = std::min(n, begin + per);
    if (begin >= end) break;
    pool.emplace_back([=]() { fn(begin, end); });
  }
  fn(size_t(0), std::min(n, per));
  for (auto& t : pool) t.join();
}

}  // namespace mtpkit
