// First NaN / Inf of an F32 / F16 / BF16 buffer: the conversion checks every float source tensor with it.
// JS: nonFiniteSync(buf, dtype) -> index | -1;  nonFiniteAsync(buf, dtype, threads) -> Promise<index | -1>.
// A value is non-finite iff its exponent bits are all ones. Each block is first tested with a branch-free
// OR over all elements (vectorised by the compiler at -O3); only a block that holds one is searched.
#include <napi.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <exception>
#include <string>

#include "parallel.h"

namespace mtpkit {
namespace {

enum class FDT { F32, F16, BF16 };

constexpr int64_t kNone = -1;
// Elements tested per branch-free pass.
constexpr size_t kChunk = 4096;
// Elements per thread block.
constexpr size_t kMinBlock = size_t(1) << 18;

template <typename U>
int64_t scan(const uint8_t* p, size_t begin, size_t end, U mask) {
  for (size_t c = begin; c < end; c += kChunk) {
    size_t e = c + kChunk < end ? c + kChunk : end;
    U any = 0;
    for (size_t i = c; i < e; ++i) {
      U v;
      std::memcpy(&v, p + i * sizeof(U), sizeof(U));
      any |= static_cast<U>((v & mask) == mask);
    }
    if (!any) continue;
    for (size_t i = c; i < e; ++i) {
      U v;
      std::memcpy(&v, p + i * sizeof(U), sizeof(U));
      if ((v & mask) == mask) return static_cast<int64_t>(i);
    }
  }
  return kNone;
}

int64_t scan_range(const uint8_t* p, FDT dt, size_t begin, size_t end) {
  switch (dt) {
    case FDT::F32: return scan<uint32_t>(p, begin, end, 0x7F800000u);
    case FDT::F16: return scan<uint16_t>(p, begin, end, static_cast<uint16_t>(0x7C00u));
    default: return scan<uint16_t>(p, begin, end, static_cast<uint16_t>(0x7F80u));
  }
}

// The smallest index any block found (blocks run concurrently; each stops at its own first).
int64_t scan_all(const uint8_t* p, FDT dt, size_t n, unsigned threads) {
  std::atomic<int64_t> best{kNone};
  parallel_for(n, threads, kMinBlock, [&](size_t b, size_t e) {
    int64_t i = scan_range(p, dt, b, e);
    if (i == kNone) return;
    int64_t cur = best.load();
    while ((cur == kNone || i < cur) && !best.compare_exchange_weak(cur, i)) {
    }
  });
  return best.load();
}

struct Job {
  const uint8_t* data = nullptr;
  size_t n = 0;
  FDT dt = FDT::BF16;
};

bool parse(const Napi::CallbackInfo& info, Job* job) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsBuffer() || !info[1].IsString()) {
    Napi::TypeError::New(env, "expected (data: Buffer, dtype: 'F32' | 'F16' | 'BF16')").ThrowAsJavaScriptException();
    return false;
  }
  std::string s = info[1].As<Napi::String>().Utf8Value();
  if (s == "F32") job->dt = FDT::F32;
  else if (s == "F16") job->dt = FDT::F16;
  else if (s == "BF16") job->dt = FDT::BF16;
  else {
    Napi::TypeError::New(env, "unknown dtype '" + s + "' (expected 'F32', 'F16' or 'BF16')").ThrowAsJavaScriptException();
    return false;
  }
  auto buf = info[0].As<Napi::Buffer<uint8_t>>();
  size_t w = job->dt == FDT::F32 ? 4 : 2;
  if (buf.Length() % w != 0) {
    Napi::RangeError::New(env, "length " + std::to_string(buf.Length()) + " bytes is not a multiple of " + std::to_string(w))
        .ThrowAsJavaScriptException();
    return false;
  }
  job->data = buf.Data();
  job->n = buf.Length() / w;
  return true;
}

Napi::Value NonFiniteSync(const Napi::CallbackInfo& info) {
  Job job;
  if (!parse(info, &job)) return info.Env().Undefined();
  return Napi::Number::New(info.Env(), static_cast<double>(scan_range(job.data, job.dt, 0, job.n)));
}

class NonFiniteWorker : public Napi::AsyncWorker {
 public:
  NonFiniteWorker(Napi::Env env, const Job& job, unsigned threads, Napi::Object buf)
      : Napi::AsyncWorker(env, "mtpkit.nonFinite"),
        job_(job),
        threads_(threads),
        deferred_(Napi::Promise::Deferred::New(env)),
        // Keeps the buffer alive while Execute() reads it.
        buf_ref_(Napi::Persistent(buf)) {}

  Napi::Promise Promise() const { return deferred_.Promise(); }

 protected:
  void Execute() override {
    try {
      result_ = scan_all(job_.data, job_.dt, job_.n, threads_);
    } catch (const std::exception& e) {  // e.g. std::system_error when a thread cannot start
      SetError(std::string("non-finite scan failed: ") + e.what());
    }
  }
  void OnOK() override { deferred_.Resolve(Napi::Number::New(Env(), static_cast<double>(result_))); }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Job job_;
  unsigned threads_;
  int64_t result_ = kNone;
  Napi::Promise::Deferred deferred_;
  Napi::ObjectReference buf_ref_;
};

Napi::Value NonFiniteAsync(const Napi::CallbackInfo& info) {
  Job job;
  if (!parse(info, &job)) return info.Env().Undefined();
  int requested = info.Length() > 2 && info[2].IsNumber() ? info[2].As<Napi::Number>().Int32Value() : 0;
  auto* w = new NonFiniteWorker(info.Env(), job, resolve_threads(requested), info[0].As<Napi::Object>());
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

}  // namespace

void InitFinite(Napi::Env env, Napi::Object exports) {
  exports.Set("nonFiniteSync", Napi::Function::New(env, NonFiniteSync));
  exports.Set("nonFiniteAsync", Napi::Function::New(env, NonFiniteAsync));
}

}  // namespace mtpkit
