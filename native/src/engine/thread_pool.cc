// Persistent worker threads parked on a condition variable between jobs. A job is one
// parallel_for: block 0 runs on the caller, block i on worker i-1, so which thread computes which
// block is fixed by (n, min_block, size()).
#include "thread_pool.h"

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

namespace mtpkit {
namespace engine {

namespace {
// Set on pool workers: a parallel_for issued from inside a job runs inline instead of deadlocking.
thread_local bool t_in_pool = false;
}  // namespace

struct ThreadPool::Impl {
  int size = 1;
  std::vector<std::thread> workers;
  std::mutex call_mu;  // one parallel_for at a time (several JS async workers may share a pool)
  std::mutex mu;
  std::condition_variable wake, done;
  uint64_t generation = 0;
  bool stop = false;
  // Current job.
  const std::function<void(int64_t, int64_t)>* fn = nullptr;
  int64_t n = 0, per = 0;
  int blocks = 0;
  int pending = 0;

  void worker_loop(int index) {
    t_in_pool = true;
    uint64_t seen = 0;
    for (;;) {
      std::unique_lock<std::mutex> lk(mu);
      wake.wait(lk, [&] { return stop || generation != seen; });
      if (stop) return;
      seen = generation;
      int block = index + 1;
      if (block >= blocks) continue;  // this job has fewer blocks than workers
      const auto* f = fn;
      int64_t b = block * per, e = std::min(n, b + per);
      lk.unlock();
      (*f)(b, e);
      lk.lock();
      if (--pending == 0) done.notify_one();
    }
  }
};

ThreadPool::ThreadPool(int threads) : impl_(new Impl()) {
  if (threads <= 0) {
    unsigned hw = std::thread::hardware_concurrency();
    threads = hw == 0 ? 1 : int(hw);
  }
  impl_->size = threads;
  for (int i = 0; i + 1 < threads; ++i) impl_->workers.emplace_back([this, i] { impl_->worker_loop(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lk(impl_->mu);
    impl_->stop = true;
  }
  impl_->wake.notify_all();
  for (auto& t : impl_->workers) t.join();
  delete impl_;
}

int ThreadPool::size() const { return impl_->size; }

void ThreadPool::parallel_for(int64_t n, int64_t min_block, const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  min_block = std::max<int64_t>(min_block, 1);
  int64_t max_blocks = (n + min_block - 1) / min_block;
  int blocks = int(std::min<int64_t>(impl_->size, max_blocks));
  if (blocks <= 1 || t_in_pool) {
    fn(0, n);
    return;
  }
  int64_t per = (n + blocks - 1) / blocks;
  blocks = int((n + per - 1) / per);  // no empty trailing block
  std::lock_guard<std::mutex> call(impl_->call_mu);
  {
    std::lock_guard<std::mutex> lk(impl_->mu);
    impl_->fn = &fn;
    impl_->n = n;
    impl_->per = per;
    impl_->blocks = blocks;
    impl_->pending = blocks - 1;
    ++impl_->generation;
  }
  impl_->wake.notify_all();
  fn(0, std::min(n, per));
  std::unique_lock<std::mutex> lk(impl_->mu);
  impl_->done.wait(lk, [&] { return impl_->pending == 0; });
  impl_->fn = nullptr;
}

}  // namespace engine
}  // namespace mtpkit
