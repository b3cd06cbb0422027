// Persistent worker threads. A job is one parallel_for: block 0 runs on the caller, block i on
// worker i-1, so which thread computes which block is fixed by (n, min_block, size()).
//
// Decode issues a few hundred short jobs per token (one per linear layer and per attention / GDN
// step, each 0.05-1 ms). Waking a thread parked on a condition variable costs a futex call and a
// scheduler wake-up, tens of microseconds in a VM, and the caller's own block then waits for the
// late worker. So both sides first spin on an atomic for a while (spin_us) and only then park: a
// worker catches the next job of the same token without sleeping, and the caller sees its workers
// finish without a wake-up. Each worker has its own job slot and sequence number, so a job with
// fewer blocks than workers touches only the workers it uses.
#include "thread_pool.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace mtpkit {
namespace engine {

namespace {
// Set on pool workers: a parallel_for issued from inside a job runs inline instead of deadlocking.
thread_local bool t_in_pool = false;

using Fn = std::function<void(int64_t, int64_t)>;
using Clock = std::chrono::steady_clock;

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}

// How long a thread spins before it parks: MTPKIT_SPIN_US microseconds (0: park at once).
int64_t spin_ns_from_env() {
  const char* e = std::getenv("MTPKIT_SPIN_US");
  if (e && *e) {
    char* end = nullptr;
    long v = std::strtol(e, &end, 10);
    if (end && *end == '\0' && v >= 0) return int64_t(std::min<long>(v, 1000000)) * 1000;
  }
  return 200 * 1000;
}

// Spins until ready() or spin_ns have passed; returns ready().
template <class Ready>
bool spin_until(int64_t spin_ns, Ready ready) {
  if (ready()) return true;
  if (spin_ns <= 0) return false;
  const Clock::time_point end = Clock::now() + std::chrono::nanoseconds(spin_ns);
  for (;;) {
    for (int i = 0; i < 64; ++i) {
      if (ready()) return true;
      cpu_relax();
    }
    if (Clock::now() >= end) return ready();
    // With more threads than free cores a pure spin would hold a core that the thread being
    // waited for needs; yielding costs little when nothing else is runnable.
    std::this_thread::yield();
  }
}

struct Worker {
  std::atomic<uint64_t> seq{0};  // bumped by the caller once the slot below holds a new job
  const Fn* fn = nullptr;
  int64_t b = 0, e = 0;
  std::thread thread;
};
}  // namespace

struct ThreadPool::Impl {
  int size = 1;
  int64_t spin_ns = 0;
  std::vector<std::unique_ptr<Worker>> workers;
  std::mutex call_mu;  // one parallel_for at a time (several JS async workers may share a pool)
  // Parking: mu / wake for workers, mu / done for the caller. The counters are read after the
  // matching store with sequential consistency, so a wake-up is never lost: either the waker sees
  // the sleeper registered, or the sleeper sees the new job / the finished count before it waits.
  std::mutex mu;
  std::condition_variable wake, done;
  std::atomic<int> sleepers{0};
  std::atomic<bool> caller_parked{false};
  std::atomic<int> pending{0};
  std::atomic<bool> stop{false};

  void worker_loop(Worker& w) {
    t_in_pool = true;
    uint64_t seen = 0;
    for (;;) {
      auto ready = [&] { return w.seq.load(std::memory_order_acquire) != seen || stop.load(std::memory_order_acquire); };
      if (!spin_until(spin_ns, ready)) {
        std::unique_lock<std::mutex> lk(mu);
        sleepers.fetch_add(1);
        while (!ready()) wake.wait(lk);
        sleepers.fetch_sub(1);
      }
      if (stop.load(std::memory_order_acquire)) return;
      seen = w.seq.load(std::memory_order_acquire);
      (*w.fn)(w.b, w.e);
      if (pending.fetch_sub(1) == 1 && caller_parked.load()) {
        std::lock_guard<std::mutex> lk(mu);
        done.notify_one();
      }
    }
  }
};

ThreadPool::ThreadPool(int threads) : impl_(new Impl()) {
  if (threads <= 0) {
    unsigned hw = std::thread::hardware_concurrency();
    threads = hw == 0 ? 1 : int(hw);
  }
  impl_->size = threads;
  impl_->spin_ns = spin_ns_from_env();
  for (int i = 0; i + 1 < threads; ++i) {
    impl_->workers.emplace_back(new Worker());
    Worker* w = impl_->workers.back().get();
    w->thread = std::thread([this, w] { impl_->worker_loop(*w); });
  }
}

ThreadPool::~ThreadPool() {
  impl_->stop.store(true);
  {
    std::lock_guard<std::mutex> lk(impl_->mu);
  }
  impl_->wake.notify_all();
  for (auto& w : impl_->workers) w->thread.join();
  delete impl_;
}

int ThreadPool::size() const { return impl_->size; }

void ThreadPool::parallel_for(int64_t n, int64_t min_block, const Fn& fn) {
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
  Impl& p = *impl_;
  std::lock_guard<std::mutex> call(p.call_mu);
  p.pending.store(blocks - 1);
  for (int i = 1; i < blocks; ++i) {
    Worker& w = *p.workers[size_t(i - 1)];
    w.fn = &fn;
    w.b = i * per;
    w.e = std::min(n, w.b + per);
    w.seq.fetch_add(1);  // publishes the slot (sequentially consistent, before reading sleepers)
  }
  if (p.sleepers.load() > 0) {
    std::lock_guard<std::mutex> lk(p.mu);
    p.wake.notify_all();
  }
  fn(0, std::min(n, per));
  auto finished = [&] { return p.pending.load(std::memory_order_acquire) == 0; };
  if (!spin_until(p.spin_ns, finished)) {
    std::unique_lock<std::mutex> lk(p.mu);
    p.caller_parked.store(true);
    while (!finished()) p.done.wait(lk);
    p.caller_parked.store(false);
  }
}

}  // namespace engine
}  // namespace mtpkit
