// A persistent pool of worker threads for the engine (created once per loaded model, reused by every
// kernel call); the calling thread takes part in the work.
#pragma once
#include <cstdint>
#include <functional>

namespace mtpkit {
namespace engine {

class ThreadPool {
 public:
  // threads <= 0: std::thread::hardware_concurrency().
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const;
  // Splits [0, n) into at most size() contiguous blocks of at least min_block items and runs
  // fn(begin, end) on each; returns when all have finished. The split depends only on n, min_block
  // and size(), so results that depend on blocks stay reproducible.
  void parallel_for(int64_t n, int64_t min_block, const std::function<void(int64_t, int64_t)>& fn);

 private:
  struct Impl;
  Impl* impl_;
};

}  // namespace engine
}  // namespace mtpkit
