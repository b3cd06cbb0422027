// Bulk F32 / F16 / BF16 conversion of little-endian byte buffers.
// JS: convertSync(src, from, to, dst) and convertAsync(src, from, to, dst, threads) -> Promise<void>.
#include <napi.h>

#include <cstdint>
#include <cstring>
#include <exception>
#include <string>

#include "float_bits.h"
#include "parallel.h"

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "safetensors data is little-endian; the kernels load it with plain memcpy");

namespace mtpkit {
namespace {

enum class FloatDT { F32, F16, BF16 };

size_t dt_size(FloatDT d) { return d == FloatDT::F32 ? 4 : 2; }

const char* dt_name(FloatDT d) {
  switch (d) {
    case FloatDT::F32: return "F32";
    case FloatDT::F16: return "F16";
    default: return "BF16";
  }
}

struct Job {
  const uint8_t* src;
  uint8_t* dst;
  size_t n;  // elements
  FloatDT from;
  FloatDT to;
};

// One simple loop per pair: memcpy loads/stores (the buffers need not be aligned) and a
// branch-free scalar op, which GCC/Clang turn into vector code at -O3.
template <typename S, typename D, typename Op>
void map_range(const uint8_t* src, uint8_t* dst, size_t begin, size_t end, Op op) {
  for (size_t i = begin; i < end; ++i) {
    S v;
    std::memcpy(&v, src + i * sizeof(S), sizeof(S));
    D r = op(v);
    std::memcpy(dst + i * sizeof(D), &r, sizeof(D));
  }
}

void run_range(const Job& j, size_t begin, size_t end) {
  const uint8_t* s = j.src;
  uint8_t* d = j.dst;
  if (j.from == j.to) {
    size_t w = dt_size(j.from);
    std::memmove(d + begin * w, s + begin * w, (end - begin) * w);
    return;
  }
  switch (j.from) {
    case FloatDT::F32:
      if (j.to == FloatDT::BF16) {
        map_range<float, uint16_t>(s, d, begin, end, [](float x) { return f32_to_bf16(x); });
      } else {
        map_range<float, uint16_t>(s, d, begin, end, [](float x) { return f32_to_f16(x); });
      }
      return;
    case FloatDT::BF16:
      if (j.to == FloatDT::F32) {
        map_range<uint16_t, float>(s, d, begin, end, [](uint16_t h) { return bf16_to_f32(h); });
      } else {
        map_range<uint16_t, uint16_t>(s, d, begin, end,
                                      [](uint16_t h) { return f32_to_f16(bf16_to_f32(h)); });
      }
      return;
    case FloatDT::F16:
      if (j.to == FloatDT::F32) {
        map_range<uint16_t, float>(s, d, begin, end, [](uint16_t h) { return f16_to_f32(h); });
      } else {
        map_range<uint16_t, uint16_t>(s, d, begin, end,
                                      [](uint16_t h) { return f32_to_bf16(f16_to_f32(h)); });
      }
      return;
  }
}

// Elements per thread block: large enough that starting a thread costs little next to the work.
constexpr size_t kMinBlock = size_t(1) << 16;

void run_job(const Job& j, unsigned threads) {
  parallel_for(j.n, threads, kMinBlock, [&j](size_t b, size_t e) { run_range(j, b, e); });
}

bool parse_dtype(const Napi::Value& v, const char* what, FloatDT* out) {
  Napi::Env env = v.Env();
  if (!v.IsString()) {
    Napi::TypeError::New(env, std::string(what) + " dtype must be a string ('F32', 'F16' or 'BF16')")
        .ThrowAsJavaScriptException();
    return false;
  }
  std::string s = v.As<Napi::String>().Utf8Value();
  if (s == "F32") *out = FloatDT::F32;
  else if (s == "F16") *out = FloatDT::F16;
  else if (s == "BF16") *out = FloatDT::BF16;
  else {
    Napi::TypeError::New(env, std::string("unknown ") + what + " dtype '" + s +
                                  "' (expected 'F32', 'F16' or 'BF16')")
        .ThrowAsJavaScriptException();
    return false;
  }
  return true;
}

// Reads (src, from, to, dst) into a Job; on bad arguments throws a JS error and returns false.
bool parse_job(const Napi::CallbackInfo& info, Job* job) {
  Napi::Env env = info.Env();
  if (info.Length() < 4) {
    Napi::TypeError::New(env, "expected (src: Buffer, from: string, to: string, dst: Buffer)")
        .ThrowAsJavaScriptException();
    return false;
  }
  if (!info[0].IsBuffer() || !info[3].IsBuffer()) {
    Napi::TypeError::New(env, std::string(info[0].IsBuffer() ? "dst" : "src") + " must be a Buffer")
        .ThrowAsJavaScriptException();
    return false;
  }
  if (!parse_dtype(info[1], "source", &job->from) || !parse_dtype(info[2], "target", &job->to)) {
    return false;
  }
  auto src = info[0].As<Napi::Buffer<uint8_t>>();
  auto dst = info[3].As<Napi::Buffer<uint8_t>>();
  size_t in_w = dt_size(job->from), out_w = dt_size(job->to);
  if (src.Length() % in_w != 0) {
    Napi::RangeError::New(env, std::string("source length ") + std::to_string(src.Length()) +
                                   " bytes is not a multiple of " + std::to_string(in_w) +
                                   " (" + dt_name(job->from) + ")")
        .ThrowAsJavaScriptException();
    return false;
  }
  job->n = src.Length() / in_w;
  if (dst.Length() != job->n * out_w) {
    Napi::RangeError::New(env, std::string("destination length ") + std::to_string(dst.Length()) +
                                   " bytes, expected " + std::to_string(job->n * out_w) + " (" +
                                   std::to_string(job->n) + " " + dt_name(job->to) + " elements)")
        .ThrowAsJavaScriptException();
    return false;
  }
  job->src = src.Data();
  job->dst = dst.Data();
  // Partial overlap would read already-converted bytes; exact in-place with equal widths is fine
  // (each element is read before it is written, and threads own disjoint ranges).
  uintptr_t s0 = reinterpret_cast<uintptr_t>(job->src), d0 = reinterpret_cast<uintptr_t>(job->dst);
  bool overlap = s0 < d0 + dst.Length() && d0 < s0 + src.Length();
  if (overlap && job->n > 0 && !(s0 == d0 && in_w == out_w)) {
    Napi::RangeError::New(env, "source and destination buffers overlap")
        .ThrowAsJavaScriptException();
    return false;
  }
  return true;
}

Napi::Value ConvertSync(const Napi::CallbackInfo& info) {
  Job job;
  if (!parse_job(info, &job)) return info.Env().Undefined();
  run_range(job, 0, job.n);
  return info.Env().Undefined();
}

class ConvertWorker : public Napi::AsyncWorker {
 public:
  ConvertWorker(Napi::Env env, const Job& job, unsigned threads, Napi::Object src, Napi::Object dst)
      : Napi::AsyncWorker(env, "mtpkit.convert"),
        job_(job),
        threads_(threads),
        deferred_(Napi::Promise::Deferred::New(env)),
        // Held until the worker is destroyed (on the JS thread) so GC cannot free the memory
        // Execute() is reading and writing.
        src_ref_(Napi::Persistent(src)),
        dst_ref_(Napi::Persistent(dst)) {}

