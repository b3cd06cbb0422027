// JS entry points of the engine's kernels, for tests and benchmarks (src/runtime/engine/kernels.ts):
//   kernelsQlinearForward(spec, x: Float32Array, M, threads[, r0, r1]) -> Float32Array [M, rows]
//     (with r0, r1: rows [r0, r1) of the weight through slice_rows, [M, r1 - r0])
//   kernelsQlinearRow(spec, row) -> Float32Array [cols]
//   kernelsQlinearBytes(spec) -> number
//   kernelsTimeForward(spec, x, M, threads, repeat, copies) -> {wall, cpu} (seconds per call; spec
//     holds `copies` stacked copies of the timed matrix and call r uses copy r % copies, so a
//     matrix smaller than the last-level cache is still read from memory)
//   kernelsReadBandwidth(bytes, threads, repeat) -> {bytes, wall, cpu} (seconds per pass)
//   kernelsQuantizeActivations(x: Float32Array, M, K) -> {xq: Int8Array [M*K], d: Float32Array [M*K/kQB]}
//   kernelsSetScalar(on), kernelsSetKernels('auto' | 'scalar' | 'avx2' | 'vnni' | 'avx512'),
//   kernelsIsa() -> 'avx512-vnni' | 'avx2-vnni' | 'avx2' | 'scalar'
// spec.act (optional, affine only): 1 = int8 activations (q8 mode), 0 = float32.
// The TS wrapper validates everything; here only what keeps memory accesses in bounds, reported as
// JS exceptions.
#include <napi.h>

#include <chrono>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "qlinear.h"
#include "qlinear_internal.h"
#include "read_bandwidth.h"
#include "thread_pool.h"

