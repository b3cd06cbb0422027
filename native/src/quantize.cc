// N-API entry points of the MLX quantizer kernels (quant_affine.h, quant_fp.h):
//   quantQuantize(input, params, out?) -> Promise<result>    quantQuantizeSync(input, params, out?) -> result
//     out: optional { weight, scales, biases? } caller-owned buffers of exactly the output sizes, written
//     in place of fresh ones (the result then holds these very buffers)
//   quantDequantize(weight, scales, biases|null, params) -> Promise<Buffer>   quantDequantizeSync(...)
//   quantFpEncode(kind, Float32Array) -> Buffer    (element / scale encoders, for tests)
// Arguments are checked fully by the TypeScript wrapper (src/quant/kernels/native-quantize.ts);
// here only what keeps memory accesses in bounds. Work is split over groups with parallel_for.
#include <napi.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>

#include "parallel.h"
#include "quant_affine.h"
#include "quant_affine_avx2.h"
#include "quant_fp.h"

namespace mtpkit {
namespace {

using quant::AffineOut;
using quant::DType;
using quant::kNoBad;

enum class Mode { Affine, Mxfp4, Mxfp8, Nvfp4 };

// Affine kernel variants, all byte-identical: AVX2 (x86-64, chosen at run time), the 4-lane vector
// extension code (any GCC / clang target), and the plain scalar loops. "auto" picks the fastest
// available; the others exist so tests can compare them with each other and the TS reference.
enum class Kernel { Auto, Avx2, Vector, Scalar };

bool avx2_available() {
#if defined(MTPKIT_QUANT_AVX2)
  static const bool ok = quant::avx2::supported();
  return ok;
#else
  return false;
#endif
}

const char* kernel_name(Kernel k) {
  switch (k) {
    case Kernel::Avx2: return "avx2";
    case Kernel::Vector: return "vector";
    default: return "scalar";
  }
}

Kernel resolve_kernel(Kernel k) {
  if (k != Kernel::Auto) return k;
  if (avx2_available()) return Kernel::Avx2;
  return MTPKIT_QUANT_SIMD ? Kernel::Vector : Kernel::Scalar;
}

// Groups per thread block: small tensors stay on one thread.
constexpr size_t kMinBlockGroups = 512;

// ---- argument parsing -------------------------------------------------------------------------

struct Args {
  Napi::Env env;
  bool ok = true;
  void fail(const std::string& msg) {
    if (ok) Napi::TypeError::New(env, msg).ThrowAsJavaScriptException();
    ok = false;
  }
  double num(const Napi::Object& o, const char* key) {
    Napi::Value v = o.Get(key);
    if (!v.IsNumber()) {
      fail(std::string("quantize: params.") + key + " must be a number");
      return 0;
    }
    return v.As<Napi::Number>().DoubleValue();
  }
  std::string str(const Napi::Object& o, const char* key) {
    Napi::Value v = o.Get(key);
    if (!v.IsString()) {
      fail(std::string("quantize: params.") + key + " must be a string");
      return "";
    }
    return v.As<Napi::String>().Utf8Value();
  }
  DType dtype(const Napi::Object& o, const char* key) {
    std::string s = str(o, key);
    if (s == "F32") return DType::F32;
    if (s == "F16") return DType::F16;
    if (s == "BF16") return DType::BF16;
    if (ok) fail(std::string("quantize: params.") + key + " must be F32, F16 or BF16");
    return DType::F32;
  }
  Mode mode(const Napi::Object& o) {
    std::string s = str(o, "mode");
    if (s == "affine") return Mode::Affine;
    if (s == "mxfp4") return Mode::Mxfp4;
    if (s == "mxfp8") return Mode::Mxfp8;
    if (s == "nvfp4") return Mode::Nvfp4;
    if (ok) fail("quantize: params.mode must be affine, mxfp4, mxfp8 or nvfp4");
    return Mode::Affine;
  }
  // bits / group size valid for the mode (MLX's table).
  void check_mode(Mode m, int bits, int gs) {
    bool good = false;
    switch (m) {
      case Mode::Affine:
        good = (gs == 32 || gs == 64 || gs == 128) &&
               (bits == 2 || bits == 3 || bits == 4 || bits == 5 || bits == 6 || bits == 8);
        break;
      case Mode::Mxfp4: good = gs == 32 && bits == 4; break;
      case Mode::Mxfp8: good = gs == 32 && bits == 8; break;
      case Mode::Nvfp4: good = gs == 16 && bits == 4; break;
    }
    if (!good) fail("quantize: unsupported bits / group size for this mode");
  }
};

struct Bytes {
  const uint8_t* data = nullptr;
  size_t size = 0;
};

bool typed_bytes(Args& a, const Napi::Value& v, const char* what, Bytes& out, Napi::ObjectReference* keep) {
  if (!v.IsTypedArray()) {
    a.fail(std::string("quantize: ") + what + " must be a Buffer / Uint8Array");
    return false;
  }
  Napi::TypedArray t = v.As<Napi::TypedArray>();
  out.data = static_cast<const uint8_t*>(t.ArrayBuffer().Data()) + t.ByteOffset();
  out.size = t.ByteLength();
  if (keep) *keep = Napi::Persistent(t.As<Napi::Object>());
  return true;
}

// Output buffers come from malloc, not node's zero-filled allocation: the kernels write every byte
// (outputs of a failed call are dropped), and a fresh zeroed mapping per tensor costs a page fault and
// a kernel memset per 4 KiB, about as long as quantizing. malloc still maps blocks above its mmap
// threshold afresh (glibc: mallopt(3), M_MMAP_THRESHOLD), and those fault on first write just the same,
// so a caller quantizing many large tensors passes reused `out` buffers instead.
Napi::Buffer<uint8_t> new_buffer(Napi::Env env, size_t n, Napi::ObjectReference& keep, uint8_t*& data) {
  data = static_cast<uint8_t*>(std::malloc(n == 0 ? 1 : n));
  if (data == nullptr) {
    Napi::Error::New(env, "quantize: out of memory for a " + std::to_string(n) + "-byte output").ThrowAsJavaScriptException();
    return Napi::Buffer<uint8_t>::New(env, 0);
  }
  Napi::Buffer<uint8_t> b = Napi::Buffer<uint8_t>::New(env, data, n, [](Napi::Env, uint8_t* p) { std::free(p); });
  keep = Napi::Persistent(b.As<Napi::Object>());
  return b;
}

// A caller-supplied output: out[key], a typed array of exactly `size` bytes. Memory the kernels write must
// not alias the input or another output (the threads read and write disjoint ranges, nothing else).
bool target_bytes(Args& a, const Napi::Object& out, const char* key, size_t size, Napi::ObjectReference& keep,
                  uint8_t*& data) {
  Napi::Value v = out.Get(key);
  if (!v.IsTypedArray()) {
    a.fail(std::string("quantize: out.") + key + " must be a Buffer / Uint8Array");
    return false;
  }
  Napi::TypedArray t = v.As<Napi::TypedArray>();
  if (t.ByteLength() != size) {
    a.fail(std::string("quantize: out.") + key + " has " + std::to_string(t.ByteLength()) + " bytes, the output needs " +
           std::to_string(size));
    return false;
  }
  data = static_cast<uint8_t*>(t.ArrayBuffer().Data()) + t.ByteOffset();
  keep = Napi::Persistent(t.As<Napi::Object>());
  return true;
}

bool overlaps(const uint8_t* a, size_t an, const uint8_t* b, size_t bn) {
  if (an == 0 || bn == 0) return false;
  auto x = reinterpret_cast<uintptr_t>(a), y = reinterpret_cast<uintptr_t>(b);
  return x < y + bn && y < x + an;
}

void atomic_min(std::atomic<size_t>& a, size_t v) {
  size_t cur = a.load();
  while (v < cur && !a.compare_exchange_weak(cur, v)) {
  }
}

// ---- quantize ---------------------------------------------------------------------------------

using AffineFn = size_t (*)(const uint8_t*, int, size_t, size_t, AffineOut);
using FpFn = size_t (*)(const uint8_t*, int, bool, float, size_t, size_t, uint8_t*, uint8_t*);

template <DType T, int B, bool Metal>
AffineFn affine_kernel(Kernel k) {
#if defined(MTPKIT_QUANT_AVX2)
  if (k == Kernel::Avx2) return &quant::avx2::quantize_range<T, B, Metal>;
#endif
  if (k == Kernel::Scalar) return &quant::affine_quantize_range<T, B, Metal, false>;
  return &quant::affine_quantize_range<T, B, Metal, true>;
}

template <DType T, bool Metal>
AffineFn affine_for_bits(int bits, Kernel k) {
  switch (bits) {
    case 2: return affine_kernel<T, 2, Metal>(k);
    case 3: return affine_kernel<T, 3, Metal>(k);
    case 4: return affine_kernel<T, 4, Metal>(k);
    case 5: return affine_kernel<T, 5, Metal>(k);
    case 6: return affine_kernel<T, 6, Metal>(k);
    default: return affine_kernel<T, 8, Metal>(k);
  }
}

template <DType T>
AffineFn affine_for(int bits, bool metal, Kernel k) {
  return metal ? affine_for_bits<T, true>(bits, k) : affine_for_bits<T, false>(bits, k);
}

template <DType T>
FpFn fp_for(int bits) {
  return bits == 4 ? &quant::fp_quantize_range<T, 4> : &quant::fp_quantize_range<T, 8>;
}

struct QuantizeJob {
  Bytes src;
  DType dtype = DType::F32;
  Mode mode = Mode::Affine;
  int bits = 4, gs = 64;
  bool metal = true;
  Kernel kernel = Kernel::Auto;  // resolved in init
  bool has_global = false;
  float scale_enc = 1.0f;
  unsigned threads = 1;
  size_t groups = 0;
  uint8_t *weight = nullptr, *scales = nullptr, *biases = nullptr;
  size_t bad = kNoBad;

