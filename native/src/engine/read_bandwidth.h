// A streaming-read kernel: the memory roofline the benchmarks compare qlinear_forward against.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace mtpkit {
namespace engine {

class ThreadPool;

// Allocates and fills `bytes` once, then reads them `repeat` times (split by contiguous blocks over
// pool's threads; pool may be null) and appends each pass's wall-clock and process CPU seconds.
// Returns an error message, or "" on success.
std::string read_bandwidth(int64_t bytes, ThreadPool* pool, int repeat, std::vector<double>& wall,
                           std::vector<double>& cpu);

// Process CPU time in seconds (all threads): on a shared machine, time(other processes ran) is not
// counted, which gives a second, contention-robust view of a kernel's speed.
double process_cpu_seconds();

}  // namespace engine
}  // namespace mtpkit