  Napi::Promise Promise() const { return deferred_.Promise(); }

 protected:
  void Execute() override {
    try {
      run_job(job_, threads_);
    } catch (const std::exception& e) {  // e.g. std::system_error when a thread cannot start
      SetError(std::string("convert failed: ") + e.what());
    }
  }
  void OnOK() override { deferred_.Resolve(Env().Undefined()); }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Job job_;
  unsigned threads_;
  Napi::Promise::Deferred deferred_;
  Napi::ObjectReference src_ref_;
  Napi::ObjectReference dst_ref_;
};

Napi::Value ConvertAsync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Job job;
  if (!parse_job(info, &job)) return env.Undefined();
  unsigned threads = 0;
  if (info.Length() > 4 && !info[4].IsUndefined()) {
    if (!info[4].IsNumber()) {
      Napi::TypeError::New(env, "threads must be a number").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    double t = info[4].As<Napi::Number>().DoubleValue();
    if (!(t >= 0 && t <= 4096) || t != static_cast<double>(static_cast<int>(t))) {
      Napi::RangeError::New(env, "threads must be an integer from 0 (all cores) to 4096, got " +
                                     info[4].ToString().Utf8Value())
          .ThrowAsJavaScriptException();
      return env.Undefined();
    }
    threads = static_cast<unsigned>(t);
  }
  auto* worker = new ConvertWorker(env, job, resolve_threads(static_cast<int>(threads)),
                                   info[0].As<Napi::Object>(), info[3].As<Napi::Object>());
  Napi::Promise promise = worker->Promise();
  worker->Queue();  // the worker deletes itself after OnOK / OnError
  return promise;
}

}  // namespace

void InitConvert(Napi::Env env, Napi::Object exports) {
  exports.Set("convertSync", Napi::Function::New(env, ConvertSync, "convertSync"));
  exports.Set("convertAsync", Napi::Function::New(env, ConvertAsync, "convertAsync"));
}

}  // namespace mtpkit