  void run() {
    std::atomic<size_t> first_bad{kNoBad};
    if (mode == Mode::Affine) {
      AffineFn fn = dtype == DType::F32   ? affine_for<DType::F32>(bits, metal, kernel)
                    : dtype == DType::F16 ? affine_for<DType::F16>(bits, metal, kernel)
                                          : affine_for<DType::BF16>(bits, metal, kernel);
      AffineOut out{weight, scales, biases};
      parallel_for(groups, threads, kMinBlockGroups, [&](size_t b, size_t e) {
        size_t r = fn(src.data, gs, b, e, out);
        if (r != kNoBad) atomic_min(first_bad, r);
      });
    } else {
      FpFn fn = dtype == DType::F32   ? fp_for<DType::F32>(bits)
                : dtype == DType::F16 ? fp_for<DType::F16>(bits)
                                      : fp_for<DType::BF16>(bits);
      parallel_for(groups, threads, kMinBlockGroups / 2, [&](size_t b, size_t e) {
        size_t r = fn(src.data, gs, has_global, scale_enc, b, e, weight, scales);
        if (r != kNoBad) atomic_min(first_bad, r);
      });
    }
    bad = first_bad.load();
  }
};

// Parses (input, params), allocates the outputs and keeps everything alive until done.
struct QuantizeCall {
  QuantizeJob job;
  Napi::ObjectReference input_ref, weight_ref, scales_ref, biases_ref;

