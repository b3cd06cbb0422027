// A streaming-read kernel: the memory roofline the benchmarks compare qlinear_forward against.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace mtpkit {
namespace engine {

class ThreadPool;

// Allocates and fills `bytes` once, then reads them `repeat` times (split by contiguous blocks over
// pool's threads; pool may be null) and appends each pass's GB/s (1e9 bytes/s) to gbs.
// Returns an error message, or "" on success.
std::string read_bandwidth(int64_t bytes, ThreadPool* pool, int repeat, std::vector<double>& gbs);

}  // namespace engine
}  // namespace mtpkit