namespace mtpkit {
namespace {

using engine::QLinear;
using engine::ScaleType;
using engine::ThreadPool;
using engine::WFormat;

// Pools by thread count, created on first use and kept (workers are parked between calls).
ThreadPool* pool_for(int threads) {
  static std::mutex mu;
  static std::map<int, std::unique_ptr<ThreadPool>> pools;
  if (threads == 1) return nullptr;
  std::lock_guard<std::mutex> lk(mu);
  auto& p = pools[threads];
  if (!p) p.reset(new ThreadPool(threads));
  return p.get();
}

struct Fail {
  Napi::Env env;
  bool ok = true;
  void operator()(const std::string& msg) {
    if (ok) Napi::TypeError::New(env, "engine kernels: " + msg).ThrowAsJavaScriptException();
    ok = false;
  }
};

bool bytes_of(Fail& fail, const Napi::Value& v, const char* what, const uint8_t*& data, size_t& size) {
  if (!v.IsTypedArray()) {
    fail(std::string(what) + " must be a Buffer / typed array");
    return false;
  }
  Napi::TypedArray t = v.As<Napi::TypedArray>();
  data = static_cast<const uint8_t*>(t.ArrayBuffer().Data()) + t.ByteOffset();
  size = t.ByteLength();
  return true;
}

int64_t int_of(Fail& fail, const Napi::Object& o, const char* key) {
  Napi::Value v = o.Get(key);
  if (!v.IsNumber()) {
    fail(std::string("spec.") + key + " must be a number");
    return 0;
  }
  return v.As<Napi::Number>().Int64Value();
}

// spec = { fmt, bits, group, rows, cols, sdt, w, scales?, biases? } (enum values of qlinear.h).
bool parse_spec(Fail& fail, const Napi::Value& v, QLinear& q) {
  if (!v.IsObject()) {
    fail("spec must be an object");
    return false;
  }
  Napi::Object o = v.As<Napi::Object>();
  int64_t fmt = int_of(fail, o, "fmt"), sdt = int_of(fail, o, "sdt");
  q.bits = int(int_of(fail, o, "bits"));
  q.group = int(int_of(fail, o, "group"));
  q.rows = int_of(fail, o, "rows");
  q.cols = int_of(fail, o, "cols");
  if (!fail.ok) return false;
  if (fmt < 0 || fmt > 6 || sdt < 0 || sdt > 2) return fail("spec.fmt / spec.sdt out of range"), false;
  q.fmt = WFormat(fmt);
  q.sdt = ScaleType(sdt);
  Napi::Value act = o.Get("act");
  if (!act.IsUndefined()) {
    if (!act.IsNumber() || (act.As<Napi::Number>().Int32Value() != 0 && act.As<Napi::Number>().Int32Value() != 1))
      return fail("spec.act must be 0 or 1"), false;
    q.act = engine::Activations(act.As<Napi::Number>().Int32Value());
  }
  if (q.rows < 1 || q.cols < 1) return fail("spec.rows / spec.cols must be positive"), false;
  bool quant = engine::detail::is_quantized(q.fmt);
  if (quant) {
    bool good = false;
    switch (q.fmt) {
      case WFormat::Affine:
        good = (q.group == 32 || q.group == 64 || q.group == 128) && q.bits >= 2 && q.bits <= 8 && q.bits != 7;
        break;
      case WFormat::MXFP4: good = q.group == 32 && q.bits == 4; break;
      case WFormat::MXFP8: good = q.group == 32 && q.bits == 8; break;
      default: good = q.group == 16 && q.bits == 4; break;
    }
    if (!good) return fail("unsupported bits / group for the format"), false;
    if (q.cols % q.group) return fail("cols must be a multiple of the group size"), false;
  }
  const uint8_t* d;
  size_t n;
  if (!bytes_of(fail, o.Get("w"), "spec.w", d, n)) return false;
  if (int64_t(n) < q.rows * engine::detail::row_bytes(q)) return fail("spec.w is too small"), false;
  q.w = d;
  if (quant) {
    int64_t need = q.rows * engine::detail::groups_per_row(q) * engine::detail::scale_size(q);
    if (!bytes_of(fail, o.Get("scales"), "spec.scales", d, n)) return false;
    if (int64_t(n) < need) return fail("spec.scales is too small"), false;
    q.scales = d;
    if (q.fmt == WFormat::Affine) {
      if (!bytes_of(fail, o.Get("biases"), "spec.biases", d, n)) return false;
      if (int64_t(n) < need) return fail("spec.biases is too small"), false;
      q.biases = d;
    }
  }
  return true;
}

bool parse_x(Fail& fail, const Napi::Value& v, const QLinear& q, int64_t M, const float*& x) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
    return fail("x must be a Float32Array"), false;
  Napi::Float32Array a = v.As<Napi::Float32Array>();
  if (M < 1 || int64_t(a.ElementLength()) < M * q.cols) return fail("x must hold M * cols floats"), false;
  x = a.Data();
  return true;
}

int threads_of(Fail& fail, const Napi::Value& v) {
  if (!v.IsNumber()) return fail("threads must be a number"), 1;
  int t = v.As<Napi::Number>().Int32Value();
  if (t < 1 || t > 256) return fail("threads must be in 1..256"), 1;
  return t;
}

Napi::Value QlinearForward(const Napi::CallbackInfo& info) {
  Fail fail{info.Env()};
  QLinear q;
  const float* x = nullptr;
  if (info.Length() < 4 || !info[2].IsNumber()) {
    fail("expected (spec, x, M, threads)");
    return info.Env().Undefined();
  }
  int64_t M = info[2].As<Napi::Number>().Int64Value();
  if (!parse_spec(fail, info[0], q) || !parse_x(fail, info[1], q, M, x)) return info.Env().Undefined();
  int threads = threads_of(fail, info[3]);
  if (info.Length() >= 6 && info[4].IsNumber() && info[5].IsNumber()) {
    int64_t r0 = info[4].As<Napi::Number>().Int64Value(), r1 = info[5].As<Napi::Number>().Int64Value();
    if (r0 < 0 || r1 <= r0 || r1 > q.rows) fail("row range out of bounds");
    if (fail.ok) q = engine::slice_rows(q, r0, r1);
  }
  if (!fail.ok) return info.Env().Undefined();
  Napi::Float32Array y = Napi::Float32Array::New(info.Env(), size_t(M * q.rows));
  engine::qlinear_forward(q, x, M, y.Data(), pool_for(threads));
  return y;
}

Napi::Value QlinearRow(const Napi::CallbackInfo& info) {
  Fail fail{info.Env()};
  QLinear q;
  if (info.Length() < 2 || !parse_spec(fail, info[0], q)) {
    fail("expected (spec, row)");
    return info.Env().Undefined();
  }
  int64_t row = info[1].IsNumber() ? info[1].As<Napi::Number>().Int64Value() : -1;
  if (row < 0 || row >= q.rows) {
    fail("row out of range");
    return info.Env().Undefined();
  }
  Napi::Float32Array out = Napi::Float32Array::New(info.Env(), size_t(q.cols));
  engine::qlinear_row(q, row, out.Data());
  return out;
}

Napi::Value QlinearBytes(const Napi::CallbackInfo& info) {
  Fail fail{info.Env()};
  QLinear q;
  if (info.Length() < 1 || !parse_spec(fail, info[0], q)) return info.Env().Undefined();
  return Napi::Number::New(info.Env(), double(engine::qlinear_bytes(q)));
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

Napi::Array to_array(Napi::Env env, const std::vector<double>& v) {
  Napi::Array a = Napi::Array::New(env, v.size());
  for (size_t i = 0; i < v.size(); ++i) a.Set(uint32_t(i), Napi::Number::New(env, v[i]));
  return a;
}

Napi::Object timings(Napi::Env env, const std::vector<double>& wall, const std::vector<double>& cpu) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("wall", to_array(env, wall));
  o.Set("cpu", to_array(env, cpu));
  return o;
}

Napi::Value TimeForward(const Napi::CallbackInfo& info) {
  Fail fail{info.Env()};
  QLinear q;
  const float* x = nullptr;
  if (info.Length() < 6 || !info[2].IsNumber() || !info[4].IsNumber() || !info[5].IsNumber()) {
    fail("expected (spec, x, M, threads, repeat, copies)");
    return info.Env().Undefined();
  }
  int64_t M = info[2].As<Napi::Number>().Int64Value();
  if (!parse_spec(fail, info[0], q) || !parse_x(fail, info[1], q, M, x)) return info.Env().Undefined();
  int threads = threads_of(fail, info[3]);
  int repeat = info[4].As<Napi::Number>().Int32Value();
  int64_t copies = info[5].As<Napi::Number>().Int64Value();
  if (repeat < 1) fail("repeat must be positive");
  if (copies < 1 || q.rows % copies) fail("copies must divide rows");
  if (!fail.ok) return info.Env().Undefined();
  const int64_t per = q.rows / copies;
  std::vector<float> y(size_t(M * per));
  ThreadPool* pool = pool_for(threads);
  std::vector<double> wall, cpu;
  for (int r = 0; r < repeat; ++r) {
    double c0 = engine::process_cpu_seconds();
    auto t0 = std::chrono::steady_clock::now();
    engine::qlinear_forward(engine::slice_rows(q, (r % copies) * per, (r % copies + 1) * per), x, M, y.data(), pool);
    wall.push_back(seconds_since(t0));
    cpu.push_back(engine::process_cpu_seconds() - c0);
  }
  return timings(info.Env(), wall, cpu);
}

Napi::Value ReadBandwidth(const Napi::CallbackInfo& info) {
  Fail fail{info.Env()};
  if (info.Length() < 3 || !info[0].IsNumber() || !info[2].IsNumber()) {
    fail("expected (bytes, threads, repeat)");
    return info.Env().Undefined();
  }
  int64_t bytes = info[0].As<Napi::Number>().Int64Value();
  int threads = threads_of(fail, info[1]);
  int repeat = info[2].As<Napi::Number>().Int32Value();
  if (bytes < (int64_t(1) << 20) || repeat < 1) fail("bytes must be >= 1 MiB and repeat positive");
  if (!fail.ok) return info.Env().Undefined();
  std::vector<double> wall, cpu;
  std::string err = engine::read_bandwidth(bytes, pool_for(threads), repeat, wall, cpu);
  if (!err.empty()) {
    Napi::Error::New(info.Env(), "engine kernels: " + err).ThrowAsJavaScriptException();
    return info.Env().Undefined();
  }
  Napi::Object out = timings(info.Env(), wall, cpu);
  out.Set("bytes", Napi::Number::New(info.Env(), double((bytes + 4095) / 4096 * 4096)));
  return out;
}

Napi::Value QuantizeActivations(const Napi::CallbackInfo& info) {
  Fail fail{info.Env()};
  if (info.Length() < 3 || !info[0].IsTypedArray() || !info[1].IsNumber() || !info[2].IsNumber() ||
      info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
    fail("expected (x: Float32Array, M, K)");
    return info.Env().Undefined();
  }
  Napi::Float32Array x = info[0].As<Napi::Float32Array>();
  int64_t M = info[1].As<Napi::Number>().Int64Value(), K = info[2].As<Napi::Number>().Int64Value();
  if (M < 1 || K < engine::kQB || K % engine::kQB || int64_t(x.ElementLength()) != M * K) {
    fail("x must hold M * K floats, K a positive multiple of the block size");
    return info.Env().Undefined();
  }
  Napi::Int8Array xq = Napi::Int8Array::New(info.Env(), size_t(M * K));
  Napi::Float32Array d = Napi::Float32Array::New(info.Env(), size_t(M * K / engine::kQB));
  engine::quantize_activations(x.Data(), M, K, xq.Data(), d.Data());
  Napi::Object out = Napi::Object::New(info.Env());
  out.Set("xq", xq);
  out.Set("d", d);
  return out;
}

Napi::Value SetScalar(const Napi::CallbackInfo& info) {
  engine::qlinear_force_scalar(info.Length() > 0 && info[0].ToBoolean().Value());
  return info.Env().Undefined();
}

// 'auto' | 'scalar' | 'avx2' | 'vnni' | 'avx512' (kernels.ts checks the name).
Napi::Value SetKernels(const Napi::CallbackInfo& info) {
  const std::string c = info.Length() > 0 && info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "auto";
  engine::qlinear_set_kernels(engine::kernel_choice_named(c.c_str()));
  return info.Env().Undefined();
}

Napi::Value Isa(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), engine::qlinear_isa()); }

}  // namespace

void InitEngineKernels(Napi::Env env, Napi::Object exports) {
  static const struct {
    const char* name;
    Napi::Value (*fn)(const Napi::CallbackInfo&);
  } kFns[] = {{"kernelsQlinearForward", QlinearForward}, {"kernelsQlinearRow", QlinearRow},
              {"kernelsQlinearBytes", QlinearBytes},     {"kernelsTimeForward", TimeForward},
              {"kernelsReadBandwidth", ReadBandwidth},   {"kernelsSetScalar", SetScalar},
              {"kernelsSetKernels", SetKernels}, {"kernelsIsa", Isa},
              {"kernelsQuantizeActivations", QuantizeActivations}};
  for (const auto& f : kFns) exports.Set(f.name, Napi::Function::New(env, f.fn, f.name));
}

}  // namespace mtpkit