  bool init(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Args a{env};
    if (info.Length() < 2 || !info[1].IsObject()) {
      a.fail("quantize(input, params): params must be an object");
      return false;
    }
    if (!typed_bytes(a, info[0], "input", job.src, &input_ref)) return false;
    Napi::Object p = info[1].As<Napi::Object>();
    job.dtype = a.dtype(p, "dtype");
    job.mode = a.mode(p);
    job.bits = int(a.num(p, "bits"));
    job.gs = int(a.num(p, "groupSize"));
    double numel = a.num(p, "numel");
    double threads = a.num(p, "threads");
    if (!a.ok) return false;
    a.check_mode(job.mode, job.bits, job.gs);
    if (!a.ok) return false;
    if (job.mode == Mode::Affine) {
      std::string r = a.str(p, "rounding");
      if (r != "metal" && r != "cpu") a.fail("quantize: params.rounding must be metal or cpu");
      job.metal = r == "metal";
    }
    Napi::Value kv = p.Get("kernel");
    if (!kv.IsUndefined()) {
      std::string k = kv.IsString() ? kv.As<Napi::String>().Utf8Value() : "";
      if (k == "auto") job.kernel = Kernel::Auto;
      else if (k == "avx2" && avx2_available()) job.kernel = Kernel::Avx2;
      else if (k == "vector" && MTPKIT_QUANT_SIMD) job.kernel = Kernel::Vector;
      else if (k == "scalar") job.kernel = Kernel::Scalar;
      else a.fail("quantize: params.kernel must be auto or one of quantKernels()");
    }
    job.kernel = resolve_kernel(job.kernel);
    Napi::Value gsv = p.Get("globalScale");
    if (!gsv.IsUndefined() && !gsv.IsNull()) {
      if (job.mode != Mode::Nvfp4 || !gsv.IsNumber()) {
        a.fail("quantize: params.globalScale is a number, for nvfp4 only");
      } else {
        // MLX: scale_enc = (F8E4M3_MAX * F4E2M1_MAX) / global_scale, in fp32
        job.has_global = true;
        job.scale_enc = 2688.0f / float(gsv.As<Napi::Number>().DoubleValue());
      }
    }
    if (!a.ok) return false;
    size_t n = size_t(numel);
    if (numel < 0 || double(n) != numel || n % size_t(job.gs) != 0 ||
        job.src.size != n * quant::dtype_bytes(job.dtype)) {
      a.fail("quantize: numel must be a multiple of the group size and match the input size");
      return false;
    }
    job.threads = resolve_threads(int(threads));
    job.groups = n / size_t(job.gs);
    const bool affine = job.mode == Mode::Affine;
    const size_t wb = n * size_t(job.bits) / 8;
    const size_t sb = affine ? job.groups * quant::dtype_bytes(job.dtype) : job.groups;
    if (info.Length() > 2 && !info[2].IsUndefined()) return use_targets(a, info[2], wb, sb);
    new_buffer(env, wb, weight_ref, job.weight);
    new_buffer(env, sb, scales_ref, job.scales);
    if (affine) new_buffer(env, sb, biases_ref, job.biases);
    return !env.IsExceptionPending();
  }

