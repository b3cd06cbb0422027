// A file mapped read-only into memory: weights are used in place, never copied to the heap, and the
// kernel may evict clean pages under pressure (so a model larger than RAM still loads).
#pragma once
#include <cstdint>
#include <string>

namespace mtpkit {
namespace engine {

class MappedFile {
 public:
  explicit MappedFile(const std::string& path);  // throws std::runtime_error
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  int64_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  const uint8_t* data_ = nullptr;
  int64_t size_ = 0;
};

}  // namespace engine
}  // namespace mtpkit