  // out = { weight, scales, biases (affine only) }: exact sizes, no aliasing.
  bool use_targets(Args& a, const Napi::Value& v, size_t wb, size_t sb) {
    if (!v.IsObject()) {
      a.fail("quantize: out must be an object { weight, scales, biases? }");
      return false;
    }
    Napi::Object out = v.As<Napi::Object>();
    const bool affine = job.mode == Mode::Affine;
    if (!target_bytes(a, out, "weight", wb, weight_ref, job.weight) ||
        !target_bytes(a, out, "scales", sb, scales_ref, job.scales)) {
      return false;
    }
    Napi::Value bv = out.Get("biases");
    if (affine && !target_bytes(a, out, "biases", sb, biases_ref, job.biases)) return false;
    if (!affine && !bv.IsUndefined()) {
      a.fail("quantize: out.biases is for affine mode only");
      return false;
    }
    const uint8_t* ranges[4] = {job.src.data, job.weight, job.scales, job.biases};
    const size_t sizes[4] = {job.src.size, wb, sb, affine ? sb : 0};
    for (int i = 0; i < 4; ++i) {
      for (int j = i + 1; j < 4; ++j) {
        if (overlaps(ranges[i], sizes[i], ranges[j], sizes[j])) {
          a.fail("quantize: out buffers must not overlap the input or each other");
          return false;
        }
      }
    }
    return true;
  }

  Napi::Object result(Napi::Env env) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("weight", weight_ref.Value());
    o.Set("scales", scales_ref.Value());
    if (!biases_ref.IsEmpty()) o.Set("biases", biases_ref.Value());
    o.Set("nonFiniteIndex", Napi::Number::New(env, job.bad == kNoBad ? -1.0 : double(job.bad)));
    if (job.mode == Mode::Affine) o.Set("kernel", Napi::String::New(env, kernel_name(job.kernel)));
    return o;
  }
};

class QuantizeWorker : public Napi::AsyncWorker {
 public:
  QuantizeWorker(Napi::Env env, QuantizeCall* call)
      : Napi::AsyncWorker(env, "mtpkit:quantize"), call_(call), deferred_(Napi::Promise::Deferred::New(env)) {}
  ~QuantizeWorker() override { delete call_; }
  Napi::Promise promise() { return deferred_.Promise(); }

 protected:
  void Execute() override {
    try {
      call_->job.run();
    } catch (const std::exception& e) {
      SetError(std::string("quantize: ") + e.what());
    }
  }
  void OnOK() override { deferred_.Resolve(call_->result(Env())); }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  QuantizeCall* call_;
  Napi::Promise::Deferred deferred_;
};

Napi::Value Quantize(const Napi::CallbackInfo& info) {
  auto* call = new QuantizeCall();
  if (!call->init(info)) {
    delete call;
    return info.Env().Undefined();
  }
  auto* w = new QuantizeWorker(info.Env(), call);
  Napi::Promise p = w->promise();
  w->Queue();
  return p;
}

Napi::Value QuantizeSync(const Napi::CallbackInfo& info) {
  QuantizeCall call;
  if (!call.init(info)) return info.Env().Undefined();
  try {
    call.job.run();
  } catch (const std::exception& e) {
    Napi::Error::New(info.Env(), std::string("quantize: ") + e.what()).ThrowAsJavaScriptException();
    return info.Env().Undefined();
  }
  return call.result(info.Env());
}

// ---- dequantize -------------------------------------------------------------------------------

using AffineDeqFn = void (*)(const uint8_t*, const uint8_t*, const uint8_t*, DType, int, size_t, size_t, uint8_t*);
using FpDeqFn = void (*)(const uint8_t*, const uint8_t*, int, bool, float, size_t, size_t, uint8_t*);

template <DType O>
AffineDeqFn affine_deq_for(int bits) {
  switch (bits) {
    case 2: return &quant::affine_dequantize_range<2, O>;
    case 3: return &quant::affine_dequantize_range<3, O>;
    case 4: return &quant::affine_dequantize_range<4, O>;
    case 5: return &quant::affine_dequantize_range<5, O>;
    case 6: return &quant::affine_dequantize_range<6, O>;
    default: return &quant::affine_dequantize_range<8, O>;
  }
}

template <DType O>
FpDeqFn fp_deq_for(int bits) {
  return bits == 4 ? &quant::fp_dequantize_range<4, O> : &quant::fp_dequantize_range<8, O>;
}

struct DequantizeCall {
  Bytes w, s, b;
  DType sdt = DType::F32, odt = DType::F32;
  Mode mode = Mode::Affine;
  int bits = 4, gs = 64;
  bool has_global = false;
  float inv_scale_enc = 1.0f;
  unsigned threads = 1;
  size_t groups = 0;
  uint8_t* out = nullptr;
  Napi::ObjectReference w_ref, s_ref, b_ref, out_ref;

  bool init(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Args a{env};
    if (info.Length() < 4 || !info[3].IsObject()) {
      a.fail("dequantize(weight, scales, biases, params): params must be an object");
      return false;
    }
    Napi::Object p = info[3].As<Napi::Object>();
    mode = a.mode(p);
    bits = int(a.num(p, "bits"));
    gs = int(a.num(p, "groupSize"));
    double numel = a.num(p, "numel");
    double threads_d = a.num(p, "threads");
    odt = a.dtype(p, "outDType");
    if (!a.ok) return false;
    a.check_mode(mode, bits, gs);
    if (mode == Mode::Affine) sdt = a.dtype(p, "scalesDType");
    if (!a.ok) return false;
    if (!typed_bytes(a, info[0], "weight", w, &w_ref) || !typed_bytes(a, info[1], "scales", s, &s_ref)) return false;
    if (mode == Mode::Affine && !typed_bytes(a, info[2], "biases", b, &b_ref)) return false;
    Napi::Value gsv = p.Get("globalScale");
    if (!gsv.IsUndefined() && !gsv.IsNull()) {
      if (mode != Mode::Nvfp4 || !gsv.IsNumber()) {
        a.fail("dequantize: params.globalScale is a number, for nvfp4 only");
        return false;
      }
      has_global = true;
      inv_scale_enc = float(gsv.As<Napi::Number>().DoubleValue()) / 2688.0f;
    }
    size_t n = size_t(numel);
    size_t sbytes = mode == Mode::Affine ? quant::dtype_bytes(sdt) : 1;
    if (numel < 0 || double(n) != numel || n % size_t(gs) != 0) {
      a.fail("dequantize: numel must be a multiple of the group size");
      return false;
    }
    groups = n / size_t(gs);
    if (w.size != n * size_t(bits) / 8 || s.size != groups * sbytes ||
        (mode == Mode::Affine && b.size != groups * sbytes)) {
      a.fail("dequantize: weight / scales / biases sizes do not match numel");
      return false;
    }
    threads = resolve_threads(int(threads_d));
    new_buffer(env, n * quant::dtype_bytes(odt), out_ref, out);
    return !env.IsExceptionPending();
  }

  void run() {
    if (mode == Mode::Affine) {
      AffineDeqFn fn = odt == DType::F32   ? affine_deq_for<DType::F32>(bits)
                       : odt == DType::F16 ? affine_deq_for<DType::F16>(bits)
                                           : affine_deq_for<DType::BF16>(bits);
      parallel_for(groups, threads, kMinBlockGroups, [&](size_t g0, size_t g1) {
        fn(w.data, s.data, b.data, sdt, gs, g0, g1, out);
      });
    } else {
      FpDeqFn fn = odt == DType::F32   ? fp_deq_for<DType::F32>(bits)
                   : odt == DType::F16 ? fp_deq_for<DType::F16>(bits)
                                       : fp_deq_for<DType::BF16>(bits);
      parallel_for(groups, threads, kMinBlockGroups, [&](size_t g0, size_t g1) {
        fn(w.data, s.data, gs, has_global, inv_scale_enc, g0, g1, out);
      });
    }
  }
};

class DequantizeWorker : public Napi::AsyncWorker {
 public:
  DequantizeWorker(Napi::Env env, DequantizeCall* call)
      : Napi::AsyncWorker(env, "mtpkit:dequantize"), call_(call), deferred_(Napi::Promise::Deferred::New(env)) {}
  ~DequantizeWorker() override { delete call_; }
  Napi::Promise promise() { return deferred_.Promise(); }

 protected:
  void Execute() override {
    try {
      call_->run();
    } catch (const std::exception& e) {
      SetError(std::string("dequantize: ") + e.what());
    }
  }
  void OnOK() override { deferred_.Resolve(call_->out_ref.Value()); }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  DequantizeCall* call_;
  Napi::Promise::Deferred deferred_;
};

Napi::Value Dequantize(const Napi::CallbackInfo& info) {
  auto* call = new DequantizeCall();
  if (!call->init(info)) {
    delete call;
    return info.Env().Undefined();
  }
  auto* w = new DequantizeWorker(info.Env(), call);
  Napi::Promise p = w->promise();
  w->Queue();
  return p;
}

Napi::Value DequantizeSync(const Napi::CallbackInfo& info) {
  DequantizeCall call;
  if (!call.init(info)) return info.Env().Undefined();
  try {
    call.run();
  } catch (const std::exception& e) {
    Napi::Error::New(info.Env(), std::string("dequantize: ") + e.what()).ThrowAsJavaScriptException();
    return info.Env().Undefined();
  }
  return call.out_ref.Value();
}

// quantKernels() -> the affine kernel names this machine can run, fastest first ("auto" picks the first).
Napi::Value QuantKernels(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Array a = Napi::Array::New(env);
  uint32_t n = 0;
  if (avx2_available()) a.Set(n++, Napi::String::New(env, "avx2"));
  if (MTPKIT_QUANT_SIMD) a.Set(n++, Napi::String::New(env, "vector"));
  a.Set(n++, Napi::String::New(env, "scalar"));
  return a;
}

// ---- encoders, for tests ----------------------------------------------------------------------

// quantFpEncode(kind: 'e2m1' | 'e4m3' | 'e8m0', values: Float32Array) -> Buffer of code bytes.
Napi::Value QuantFpEncode(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsString() || !info[1].IsTypedArray() ||
      info[1].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
    Napi::TypeError::New(env, "quantFpEncode(kind, Float32Array)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  std::string kind = info[0].As<Napi::String>().Utf8Value();
  Napi::Float32Array v = info[1].As<Napi::Float32Array>();
  Napi::Buffer<uint8_t> out = Napi::Buffer<uint8_t>::New(env, v.ElementLength());
  for (size_t i = 0; i < v.ElementLength(); ++i) {
    float x = v[i];
    uint32_t c = kind == "e2m1" ? quant::encode_e2m1(x) : kind == "e4m3" ? quant::encode_e4m3(x) : quant::encode_e8m0(x);
    out.Data()[i] = uint8_t(c);
  }
  return out;
}

}  // namespace

void InitQuantize(Napi::Env env, Napi::Object exports) {
  exports.Set("quantQuantize", Napi::Function::New(env, Quantize, "quantQuantize"));
  exports.Set("quantQuantizeSync", Napi::Function::New(env, QuantizeSync, "quantQuantizeSync"));
  exports.Set("quantDequantize", Napi::Function::New(env, Dequantize, "quantDequantize"));
  exports.Set("quantDequantizeSync", Napi::Function::New(env, DequantizeSync, "quantDequantizeSync"));
  exports.Set("quantKernels", Napi::Function::New(env, QuantKernels, "quantKernels"));
  exports.Set("quantFpEncode", Napi::Function::New(env, QuantFpEncode, "quantFpEncode"));
}

}  // namespace mtpkit
